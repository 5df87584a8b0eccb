/* Focus marchés widget: reads one buyer's files from the public zone, nothing else.
 *
 * The figures shown are the published ones (indicateurs.json): a period of years adds up
 * the years' figures, and each year lists all its titulaires so that the top titulaires,
 * their départements and the SME share of any period are exact. Data and text from the
 * files are only ever put in the page as text (textContent), never as HTML; chart tooltips
 * are drawn on the canvas (ECharts' richText mode), not as HTML. */
import { publisher, writeAbout as writeAboutBlock } from "./commun/a-propos.js";
import { csvDecimal, downloadCsv } from "./commun/csv.js";
import { byId as $, el, frenchDate as longDate, hiddenText as hidden, setTitle, showWarnings } from "./commun/dom.js";
import { loadCharts } from "./commun/graphiques.js";
import { fetchJson, fetchManifest, manifestFailure } from "./commun/manifest.js";
import { onPageChosen, renderPager } from "./commun/pager.js";
import { MARCHES, MARCHES_TYPES as TYPES } from "./commun/parametres.js";
import { fold, words } from "./commun/texte.js";
import { applyColours as applyTheme } from "./commun/theme.js";
import { pushUrl, replaceUrl } from "./commun/url-state.js";

const PAR_PAGE = 20;
const TOP = 10;
const CATEGORIES = ["Travaux", "Fournitures", "Services", "Non classé"];
const NON_DIFFUSIBLE = "Non diffusible";
const EUROS = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });
const EUROS_COURTS = new Intl.NumberFormat("fr-FR", { notation: "compact", maximumFractionDigits: 1 });
const NOMBRE = new Intl.NumberFormat("fr-FR");
const POURCENT = new Intl.NumberFormat("fr-FR", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });

let state = MARCHES.parse(location.search);
let manifest = null;
let manifestUrl = null;
let published = null;
let years = [];
let contracts = [];
let contractsLoaded = false;
let contractsPromise = null;
let current = [];
let colours = { principale: "#005a9c", fond: "#ffffff", texte: "#1e1e1e" };
const charts = new Map();
let chartsDrawn = 0;
window.digorMarches = { state: () => state, charts, figures: () => lastFigures };
let lastFigures = null;

// ---- small helpers ---------------------------------------------------------------------

function euros(value) {
  return EUROS.format(Number(value) || 0);
}

function share(part, whole) {
  return whole ? Math.round((part / whole) * 10000) / 10000 : null;
}

function cents(value) {
  return Math.round(value * 100) / 100;
}

const plain = fold;

function sameWords(a, b) {
  return !a || fold(a).trim() === fold(b).trim();
}

function holderName(holder) {
  if (holder.non_diffusible) return `${NON_DIFFUSIBLE} (${holder.type_identifiant || "SIRET"} ${holder.id || "inconnu"})`;
  return holder.nom || `${holder.type_identifiant || "Identifiant"} ${holder.id || "inconnu"}`;
}

function holderNameOnly(holder) {
  if (holder.non_diffusible) return NON_DIFFUSIBLE;
  return holder.nom || "Nom inconnu";
}

function applyColours() {
  const resolved = applyTheme(state.theme, state.couleurs, manifest && manifest.widget);
  colours = resolved.colours;
  showWarnings(resolved.warnings);
}

function fail(message) {
  $("etat").textContent = message;
  $("contenu").setAttribute("aria-busy", "false");
  document.body.dataset.etat = "erreur";
}

// ---- loading ---------------------------------------------------------------------------

