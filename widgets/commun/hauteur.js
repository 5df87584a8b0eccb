/* Inside a site's iframe, the widget tells the page around it how tall it is, each time that
   changes: the site's copy of commun/integration.js then sizes the iframe to fit, so that a phone
   scrolls the page only, never a frame inside it. Without that script the message goes unheard
   and the iframe keeps the height the site gave it. The height is no secret: any page may hear it. */
const MESSAGE = "digor-hauteur";

function height() {
  const body = document.body;
  const margin = parseFloat(getComputedStyle(body).marginBottom) || 0;
  return Math.ceil(body.getBoundingClientRect().bottom + window.scrollY + margin);
}

if (window.parent !== window && "ResizeObserver" in window) {
  let sent = 0;
  const tell = () => {
    const now = height();
    if (now !== sent) {
      sent = now;
      window.parent.postMessage({ type: MESSAGE, hauteur: now }, "*");
    }
  };
  new ResizeObserver(tell).observe(document.body);
  window.addEventListener("load", tell);
}
