/* The "À propos de ces données" block of the layout's footer: what the data is, who publishes
   it, its licence, and that the page loads nothing from elsewhere. */
import { byId, el, hiddenText } from "./dom.js";

const LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/";

// Who publishes the data, as the manifest names it.
export function publisher(manifest) {
  return manifest.publie_par || "le syndicat régional";
}

// ``paragraphs``: the widget's own text; ``feed``: a feed URL to follow; ``charts``: drawn with ECharts.
export function writeAbout({ paragraphs, feed = null, charts = false }) {
  byId("a-propos-texte").replaceChildren(
    ...paragraphs.map((text) => el("p", {}, text)),
    el("p", {}, "Licence : ",
      el("a", { href: LICENCE, target: "_blank", rel: "noopener license" }, "Licence Ouverte / Open Licence version 2.0"),
      " (Etalab). Vous pouvez réutiliser ces données librement en citant leur source."),
    feed ? el("p", {}, "Pour être averti des nouvelles publications, copiez l'adresse du ",
      el("a", { href: feed, target: "_blank", rel: "noopener" }, "flux Atom", hiddenText(" (nouvel onglet)")),
      " dans un lecteur de flux.") : null,
    el("p", {}, (charts ? "Graphiques réalisés avec Apache ECharts. " : "") +
      "Ce module ne dépose aucun cookie et ne charge aucune ressource d'un autre site.")
  );
}