// The manifest, then the indicators, asked for before anything else is done: on a phone the page's
// own work runs while they come.
async function load() {
  const manifestPromise = /^\d{14}$/.test(state.siret)
    ? fetchManifest(new URL(`marches/${state.siret}/index.json`, location.href), "marches") : null;
  applyColours();
  if (!manifestPromise) {
    fail(state.siret
      ? `« ${state.siret} » n'est pas un numéro SIRET (14 chiffres) : impossible d'afficher les marchés.`
      : "Aucun acheteur indiqué : l'adresse du widget doit contenir ?siret= suivi du SIRET de l'acheteur.");
    return;
  }
  manifestUrl = new URL(`marches/${state.siret}/index.json`, location.href);
  try {
    manifest = await manifestPromise;
  } catch (error) {
    fail(manifestFailure(error,
      `Aucun marché publié pour le SIRET ${state.siret}. Vérifiez le numéro, ou revenez quand l'acheteur aura publié ses premiers marchés.`,
      "Les marchés n'ont pas pu être chargés. Réessayez dans quelques instants."));
    return;
  }
  years = Object.keys(manifest.annees || {}).map(Number).sort((a, b) => a - b);
  const indicators = years.length ? fetchJson(new URL(manifest.indicateurs, manifestUrl), { version: true }) : null;
  if (indicators) indicators.catch(() => null); // awaited below: a failure is told there
  applyColours();
  const name = manifest.nom || `l'acheteur SIRET ${manifest.siret}`;
  setTitle(`Marchés publics de ${name}`);
  writeAbout();
  if (!years.length) {
    fail(`Aucun marché publié pour le SIRET ${state.siret}.`);
    return;
  }
  try {
    published = await indicators;
  } catch (error) {
    fail("Les marchés n'ont pas pu être chargés. Réessayez dans quelques instants.");
    return;
  }
  for (const id of ["indicateurs", "graphiques", "section-liste"]) $(id).hidden = false;
  buildControls();
  syncControls();
  render();
  document.body.dataset.etat = "pret";
  // The list of contracts (every year file: the heaviest part) is fetched when a visitor gets
  // near it, or at once when the address asks for a view of the list.
  if (listWanted()) loadContracts();
  else watchList();
}

// Whether the page's state is about the list (a search, a filter, a sort, a page of it).
function listWanted() {
  return Boolean(state.recherche || state.type || state.nature || state.procedure || state.categorie || state.tri ||
    state.page > 1);
}

function watchList() {
  if (!("IntersectionObserver" in window)) {
    loadContracts();
    return;
  }
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      observer.disconnect();
      loadContracts();
    }
  }, { rootMargin: "0px 0px 400px 0px" });
  observer.observe($("section-liste"));
  $("section-liste").addEventListener("focusin", loadContracts, { once: true });
}

// Every year file, once; a year that cannot be read leaves the other years listed, with a note.
function loadContracts() {
  if (!contractsPromise) {
    contractsPromise = (async () => {
      const files = await Promise.allSettled(
        years.map((y) => fetchJson(new URL(manifest.annees[String(y)].fichier, manifestUrl), { version: true })));
      contracts = files.flatMap((file, i) => (file.status === "fulfilled" ? file.value.contrats || [] : [])
        .map((c) => prepare(c, years[i])));
      const failed = years.filter((y, i) => files[i].status !== "fulfilled");
      $("incomplet").hidden = !failed.length;
      $("incomplet").textContent = failed.length
        ? `Les contrats de ${failed.join(", ")} n'ont pas pu être chargés : la liste est incomplète. ` +
          "Réessayez dans quelques instants." : "";
      contractsLoaded = true;
      buildListControls();
      syncControls();
      renderList();
      document.body.dataset.liste = "pret";
    })();
  }
  return contractsPromise;
}

function prepare(contract, fileYear) {
  contract._annee = fileYear;
  contract._type = contract.type === TYPES.concession ? "concession" : "marche";
  contract._texte = plain([contract.objet, contract.id, contract.nature, contract.procedure,
    contract.cpv && contract.cpv.code, contract.cpv && contract.cpv.libelle,
    ...(contract.titulaires || []).flatMap((h) => [h.id, h.non_diffusible ? NON_DIFFUSIBLE : h.nom])].join(" "));
  return contract;
}

// ---- period and indicators -------------------------------------------------------------

function period() {
  let from = state.annee_debut || years[0];
  let to = state.annee_fin || years[years.length - 1];
  if (from > to) [from, to] = [to, from];
  return { from, to, years: years.filter((y) => y >= from && y <= to) };
}

function addGroups(target, groups, key) {
  for (const group of groups || []) {
    const item = target.get(group[key]) || { [key]: group[key], contrats: 0, montant: 0 };
    item.contrats += group.contrats;
    item.montant = cents(item.montant + group.montant);
    target.set(group[key], item);
  }
}

function ranked(map, key) {
  return [...map.values()].sort((a, b) => b.contrats - a.contrats || b.montant - a.montant ||
    String(a[key]).localeCompare(String(b[key])));
}

