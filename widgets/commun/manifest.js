/* The manifest is the one file a widget asks for by name; it names every other file. A widget
   reads only the manifest format it was written for (schemas/widgets/ describes each one). */

export const FORMATS = { actes: 1, budgets: "digor-budgets-widget/1", marches: 2, catalogue: 2 };

export async function fetchJson(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
  return response.json();
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
