/* Budgets widget: reads one body's budget files from the public zone, nothing else.
 *
 * Figures and labels from the files reach the page as text only (textContent, attributes set
 * one by one), never as HTML; the charts are drawn by ECharts on a canvas, with tooltips in
 * its rich-text mode (drawn, not HTML). Every chart has its data table, which is what
 * assistive technologies read and what the CSV export writes. The essentials and the tables are
 * shown first; ECharts is fetched after (commun/graphiques.js) and the charts follow
 * (`body[data-graphiques=pret]`). */
import { publisher, writeAbout as writeAboutBlock } from "./commun/a-propos.js";
import { csvDecimal, download, downloadCsv } from "./commun/csv.js";
import { byId as $, el, frenchDate, hiddenText as hidden, setTitle, showWarnings as showMessages } from "./commun/dom.js";
import { loadCharts } from "./commun/graphiques.js";
import { fetchJson as fetchFile, fetchManifest, manifestFailure } from "./commun/manifest.js";
import { BUDGETS, BUDGET_STAGES as STAGES } from "./commun/parametres.js";
import { applyColours as applyTheme, contrastRatio } from "./commun/theme.js";
import { replaceUrl } from "./commun/url-state.js";

const EUROS = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });
const EUROS_COURTS = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR", notation: "compact", maximumFractionDigits: 1 });
const POURCENT = new Intl.NumberFormat("fr-FR", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const VARIATION = new Intl.NumberFormat("fr-FR", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" });
const CHARTS = ["sections", "depenses-nature", "recettes-nature", "depenses-fonction", "recettes-fonction", "top-depenses", "evolution"];
const TOP = 10;
const PALETTE_CLAIRE = ["#c2185b", "#2e7d32", "#e65100", "#6a1b9a", "#00838f", "#5d4037", "#283593", "#9e9d24", "#455a64", "#ad1457", "#00695c"];
const PALETTE_SOMBRE = ["#f48fb1", "#a5d6a7", "#ffcc80", "#ce93d8", "#80deea", "#bcaaa4", "#9fa8da", "#e6ee9c", "#b0bec5", "#f8bbd0", "#80cbc4"];

let state = BUDGETS.parse(location.search);
let manifest = null;
let manifestUrl = null;
let colours = null;
let documentBudget = null; // the budget file shown
let serie = null; // the series file of the establishment shown
let choice = null; // {etablissement, exercice, etape}
let models = new Map();
const charts = new Map();
const files = new Map();
let colourWarnings = [];
let otherWarnings = [];
window.digorBudgets = { state: () => state, charts, models: () => models };

// ---- helpers ------------------------------------------------------------------------

const round2 = (x) => Math.round(x * 100) / 100;

function formatValue(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (unit === "euro") return EUROS.format(value);
  if (unit === "variation") return VARIATION.format(value);
  return POURCENT.format(value);
}

function axisValue(value, unit) {
  return unit === "euro" ? EUROS_COURTS.format(value) : POURCENT.format(value);
}

// Text drawn by ECharts: its rich-text markup uses braces, which a label must not open.
function drawn(text) {
  return String(text).replace(/[{}]/g, (c) => (c === "{" ? "(" : ")"));
}

function shorten(text, max) {
  const t = drawn(text);
  return t.length > max ? t.slice(0, max - 1) + "…" : t;
}

function stageKey(entry) {
  if (entry.etape === "compte administratif" && entry.etape_code_totem === "10") return "cfu";
  const slug = (STAGES[entry.etape] || { slug: "autre" }).slug;
  return entry.date_decision_dm ? `${slug}-${entry.date_decision_dm}` : slug;
}

function stageLabel(entry) {
  if (entry.etape === "compte administratif" && (entry.etape_code_totem === "10" || entry.compte_financier_unique)) {
    return "Compte financier unique";
  }
  const label = (STAGES[entry.etape] || { libelle: entry.etape }).libelle;
  return entry.date_decision_dm ? `${label} du ${frenchDate(entry.date_decision_dm)}` : label;
}

function establishmentLabel(e) {
  return e.budget === "principal" ? `${e.nom} (budget principal)` : `${e.nom} (budget annexe)`;
}

// Each file once per page (a manifest names immutable versions); a failure is asked again later.
async function fetchJson(url, read = fetchFile) {
  const key = String(url);
  if (!files.has(key)) {
    files.set(key, read(url));
  }
  try {
    return await files.get(key);
  } catch (error) {
    files.delete(key);
    throw error;
  }
}

function showWarnings() {
  showMessages([...colourWarnings, ...otherWarnings]);
}

function applyColours() {
  const resolved = applyTheme(state.theme, state.couleurs, manifest && manifest.widget);
  colours = resolved.colours;
  colourWarnings = resolved.warnings;
  showWarnings();
}

function darkBackground() {
  return contrastRatio(colours.fond, "#ffffff") > contrastRatio(colours.fond, "#000000");
}

function palette() {
  const rest = darkBackground() ? PALETTE_SOMBRE : PALETTE_CLAIRE;
  return [colours.principale, ...rest.filter((c) => c.toLowerCase() !== colours.principale.toLowerCase())];
}

function fail(message, options = {}) {
  disposeCharts();
  $("etat").textContent = message;
  $("resume").textContent = "";
  $("essentiel").replaceChildren();
  $("essentiel").hidden = true;
  $("graphiques").replaceChildren();
  $("retour-page").hidden = true;
  $("contenu").setAttribute("aria-busy", "false");
  $("choix").hidden = !options.keepChoices;
  document.body.dataset.etat = "erreur";
}

// ---- loading ------------------------------------------------------------------------

// The manifest asked for before anything else is done: on a phone the page's own work runs while it comes.
async function load() {
  const manifestPromise = /^\d{14}$/.test(state.siret)
    ? fetchJson(new URL(`budgets/${state.siret}/index.json`, location.href), (url) => fetchManifest(url, "budgets")) : null;
  applyColours();
  if (!manifestPromise) {
    fail(state.siret
      ? `« ${state.siret} » n'est pas un numéro SIRET (14 chiffres) : impossible d'afficher les budgets.`
      : "Aucun organisme indiqué : l'adresse du widget doit contenir ?siret= suivi du SIRET de l'organisme.");
    return;
  }
  manifestUrl = new URL(`budgets/${state.siret}/index.json`, location.href);
  try {
    manifest = await manifestPromise;
  } catch (error) {
    fail(manifestFailure(error, `Aucun budget publié pour le SIRET ${state.siret}.`,
      "Les budgets n'ont pas pu être chargés. Réessayez dans quelques instants."));
    return;
  }
  applyColours();
  setTitle(`Budgets de ${manifest.nom}`);
  writeAbout();
  await show();
}

// What the state asks for, among what the manifest holds; null and a message when absent.
function resolveChoice() {
  const establishments = manifest.etablissements || [];
  if (!establishments.length) return { error: `Aucun budget publié pour le SIRET ${state.siret}.` };
  let etablissement = establishments[0];
  if (state.budget) {
    etablissement = establishments.find((e) => e.siret === state.budget);
    if (!etablissement) {
      return {
        error: `Le budget de SIRET ${state.budget} n'est pas publié par ${manifest.nom}. ` +
          `Budgets disponibles : ${establishments.map((e) => `${e.nom} (${e.siret})`).join(", ")}.`,
        etablissement: establishments[0],
      };
    }
  }
  const years = etablissement.exercices || [];
  if (!years.length) return { error: `Aucun exercice publié pour ${etablissement.nom}.`, etablissement };
  let exercice = years[years.length - 1];
  if (state.annee) {
    exercice = years.find((y) => String(y.annee) === state.annee);
    if (!exercice) {
      return {
        error: `Aucun budget publié pour l'exercice ${state.annee} (${etablissement.nom}). ` +
          `Exercices disponibles : ${years.map((y) => y.annee).join(", ")}.`,
        etablissement,
      };
    }
  }
  const stages = exercice.etapes || [];
  let etape = stages[stages.length - 1];
  if (state.etape) {
    const wanted = state.etape;
    etape = stages.find((s) => stageKey(s) === wanted) ||
      [...stages].reverse().find((s) => stageKey(s).split("-")[0] === wanted ||
        (wanted === "ca" && stageKey(s) === "cfu") || (wanted === "cfu" && stageKey(s) === "ca"));
    if (!etape) {
      const slug = wanted.split("-")[0];
      const named = slug === "cfu" ? "compte financier unique"
        : (Object.values(STAGES).find((s) => s.slug === slug) || { libelle: "" }).libelle.toLowerCase();
      return {
        error: `${named ? `L'étape « ${named} »` : "L'étape demandée par l'adresse du widget"} n'est pas publiée pour l'exercice ` +
          `${exercice.annee} (${etablissement.nom}). Étapes disponibles : ${stages.map((s) => stageLabel(s).toLowerCase()).join(", ")}.`,
        etablissement, exercice,
      };
    }
  }
  return { etablissement, exercice, etape };
}

async function show(options = {}) {
  $("contenu").setAttribute("aria-busy", "true");
  choice = resolveChoice();
  fillChoices();
  if (choice.error) {
    fail(choice.error, { keepChoices: true });
    return;
  }
  try {
    [documentBudget, serie] = await Promise.all([
      fetchJson(new URL(choice.etape.fichier, manifestUrl)),
      fetchJson(new URL(choice.etablissement.serie, manifestUrl)).catch(() => null),
    ]);
  } catch (error) {
    fail("Ce budget n'a pas pu être chargé. Réessayez dans quelques instants.", { keepChoices: true });
    return;
  }
  $("choix").hidden = false;
  render();
  if (options.focus) $("etat").focus();
  document.body.dataset.etat = "pret";
}

function fillChoices() {
  const establishments = manifest.etablissements || [];
  const option = (value, label, selected) => el("option", { value, selected: selected || null }, label);
  $("champ-budget").hidden = establishments.length < 2;
  const current = choice.etablissement;
  $("budget").replaceChildren(...establishments.map((e) => option(e.siret, establishmentLabel(e), current && e.siret === current.siret)));
  const years = current ? [...(current.exercices || [])].reverse() : [];
  const yearOptions = years.map((y) => option(String(y.annee), String(y.annee), choice.exercice && y.annee === choice.exercice.annee));
  if (!choice.exercice) yearOptions.unshift(option("", "— choisir —", true));
  $("annee").replaceChildren(...yearOptions);
  const stages = choice.exercice ? choice.exercice.etapes || [] : [];
  const stageOptions = stages.map((s) => option(stageKey(s), stageLabel(s), choice.etape === s));
  if (!choice.etape) stageOptions.unshift(option("", "— choisir —", true));
  $("etape").replaceChildren(...stageOptions);
  $("affichage-" + state.affichage).checked = true;
  $("niveau-" + state.niveau).checked = true;
}

// ---- the models: one table per chart, from which the chart is drawn ------------------

function grouped(items, keyOf, labelOf) {
  const groups = new Map();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key) || { code: key, libelle: labelOf(item), valeurs: [0] };
    group.valeurs[0] += item.montant;
    groups.set(key, group);
  }
  return [...groups.values()]
    .map((g) => Object.assign(g, { valeurs: [round2(g.valeurs[0])] }))
    .sort((a, b) => b.valeurs[0] - a.valeurs[0] || String(a.code).localeCompare(String(b.code), "fr", { numeric: true }));
}