// The published figures of the years of the period, added up (see the module comment).
function merged(selected) {
  const sections = selected.map((y) => published.annees[String(y)]).filter(Boolean);
  const total = { contrats: 0, montant: 0 };
  const categories = new Map();
  const natures = new Map();
  const procedures = new Map();
  const holders = new Map();
  const sme = { contrats_renseignes: 0, contrats_pme: 0, montant_renseigne: 0, montant_pme: 0 };
  const considerations = { contrats_renseignes: 0, sociales: 0, environnementales: 0 };
  const concessions = { contrats: 0, valeur_globale: 0 };
  for (const s of sections) {
    total.contrats += s.contrats;
    total.montant = cents(total.montant + s.montant);
    addGroups(categories, s.par_categorie, "categorie");
    addGroups(natures, s.par_nature, "nature");
    addGroups(procedures, s.par_procedure, "procedure");
    for (const h of s.titulaires || s.top_titulaires || []) {
      const key = `${h.type_identifiant}|${h.id}`;
      const item = holders.get(key) || Object.assign({}, h, { contrats: 0, montant: 0 });
      item.contrats += h.contrats;
      item.montant = cents(item.montant + h.montant);
      for (const field of ["nom", "pme", "departement"]) if (item[field] === null || item[field] === undefined) item[field] = h[field];
      holders.set(key, item);
    }
    for (const k of Object.keys(sme)) sme[k] = cents(sme[k] + ((s.pme || {})[k] || 0));
    for (const k of Object.keys(considerations)) considerations[k] += (s.considerations || {})[k] || 0;
    concessions.contrats += (s.concessions || {}).contrats || 0;
    concessions.valeur_globale = cents(concessions.valeur_globale + ((s.concessions || {}).valeur_globale || 0));
  }
  const titulaires = [...holders.values()].sort((a, b) => b.montant - a.montant || b.contrats - a.contrats ||
    String(a.id || "").localeCompare(String(b.id || "")));
  const departements = new Map();
  for (const h of titulaires) {
    const key = h.departement || null;
    const item = departements.get(key) || { departement: key, titulaires: 0, contrats: 0, montant: 0 };
    item.titulaires += 1;
    item.contrats += h.contrats;
    item.montant = cents(item.montant + h.montant);
    departements.set(key, item);
  }
  const known = titulaires.filter((h) => h.pme !== null && h.pme !== undefined);
  return {
    annees: sections.map((s, i) => ({ annee: selected[i], contrats: s.contrats, montant: s.montant })),
    contrats: total.contrats,
    montant: total.montant,
    par_categorie: CATEGORIES.filter((c) => categories.has(c)).map((c) => categories.get(c)),
    par_nature: ranked(natures, "nature"),
    par_procedure: ranked(procedures, "procedure"),
    top_titulaires: titulaires.slice(0, TOP),
    par_departement: [...departements.values()].sort((a, b) => b.montant - a.montant || b.titulaires - a.titulaires ||
      String(a.departement || "~").localeCompare(String(b.departement || "~"))),
    pme: Object.assign(sme, {
      part_contrats: share(sme.contrats_pme, sme.contrats_renseignes),
      part_montant: share(sme.montant_pme, sme.montant_renseigne),
      titulaires_renseignes: known.length,
      titulaires_pme: known.filter((h) => h.pme).length,
    }),
    considerations: Object.assign(considerations, {
      part_sociales: share(considerations.sociales, considerations.contrats_renseignes),
      part_environnementales: share(considerations.environnementales, considerations.contrats_renseignes),
    }),
    concessions,
  };
}

function periodLabel(p) {
  return p.from === p.to ? `en ${p.from}` : `de ${p.from} à ${p.to}`;
}

function shareText(part, count, whole, what) {
  if (!whole) return { valeur: "Non connue", detail: `aucun marché ${what}` };
  return { valeur: POURCENT.format(part), detail: `${NOMBRE.format(count)} sur ${NOMBRE.format(whole)} marchés ${what}` };
}

