/* Actes widget: reads one body's files from the public zone, nothing else.
 *
 * Data and text from the files are only ever put in the page as text (textContent,
 * attributes set one by one), never as HTML. */
import { publisher, writeAbout as writeAboutBlock } from "./commun/a-propos.js";
import { downloadCsv } from "./commun/csv.js";
import { byId as $, el, frenchDate, hiddenText as hidden, setTitle, showWarnings } from "./commun/dom.js";
import { fetchJson, fetchManifest, manifestFailure } from "./commun/manifest.js";
import { onPageChosen, renderPager } from "./commun/pager.js";
import { ACTES, MATIERES, PAGES_ACTES, TYPES } from "./commun/parametres.js";
import { MOTS_VIDES, words } from "./commun/texte.js";
import { applyColours as applyTheme } from "./commun/theme.js";
import { passage, textIndex, textUrl } from "./commun/plein-texte.js";
import { pushUrl, replaceUrl } from "./commun/url-state.js";

const PAR_PAGE = 10;
// Fallback when a manifest names no search index: the same settings as the pipeline's
// (load/widget_files.py SEARCH_FIELDS and STOP_WORDS).
const DEFAULT_SEARCH = { champs: ["numero", "objet", "matiere"], mots_vides: MOTS_VIDES };
const BOOST = { numero: 3, objet: 2, matiere: 1 };
const MINISEARCH_SCRIPT = "vendor/minisearch.js";

let state = ACTES.parse(location.search);
let manifest = null;
let manifestUrl = null;
// What the list is drawn from: the first page file (the newest acts and the counts per nature
// and matière) until a view needs more, then every year file.
let recents = null;
let acts = [];
// The ids of ``acts`` (what the text index's postings rank), kept with them, and of each year's.
let actIds = [];
const yearIds = new Map();
let allLoaded = false;
let failedYears = [];
let yearsPromise = null;
const yearPromises = new Map();
const actsById = new Map();
let searchSettings = DEFAULT_SEARCH;
let index = null;
let indexPromise = null;
// The index of the documents' text (when the manifest names one) and, for the search on screen,
// the acts whose documents hold its words.
let textSearch = null;
let textHits = { query: null, ids: null };
// What MiniSearch found for the search on screen (drawn again when the text's hits come).
let fieldHits = { query: null, results: [] };
const documentTexts = new Map();
let current = [];
let drawing = 0;
let searchStarted = null;
const timings = { debut: performance.now() };
// For the tests: what the page knows (the search index as MiniSearch serialises it, once loaded).
window.digorActes = { timings, state: () => state, index: () => index && index.toJSON() };

// Words of a text as the index holds them (mirror of search_tokens in load/widget_files.py).
function tokenize(text, stopWords) {
  return words(text, stopWords);
}

function searchOptions(settings) {
  const stopWords = new Set(settings.mots_vides);
  return {
    fields: settings.champs,
    idField: "id",
    tokenize: (text) => tokenize(text, stopWords),
    processTerm: (term) => term,
    searchOptions: {
      prefix: true,
      fuzzy: (term) => (term.length >= 5 ? 1 : false), // one typo forgiven, from five letters
      combineWith: "AND",
      boost: BOOST,
    },
  };
}

// A search made only of words too common to search ("de la") searches nothing: the whole list.
function searching() {
  return tokenize(state.recherche, new Set(searchSettings.mots_vides)).length > 0;
}

// Only http(s) links reach the page: a "javascript:" URL in a file stays out.
function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (error) {
    return null;
  }
}

function applyColours() {
  showWarnings(applyTheme(state.theme, state.couleurs, manifest && manifest.widget).warnings);
}

function fail(message) {
  $("total").textContent = message;
  $("resultats").setAttribute("aria-busy", "false");
  $("liste").replaceChildren();
  document.body.dataset.etat = "erreur";
}

// Numéros compared as a reader does ("2" before "10"); one collator, made once.
const NUMEROS = new Intl.Collator("fr", { numeric: true });

function prepare(act) {
  act._matiere1 = String(act.matiere_code || "").split(".")[0];
  act._type = String(act.nature_code || "");
  act._numero = String(act.numero);
  actsById.set(act.id, act);
  return act;
}