function named(code, label) {
  return label ? `${code} ${label}` : code;
}

function shares(rows, columns) {
  const totals = columns.map((_, i) => rows.reduce((sum, r) => sum + (r.valeurs[i] || 0), 0));
  return rows.map((r) => Object.assign({}, r, { valeurs: r.valeurs.map((v, i) => (totals[i] ? v / totals[i] : null)) }));
}

function breakdown(id, sense, by) {
  const doc = documentBudget;
  const detailed = state.niveau === "detaille";
  const percent = state.affichage === "pourcentage";
  const word = sense === "dépense" ? "Dépenses" : "Recettes";
  let rows;
  let description;
  let empty = null;
  if (by === "nature") {
    if (detailed) {
      rows = grouped(doc.par_nature.filter((n) => n.sens === sense), (n) => n.code, (n) => named(n.code, n.libelle));
      description = `${word} par compte (nature), opérations réelles et d'ordre.`;
    } else {
      rows = grouped(doc.par_chapitre.filter((c) => c.sens === sense), (c) => c.code, (c) => named(c.code, c.libelle));
      description = `${word} par chapitre budgétaire, opérations réelles et d'ordre.`;
    }
  } else {
    const functions = (doc.par_fonction || []).filter((f) => f.sens === sense);
    if (!functions.length) empty = `Ce budget ne présente pas ses ${word.toLowerCase()} par fonction.`;
    if (detailed) {
      rows = grouped(functions, (f) => f.code, (f) => named(f.code, f.libelle));
      description = `${word} ventilées par fonction.`;
    } else {
      rows = grouped(functions, (f) => f.rubrique || String(f.code).charAt(0),
        (f) => named(f.rubrique || String(f.code).charAt(0), f.rubrique_libelle || (f.rubrique === f.code ? f.libelle : "")));
      description = `${word} ventilées par grande fonction (rubrique).`;
    }
  }
  const columns = [percent ? "Part du total" : "Montant"];
  const total = round2(rows.reduce((sum, r) => sum + r.valeurs[0], 0));
  return {
    id, type: "anneau", vide: empty,
    titre: `${word} par ${by === "nature" ? "nature" : "fonction"}`,
    description,
    premiereColonne: by === "nature" ? (detailed ? "Compte" : "Chapitre") : (detailed ? "Fonction" : "Rubrique"),
    colonnes: columns,
    unite: percent ? "pourcent" : "euro",
    lignes: percent ? shares(rows, columns) : rows,
    total: rows.length ? ["Total", [percent ? 1 : total]] : null,
  };
}

