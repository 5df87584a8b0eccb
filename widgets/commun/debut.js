/* Run from the head of a widget page (a classic script, asynchronous), before the page's module has
   arrived and run: the widget's manifest is asked for at once, then the file of its first screen
   that the manifest names (Actes: the first page file; Focus marchés: the indicators), so that on
   a phone their round trips overlap the module's download and start. commun/manifest.js hands the
   responses to the module (once each); a page whose address names no body asks for nothing here,
   nor does a page whose module has already asked on its own (it leaves ``window.digorDebut``). */
(() => {
  if ("digorDebut" in window) return;
  const script = document.currentScript;
  const kind = script && script.dataset.widget;
  const params = new URLSearchParams(location.search);
  let id = (params.get(kind === "actes" ? "siren" : "siret") || "").trim();
  if (kind === "actes" && /^\d{14}$/.test(id)) id = id.slice(0, 9); // a SIRET names its body's SIREN
  if (!(kind === "actes" ? /^\d{9}$/ : /^\d{14}$/).test(id)) return;
  const url = new URL(`${kind}/${id}/index.json`, location.href).href;
  const response = fetch(url, { cache: "no-cache" });
  // The first screen's file: { url, response } or null (cloned before the module reads the manifest).
  const first = response
    .then((r) => (r.ok ? r.clone().json() : null))
    .then((manifest) => {
      const name = manifest && (kind === "actes" ? manifest.premiere_page && manifest.premiere_page.fichier
        : kind === "marches" ? manifest.indicateurs : null);
      if (typeof name !== "string") return null;
      const address = new URL(name, url).href;
      return { url: address, response: fetch(address, { cache: "default" }) };
    })
    .catch(() => null);
  response.catch(() => {}); // a failure is the module's to tell, when it reads the response
  window.digorDebut = { url, response, first };
})();
