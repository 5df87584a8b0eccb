/* Embed configurator: builds a widget's URL and iframe code from a form, with a live preview.
   One form for the three widgets: Actes (by SIREN), Budgets and Focus marchés (by SIRET). */
import { byId as $, frenchDate } from "./commun/dom.js";
import { fetchManifest } from "./commun/manifest.js";
import { ACTES, BUDGETS, BUDGET_STAGES, MARCHES, MATIERES, PAGES_ACTES, TYPES } from "./commun/parametres.js";
import { contrastRatio, formatRatio, parseColour, resolveColours, themeName, THEMES } from "./commun/theme.js";

const WIDGETS = {
  actes: { page: "actes.html", nom: "Actes", titre: (nom) => `Actes publiés par ${nom}` },
  budgets: { page: "budgets.html", nom: "Budgets", titre: (nom) => `Budgets de ${nom}` },
  marches: { page: "marches.html", nom: "Focus marchés", titre: (nom) => `Marchés publics de ${nom}` },
};
let bodies = [];
let previewTimer = null;
let budgetIndex = null; // the Budgets manifest of the SIRET on screen
let loadedFor = null; // "widget:siret" whose manifest was last asked for
let wanted = {}; // Budgets choices from the URL, applied once the manifest is there
const probed = new Map(); // "widget:siret" typed by hand -> whether its manifest is there

function option(value, label) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = label;
  return node;
}

function checkboxes(container, group, entries) {
  container.replaceChildren(...entries.map((entry) => {
    const wrapper = document.createElement("div");
    wrapper.className = "option";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.id = `${group}-${entry.code}`;
    input.value = entry.code;
    input.dataset.groupe = group;
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = entry.libelle;
    wrapper.append(input, label);
    return wrapper;
  }));
}

function checked(group) {
  return [...document.querySelectorAll(`input[data-groupe="${group}"]:checked`)].map((box) => box.value);
}