function sectionsModel() {
  const doc = documentBudget;
  const percent = state.affichage === "pourcentage";
  const sectionName = { fonctionnement: "Fonctionnement", investissement: "Investissement" };
  let rows;
  if (state.niveau === "detaille") {
    const groups = new Map();
    for (const c of doc.par_chapitre) {
      const key = `${c.section}|${c.type}`;
      const group = groups.get(key) || {
        code: key,
        libelle: `${sectionName[c.section] || c.section} — opérations ${c.type === "ordre" ? "d'ordre" : "réelles"}`,
        valeurs: [0, 0],
      };
      group.valeurs[c.sens === "dépense" ? 0 : 1] += c.montant;
      groups.set(key, group);
    }
    rows = [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0], "fr")).map(([, g]) =>
      Object.assign(g, { valeurs: g.valeurs.map(round2) }));
  } else {
    rows = doc.sections.map((s) => ({ code: s.section, libelle: sectionName[s.section] || s.section, valeurs: [s.depenses, s.recettes] }));
  }
  const columns = ["Dépenses", "Recettes"];
  return {
    id: "sections", type: "barres",
    titre: "Fonctionnement et investissement",
    description: state.niveau === "detaille"
      ? "Dépenses et recettes de chaque section, opérations réelles et opérations d'ordre séparées."
      : "Dépenses et recettes de chaque section.",
    premiereColonne: "Section",
    colonnes: percent ? columns.map((c) => `${c} (part du total)`) : columns,
    unite: percent ? "pourcent" : "euro",
    lignes: percent ? shares(rows, columns) : rows,
    total: ["Total", percent ? [1, 1] : [doc.totaux.depenses, doc.totaux.recettes]],
  };
}

