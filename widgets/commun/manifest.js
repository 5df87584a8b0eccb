/* The manifest is the one file a widget asks for by name; it names every other file. A widget
   reads only the manifest format it was written for (schemas/widgets/ describes each one). */

export const FORMATS = { actes: 2, budgets: "digor-budgets-widget/1", marches: 2, catalogue: 2 };

// A manifest changes under its name: the browser asks each time (a 304 when unchanged). A file
// it names with ``version: true`` is a content-addressed version that never changes under its
// name: the browser's cache answers it (the store says for how long, then it revalidates).
export async function fetchJson(url, { version = false } = {}) {
  const early = version ? await earlyFile(url) : earlyResponse(url);
  const response = await (early || fetch(url, { cache: version ? "default" : "no-cache" }));
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
  return response.json();
}

// The responses commun/debut.js asked for from the page's head (the manifest, the first screen's
// file): each once, and only for the same address (a later reading asks again). That script is
// asynchronous and may run after the module has asked on its own: it then finds the module's mark
// and asks for nothing.
function earlyRequests() {
  if (!("digorDebut" in window)) window.digorDebut = null;
  return window.digorDebut;
}

function earlyResponse(url) {
  const early = earlyRequests();
  if (!early || !early.response || early.url !== new URL(url, location.href).href) return null;
  const response = early.response;
  early.response = null;
  return response;
}

async function earlyFile(url) {
  const early = earlyRequests();
  if (!early || !early.first) return null;
  const first = await early.first;
  if (!first || !early.first || first.url !== new URL(url, location.href).href) return null;
  early.first = null;
  return first.response;
}

export async function fetchManifest(url, kind) {
  const manifest = await fetchJson(url);
  if (!manifest || manifest.format !== FORMATS[kind]) {
    throw Object.assign(new Error(`format ${manifest && manifest.format}`), { format: manifest && manifest.format });
  }
  return manifest;
}

// What to tell a visitor when the manifest could not be read.
export function manifestFailure(error, notFound, retry) {
  if (error.status === 404) return notFound;
  if ("format" in error) {
    return "Ces données sont publiées dans un format que cette version du widget ne sait pas lire. " +
      "Rechargez la page ; si ce message reste, signalez-le à l'éditeur du site.";
  }
  return retry;
}