// The manifest, then the first page file, asked for before anything else is done: on a phone the
// page's own work runs while they come.
async function load() {
  if (/^\d{14}$/.test(state.siren)) {
    state.siren = state.siren.slice(0, 9); // a SIRET names its body's SIREN
    replaceUrl(ACTES.toParams(state));
  }
  const manifestPromise = /^\d{9}$/.test(state.siren)
    ? fetchManifest(new URL(`actes/${state.siren}/index.json`, location.href), "actes") : null;
  applyColours();
  if (!manifestPromise) {
    fail(state.siren
      ? `« ${state.siren} » n'est pas un numéro SIREN (9 chiffres) : impossible d'afficher les actes.`
      : "Aucun organisme indiqué : l'adresse du widget doit contenir ?siren= suivi du SIREN de l'organisme.");
    return;
  }
  manifestUrl = new URL(`actes/${state.siren}/index.json`, location.href);
  try {
    manifest = await manifestPromise;
  } catch (error) {
    fail(manifestFailure(error, `Aucun acte publié pour le SIREN ${state.siren}.`,
      "Les actes n'ont pas pu être chargés. Réessayez dans quelques instants."));
    return;
  }
  const firstPage = manifest.premiere_page
    ? fetchJson(new URL(manifest.premiere_page.fichier, manifestUrl), { version: true }).catch(() => null) : null;
  applyColours();
  setTitle(`Actes publiés par ${manifest.nom}`);
  const identity = manifest.identite; // what the SIRENE register says of the body
  if (identity) {
    $("identite").textContent = [identity.categorie_juridique_libelle, identity.adresse, `SIREN ${manifest.siren}`]
      .filter(Boolean).join(" · ");
    $("identite").hidden = false;
  }
  if (manifest.flux && manifest.flux.atom) {
    const feed = $("flux");
    feed.href = new URL(manifest.flux.atom, manifestUrl).href;
    feed.type = "application/atom+xml";
    $("suivre").hidden = false;
  }
  writeAbout();
  if (state.perimetre.length) $("sous-titre").textContent = `${pageName()}, avec leur date de publication.`;
  recents = await firstPage; // null when it cannot be read: the year files hold the same acts
  if (recents && !Array.isArray(recents.actes)) recents = null;
  if (recents) recents.actes.forEach(prepare);
  timings.donnees = performance.now();
  await show();
  timings.premierAffichage = performance.now();
  document.body.dataset.etat = "pret";
}