function topModel() {
  const doc = documentBudget;
  const percent = state.affichage === "pourcentage";
  const detailed = state.niveau === "detaille";
  const real = (detailed ? doc.par_nature : doc.par_chapitre).filter((x) => x.sens === "dépense" && x.type === "réel");
  const all = grouped(real, (x) => x.code, (x) => named(x.code, x.libelle));
  const total = all.reduce((sum, r) => sum + r.valeurs[0], 0);
  const rows = all.slice(0, TOP);
  return {
    id: "top-depenses", type: "barres-h", vide: rows.length ? null : "Ce budget ne comporte aucune dépense réelle.",
    titre: "Principales dépenses",
    description: `Les ${Math.min(TOP, all.length)} plus grosses dépenses réelles, par ${detailed ? "compte (nature)" : "chapitre"}` +
      (percent ? ", en part du total des dépenses réelles." : "."),
    premiereColonne: detailed ? "Compte" : "Chapitre",
    colonnes: [percent ? "Part des dépenses réelles" : "Montant"],
    unite: percent ? "pourcent" : "euro",
    lignes: percent ? rows.map((r) => Object.assign({}, r, { valeurs: [total ? r.valeurs[0] / total : null] })) : rows,
    total: null,
  };
}

function evolutionModel() {
  const doc = documentBudget;
  const percent = state.affichage === "pourcentage";
  const detailed = state.niveau === "detaille";
  const points = ((serie && serie.points) || []).filter((p) => p.etape === doc.etape);
  const section = (p, name, side) => {
    const found = (p.sections || []).find((s) => s.section === name);
    return found ? found[side] : 0;
  };
  const columns = detailed
    ? ["Dépenses de fonctionnement", "Dépenses d'investissement", "Recettes de fonctionnement", "Recettes d'investissement"]
    : ["Dépenses", "Recettes"];
  let rows = points.map((p) => ({
    code: String(p.annee) + (p.date_decision_dm ? `-${p.date_decision_dm}` : ""),
    libelle: String(p.annee) + (p.date_decision_dm ? ` (décision du ${frenchDate(p.date_decision_dm)})` : ""),
    valeurs: detailed
      ? [section(p, "fonctionnement", "depenses"), section(p, "investissement", "depenses"),
        section(p, "fonctionnement", "recettes"), section(p, "investissement", "recettes")]
      : [p.totaux.depenses, p.totaux.recettes],
  }));
  if (percent) {
    rows = rows.map((r, i) => Object.assign({}, r, {
      valeurs: r.valeurs.map((v, j) => {
        const before = i ? rows[i - 1].valeurs[j] : null;
        return before ? (v - before) / before : null;
      }),
    }));
  }
  const stage = STAGES[doc.etape] || { pluriel: doc.etape };
  return {
    id: "evolution", type: percent ? "courbes" : "barres",
    vide: rows.length ? null : "Aucun exercice à comparer.",
    titre: "Évolution sur les exercices",
    description: `Les ${stage.pluriel} de chaque exercice publié` +
      (percent ? ", en variation par rapport à l'exercice précédent." : "."),
    premiereColonne: "Exercice",
    colonnes: percent ? columns.map((c) => `${c} (variation)`) : columns,
    unite: percent ? "variation" : "euro",
    lignes: rows,
    total: null,
  };
}

function buildModels() {
  const all = new Map();
  all.set("sections", sectionsModel());
  all.set("depenses-nature", breakdown("depenses-nature", "dépense", "nature"));
  all.set("recettes-nature", breakdown("recettes-nature", "recette", "nature"));
  all.set("depenses-fonction", breakdown("depenses-fonction", "dépense", "fonction"));
  all.set("recettes-fonction", breakdown("recettes-fonction", "recette", "fonction"));
  all.set("top-depenses", topModel());
  all.set("evolution", evolutionModel());
  return all;
}

// ---- rendering ----------------------------------------------------------------------

let chartsDrawn = 0; // bumped by each disposal: a drawing started before it is dropped

function disposeCharts() {
  chartsDrawn += 1;
  for (const chart of charts.values()) chart.dispose();
  charts.clear();
  delete document.body.dataset.graphiques;
}

function drawCharts(ids) {
  const drawing = chartsDrawn;
  loadCharts().then(() => {
    if (drawing !== chartsDrawn) return; // a later render draws its own
    for (const id of ids) {
      const model = models.get(id);
      if (model.vide) continue;
      const chart = echarts.init($(`dessin-${id}`), null, { renderer: "canvas", locale: "FR" });
      chart.setOption(option(model));
      charts.set(id, chart);
    }
    document.body.dataset.graphiques = "pret";
  }, () => {
    if (drawing === chartsDrawn) document.body.dataset.graphiques = "erreur"; // the data tables stay
  });
}

// "Budget primitif 2025"; a dated stage names its exercice apart: "Décision modificative du
// 12 juin 2025 (exercice 2025)", never "… 12 juin 2025 2025".
function context() {
  const label = stageLabel(Object.assign({ compte_financier_unique: documentBudget.compte_financier_unique }, choice.etape));
  return choice.etape.date_decision_dm ? `${label} (exercice ${choice.exercice.annee})` : `${label} ${choice.exercice.annee}`;
}

// The accounting plan as a citizen may read it: "M57", or "M4 (déclinaison M49_A)", never "M57-M57".
function nomenclatureText(nomenclature) {
  const [norme, declinaison] = String(nomenclature || "").split("-");
  return !declinaison || declinaison === norme ? norme : `${norme} (déclinaison ${declinaison})`;
}

