/* Apache ECharts (vendor/, some 370 KB compressed) for a page that draws its charts once it has
   shown what it can without them (key figures, each chart's data table): its first screen does
   not wait for the library. The library is asked for in the task after the call (the one that
   marks the page drawn), once per page; a failure is tried again at the next call. */
import { el } from "./dom.js";

let loading = null;

function script(src) {
  return new Promise((resolve, reject) => {
    const node = el("script", { src });
    node.addEventListener("load", resolve);
    node.addEventListener("error", reject);
    document.head.append(node);
  });
}

export function loadCharts() {
  if (!loading) {
    loading = typeof echarts !== "undefined" ? Promise.resolve()
      : new Promise((resolve) => setTimeout(resolve, 0))
        .then(() => script("vendor/echarts.min.js"))
        .then(() => script("vendor/echarts-fr.js"));
    loading.catch(() => { loading = null; });
  }
  return loading;
}