// What the page is for: a usual page by its name, else its kinds of act.
function pageName() {
  const same = (a, b) => a.length === b.length && a.every((code) => b.includes(code));
  const usual = PAGES_ACTES.find((p) => same(p.types, state.perimetre));
  if (usual) return usual.nom;
  const names = TYPES.filter((t) => state.perimetre.includes(t.code)).map((t) => t.libelle);
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} et ${names[names.length - 1].toLowerCase()}` : names[0];
}

// One year file, once (null when it cannot be read).
function loadYear(year) {
  if (!yearPromises.has(year)) {
    const entry = (manifest.annees || {})[year];
    yearPromises.set(year, entry
      ? fetchJson(new URL(entry.fichier, manifestUrl), { version: true })
        .then((file) => (file.actes || []).map(prepare), () => null)
      : Promise.resolve(null));
  }
  return yearPromises.get(year);
}

// Every year file, once; a year that cannot be read leaves the others shown, with a note.
function loadYears() {
  if (!yearsPromise) {
    yearsPromise = (async () => {
      const years = Object.keys(manifest.annees || {});
      const results = await Promise.all(years.map(loadYear));
      acts = [];
      failedYears = [];
      results.forEach((found, i) => {
        if (found) {
          acts.push(...found);
          yearIds.set(years[i], found.map((a) => a.id));
        } else failedYears.push(years[i]);
      });
      actIds = acts.map((a) => a.id);
      allLoaded = true;
      timings.annees = performance.now();
    })();
  }
  return yearsPromise;
}

// The years' search parts (load/widget_files.py year_search_file) put together, in year order, into
// the index MiniSearch would build of all the acts, in its serialisation: each year's acts numbered
// after the years before, an act in two year files counted once (as first met), and the mean of
// the field lengths kept as MiniSearch keeps it (a running mean), so that the scores are the same.
function searchIndex(parts) {
  const fields = parts[0].champs;
  const documentIds = {};
  const fieldLength = {};
  const average = fields.map(() => 0);
  const postings = new Map();
  const seen = new Set();
  let count = 0;
  for (const part of parts) {
    const shortOf = [];
    part.ids.forEach((id, rank) => {
      if (seen.has(id)) return;
      seen.add(id);
      const short = count;
      count += 1;
      shortOf[rank] = String(short);
      documentIds[short] = id;
      part.longueurs[rank].forEach((length, field) => {
        average[field] = (average[field] * short + length) / (short + 1);
      });
      fieldLength[short] = part.longueurs[rank];
    });
    for (const [term, byField] of Object.entries(part.termes)) {
      for (const [field, docs] of Object.entries(byField)) {
        for (const [rank, n] of docs) {
          if (shortOf[rank] === undefined) continue;
          if (!postings.has(term)) postings.set(term, {});
          const entry = postings.get(term);
          (entry[field] || (entry[field] = {}))[shortOf[rank]] = n;
        }
      }
    }
  }
  return {
    documentCount: count, nextId: count, documentIds, fieldIds: Object.fromEntries(fields.map((f, i) => [f, i])),
    fieldLength, averageFieldLength: average, storedFields: {}, dirtCount: 0,
    index: [...postings.keys()].sort().map((term) => [term, postings.get(term)]), serializationVersion: 2,
  };
}

// The text indexes of the years: a search looks in each year's with the acts of its year file
// (a year whose file or index could not be read is left out) and gives the acts found in any.
function yearsTextSearch(years) {
  const searches = years.map(({ year, js }) => ({ year, search: textIndex(js, manifestUrl, fetchJson) }));
  return {
    suffixe: years[0].js.suffixe,
    async search(words) {
      const found = await Promise.all(searches.map(({ year, search }) =>
        (yearIds.has(year) ? search.search(words, yearIds.get(year)) : null)));
      const sets = found.filter(Boolean);
      return sets.length ? new Set(sets.flatMap((ids) => [...ids])) : null;
    },
  };
}

// The body's search index and text index: one part per year (``recherche.format`` 3), or, in the
// files of a body not switched since, one whole index (format 2). Null when one cannot be read.
async function storedIndexes() {
  const search = manifest.recherche || {};
  const file = (name) => fetchJson(new URL(name, manifestUrl), { version: true }).catch(() => null);
  if (search.format === 3 && search.annees) {
    const years = Object.keys(search.annees).sort();
    const [parts, texts] = await Promise.all([
      Promise.all(years.map((year) => file(search.annees[year].fichier))),
      Promise.all(years.map((year) => (search.annees[year].texte ? file(search.annees[year].texte) : null))),
    ]);
    const read = years.map((year, n) => ({ year, js: texts[n] })).filter((y) => y.js);
    return {
      js: parts.length && parts.every(Boolean) ? searchIndex(parts) : null,
      settings: parts.length && parts[0] ? { champs: parts[0].champs, mots_vides: parts[0].mots_vides } : null,
      text: read.length ? yearsTextSearch(read) : null,
    };
  }
  const [js, textJs] = await Promise.all([
    search.fichier ? file(search.fichier) : null, search.texte ? file(search.texte.fichier) : null,
  ]);
  return {
    js, settings: js && js.digor, text: textJs ? wholeTextSearch(textIndex(textJs, manifestUrl, fetchJson)) : null,
  };
}

// The text index of a body not switched since the index was cut by year: every act's ids at once.
function wholeTextSearch(whole) {
  return { suffixe: whole.suffixe, search: (words) => whole.search(words, actIds) };
}

// MiniSearch and the body's index, fetched the first time a visitor searches.
function ensureIndex() {
  if (!indexPromise) {
    indexPromise = (async () => {
      const started = performance.now();
      try {
        await loadScript(MINISEARCH_SCRIPT);
      } catch (error) {
        indexPromise = null; // the next search tries again
        document.body.dataset.index = "erreur";
        return;
      }
      const [stored] = await Promise.all([storedIndexes(), loadYears()]);
      textSearch = stored.text;
      if (stored.js) {
        searchSettings = stored.settings || DEFAULT_SEARCH;
        index = MiniSearch.loadJS(stored.js, searchOptions(searchSettings));
      } else {
        index = new MiniSearch(searchOptions(DEFAULT_SEARCH));
        const seen = new Set();
        index.addAll(acts.filter((a) => !seen.has(a.id) && seen.add(a.id))
          .map((a) => ({ id: a.id, numero: a.numero, objet: a.objet, matiere: a.matiere })));
      }
      timings.index = performance.now() - started;
      document.body.dataset.index = "pret";
    })();
  }
  return indexPromise;
}

function loadScript(src) {
  if (typeof MiniSearch !== "undefined") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", reject);
    document.head.append(script);
  });
}

function writeAbout() {
  writeAboutBlock({
    paragraphs: [
      `Ces actes sont ceux que ${manifest.nom} (SIREN ${manifest.siren}) a transmis au contrôle de légalité ` +
        `par la télétransmission des actes et rendus publics. Ils sont publiés chaque nuit par ${publisher(manifest)}.`,
      "La date de publication indiquée est celle de la première mise en ligne de l'acte : " +
        "elle atteste que l'acte a été rendu public et qu'il est donc exécutoire, s'il a été transmis au préfet.",
    ],
    feed: manifest.flux && manifest.flux.atom ? new URL(manifest.flux.atom, manifestUrl).href : null,
  });
}

function checkbox(group, code, label) {
  const id = `${group}-${code}`;
  const input = el("input", { type: "checkbox", id, value: code, "data-groupe": group });
  const count = el("span", { className: "compte" });
  const wrapper = el("div", { className: "option" }, input, el("label", { for: id }, label, " ", count));
  return wrapper;
}

const among = (codes, code) => codes.includes(code) || (codes.includes("7") && code.startsWith("7"));
// A kind of act the page is for (its ``perimetre``; every kind when the site set none).
const inScope = (code) => !state.perimetre.length || among(state.perimetre, code);
const typeMatches = (code) => inScope(code) && (!state.types.length || among(state.types, code));
const matiereMatches = (code) => !state.classifications.length || state.classifications.includes(code);
const datesMatch = (a) => (!state.date_debut || (a.date_decision || "") >= state.date_debut) &&
  (!state.date_fin || (a.date_decision || "9999") <= state.date_fin);

// Acts per nature and matière ({nature: {matière: n}}) among those the search and dates keep:
// the filters' counts and the total derive from it. Before the year files, the first page
// file's counts (the view then has neither search nor dates).
function countsMatrix(scores) {
  if (!allLoaded) return recents.comptes;
  const matrix = {};
  for (const act of acts) {
    if ((scores && !scores.has(act.id)) || !datesMatch(act)) continue;
    const row = matrix[act._type] || (matrix[act._type] = {});
    row[act._matiere1] = (row[act._matiere1] || 0) + 1;
  }
  return matrix;
}

function cells(matrix) {
  return Object.entries(matrix).flatMap(([type, row]) => Object.entries(row).map(([matiere, n]) => [type, matiere, n]));
}

// Whether the first page file holds every act the view shows: it keeps, for the whole list and
// for each nature and matière, the ``par_groupe`` newest acts (by publication date).
function recentsSuffice() {
  if (!recents) return false;
  if (state.acte) return actsById.has(state.acte);
  if (searching() || state.date_debut || state.date_fin || sortKey() !== "publication") return false;
  const byType = state.types.length || state.perimetre.length;
  if (byType && state.classifications.length) return false;
  const wanted = state.page * PAR_PAGE;
  if (wanted <= recents.par_groupe) return true;
  const totals = new Map();
  for (const [type, matiere, n] of cells(recents.comptes)) {
    const group = byType ? (typeMatches(type) ? type : null)
      : state.classifications.length ? (matiereMatches(matiere) ? matiere : null) : "tous";
    if (group !== null) totals.set(group, (totals.get(group) || 0) + n);
  }
  return [...totals.values()].every((total) => total <= recents.par_groupe);
}

function buildFilters() {
  const matrix = countsMatrix(null);
  const presentTypes = new Set(Object.keys(matrix));
  const presentMatieres = new Set(cells(matrix).map(([, matiere]) => matiere));
  const scoped = (code) => (code === "7" ? !state.perimetre.length || state.perimetre.includes("7") : inScope(code));
  const types = TYPES.filter((t) => scoped(t.code) && (presentTypes.has(t.code) || state.types.includes(t.code) ||
    (t.code === "7" && [...presentTypes].some((c) => c.startsWith("7")))));
  $("filtre-types").querySelector(".options").replaceChildren(...types.map((t) => checkbox("type", t.code, t.libelle)));
  const matieres = MATIERES.filter((m) => presentMatieres.has(m.code) || state.classifications.includes(m.code));
  $("filtre-matieres").querySelector(".options").replaceChildren(...matieres.map((m) => checkbox("matiere", m.code, m.libelle)));
  if (window.matchMedia("(min-width: 48em)").matches) $("filtres").open = true;
}

function syncControls() {
  $("recherche").value = state.recherche;
  $("date-debut").value = state.date_debut;
  $("date-fin").value = state.date_fin;
  $("tri").value = state.tri || (state.recherche ? "pertinence" : "publication");
  for (const box of document.querySelectorAll('input[data-groupe="type"]')) box.checked = state.types.includes(box.value);
  for (const box of document.querySelectorAll('input[data-groupe="matiere"]')) box.checked = state.classifications.includes(box.value);
}

// The act's own fields first (MiniSearch's scores are above 0), then the acts found only by the
// text of their documents (score 0, newest first).
function searchScores() {
  if (!searching() || !index) return null;
  if (fieldHits.query !== state.recherche) fieldHits = { query: state.recherche, results: index.search(state.recherche) };
  const scores = new Map();
  for (const result of fieldHits.results) scores.set(result.id, result.score);
  if (textHits.query === state.recherche && textHits.ids) {
    for (const id of textHits.ids) if (!scores.has(id)) scores.set(id, 0);
  }
  return scores;
}

// The acts whose documents hold every word searched, once per search (the shards it needs are fetched).
async function searchTexts() {
  if (!textSearch || textHits.query === state.recherche) return;
  const query = state.recherche;
  let ids = null;
  try {
    ids = await textSearch.search(tokenize(query, new Set(searchSettings.mots_vides)));
  } catch (error) {
    ids = null; // the fields' results stand alone
  }
  textHits = { query, ids };
}

function sortKey() {
  const sort = state.tri || (state.recherche ? "pertinence" : "publication");
  return sort === "pertinence" && !searching() ? "publication" : sort;
}

// ISO dates compare as strings, in code-point order (no collation needed: it costs at 20,000 acts).
const newer = (a, b) => ((a || "") < (b || "") ? 1 : (a || "") > (b || "") ? -1 : 0);

function compare(sort, scores) {
  const byPublication = (a, b) =>
    newer(a.date_publication, b.date_publication) || newer(a.date_decision, b.date_decision) ||
    NUMEROS.compare(b._numero, a._numero);
  if (sort === "decision") return (a, b) => newer(a.date_decision, b.date_decision) || byPublication(a, b);
  if (sort === "pertinence" && scores) return (a, b) => scores.get(b.id) - scores.get(a.id) || byPublication(a, b);
  return byPublication;
}

// Fetch what the view needs (year files, search index), then draw it; a later call wins. A search
// draws the acts found by their own fields at once, and those found by their documents' text when
// the index's shards have come (fetched meanwhile).
async function show() {
  const call = ++drawing;
  let texts = null;
  if (state.acte && state.annee && !actsById.has(state.acte)) {
    await loadYear(String(state.annee)); // an act's permalink names its year: that file, not every year's
    if (call !== drawing) return;
  }
  if (!recentsSuffice() && !(state.acte && actsById.has(state.acte))) {
    const waiting = !allLoaded || (searching() && !index);
    if (waiting) {
      $("resultats").setAttribute("aria-busy", "true");
      $("total").textContent = searching() ? "Recherche en cours…" : "Chargement des actes…";
    }
    await (searching() ? ensureIndex() : loadYears());
    if (call !== drawing) return;
    if (searching() && textSearch && textHits.query !== state.recherche) texts = searchTexts();
  }
  if (!document.querySelector('input[data-groupe="type"]')) {
    buildFilters();
    syncControls();
  }
  render(texts !== null);
  if (searchStarted !== null && call === drawing) {
    timings.recherche = performance.now() - searchStarted; // what a visitor waits for, once the index is there
  }
  if (texts) {
    await texts;
    if (call !== drawing) return;
    render(false);
    if (searchStarted !== null) timings.rechercheTextes = performance.now() - searchStarted;
  }
  if (call === drawing) searchStarted = null;
}

// ``textsPending``: the documents' text is still being searched; what the acts' fields found is
// shown meanwhile, the list stays busy and nothing is announced yet.
function render(textsPending = false) {
  $("incomplet").hidden = !failedYears.length;
  $("incomplet").textContent = failedYears.length
    ? `Les actes de ${failedYears.sort().join(", ")} n'ont pas pu être chargés : la liste est incomplète. ` +
      "Réessayez dans quelques instants." : "";
  const single = state.acte ? actsById.get(state.acte) : null;
  $("permalien-retour").hidden = !state.acte;
  document.body.classList.toggle("permalien", Boolean(state.acte));
  if (state.acte) {
    const back = ACTES.toParams(Object.assign({}, state, { acte: "", annee: null, page: 1 }));
    $("tous-les-actes").href = "?" + back.toString();
    current = single ? [single] : [];
    $("total").textContent = single ? `Acte n° ${single.numero}` : "Cet acte n'est pas publié, ou ne l'est plus.";
    fillList(current, 0);
    $("pagination").hidden = true;
    $("resultats").setAttribute("aria-busy", "false");
    return;
  }
  if (searching() && !index) {
    $("total").textContent = "La recherche n'a pas pu être chargée. Réessayez dans quelques instants.";
    $("liste").replaceChildren();
    $("pagination").hidden = true;
    $("resultats").setAttribute("aria-busy", "false");
    return;
  }
  const scores = searchScores();
  const matrix = countsMatrix(scores);
  const typeCounts = new Map();
  const matiereCounts = new Map();
  let total = 0;
  for (const [type, matiere, n] of cells(matrix)) {
    if (matiereMatches(matiere) && inScope(type)) {
      typeCounts.set(type, (typeCounts.get(type) || 0) + n);
      if (type.startsWith("7") && type !== "7") typeCounts.set("7", (typeCounts.get("7") || 0) + n);
    }
    if (typeMatches(type)) matiereCounts.set(matiere, (matiereCounts.get(matiere) || 0) + n);
    if (typeMatches(type) && matiereMatches(matiere)) total += n;
  }
  for (const label of document.querySelectorAll('input[data-groupe="type"] + label .compte')) {
    label.textContent = `(${typeCounts.get(label.closest(".option").querySelector("input").value) || 0})`;
  }
  for (const label of document.querySelectorAll('input[data-groupe="matiere"] + label .compte')) {
    label.textContent = `(${matiereCounts.get(label.closest(".option").querySelector("input").value) || 0})`;
  }
  const shown = (a) => (!scores || scores.has(a.id)) && datesMatch(a) && typeMatches(a._type) && matiereMatches(a._matiere1);
  current = (allLoaded ? acts : recents.actes).filter(shown).sort(compare(sortKey(), scores));
  const pages = Math.max(1, Math.ceil(total / PAR_PAGE));
  if (state.page > pages && !textsPending) state.page = pages;
  const start = (state.page - 1) * PAR_PAGE;
  const word = total > 1 ? "actes" : "acte";
  const lookingInTexts = textsPending ? " (recherche dans le texte des documents…)" : "";
  $("total").textContent = total
    ? `${total.toLocaleString("fr-FR")} ${word}${pages > 1 ? ` — page ${state.page.toLocaleString("fr-FR")} sur ${pages.toLocaleString("fr-FR")}` : ""}${lookingInTexts}`
    : textsPending ? "Recherche dans le texte des documents…" : "Aucun acte ne correspond à ces critères.";
  fillList(current.slice(start, start + PAR_PAGE), start);
  renderPager($("pagination"), state.page, pages);
  $("export-csv").disabled = total === 0;
  if (textsPending) {
    document.body.dataset.extraits = "chargement";
    return;
  }
  $("annonce").textContent = `${total.toLocaleString("fr-FR")} ${word} trouvé${total > 1 ? "s" : ""}.`;
  $("resultats").setAttribute("aria-busy", "false");
}