function summary(model) {
  const kind = { anneau: "Diagramme en anneau", barres: "Diagramme en barres", "barres-h": "Diagramme en barres horizontales", courbes: "Graphique en courbes" }[model.type];
  const shown = model.lignes.slice(0, 5).map((row) => {
    if (model.colonnes.length === 1) return `${row.libelle} : ${formatValue(row.valeurs[0], model.unite)}`;
    return `${row.libelle} : ` + model.colonnes.map((c, i) => `${c.toLowerCase()} ${formatValue(row.valeurs[i], model.unite)}`).join(", ");
  });
  const more = model.lignes.length > 5 ? ` ; et ${model.lignes.length - 5} autres lignes` : "";
  return `${kind} « ${model.titre} », ${context()}, ${documentBudget.nom}. ${shown.join(" ; ")}${more}. ` +
    "Toutes les valeurs sont dans le tableau des données.";
}

function table(model) {
  const captionId = `legende-${model.id}`;
  const unit = model.unite === "euro" ? "montants en euros" : model.unite === "variation" ? "variations en pourcentage" : "parts en pourcentage";
  const head = el("tr", {}, el("th", { scope: "col" }, model.premiereColonne), ...model.colonnes.map((c) => el("th", { scope: "col" }, c)));
  const body = model.lignes.map((row) => el("tr", {}, el("th", { scope: "row" }, row.libelle),
    ...row.valeurs.map((v) => el("td", {}, formatValue(v, model.unite)))));
  const foot = model.total
    ? el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, model.total[0]), ...model.total[1].map((v) => el("td", {}, formatValue(v, model.unite)))))
    : null;
  return el("div", { className: "tableau", tabindex: "0", role: "region", "aria-labelledby": captionId },
    el("table", {},
      el("caption", { id: captionId }, `${model.titre} — ${context()} (${unit})`),
      el("thead", {}, head), el("tbody", {}, ...body), foot));
}

function section(model) {
  const id = model.id;
  const node = el("section", { className: "graphique", id: `graphique-${id}`, "data-graphique": id, "aria-labelledby": `titre-${id}` },
    el("h3", { id: `titre-${id}` }, model.titre),
    el("p", { className: "description" }, model.description));
  if (model.vide) {
    node.dataset.vide = "oui";
    node.append(el("p", { className: "vide" }, model.vide));
    return node;
  }
  const drawing = el("div", { className: `dessin ${model.type}`, id: `dessin-${id}`, role: "img", "aria-label": summary(model) });
  const single = new URL(location.href);
  single.search = BUDGETS.toParams(Object.assign({}, state, { graphique: id })).toString();
  node.append(
    drawing,
    el("details", { className: "donnees" }, el("summary", {}, "Tableau des données", hidden(` : ${model.titre}`)), table(model)),
    el("div", { className: "actions-graphique" },
      el("button", { type: "button", className: "secondaire", "data-action": "csv", "data-graphique": id },
        "Télécharger les données (CSV)", hidden(` : ${model.titre}`)),
      el("button", { type: "button", className: "secondaire", "data-action": "png", "data-graphique": id },
        "Télécharger l'image (PNG)", hidden(` : ${model.titre}`)),
      state.graphique ? null : el("a", { href: single.href, className: "seul" }, "Afficher ce graphique seul", hidden(` : ${model.titre}`))));
  return node;
}

function baseOption(model) {
  const text = colours.texte;
  const faint = `${text}55`;
  const format = (v) => formatValue(typeof v === "number" ? v : Number(v), model.unite);
  return {
    animation: false,
    color: palette(),
    backgroundColor: "transparent",
    textStyle: { color: text, fontFamily: "system-ui, sans-serif" },
    tooltip: {
      renderMode: "richText",
      confine: true,
      backgroundColor: colours.fond,
      borderColor: text,
      textStyle: { color: text },
      valueFormatter: format,
    },
    _axis: {
      axisLine: { lineStyle: { color: text } },
      axisTick: { lineStyle: { color: text } },
      axisLabel: { color: text },
      splitLine: { lineStyle: { color: faint } },
    },
  };
}