function renderKeyFigures(f, p) {
  const sme = shareText(f.pme.part_contrats, f.pme.contrats_pme, f.pme.contrats_renseignes, "dont la taille des titulaires est connue");
  const social = shareText(f.considerations.part_sociales, f.considerations.sociales, f.considerations.contrats_renseignes, "renseignés");
  const green = shareText(f.considerations.part_environnementales, f.considerations.environnementales,
    f.considerations.contrats_renseignes, "renseignés");
  const items = [
    ["marches", "Marchés notifiés", NOMBRE.format(f.contrats), periodLabel(p)],
    ["montant", "Montant des marchés", euros(f.montant), "hors taxes, après modifications"],
    ["pme", "Marchés attribués à une PME", sme.valeur, sme.detail],
    ["sociales", "Marchés avec une considération sociale", social.valeur, social.detail],
    ["environnementales", "Marchés avec une considération environnementale", green.valeur, green.detail],
    ["concessions", "Contrats de concession", NOMBRE.format(f.concessions.contrats),
      `valeur globale ${euros(f.concessions.valeur_globale)}`],
  ];
  $("chiffres").replaceChildren(...items.map(([id, label, value, detail]) =>
    el("div", { className: "chiffre", "data-chiffre": id },
      el("dt", {}, label),
      el("dd", {}, el("span", { className: "valeur" }, value), el("span", { className: "detail" }, detail)))));
  $("note-chiffres").textContent = "Les considérations sociales et environnementales ne sont renseignées que pour les " +
    "marchés publiés au format de 2022. La taille d'une entreprise (PME ou non) vient du répertoire SIRENE de l'INSEE.";
}

// ---- charts and their tables -----------------------------------------------------------

function figureModels(f) {
  const money = (v) => euros(v);
  const count = (v) => NOMBRE.format(v);
  const sme = f.pme;
  return [
    {
      id: "annees", titre: "Marchés par année", barres: "verticales",
      colonnes: [["Année", null], ["Marchés", count], ["Montant", money]],
      lignes: f.annees.map((a) => [String(a.annee), a.contrats, a.montant]),
      libelle: (r) => r[0], valeur: 2, second: 1,
    },
    {
      id: "categories", titre: "Marchés par catégorie d'achat",
      colonnes: [["Catégorie", null], ["Marchés", count], ["Montant", money]],
      lignes: f.par_categorie.map((g) => [g.categorie, g.contrats, g.montant]), libelle: (r) => r[0], valeur: 2,
    },
    {
      id: "natures", titre: "Marchés par nature",
      colonnes: [["Nature", null], ["Marchés", count], ["Montant", money]],
      lignes: f.par_nature.map((g) => [g.nature, g.contrats, g.montant]), libelle: (r) => r[0], valeur: 2,
    },
    {
      id: "procedures", titre: "Marchés par procédure",
      colonnes: [["Procédure", null], ["Marchés", count], ["Montant", money]],
      lignes: f.par_procedure.map((g) => [g.procedure, g.contrats, g.montant]), libelle: (r) => r[0], valeur: 2,
    },
    {
      id: "pme", titre: "Marchés selon la taille des titulaires",
      colonnes: [["Titulaires", null], ["Marchés", count], ["Montant", money]],
      lignes: sme.contrats_renseignes || f.contrats ? [
        ["PME", sme.contrats_pme, sme.montant_pme],
        ["Autres entreprises", sme.contrats_renseignes - sme.contrats_pme, cents(sme.montant_renseigne - sme.montant_pme)],
        ["Taille inconnue", f.contrats - sme.contrats_renseignes, cents(f.montant - sme.montant_renseigne)],
      ] : [],
      libelle: (r) => r[0], valeur: 2,
    },
    {
      id: "titulaires", titre: `Principaux titulaires (${TOP} premiers par montant)`,
      colonnes: [["Titulaire", null], ["Identifiant", null], ["Marchés", count], ["Montant", money]],
      lignes: f.top_titulaires.map((h) => [holderNameOnly(h), `${h.type_identifiant || ""} ${h.id || ""}`.trim(), h.contrats, h.montant]),
      libelle: (r, i) => holderName(f.top_titulaires[i]), valeur: 3,
      note: "Montant des marchés dont l'entreprise est titulaire, non réparti entre cotitulaires.",
    },
    {
      id: "departements", titre: "Départements des titulaires",
      colonnes: [["Département", null], ["Titulaires", count], ["Marchés", count], ["Montant", money]],
      lignes: f.par_departement.map((d) => [d.departement || "Inconnu", d.titulaires, d.contrats, d.montant]),
      libelle: (r) => (r[0] === "Inconnu" ? "Inconnu" : `Département ${r[0]}`), valeur: 3,
      note: "Département de l'établissement titulaire, selon le répertoire SIRENE.",
    },
  ];
}