function documentItem(doc, kind) {
  const url = safeUrl(doc.url);
  const name = String(doc.nom || "document");
  if (!url) return el("li", {}, el("span", { className: "nom-fichier" }, `${kind} : ${name}`), " (lien indisponible)");
  return el("li", {},
    el("span", { className: "nom-fichier" }, `${kind} : ${name}`),
    el("span", { className: "actions" },
      el("a", { href: url, target: "_blank", rel: "noopener" }, "Ouvrir", hidden(` ${name} (nouvel onglet)`)),
      el("a", { href: url, download: name }, "Télécharger", hidden(` ${name}`))));
}

// The year file an act is in: that of its decision (load/widget_files.py writes one file per decision year).
function yearOf(act) {
  const year = /^\d{4}/.exec(act.date_decision || "");
  return year ? Number(year[0]) : null;
}

function actItem(act) {
  const titleId = `objet-${act.id}`;
  const dates = act.date_decision
    ? `Décision du ${frenchDate(act.date_decision)}${act.date_publication ? `, publié le ${frenchDate(act.date_publication)}` : ""}`
    : act.date_publication ? `Publié le ${frenchDate(act.date_publication)}` : "";
  const documents = el("ul", { className: "documents", "aria-label": `Documents de l'acte n° ${act.numero}` });
  if (act.document) documents.append(documentItem(act.document, "Acte"));
  else documents.append(el("li", {}, "Document non diffusé en ligne."));
  (act.annexes || []).forEach((annex) => documents.append(documentItem(annex, "Annexe")));
  const link = ACTES.toParams({ siren: state.siren, perimetre: state.perimetre, acte: act.id, annee: yearOf(act),
    theme: state.theme, couleurs: state.couleurs });
  return el("li", { className: "acte", id: `acte-${act.id}`, "data-id": act.id },
    el("article", { "aria-labelledby": titleId },
      el("h3", { id: titleId, className: "objet" }, String(act.objet || "")),
      el("p", { className: "meta" },
        el("span", { className: "numero" }, `N° ${act.numero}`), " · ",
        el("span", { className: "nature" }, String(act.nature || "")), " · ",
        el("span", { className: "matiere" }, String(act.matiere || ""))),
      el("p", { className: "dates" }, dates),
      documents,
      el("p", { className: "lien-permanent" },
        el("a", { href: "?" + link.toString() }, "Lien permanent", hidden(` vers l'acte n° ${act.numero}`)))));
}