function option(model) {
  const base = baseOption(model);
  const axis = base._axis;
  delete base._axis;
  const narrow = window.matchMedia("(max-width: 30em)").matches;
  if (model.type === "anneau") {
    return Object.assign(base, {
      tooltip: Object.assign(base.tooltip, { trigger: "item", formatter: (p) => `${drawn(p.name)} : ${formatValue(p.value, model.unite)}` }),
      legend: narrow
        ? { show: true, type: "scroll", orient: "vertical", left: 0, right: 0, top: "62%", bottom: 0,
          textStyle: { color: colours.texte, width: 250, overflow: "truncate" }, pageTextStyle: { color: colours.texte },
          formatter: (name) => shorten(name, 40) }
        : { show: false },
      series: [{
        type: "pie",
        name: model.titre,
        radius: narrow ? ["28%", "50%"] : ["38%", "66%"],
        // On a phone the slices are named by the legend under the ring; on a wider screen by
        // labels kept inside the chart (aligned to its edges) and hidden where they would overlap.
        center: ["50%", narrow ? "32%" : "52%"],
        avoidLabelOverlap: true,
        minShowLabelAngle: 12,
        label: { show: !narrow, color: colours.texte, formatter: (p) => shorten(p.name, 26), overflow: "truncate",
          alignTo: "edge", edgeDistance: 8, width: 150, bleedMargin: 8 },
        labelLayout: { hideOverlap: true },
        labelLine: { lineStyle: { color: colours.texte }, length2: 8 },
        itemStyle: { borderColor: colours.fond, borderWidth: 1 },
        data: model.lignes.map((r) => ({ name: r.libelle, value: r.valeurs[0] })),
      }],
    });
  }
  // Axis labels stay short (the table has the full ones): "Fonctionnement — opérations réelles" on two lines.
  const categories = model.lignes.map((r) => drawn(r.libelle).replace(" — opérations ", "\n"));
  const valueAxis = Object.assign({ type: "value", axisLabel: Object.assign({}, axis.axisLabel, { formatter: (v) => axisValue(v, model.unite) }) },
    { axisLine: axis.axisLine, splitLine: axis.splitLine });
  const series = model.colonnes.map((name, i) => ({
    type: model.type === "courbes" ? "line" : "bar",
    name: drawn(name),
    connectNulls: false,
    barMaxWidth: 56,
    data: model.lignes.map((r) => (r.valeurs[i] === null ? "-" : r.valeurs[i])),
  }));
  const legend = model.colonnes.length > 1
    ? { top: 0, textStyle: { color: colours.texte }, type: "scroll", pageTextStyle: { color: colours.texte } }
    : undefined;
  if (model.type === "barres-h") {
    return Object.assign(base, {
      tooltip: Object.assign(base.tooltip, { trigger: "axis", axisPointer: { type: "shadow" } }),
      grid: { left: 8, right: 28, top: 8, bottom: 8, containLabel: true },
      xAxis: valueAxis,
      yAxis: Object.assign({ type: "category", inverse: true, data: categories },
        { axisLine: axis.axisLine, axisTick: axis.axisTick,
          axisLabel: Object.assign({}, axis.axisLabel, { width: narrow ? 90 : 200, overflow: "truncate" }) }),
      series,
    });
  }
  return Object.assign(base, {
    tooltip: Object.assign(base.tooltip, { trigger: "axis" }),
    legend,
    grid: { left: 8, right: 16, top: legend ? (narrow && model.colonnes.length > 2 ? 56 : 32) : 8, bottom: 8, containLabel: true },
    xAxis: Object.assign({ type: "category", data: categories },
      { axisLine: axis.axisLine, axisTick: axis.axisTick,
        axisLabel: Object.assign({}, axis.axisLabel, { interval: 0, width: narrow ? 64 : 110, overflow: "truncate", lineHeight: 15,
          rotate: narrow && categories.length > 2 ? 30 : 0 }) }),
    yAxis: valueAxis,
    series,
  });
}

function render() {
  disposeCharts();
  models = buildModels();
  otherWarnings = [];
  let ids = CHARTS;
  if (state.graphique) {
    if (models.has(state.graphique)) ids = [state.graphique];
    else otherWarnings.push(`Graphique « ${state.graphique} » inconnu : tous les graphiques sont affichés.`);
  }
  showWarnings();
  const single = ids.length === 1;
  document.body.classList.toggle("seul", single);
  $("retour-page").hidden = !single;
  if (single) {
    $("tous-les-graphiques").href = "?" + BUDGETS.toParams(Object.assign({}, state, { graphique: "" })).toString();
  }
  const doc = documentBudget;
  $("etat").textContent = `${choice.etablissement.nom} — ${context()}`;
  $("resume").textContent = `Dépenses : ${EUROS.format(doc.totaux.depenses)} ; recettes : ${EUROS.format(doc.totaux.recettes)} ` +
    `(montants ${doc.etape === "compte administratif" ? "réalisés" : "votés"}, plan comptable ${nomenclatureText(doc.nomenclature)}).`;
  renderEssentials(single);
  const sections = ids.map((id) => section(models.get(id)));
  $("graphiques").replaceChildren(...sections);
  drawCharts(ids);
  $("contenu").setAttribute("aria-busy", "false");
}

// ---- the essentials in plain words: sentences, key figures per inhabitant, comparison -----

const HABITANTS = new Intl.NumberFormat("fr-FR");

function dataTable(id, caption, columns, rows) {
  const captionId = `legende-${id}`;
  return el("div", { className: "tableau", tabindex: "0", role: "region", "aria-labelledby": captionId },
    el("table", { id },
      el("caption", { id: captionId }, caption),
      el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col" }, c)))),
      el("tbody", {}, ...rows.map(([head, ...cells]) => el("tr", {}, el("th", { scope: "row" }, head),
        ...cells.map((c) => el("td", {}, c)))))));
}

function previousText(doc) {
  const p = doc.precedent;
  if (!p) return null;
  return p.date_decision_dm ? `décision du ${frenchDate(p.date_decision_dm)}` : String(p.annee);
}

// "+5,2 % (1 000,00 € en 2024)", "—" when there is nothing to compare with.
function changeText(item, doc) {
  if (item.montant_precedent === null || item.montant_precedent === undefined) return "—";
  const before = `${EUROS.format(item.montant_precedent)} en ${previousText(doc)}`;
  return item.evolution === null ? `(${before})` : `${VARIATION.format(item.evolution)} (${before})`;
}

function populationText(doc) {
  const p = doc.population;
  if (!p) {
    return "Pas de montant par habitant : aucune population légale de l'INSEE n'est connue pour cet organisme " +
      "(seules les communes en ont une ici).";
  }
  return `Montants par habitant calculés avec la population légale ${p.annee} de l'INSEE ` +
    `(population totale : ${HABITANTS.format(p.nombre)} habitants).`;
}

