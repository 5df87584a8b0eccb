/* Every widget keeps its whole state in its URL, so that any view can be embedded or shared.
   A widget declares its parameters once (see parametres.js): the name in the URL, how a value
   is read (anything unexpected falls back to the default) and the default, which the URL leaves
   out. Theme and free colours are parameters of every widget. */

const COLOUR_PARAMS = { principale: "couleur_principale", fond: "couleur_fond", texte: "couleur_texte" };

function field(param, fallback, read, write = String) {
  return { param, fallback, read: (value) => read(value === null ? "" : value), write };
}

// Free text; trimmed unless ``raw`` (a search keeps what was typed), lower case with ``lower``.
export function text(param, { raw = false, lower = false } = {}) {
  return field(param, "", (value) => {
    const kept = raw ? value : value.trim();
    return lower ? kept.toLowerCase() : kept;
  });
}

export function choice(param, values, fallback = "") {
  return field(param, fallback, (value) => (values.includes(value) ? value : fallback));
}

// A comma list of known codes, each once.
export function codes(param, allowed) {
  return field(param, "", (value) => {
    const found = value.split(",").map((s) => s.trim()).filter(Boolean);
    return [...new Set(found.filter((code) => allowed.includes(code)))];
  }, (list) => list.join(","));
}

export function isoDate(param) {
  return field(param, "", (value) => (/^\d{4}-\d{2}-\d{2}$/.test(value) && !isNaN(Date.parse(value)) ? value : ""));
}

export function year(param) {
  return field(param, null, (value) => (/^\d{4}$/.test(value) ? Number(value) : null));
}

export function pageNumber(param = "page") {
  return field(param, 1, (value) => {
    const page = parseInt(value || "1", 10);
    return Number.isFinite(page) && page > 0 ? page : 1;
  });
}

function isDefault(value, fallback) {
  return value === undefined || value === null || value === "" || value === fallback ||
    (Array.isArray(value) && !value.length);
}

function readAppearance(p) {
  const couleurs = {};
  for (const [role, name] of Object.entries(COLOUR_PARAMS)) {
    if (p.get(name)) couleurs[role] = p.get(name);
  }
  return { theme: p.get("theme") || "", couleurs };
}

function writeAppearance(p, state) {
  if (state.theme) p.set("theme", state.theme);
  for (const [role, name] of Object.entries(COLOUR_PARAMS)) {
    if (state.couleurs && state.couleurs[role]) p.set(name, state.couleurs[role]);
  }
  return p;
}

// A widget's URL contract from its fields ({state key: field}): parse(search) -> state,
// toParams(state) -> URLSearchParams (fields in declaration order, then theme and colours).
export function urlState(fields) {
  return {
    parse(search) {
      const p = new URLSearchParams(search);
      const state = {};
      for (const [key, f] of Object.entries(fields)) state[key] = f.read(p.get(f.param));
      return Object.assign(state, readAppearance(p));
    },
    toParams(state) {
      const p = new URLSearchParams();
      for (const [key, f] of Object.entries(fields)) {
        if (!isDefault(state[key], f.fallback)) p.set(f.param, f.write(state[key]));
      }
      return writeAppearance(p, state);
    },
  };
}

// The page's own URL follows its state without adding to the history (typing, settings).
export function replaceUrl(params) {
  const query = params.toString();
  history.replaceState(null, "", query ? "?" + query : location.pathname);
}

// A state a visitor thinks of as another page (a filter, a page of the list, one act): a new
// history entry, so that Back returns to the previous view, not to the site's previous page.
export function pushUrl(params) {
  const query = params.toString();
  const url = query ? "?" + query : location.pathname;
  if (url === location.search || (url === location.pathname && !location.search)) return;
  history.pushState(null, "", url);
}