function fillList(items, start) {
  const list = $("liste");
  list.start = start + 1;
  list.replaceChildren(...items.map(actItem));
  showPassages(items);
}

async function documentText(url) {
  if (!documentTexts.has(url)) {
    documentTexts.set(url, fetch(url).then((r) => (r.ok ? r.text() : "")).catch(() => ""));
  }
  return documentTexts.get(url);
}

// Under each act found by its documents' text, the passage that holds the words, highlighted (as text
// nodes in <mark>, never HTML); fetched for the acts on screen only.
async function showPassages(items) {
  const query = state.recherche;
  const hits = textHits.query === query && textHits.ids;
  if (!searching() || !hits || !textSearch) {
    document.body.dataset.extraits = "pret";
    return;
  }
  document.body.dataset.extraits = "chargement";
  const wanted = tokenize(query, new Set(searchSettings.mots_vides));
  await Promise.all(items.filter((act) => hits.has(act.id)).map(async (act) => {
    for (const doc of [act.document, ...(act.annexes || [])].filter(Boolean)) {
      const url = safeUrl(doc.url) && textUrl(doc.url, textSearch.suffixe);
      const found = url ? passage(await documentText(url), wanted) : null;
      if (!found) continue;
      const item = document.getElementById(`acte-${act.id}`);
      if (!item || state.recherche !== query) return;
      item.querySelector("article").append(el("p", { className: "extrait" },
        hidden(`Extrait de ${String(doc.nom || "document")} : `),
        ...found.map((s) => (s.mot ? el("mark", {}, s.texte) : s.texte))));
      return;
    }
  }));
  if (state.recherche === query) document.body.dataset.extraits = "pret";
}

