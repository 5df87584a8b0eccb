/* For the site that embeds a digor widget: one line after the iframe(s),
     <script src="https://<widgets' address>/widgets/commun/integration.js" defer></script>
   and each widget iframe of the page takes the height of its content (the widget says it with
   postMessage, commun/hauteur.js), so that visitors scroll the page, not a frame in it. Only
   messages from the widgets' own address, and only to the iframe that sent them, are heard;
   an iframe without this script keeps its height attribute. A classic script: no module, no
   dependency, nothing but the iframes' height is touched. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var SMALLEST = 150;
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || data.type !== "digor-hauteur" || typeof data.hauteur !== "number") return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.max(SMALLEST, Math.ceil(data.hauteur)) + "px";
      }
    }
  });
})();