function dataTable(model) {
  const captionId = `legende-${model.id}`;
  const head = el("tr", {}, ...model.colonnes.map(([name]) => el("th", { scope: "col" }, name)));
  const body = model.lignes.map((row) => el("tr", {},
    ...row.map((value, i) => {
      const format = model.colonnes[i][1];
      return i === 0 ? el("th", { scope: "row" }, String(value)) : el("td", {}, format ? format(value) : String(value));
    })));
  return el("div", { className: "tableau", tabindex: "0", role: "region", "aria-labelledby": captionId },
    el("table", { "data-tableau": model.id },
      el("caption", { id: captionId }, `${model.titre} — données`),
      el("thead", {}, head), el("tbody", {}, ...body)));
}

function chartSummary(model) {
  const top = model.lignes.slice(0, 3).map((r, i) => `${model.libelle(r, i)} : ${euros(r[model.valeur])}`).join(" ; ");
  return `Graphique en barres : ${model.titre}. ${top}. Toutes les valeurs sont dans le tableau qui suit.`;
}

function chartOption(model) {
  const text = colours.texte;
  const faint = `${text}40`;
  const labels = model.lignes.map((r, i) => model.libelle(r, i));
  const narrow = window.matchMedia("(max-width: 30em)").matches;
  const axisLabel = { color: text };
  const valueAxis = {
    type: "value",
    axisLabel: Object.assign({}, axisLabel, { formatter: (v) => `${EUROS_COURTS.format(v)} €`, hideOverlap: true }),
    splitLine: { lineStyle: { color: faint } },
    axisLine: { lineStyle: { color: text } },
  };
  const tooltip = {
    renderMode: "richText",
    trigger: "item",
    confine: true,
    backgroundColor: colours.fond,
    borderColor: text,
    textStyle: { color: text },
    formatter: (p) => {
      const row = model.lignes[p.dataIndex];
      return `${labels[p.dataIndex]}\n${NOMBRE.format(row[model.valeur - 1])} marché(s) : ${euros(row[model.valeur])}`;
    },
  };
  const series = [{
    type: "bar", name: "Montant", barMaxWidth: 48,
    itemStyle: { color: colours.principale },
    data: model.lignes.map((r) => r[model.valeur]),
  }];
  const base = { animation: false, backgroundColor: "transparent", textStyle: { color: text, fontFamily: "system-ui, sans-serif" }, tooltip };
  if (model.barres === "verticales") {
    return Object.assign(base, {
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: labels, axisLabel: Object.assign({}, axisLabel, { interval: 0 }),
        axisLine: { lineStyle: { color: text } } },
      yAxis: valueAxis,
      series,
    });
  }
  return Object.assign(base, {
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: valueAxis,
    yAxis: {
      type: "category", inverse: true, data: labels,
      axisLabel: Object.assign({}, axisLabel, { width: narrow ? 90 : 200, overflow: "truncate" }),
      axisLine: { lineStyle: { color: text } },
    },
    series,
  });
}

function disposeCharts() {
  for (const chart of charts.values()) chart.dispose();
  charts.clear();
}

function renderFigures(f) {
  disposeCharts();
  const models = figureModels(f);
  const sections = models.map((model) => {
    const node = el("section", { className: "figure", id: `figure-${model.id}`, "data-figure": model.id,
      "aria-labelledby": `titre-${model.id}` }, el("h3", { id: `titre-${model.id}` }, model.titre));
    if (!model.lignes.length) {
      node.dataset.vide = "oui";
      node.append(el("p", { className: "vide" }, "Aucune donnée pour cette période."));
      return node;
    }
    const height = model.barres === "verticales" ? 260 : Math.max(140, 34 * model.lignes.length + 50);
    const drawing = el("div", { className: "dessin", id: `dessin-${model.id}`, role: "img", "aria-label": chartSummary(model) });
    drawing.style.height = `${height}px`;
    node.append(drawing);
    if (model.note) node.append(el("p", { className: "note" }, model.note));
    node.append(dataTable(model));
    return node;
  });
  $("figures").replaceChildren(...sections);
  const drawing = ++chartsDrawn;
  loadCharts().then(() => {
    if (drawing !== chartsDrawn) return; // a later period drew its own
    for (const model of models) {
      if (!model.lignes.length) continue;
      const chart = echarts.init($(`dessin-${model.id}`), null, { renderer: "canvas", locale: "FR" });
      chart.setOption(chartOption(model));
      charts.set(model.id, chart);
    }
    document.body.dataset.graphiques = "pret";
  }, () => {
    document.body.dataset.graphiques = "erreur"; // the data tables stay
  });
}