// ``push``: the change is one a visitor thinks of as going to another page (Back undoes it). The URL
// follows once the view is drawn, so that it always names what the page shows.
async function update(changes, options = {}) {
  Object.assign(state, changes);
  await show();
  (options.push ? pushUrl : replaceUrl)(ACTES.toParams(state));
  if (options.focusResults) $("total").focus();
}

async function exportCsv() {
  await loadYears();
  await show();
  const header = ["numero", "objet", "type", "matiere_code", "matiere", "date_decision", "date_publication",
    "document", "annexes", "lien_permanent"];
  const page = new URL(location.href);
  const rows = current.map((act) => {
    page.search = ACTES.toParams({ siren: state.siren, acte: act.id, annee: yearOf(act) }).toString();
    return [act.numero, act.objet, act.nature, act.matiere_code, act.matiere, act.date_decision, act.date_publication,
      act.document ? act.document.url : "", (act.annexes || []).map((a) => a.url).join(" "), page.href];
  });
  downloadCsv(header, rows, `actes-${state.siren}.csv`);
  $("annonce").textContent = `Liste de ${current.length} actes exportée en CSV.`;
}

function listen() {
  let timer = null;
  $("recherche").addEventListener("focus", () => { if (manifest) ensureIndex(); });
  $("recherche").addEventListener("input", (event) => {
    clearTimeout(timer);
    timer = setTimeout(() => runSearch(event.target.value), 200);
  });
  $("formulaire-recherche").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    runSearch($("recherche").value);
  });
  document.querySelector(".zone-filtres").addEventListener("change", (event) => {
    const box = event.target;
    if (box.dataset.groupe === "type" || box.dataset.groupe === "matiere") {
      const key = box.dataset.groupe === "type" ? "types" : "classifications";
      const checked = [...document.querySelectorAll(`input[data-groupe="${box.dataset.groupe}"]:checked`)].map((b) => b.value);
      update({ [key]: checked, page: 1 }, { push: true });
    } else if (box.id === "date-debut" || box.id === "date-fin") {
      update({ [box.id === "date-debut" ? "date_debut" : "date_fin"]: box.value, page: 1 }, { push: true });
    }
  });
  $("effacer").addEventListener("click", () => {
    Object.assign(state, { types: [], classifications: [], date_debut: "", date_fin: "", recherche: "", page: 1 });
    syncControls();
    update({}, { push: true });
  });
  $("tri").addEventListener("change", (event) => update({ tri: event.target.value, page: 1 }, { push: true }));
  onPageChosen($("pagination"), (page) => update({ page }, { push: true, focusResults: true }));
  $("export-csv").addEventListener("click", exportCsv);
  $("tous-les-actes").addEventListener("click", (event) => {
    event.preventDefault();
    update({ acte: "", annee: null, page: 1 }, { push: true, focusResults: true });
  });
  $("liste").addEventListener("click", (event) => {
    const link = event.target.closest(".lien-permanent a");
    if (!link) return;
    event.preventDefault();
    const id = link.closest(".acte").dataset.id;
    update({ acte: id, annee: yearOf(actsById.get(id) || {}) }, { push: true, focusResults: true });
  });
  window.addEventListener("popstate", () => {
    state = ACTES.parse(location.search);
    syncControls();
    if (manifest) show();
  });
}

async function runSearch(value) {
  searchStarted = performance.now();
  state.recherche = value.trim();
  state.page = 1;
  $("tri").value = state.tri || (state.recherche ? "pertinence" : "publication");
  await update({});
}

load();
listen();