function escapeAttribute(text) {
  return String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function widget() {
  const box = document.querySelector('input[name="widget"]:checked');
  return box ? box.value : "actes";
}

function colours() {
  return $("personnaliser").checked
    ? { principale: $("couleur-principale").value, fond: $("couleur-fond").value, texte: $("couleur-texte").value }
    : {};
}

function year(value) {
  return /^\d{4}$/.test(String(value || "").trim()) ? Number(value) : null;
}

// The widget's own query string (what the iframe and the configurator's URL carry), written
// from the form by the widget's own parameter declarations.
function widgetParams(kind) {
  const appearance = { theme: $("theme").value, couleurs: colours() };
  if (kind === "actes") {
    return ACTES.toParams({
      siren: $("siren").value.trim(),
      recherche: $("recherche").value.trim(),
      perimetre: checked("type"),
      classifications: checked("matiere"),
      date_debut: $("date-debut").value,
      date_fin: $("date-fin").value,
      tri: $("tri").value,
      ...appearance,
    });
  }
  const siret = $("siret").value.trim();
  if (kind === "budgets") {
    const chosen = Object.fromEntries(["budget", "annee", "etape", "graphique", "affichage", "niveau"].map((id) => [id, $(id).value]));
    return BUDGETS.toParams({ siret, ...chosen, ...appearance });
  }
  return MARCHES.toParams({ siret, annee_debut: year($("annee-debut").value), annee_fin: year($("annee-fin").value), ...appearance });
}

function identifier(kind) {
  return kind === "actes" ? $("siren").value.trim() : $("siret").value.trim();
}

function isValid(kind) {
  return kind === "actes" ? /^\d{9}$/.test(identifier(kind)) : /^\d{14}$/.test(identifier(kind));
}

function bodyName(kind) {
  const body = listedBody(kind);
  return body ? body.nom : kind === "actes" ? `SIREN ${identifier(kind)}` : `SIRET ${identifier(kind)}`;
}

function showContrast() {
  const box = $("contraste");
  if (!$("personnaliser").checked) {
    box.replaceChildren();
    box.classList.remove("refuse");
    return;
  }
  const asked = colours();
  const resolved = resolveColours($("theme").value, asked);
  const lines = [
    `Contraste texte / fond : ${formatRatio(contrastRatio(asked.texte, asked.fond))}`,
    `Contraste couleur principale / fond : ${formatRatio(contrastRatio(asked.principale, asked.fond))}`,
    resolved.refused
      ? "Contraste insuffisant (minimum 4,5:1) : le widget refusera ces couleurs et gardera celles du thème."
      : "Contraste suffisant : ces couleurs restent lisibles.",
  ];
  box.replaceChildren(...lines.map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
  box.classList.toggle("refuse", resolved.refused);
}

function showFieldsOf(kind) {
  for (const node of document.querySelectorAll("[data-widget]")) {
    node.hidden = !node.dataset.widget.split(" ").includes(kind);
  }
  $("apercu").title = `Aperçu du widget ${WIDGETS[kind].nom}`;
}

function fillSelect(select, entries, keep) {
  select.replaceChildren(...entries.map(([value, label]) => option(value, label)));
  select.value = entries.some(([value]) => value === keep) ? keep : entries[0][0];
}

// Budget, year and stage choices from the manifest (the widget's defaults first).
function fillBudgetChoices() {
  const establishments = (budgetIndex && budgetIndex.etablissements) || [];
  const principal = establishments.find((e) => e.budget === "principal") || establishments[0];
  fillSelect($("budget"), [["", `budget principal${principal ? ` (${principal.nom})` : ""}`],
    ...establishments.filter((e) => e !== principal).map((e) => [e.siret, `budget annexe : ${e.nom} (${e.siret})`])],
  wanted.budget !== undefined ? wanted.budget : $("budget").value);
  const chosen = establishments.find((e) => e.siret === $("budget").value) || principal;
  const years = chosen ? chosen.exercices.map((x) => String(x.annee)).sort().reverse() : [];
  fillSelect($("annee"), [["", "le plus récent"], ...years.map((y) => [y, y])],
    wanted.annee !== undefined ? wanted.annee : $("annee").value);
  const exercice = chosen && chosen.exercices.find((x) => String(x.annee) === ($("annee").value || years[0]));
  const stages = [];
  for (const entry of (exercice && exercice.etapes) || []) {
    const slug = BUDGET_STAGES[entry.etape] && BUDGET_STAGES[entry.etape].slug;
    if (!slug) continue;
    const label = entry.etape;
    const value = entry.date_decision_dm ? `${slug}-${entry.date_decision_dm}` : slug;
    const text = entry.date_decision_dm ? `${label} du ${frenchDate(entry.date_decision_dm)}` : label;
    if (!stages.some(([v]) => v === value)) stages.push([value, text]);
  }
  fillSelect($("etape"), [["", "la plus avancée de l'exercice"], ...stages],
    wanted.etape !== undefined ? wanted.etape : $("etape").value);
  wanted = {};
}

const MISSING = {
  actes: "Aucun acte n'est publié",
  budgets: "Aucune donnée budgétaire n'est publiée",
  marches: "Aucune donnée de marchés publics n'est publiée",
};

function listedBody(kind) {
  const id = identifier(kind);
  return bodies.find((b) => (kind === "actes" ? b.siren === id : b.siret === id));
}

// Whether the chosen body has data for the widget (the catalogue says so; a SIRET typed by hand
// is looked up), and for Budgets what it holds.
async function checkAvailability(kind) {
  const key = `${kind}:${identifier(kind)}`;
  if (!isValid(kind)) {
    loadedFor = null;
    $("disponibilite").textContent = "";
    return;
  }
  if (loadedFor === key) return;
  loadedFor = key;
  const body = listedBody(kind);
  let available = body ? (body.widgets || []).includes(kind) : kind === "actes" ? true : null;
  let index = null;
  if (kind !== "actes" && available !== false && (kind === "budgets" || available === null)) {
    try {
      index = await fetchManifest(`${kind}/${identifier(kind)}/index.json`, kind);
    } catch (error) {
      index = null;
    }
    if (loadedFor !== key) return; // another body was chosen meanwhile
    available = Boolean(index);
    if (!body && !probed.has(key)) {
      probed.set(key, available);
      update(); // the preview waited for this answer
    }
  }
  $("disponibilite").textContent = available
    ? ""
    : `${MISSING[kind]} pour ${body ? "cet organisme" : "ce SIRET"} : le widget affichera un message.`;
  if (kind === "budgets") {
    budgetIndex = index;
    fillBudgetChoices();
    update();
  }
}

function update() {
  const kind = widget();
  const valid = isValid(kind);
  const url = new URL(WIDGETS[kind].page, location.href);
  url.search = widgetParams(kind).toString();
  const height = Math.min(3000, Math.max(300, parseInt($("hauteur").value, 10) || 800));
  showFieldsOf(kind);
  $("code").value = valid
    ? `<iframe src="${escapeAttribute(url.href)}" title="${escapeAttribute(WIDGETS[kind].titre(bodyName(kind)))}" ` +
      `width="100%" height="${height}" style="border: 0; max-width: 100%;" loading="lazy" ` +
      'referrerpolicy="strict-origin-when-cross-origin"></iframe>' +
      ($("hauteur-auto").checked
        ? `\n<script src="${escapeAttribute(new URL("commun/integration.js", location.href).href)}" defer></script>`
        : "")
    : kind === "actes"
      ? "Indiquez un organisme (SIREN à 9 chiffres) pour obtenir le code."
      : "Indiquez un organisme (SIRET à 14 chiffres) pour obtenir le code.";
  $("copier").disabled = !valid;
  $("ouvrir").href = url.href;
  $("ouvrir").hidden = !valid;
  $("couleurs").hidden = !$("personnaliser").checked;
  $("hauteur-precision").hidden = !$("hauteur-auto").checked;
  showContrast();
  // A preview only of a widget with data: the catalogue says which a listed body has, a SIRET typed
  // by hand waits for its manifest to be found (a missing one would only show the widget's message).
  const body = listedBody(kind);
  const available = body ? (body.widgets || []).includes(kind) : kind === "actes" || probed.get(`${kind}:${identifier(kind)}`);
  const previewed = valid && available === true;
  clearTimeout(previewTimer);
  if (!previewed && $("apercu").getAttribute("src") !== "about:blank") $("apercu").setAttribute("src", "about:blank");
  previewTimer = setTimeout(() => {
    if (previewed && $("apercu").getAttribute("src") !== url.href) $("apercu").setAttribute("src", url.href);
  }, 150);
  $("copie-statut").textContent = "";
  const own = widgetParams(kind);
  if (kind !== "actes") own.set("widget", kind);
  history.replaceState(null, "", "?" + own.toString());
  checkAvailability(kind);
}

async function copy() {
  const code = $("code").value;
  try {
    await navigator.clipboard.writeText(code);
  } catch (error) {
    $("code").select();
    document.execCommand("copy");
  }
  $("copie-statut").textContent = "Code copié : collez-le dans votre site.";
}

function restoreAppearance(theme, asked) {
  $("theme").value = themeName(theme) || "";
  if (asked.principale || asked.fond || asked.texte) {
    $("personnaliser").checked = true;
    const base = THEMES[themeName(theme) || "clair"];
    for (const role of ["principale", "fond", "texte"]) {
      $(`couleur-${role}`).value = parseColour(asked[role]) || base[role];
    }
  }
}

function restore(search) {
  const params = new URLSearchParams(search);
  const kind = Object.prototype.hasOwnProperty.call(WIDGETS, params.get("widget")) ? params.get("widget") : "actes";
  $(`widget-${kind}`).checked = true;
  const state = ACTES.parse(search);
  if (kind === "actes") {
    if (!state.siren && bodies.length) state.siren = bodies[0].siren;
    $("siren").value = state.siren;
    $("recherche").value = state.recherche;
    $("date-debut").value = state.date_debut;
    $("date-fin").value = state.date_fin;
    $("tri").value = state.tri === "decision" ? "decision" : "";
    const kinds = state.perimetre.length ? state.perimetre : state.types; // an older embed's filter
    for (const box of document.querySelectorAll('input[data-groupe="type"]')) box.checked = kinds.includes(box.value);
    syncPageChoice();
    for (const box of document.querySelectorAll('input[data-groupe="matiere"]')) {
      box.checked = state.classifications.includes(box.value);
    }
  } else {
    const siret = (params.get("siret") || "").trim() || (bodies.length ? bodies[0].siret : "");
    $("siret").value = siret;
    const body = bodies.find((b) => b.siret === siret);
    $("siren").value = body ? body.siren : siret.slice(0, 9);
    const period = MARCHES.parse(search);
    $("annee-debut").value = period.annee_debut ? String(period.annee_debut) : "";
    $("annee-fin").value = period.annee_fin ? String(period.annee_fin) : "";
    for (const id of ["graphique", "affichage", "niveau"]) {
      const value = params.get(id) || "";
      $(id).value = [...$(id).options].some((o) => o.value === value) ? value : "";
    }
    wanted = { budget: params.get("budget") || "", annee: params.get("annee") || "", etape: params.get("etape") || "" };
  }
  restoreAppearance(state.theme, state.couleurs);
  syncBodySelect(kind);
}

// The usual page whose kinds are those checked ("" when they are another set).
function syncPageChoice() {
  const kinds = checked("type");
  const same = (page) => page.types.length === kinds.length && page.types.every((code) => kinds.includes(code));
  const usual = kinds.length ? PAGES_ACTES.find(same) : null;
  $("page-actes").value = usual ? usual.code : kinds.length ? "autre" : "";
}

function choosePage(code) {
  const page = PAGES_ACTES.find((p) => p.code === code);
  if (code === "autre") return;
  for (const box of document.querySelectorAll('input[data-groupe="type"]')) {
    box.checked = Boolean(page) && page.types.includes(box.value);
  }
}

function syncBodySelect(kind) {
  const body = listedBody(kind);
  $("organisme").value = body ? body.siren : "";
}

function chooseBody(siren) {
  const body = bodies.find((b) => b.siren === siren);
  if (!body) return;
  $("siren").value = body.siren;
  $("siret").value = body.siret || "";
}

async function init() {
  checkboxes($("types").querySelector(".options"), "type", TYPES);
  $("page-actes").replaceChildren(option("", "Tous les actes"), ...PAGES_ACTES.map((p) => option(p.code, p.nom)),
    option("autre", "Autre choix de types d'actes"));
  checkboxes($("matieres").querySelector(".options"), "matiere", MATIERES);
  $("theme").replaceChildren(option("", "celui de l'organisme (par défaut)"),
    ...Object.entries(THEMES).map(([key, theme]) => option(key, theme.nom)));
  const select = $("organisme");
  select.append(option("", "— choisir —"));
  try {
    bodies = (await fetchManifest("actes-organismes.json", "catalogue")).organismes || [];
  } catch (error) {
    bodies = [];
  }
  for (const body of bodies) select.append(option(body.siren, `${body.nom} (${body.siren})`));
  restore(location.search);
  if (widget() === "actes") chooseBody($("organisme").value); // fills the SIRET for a switch of widget
  select.addEventListener("change", () => {
    chooseBody(select.value);
    update();
  });
  for (const id of ["siren", "siret"]) {
    $(id).addEventListener("input", () => {
      syncBodySelect(widget());
      update();
    });
  }
  for (const box of document.querySelectorAll('input[name="widget"]')) {
    box.addEventListener("change", () => {
      syncBodySelect(widget());
      update();
    });
  }
  $("theme").addEventListener("change", () => {
    const theme = THEMES[$("theme").value || "clair"];
    if (!$("personnaliser").checked) {
      for (const role of ["principale", "fond", "texte"]) $(`couleur-${role}`).value = theme[role];
    }
    update();
  });
  $("reglages").addEventListener("input", (event) => {
    const id = event.target.id;
    if (["organisme", "siren", "siret", "theme"].includes(id) || event.target.name === "widget") return;
    if (id === "page-actes") choosePage(event.target.value);
    if (event.target.dataset.groupe === "type") syncPageChoice();
    if (id === "budget" || id === "annee") {
      // a stage belongs to a year, a year to a budget: the dependent choices start again
      if (id === "budget") $("annee").value = "";
      $("etape").value = "";
      fillBudgetChoices();
    }
    update();
  });
  $("reglages").addEventListener("submit", (event) => event.preventDefault());
  $("copier").addEventListener("click", copy);
  update();
  document.body.dataset.etat = "pret";
}

init();