// ---- list of contracts -----------------------------------------------------------------

function options(select, label, values, selected) {
  const all = [...new Set(values.filter(Boolean))].sort((a, b) => a.localeCompare(b, "fr"));
  if (selected && !all.includes(selected)) all.push(selected);
  select.replaceChildren(el("option", { value: "" }, label), ...all.map((v) => el("option", { value: v }, v)));
}

function buildControls() {
  for (const id of ["annee-debut", "annee-fin"]) {
    $(id).replaceChildren(...years.map((y) => el("option", { value: String(y) }, String(y))));
  }
  $("filtre-type").replaceChildren(el("option", { value: "" }, "Tous"),
    el("option", { value: "marche" }, "Marchés"), el("option", { value: "concession" }, "Contrats de concession"));
  buildListControls();
}

// The filters whose choices come from the contracts themselves (empty until they are loaded).
function buildListControls() {
  options($("filtre-nature"), "Toutes", contracts.map((c) => c.nature), state.nature);
  options($("filtre-procedure"), "Toutes", contracts.map((c) => c.procedure), state.procedure);
  options($("filtre-categorie"), "Toutes", contracts.map((c) => c.categorie), state.categorie);
}

function syncControls() {
  const p = period();
  $("annee-debut").value = String(p.from);
  $("annee-fin").value = String(p.to);
  $("recherche").value = state.recherche;
  $("filtre-type").value = state.type;
  $("filtre-nature").value = state.nature;
  $("filtre-procedure").value = state.procedure;
  $("filtre-categorie").value = state.categorie;
  $("tri").value = state.tri || "date";
}

function compare(sort) {
  const byDate = (a, b) => (b.date || "").localeCompare(a.date || "") || String(b.id).localeCompare(String(a.id), "fr", { numeric: true });
  const amount = (c) => (typeof c.montant === "number" ? c.montant : -1);
  switch (sort) {
    case "date_asc": return (a, b) => -byDate(a, b);
    case "montant": return (a, b) => amount(b) - amount(a) || byDate(a, b);
    case "montant_asc": return (a, b) => amount(a) - amount(b) || byDate(a, b);
    case "objet": return (a, b) => String(a.objet || "").localeCompare(String(b.objet || ""), "fr") || byDate(a, b);
    default: return byDate;
  }
}

function filtered() {
  const p = period();
  const wanted = words(state.recherche);
  return contracts.filter((c) => c._annee >= p.from && c._annee <= p.to &&
    (!state.type || c._type === state.type) &&
    (!state.nature || c.nature === state.nature) &&
    (!state.procedure || c.procedure === state.procedure) &&
    (!state.categorie || c.categorie === state.categorie) &&
    wanted.every((w) => c._texte.includes(w)));
}

function frenchDate(iso) {
  return iso ? longDate(iso) : "date inconnue";
}

function detail(label, value) {
  return el("div", {}, el("dt", {}, label), el("dd", {}, value));
}

function holderList(holders) {
  return el("ul", { className: "titulaires" }, ...(holders || []).map((h) => el("li", {},
    el("span", { className: h.non_diffusible ? "nom non-diffusible" : "nom" }, holderNameOnly(h)),
    " ", el("span", { className: "identifiant" }, `(${h.type_identifiant || "identifiant"} ${h.id || "inconnu"})`),
    h.pme === true ? el("span", { className: "pastille" }, "PME") : null,
    h.departement ? el("span", { className: "departement" }, ` — département ${h.departement}`) : null)));
}

function modificationItem(m, concession) {
  const parts = [];
  if (typeof m.montant === "number") parts.push(`${concession ? "valeur globale" : "montant"} ${euros(m.montant)}`);
  if (m.duree_mois) parts.push(`durée ${NOMBRE.format(m.duree_mois)} mois`);
  return el("li", { className: "modification" },
    el("p", { className: "titre-modification" }, `Modification n° ${m.numero}${m.date ? ` du ${frenchDate(m.date)}` : ""}`),
    m.objet ? el("p", { className: "objet-modification" }, String(m.objet)) : null,
    parts.length ? el("p", {}, `Après modification : ${parts.join(", ")}.`) : null,
    m.titulaires ? el("div", {}, el("p", {}, "Nouveaux titulaires :"), holderList(m.titulaires)) : null);
}

