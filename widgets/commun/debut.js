/* Run from the head of a widget page (a classic script, asynchronous), before the page's module has
   arrived and run: the widget's manifest is asked for at once, so that on a phone its round trip
   overlaps the module's download and start. commun/manifest.js hands the response to the module
   (once); a page whose address names no body asks for nothing here. */
(() => {
  const script = document.currentScript;
  const kind = script && script.dataset.widget;
  const params = new URLSearchParams(location.search);
  let id = (params.get(kind === "actes" ? "siren" : "siret") || "").trim();
  if (kind === "actes" && /^\d{14}$/.test(id)) id = id.slice(0, 9); // a SIRET names its body's SIREN
  if (!(kind === "actes" ? /^\d{9}$/ : /^\d{14}$/).test(id)) return;
  const url = new URL(`${kind}/${id}/index.json`, location.href).href;
  const response = fetch(url, { cache: "no-cache" });
  response.catch(() => {}); // a failure is the module's to tell, when it reads the response
  window.digorDebut = { url, response };
})();