function comparisonText(doc) {
  const c = doc.comparaison;
  if (!c) return null;
  const hasMedians = doc.chiffres_cles.some((f) => f.mediane_par_habitant !== null);
  const count = `${c.organismes} commune${c.organismes > 1 ? "s" : ""}`;
  if (hasMedians) return `Comparaison avec la médiane par habitant des ${c.groupe} (${count}).`;
  return `Pas de comparaison possible : ${count} seulement parmi les ${c.groupe} ` +
    `(il en faut au moins ${c.minimum}).`;
}

function keyFiguresTable(doc) {
  const year = doc.population ? doc.population.annee : null;
  const medians = doc.chiffres_cles.some((f) => f.mediane_par_habitant !== null);
  const columns = ["Chiffre clé", "Montant"];
  if (year) columns.push(`Par habitant (population légale ${year})`);
  if (doc.precedent) columns.push(`Évolution depuis ${previousText(doc)}`);
  if (medians) columns.push(`Médiane par habitant des communes comparables (population légale ${year})`);
  const rows = doc.chiffres_cles.map((f) => [
    f.libelle, EUROS.format(f.montant),
    ...(year ? [f.par_habitant === null ? "—" : EUROS.format(f.par_habitant)] : []),
    ...(doc.precedent ? [changeText(f, doc)] : []),
    ...(medians ? [f.mediane_par_habitant === null ? "—" : EUROS.format(f.mediane_par_habitant)] : []),
  ]);
  return dataTable("chiffres-cles", `Chiffres clés — ${context()}`, columns, rows);
}

function officialName(code, label) {
  return label ? `${code} ${label}` : code;
}

function chaptersTable(doc) {
  const year = doc.population ? doc.population.annee : null;
  const columns = ["Chapitre (libellé officiel)", "En clair", "Sens", "Montant"];
  if (year) columns.push(`Par habitant (population légale ${year})`);
  if (doc.precedent) columns.push(`Évolution depuis ${previousText(doc)}`);
  const chapters = [...doc.par_chapitre].sort((a, b) => (a.sens === b.sens ? b.montant - a.montant : a.sens === "recette" ? -1 : 1));
  const rows = chapters.map((c) => [
    officialName(c.code, c.libelle), c.libelle_clair || "—",
    `${c.sens === "recette" ? "Recette" : "Dépense"} ${c.type === "ordre" ? "d'ordre" : "réelle"}`, EUROS.format(c.montant),
    ...(year ? [c.par_habitant === null ? "—" : EUROS.format(c.par_habitant)] : []),
    ...(doc.precedent ? [changeText(c, doc)] : []),
  ]);
  return dataTable("chapitres-en-clair", `Chaque chapitre en clair — ${context()}`, columns, rows);
}

function rubriquesTable(doc) {
  const functions = doc.par_fonction || [];
  if (!functions.some((f) => f.rubrique_libelle_clair)) return null;
  const groups = new Map();
  for (const f of functions) {
    const key = `${f.sens}|${f.rubrique}`;
    const group = groups.get(key) || { sens: f.sens, code: f.rubrique, libelle: f.rubrique_libelle || (f.rubrique === f.code ? f.libelle : ""),
      clair: f.rubrique_libelle_clair, montant: 0, precedent: null };
    group.montant += f.montant;
    if (f.montant_precedent !== null) group.precedent = (group.precedent || 0) + f.montant_precedent;
    groups.set(key, group);
  }
  const year = doc.population ? doc.population.annee : null;
  const columns = ["Grande fonction (libellé officiel)", "En clair", "Sens", "Montant"];
  if (year) columns.push(`Par habitant (population légale ${year})`);
  if (doc.precedent) columns.push(`Évolution depuis ${previousText(doc)}`);
  const rows = [...groups.values()].sort((a, b) => (a.sens === b.sens ? b.montant - a.montant : a.sens === "recette" ? -1 : 1)).map((g) => {
    const montant = round2(g.montant);
    const precedent = g.precedent === null ? null : round2(g.precedent);
    return [
      officialName(g.code, g.libelle), g.clair || "—", g.sens === "recette" ? "Recette" : "Dépense", EUROS.format(montant),
      ...(year ? [EUROS.format(round2(montant / doc.population.nombre))] : []),
      ...(doc.precedent ? [changeText({ montant_precedent: precedent,
        evolution: precedent ? (montant - precedent) / Math.abs(precedent) : null }, doc)] : []),
    ];
  });
  return dataTable("fonctions-en-clair", `Chaque grande fonction en clair — ${context()}`, columns, rows);
}

function renderEssentials(single) {
  const doc = documentBudget;
  const box = $("essentiel");
  box.hidden = single || !doc.chiffres_cles;
  if (box.hidden) {
    box.replaceChildren();
    return;
  }
  const sentences = doc.en_clair || {};
  const phrase = (key, question) => (sentences[key]
    ? el("p", { className: "phrase", "data-phrase": key }, el("strong", {}, question), " ", sentences[key]) : null);
  const compared = comparisonText(doc);
  const rubriques = rubriquesTable(doc);
  box.replaceChildren(
    el("h3", { id: "titre-essentiel" }, "L'essentiel en clair"),
    phrase("provenance", "D'où vient l'argent ?"),
    phrase("destination", "Où va l'argent ?"),
    el("p", { id: "note-population", className: "note" }, populationText(doc)),
    compared ? el("p", { id: "note-comparaison", className: "note" }, compared) : null,
    doc.precedent ? null : el("p", { id: "note-evolution", className: "note" },
      `Pas d'évolution sur un an : aucun document de la même étape n'est publié pour l'exercice ${doc.annee - 1}.`),
    keyFiguresTable(doc),
    el("details", { className: "donnees" }, el("summary", {}, "Chaque chapitre en clair, avec son libellé officiel"), chaptersTable(doc)),
    rubriques ? el("details", { className: "donnees" }, el("summary", {}, "Chaque grande fonction en clair, avec son libellé officiel"), rubriques) : null,
  );
}