function contractItem(c) {
  const titleId = `objet-${c.uid}`;
  const concession = c._type === "concession";
  const amount = typeof c.montant === "number" ? euros(c.montant) : "non renseigné";
  const details = el("dl", { className: "details" },
    detail(concession ? "Valeur globale" : "Montant HT", amount),
    typeof c.montant_initial === "number" && c.montant_initial !== c.montant
      ? detail("Montant initial", euros(c.montant_initial)) : null,
    detail(concession ? "Signé le" : "Notifié le", frenchDate(c.date)),
    c.duree_mois ? detail("Durée", `${NOMBRE.format(c.duree_mois)} mois`) : null,
    c.categorie ? detail("Catégorie", c.categorie) : null,
    c.cpv ? detail("Code CPV", `${c.cpv.code}${c.cpv.libelle ? ` — ${c.cpv.libelle}` : ""}`) : null,
    detail(concession ? (c.titulaires.length > 1 ? "Concessionnaires" : "Concessionnaire")
      : (c.titulaires.length > 1 ? "Titulaires" : "Titulaire"), holderList(c.titulaires)),
    considerations(c));
  const history = c.historique || [];
  const mods = history.length
    ? el("details", { className: "modifications" },
      el("summary", {}, `Modifications (${history.length})`, hidden(` du contrat ${c.id}`)),
      el("ol", {}, ...history.map((m) => modificationItem(m, concession))))
    : null;
  return el("li", { className: "contrat", "data-uid": c.uid, "data-id": c.id },
    el("article", { "aria-labelledby": titleId },
      el("h4", { id: titleId, className: "objet" }, String(c.objet || "Objet non renseigné")),
      el("p", { className: "meta" },
        el("span", { className: "type" }, c.type), " · ",
        // The nature only when it says more than the type ("Marché" of type "Marché" says nothing).
        sameWords(c.nature, c.type) ? null : el("span", { className: "nature" }, String(c.nature || "")),
        sameWords(c.nature, c.type) ? null : " · ",
        el("span", { className: "procedure" }, String(c.procedure || "Procédure non renseignée")), " · ",
        el("span", { className: "identifiant-contrat" }, `n° ${c.id}`)),
      details, mods));
}

function considerations(c) {
  const values = [...(c.considerations_sociales || []), ...(c.considerations_environnementales || [])]
    .filter((v) => !/^Pas de considération/.test(v));
  if (!c.considerations_sociales) return null;
  return detail("Considérations", values.length ? values.join(", ") : "aucune");
}

function renderList() {
  if (!contractsLoaded) {
    $("total").textContent = "Chargement des contrats…";
    $("export-csv").disabled = true;
    return;
  }
  current = filtered().sort(compare(state.tri));
  const pages = Math.max(1, Math.ceil(current.length / PAR_PAGE));
  if (state.page > pages) state.page = pages;
  const start = (state.page - 1) * PAR_PAGE;
  const total = current.length;
  const word = total > 1 ? "contrats" : "contrat";
  $("total").textContent = total
    ? `${NOMBRE.format(total)} ${word}${pages > 1 ? ` — page ${state.page} sur ${pages}` : ""}`
    : "Aucun contrat ne correspond à ces critères.";
  $("annonce").textContent = `${NOMBRE.format(total)} ${word} trouvé${total > 1 ? "s" : ""}.`;
  const list = $("liste");
  list.start = start + 1;
  list.replaceChildren(...current.slice(start, start + PAR_PAGE).map(contractItem));
  renderPager($("pagination"), state.page, pages);
  $("export-csv").disabled = total === 0;
}

function render() {
  const p = period();
  lastFigures = merged(p.years);
  renderKeyFigures(lastFigures, p);
  const n = lastFigures.contrats;
  const c = lastFigures.concessions.contrats;
  $("etat").textContent = `${NOMBRE.format(n)} marché${n > 1 ? "s" : ""} et ${NOMBRE.format(c)} ` +
    `contrat${c > 1 ? "s" : ""} de concession ${periodLabel(p)}.`;
  renderFigures(lastFigures);
  renderList();
  $("contenu").setAttribute("aria-busy", "false");
}

