// The map of reuses: reads carte-reutilisations.geojson (published beside the widget pages) and draws
// each located body as a point of a plain SVG map, with the list of bodies, their widgets and the pages
// that embed them. Text from the data only ever goes in as text.
import { byId, el, showWarnings } from "./commun/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const LABELS = { actes: "Actes", budgets: "Budgets", marches: "Focus marchés" };
const KINDS = { commune: "commune", epci: "intercommunalité", syndicat: "syndicat", departement: "département",
  region: "région", autre: "autre organisme" };

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// Longitude and latitude to the SVG's plane: an equirectangular projection scaled at the mean latitude,
// enough for a region.
function projection(points) {
  const lons = points.map((p) => p[0]);
  const lats = points.map((p) => p[1]);
  const mid = ((Math.min(...lats) + Math.max(...lats)) / 2) * Math.PI / 180;
  const scale = Math.cos(mid);
  const xs = lons.map((lon) => lon * scale);
  const ys = lats.map((lat) => -lat);
  const pad = Math.max(0.05, (Math.max(...xs) - Math.min(...xs) + Math.max(...ys) - Math.min(...ys)) * 0.08);
  const box = [Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) - Math.min(...xs) + 2 * pad,
    Math.max(...ys) - Math.min(...ys) + 2 * pad];
  return { project: ([lon, lat]) => [lon * scale, -lat], box, radius: Math.max(box[2], box[3]) / 60 };
}

function entry(feature) {
  const p = feature.properties;
  const widgets = Object.entries(p.liens || {}).map(([widget, url]) =>
    el("li", null, el("a", { href: url }, `Widget ${LABELS[widget] || widget}`)));
  const pages = (p.pages_integration || []).map((url) => el("li", null, el("a", { href: url }, url)));
  return el("li", { id: `organisme-${p.siren}` },
    el("h3", null, p.name),
    el("p", null, `${KINDS[p.type] || p.type}, SIREN ${p.siren}${feature.geometry ? "" : " (siège non localisé)"}`),
    widgets.length ? el("ul", { "aria-label": `Widgets de ${p.name}` }, ...widgets) : null,
    pages.length ? el("p", null, "Intégré sur :") : null,
    pages.length ? el("ul", { "aria-label": `Pages qui intègrent les widgets de ${p.name}` }, ...pages) : null);
}

async function main() {
  const response = await fetch("carte-reutilisations.geojson", { cache: "no-cache" });
  if (!response.ok) throw new Error(`carte-reutilisations.geojson: HTTP ${response.status}`);
  const collection = await response.json();
  const features = (collection.features || []).filter((f) => f && f.properties);
  const located = features.filter((f) => f.geometry && f.geometry.type === "Point");
  const map = byId("carte");
  if (located.length) {
    const { project, box, radius } = projection(located.map((f) => f.geometry.coordinates));
    map.setAttribute("viewBox", box.join(" "));
    for (const feature of located) {
      const [x, y] = project(feature.geometry.coordinates);
      const point = svg("circle", { cx: x, cy: y, r: radius, class: "point", "data-siren": feature.properties.siren });
      const title = svg("title", {});
      title.textContent = feature.properties.name;
      point.append(title);
      map.append(point);
    }
  }
  byId("organismes").replaceChildren(...features.map(entry));
  const missing = features.length - located.length;
  byId("compte").textContent = `${features.length} organisme${features.length > 1 ? "s" : ""}` +
    (missing ? `, dont ${missing} sans localisation` : "");
}

main().catch((error) => {
  showWarnings([`La carte n'a pas pu être chargée (${error.message}).`]);
}).finally(() => {
  document.body.dataset.etat = "pret";
});