function writeAbout() {
  writeAboutBlock({
    paragraphs: [
      `Ces budgets sont les documents budgétaires que ${manifest.nom} (SIRET ${manifest.siret}) a transmis ` +
        "au contrôle de légalité par la télétransmission des actes (fichiers TOTEM), publiés chaque nuit par " +
        `${publisher(manifest)}.`,
      "Les montants sont ceux que l'étape présente : les crédits votés pour un budget primitif, un budget " +
        "supplémentaire ou une décision modificative, les montants réalisés pour un compte administratif ou un compte " +
        "financier unique. Les mêmes lignes budgétaires sont publiées au format national SCDL « budget » sur data.gouv.fr.",
      "« L'essentiel en clair » est calculé à partir de ces mêmes lignes : les montants par habitant divisent par la " +
        "population légale (population totale) que publie l'INSEE, dont l'année est indiquée ; les noms « en clair » " +
        "des chapitres et des fonctions sont écrits par l'éditeur à côté des libellés officiels, qui restent affichés ; " +
        "l'évolution compare avec le document de la même étape de l'exercice précédent ; une commune est comparée " +
        "à la médiane des communes de la région de la même tranche de population qui ont publié le même document.",
    ],
    charts: true,
  });
}

// ---- exports ------------------------------------------------------------------------

function csvNumber(value, unit) {
  if (!Number.isFinite(value)) return "";
  return unit === "euro" ? csvDecimal(value, 2) : csvDecimal(value * 100, 1);
}

function fileName(id, extension) {
  return `budget-${choice.etablissement.siret}-${choice.exercice.annee}-${stageKey(choice.etape)}-${id}.${extension}`;
}

function exportCsv(id) {
  const model = models.get(id);
  const unit = model.unite === "euro" ? "euros" : "%";
  const header = ["code", model.premiereColonne.toLowerCase(), ...model.colonnes.map((c) => `${c} (${unit})`)];
  const rows = model.lignes.map((r) => [r.code, r.libelle, ...r.valeurs.map((v) => csvNumber(v, model.unite))]);
  downloadCsv(header, rows, fileName(id, "csv"));
  $("annonce").textContent = `Données du graphique « ${model.titre} » exportées en CSV.`;
}

function exportPng(id) {
  const chart = charts.get(id);
  if (!chart) return;
  const url = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: colours.fond });
  const binary = atob(url.slice(url.indexOf(",") + 1));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  download(new Blob([bytes], { type: "image/png" }), fileName(id, "png"));
  $("annonce").textContent = `Image du graphique « ${models.get(id).titre} » téléchargée.`;
}

// ---- events -------------------------------------------------------------------------

function update(changes, options = {}) {
  Object.assign(state, changes);
  replaceUrl(BUDGETS.toParams(state));
  if (options.reload) show({ focus: false });
  else {
    render();
    $("annonce").textContent = "Graphiques et tableaux mis à jour.";
  }
}

// The budget whose choices are on screen, as the URL names it (the principal budget: nothing).
function shownBudget() {
  const siret = choice.etablissement.siret;
  return siret === manifest.etablissements[0].siret ? "" : siret;
}

function listen() {
  $("choix").addEventListener("submit", (event) => event.preventDefault());
  $("budget").addEventListener("change", (event) => {
    const principal = manifest.etablissements[0].siret;
    update({ budget: event.target.value === principal ? "" : event.target.value, annee: "", etape: "" }, { reload: true });
  });
  $("annee").addEventListener("change", (event) => {
    const base = choice.etape ? stageKey(choice.etape).split("-")[0] : "";
    const years = (choice.etablissement.exercices || []);
    const year = years.find((y) => String(y.annee) === event.target.value);
    const keep = year && (year.etapes || []).some((s) => stageKey(s).split("-")[0] === base);
    update({ budget: shownBudget(), annee: event.target.value, etape: keep ? base : "" }, { reload: true });
  });
  $("etape").addEventListener("change", (event) => {
    update({ budget: shownBudget(), annee: choice.exercice ? String(choice.exercice.annee) : state.annee, etape: event.target.value },
      { reload: true });
  });
  for (const radio of document.querySelectorAll('input[name="affichage"], input[name="niveau"]')) {
    radio.addEventListener("change", (event) => {
      if (event.target.checked && documentBudget) update({ [event.target.name]: event.target.value });
    });
  }
  $("graphiques").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    if (button.dataset.action === "csv") exportCsv(button.dataset.graphique);
    else if (button.dataset.action === "png") exportPng(button.dataset.graphique);
  });
  let timer = null;
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { for (const chart of charts.values()) chart.resize(); }, 100);
  });
  window.addEventListener("popstate", () => {
    state = BUDGETS.parse(location.search);
    if (manifest) show();
  });
}

load();
listen();
