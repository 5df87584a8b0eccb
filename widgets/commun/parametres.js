/* The URL parameters of the three widgets (the README's tables), read by each widget and
   written by the embed configurator, so that both always agree. */
import { choice, codes, isoDate, pageNumber, text, urlState, year } from "./url-state.js";

// Types of acts as the URL names them (the codes of the regional widget they replace):
// the six natures of the télétransmission, then the kinds sources send outside it.
export const TYPES = [
  { code: "1", libelle: "Délibérations" },
  { code: "2", libelle: "Actes réglementaires" },
  { code: "3", libelle: "Actes individuels" },
  { code: "4", libelle: "Contrats, conventions et avenants" },
  { code: "5", libelle: "Documents budgétaires et financiers" },
  { code: "6", libelle: "Autres actes" },
  { code: "71", libelle: "Listes des délibérations" },
  { code: "72", libelle: "Arrêtés temporaires" },
  { code: "73", libelle: "Procès-verbaux de séance" },
  { code: "74", libelle: "Arrêtés permanents" },
  { code: "7", libelle: "Autres actes non transmis en préfecture" },
];

// The pages a body usually makes of its acts, one kind of act each (the ``perimetre`` of a page):
// the configurator offers them by name and the widget names its page after them.
export const PAGES_ACTES = [
  { code: "deliberations", nom: "Délibérations", types: ["1"] },
  { code: "arretes", nom: "Arrêtés réglementaires et individuels", types: ["2", "3", "72", "74"] },
  { code: "proces-verbaux", nom: "Procès-verbaux et listes des délibérations", types: ["71", "73"] },
  { code: "budgets", nom: "Documents budgétaires et financiers", types: ["5"] },
  { code: "contrats", nom: "Contrats, conventions et avenants", types: ["4"] },
];

export const MATIERES = [
  { code: "1", libelle: "Commande publique" },
  { code: "2", libelle: "Urbanisme" },
  { code: "3", libelle: "Domaine et patrimoine" },
  { code: "4", libelle: "Fonction publique" },
  { code: "5", libelle: "Institutions et vie politique" },
  { code: "6", libelle: "Libertés publiques et pouvoirs de police" },
  { code: "7", libelle: "Finances locales" },
  { code: "8", libelle: "Domaines de compétences par thèmes" },
  { code: "9", libelle: "Autres domaines de compétences" },
];

// Budget stages as the manifests name them, with the slug of the ``etape`` parameter.
export const BUDGET_STAGES = {
  "budget primitif": { slug: "bp", libelle: "Budget primitif", pluriel: "budgets primitifs" },
  "budget supplémentaire": { slug: "bs", libelle: "Budget supplémentaire", pluriel: "budgets supplémentaires" },
  "décision modificative": { slug: "dm", libelle: "Décision modificative", pluriel: "décisions modificatives" },
  "compte administratif": { slug: "ca", libelle: "Compte administratif", pluriel: "comptes administratifs" },
};

export const MARCHES_TYPES = { marche: "Marché", concession: "Contrat de concession" };

export const ACTES = urlState({
  siren: text("siren"),
  // The kinds of act the page is for (set by the site, never by a visitor's filters).
  perimetre: codes("perimetre", TYPES.map((t) => t.code)),
  acte: text("acte", { raw: true }),
  // The year file that holds the act (its decision's year): a permalink loads that file only.
  annee: year("annee"),
  recherche: text("recherche", { raw: true }),
  types: codes("types_actes", TYPES.map((t) => t.code)),
  classifications: codes("classifications", MATIERES.map((m) => m.code)),
  date_debut: isoDate("date_debut"),
  date_fin: isoDate("date_fin"),
  tri: choice("tri", ["publication", "decision", "pertinence"]),
  page: pageNumber(),
});

export const BUDGETS = urlState({
  siret: text("siret"),
  budget: text("budget"),
  annee: text("annee"),
  etape: text("etape", { lower: true }),
  affichage: choice("affichage", ["montant", "pourcentage"], "montant"),
  niveau: choice("niveau", ["general", "detaille"], "general"),
  graphique: text("graphique"),
});

export const MARCHES = urlState({
  siret: text("siret"),
  annee_debut: year("annee_debut"),
  annee_fin: year("annee_fin"),
  recherche: text("recherche", { raw: true }),
  type: choice("type", Object.keys(MARCHES_TYPES)),
  nature: text("nature", { raw: true }),
  procedure: text("procedure", { raw: true }),
  categorie: text("categorie", { raw: true }),
  tri: choice("tri", ["date", "date_asc", "montant", "montant_asc", "objet"]),
  page: pageNumber(),
});
