/* Themes and free colours of every widget: the contrast is checked before a colour is used. */

// Every theme keeps at least 4.5:1 between text and background and between the main
// colour (links, buttons, focus ring) and the background.
export const THEMES = {
  clair: { nom: "Clair", principale: "#005a9c", fond: "#ffffff", texte: "#1e1e1e" },
  sombre: { nom: "Sombre", principale: "#8ab4f8", fond: "#161a1d", texte: "#f1f3f4" },
  vert: { nom: "Vert", principale: "#1b6e20", fond: "#ffffff", texte: "#1b1b1b" },
  rouge: { nom: "Rouge", principale: "#b3261e", fond: "#ffffff", texte: "#1b1b1b" },
  violet: { nom: "Violet", principale: "#6a1b9a", fond: "#ffffff", texte: "#1b1b1b" },
  sable: { nom: "Sable", principale: "#7a4100", fond: "#fbf7ef", texte: "#2b2118" },
  "contraste-eleve": { nom: "Contraste élevé", principale: "#ffff00", fond: "#000000", texte: "#ffffff" },
};
const THEME_ALIASES = { default: "clair", defaut: "clair", dark: "sombre" };
export const MIN_CONTRAST = 4.5;
export const ROLES = ["principale", "fond", "texte"];
const COLOUR_NAMES = { principale: "couleur principale", fond: "couleur de fond", texte: "couleur du texte" };

export function parseColour(value) {
  const match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
  if (!match) return null;
  let hex = match[1].toLowerCase();
  if (hex.length === 3) hex = hex.split("").map((c) => c + c).join("");
  return "#" + hex;
}

function luminance(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

export function contrastRatio(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

export function formatRatio(ratio) {
  return (Math.floor(ratio * 10) / 10).toLocaleString("fr-FR", { minimumFractionDigits: 1 }) + ":1";
}

export function themeName(name) {
  const key = THEME_ALIASES[name] || name;
  return Object.prototype.hasOwnProperty.call(THEMES, key) ? key : null;
}

// What the colours of a page will be: the theme's, unless free colours are asked for
// and keep the contrast; anything refused comes back with a French warning.
export function resolveColours(requestedTheme, requested) {
  const warnings = [];
  let theme = "clair";
  if (requestedTheme) {
    const known = themeName(requestedTheme);
    if (known) theme = known;
    else warnings.push(`Thème « ${requestedTheme} » inconnu : le thème clair est utilisé.`);
  }
  const base = THEMES[theme];
  const colours = { principale: base.principale, fond: base.fond, texte: base.texte };
  const asked = {};
  for (const role of ROLES) {
    const raw = requested && requested[role];
    if (!raw) continue;
    const colour = parseColour(raw);
    if (colour) asked[role] = colour;
    else warnings.push(`La ${COLOUR_NAMES[role]} « ${raw} » n'est pas une couleur (#rrggbb) : elle est ignorée.`);
  }
  const candidate = Object.assign({}, colours, asked);
  const checks = [
    ["texte", "fond", "le texte et le fond"],
    ["principale", "fond", "la couleur principale et le fond"],
  ];
  const failures = checks
    .map(([a, b, what]) => ({ what, ratio: contrastRatio(candidate[a], candidate[b]) }))
    .filter((check) => check.ratio < MIN_CONTRAST);
  if (Object.keys(asked).length && failures.length) {
    const detail = failures.map((f) => `entre ${f.what} ${formatRatio(f.ratio)}`).join(", ");
    warnings.push(
      `Couleurs refusées : contraste insuffisant (${detail} ; il faut au moins 4,5:1 pour rester lisible). ` +
        `Les couleurs du thème « ${base.nom} » sont utilisées.`
    );
    return { theme, colours, refused: true, warnings };
  }
  return { theme, colours: candidate, refused: false, warnings };
}

// The page's colours: the URL's theme or colours, else the body's widget settings of the
// registry (``manifest.widget``), checked for contrast; returns what resolveColours says.
export function applyColours(theme, requestedColours, settings) {
  settings = settings || {};
  const requested = {
    principale: requestedColours.principale || (theme ? "" : settings.primary_color),
    fond: requestedColours.fond || (theme ? "" : settings.background_color),
    texte: requestedColours.texte || (theme ? "" : settings.text_color),
  };
  const resolved = resolveColours(theme || settings.theme || "", requested);
  // Only what changes is written: a custom property set on the root restyles the whole page, which
  // costs a phone tens of milliseconds before the first render. The sheet's colours are THEMES.clair.
  const root = document.documentElement;
  for (const role of ROLES) {
    const colour = resolved.colours[role];
    if (colour === THEMES.clair[role]) root.style.removeProperty(`--${role}`);
    else if (root.style.getPropertyValue(`--${role}`) !== colour) root.style.setProperty(`--${role}`, colour);
  }
  if (root.dataset.theme !== resolved.theme) root.dataset.theme = resolved.theme;
  const refused = resolved.refused ? "oui" : "non";
  if (root.dataset.couleursRefusees !== refused) root.dataset.couleursRefusees = refused;
  return resolved;
}