// ``o.push``: a change a visitor thinks of as another page (a filter, a page of the list): Back undoes it.
function update(changes, o = {}) {
  Object.assign(state, changes);
  (o.push ? pushUrl : replaceUrl)(MARCHES.toParams(state));
  if (o.figures) render();
  else renderList();
  if (!contractsLoaded && listWanted()) loadContracts();
  if (o.focus) $("total").focus();
}

// ---- export ----------------------------------------------------------------------------

function exportCsv() {
  const header = ["id", "type", "nature", "objet", "procedure", "categorie", "code_cpv", "date", "annee", "montant",
    "montant_initial", "duree_mois", "titulaires", "titulaires_identifiants", "modifications",
    "considerations_sociales", "considerations_environnementales", "uid"];
  const rows = current.map((c) => [
    c.id, c.type, c.nature, c.objet, c.procedure, c.categorie, c.cpv ? c.cpv.code : "", c.date, c._annee,
    csvDecimal(c.montant), csvDecimal(c.montant_initial), c.duree_mois,
    (c.titulaires || []).map(holderNameOnly).join(" | "), (c.titulaires || []).map((h) => h.id).join(" | "),
    (c.historique || []).length, (c.considerations_sociales || []).join(" | "),
    (c.considerations_environnementales || []).join(" | "), c.uid,
  ]);
  downloadCsv(header, rows, `marches-${state.siret}.csv`);
  $("annonce").textContent = `Liste de ${current.length} contrats exportée en CSV.`;
}

function writeAbout() {
  writeAboutBlock({
    paragraphs: [
      `Ces contrats sont les données essentielles de la commande publique que ${manifest.nom || "l'acheteur"} ` +
        `(SIRET ${manifest.siret}) a publiées par sa plateforme de marchés publics, consolidées chaque nuit par ` +
        `${publisher(manifest)} et publiées sur data.gouv.fr au format réglementaire.`,
      "Les montants sont hors taxes et tiennent compte des modifications (avenants). Les noms des titulaires, " +
        "leur taille (PME) et leur département viennent du répertoire SIRENE de l'INSEE ; une entreprise individuelle " +
        "dont le dirigeant a demandé à ne pas être diffusé est indiquée « non diffusible ».",
    ],
    charts: true,
  });
}

// ---- events ----------------------------------------------------------------------------

function listen() {
  let timer = null;
  $("recherche").addEventListener("input", (event) => {
    clearTimeout(timer);
    timer = setTimeout(() => update({ recherche: event.target.value.trim(), page: 1 }), 200);
  });
  $("formulaire-recherche").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    update({ recherche: $("recherche").value.trim(), page: 1 });
  });
  $("formulaire-periode").addEventListener("submit", (event) => event.preventDefault());
  $("formulaire-periode").addEventListener("change", () => {
    let from = Number($("annee-debut").value);
    let to = Number($("annee-fin").value);
    if (from > to) [from, to] = [to, from];
    $("annee-debut").value = String(from);
    $("annee-fin").value = String(to);
    update({ annee_debut: from === years[0] ? null : from, annee_fin: to === years[years.length - 1] ? null : to, page: 1 },
      { figures: true, push: true });
  });
  const selects = { "filtre-type": "type", "filtre-nature": "nature", "filtre-procedure": "procedure", "filtre-categorie": "categorie" };
  for (const [id, key] of Object.entries(selects)) {
    $(id).addEventListener("change", (event) => update({ [key]: event.target.value, page: 1 }, { push: true }));
  }
  $("tri").addEventListener("change", (event) => update({ tri: event.target.value === "date" ? "" : event.target.value, page: 1 },
    { push: true }));
  $("effacer").addEventListener("click", () => {
    Object.assign(state, { recherche: "", type: "", nature: "", procedure: "", categorie: "", tri: "", page: 1 });
    syncControls();
    update({}, { push: true });
  });
  onPageChosen($("pagination"), (page) => update({ page }, { focus: true, push: true }));
  $("export-csv").addEventListener("click", exportCsv);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { for (const chart of charts.values()) chart.resize(); }, 100);
  });
  window.addEventListener("popstate", () => {
    state = MARCHES.parse(location.search);
    syncControls();
    render();
    if (!contractsLoaded && listWanted()) loadContracts();
  });
}

load();
listen();
