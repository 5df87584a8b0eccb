/* The page buttons under a list: previous, first, the pages around the current one, last, next. */
import { el } from "./dom.js";

export function renderPager(nav, current, pages) {
  nav.hidden = pages <= 1;
  if (pages <= 1) return nav.replaceChildren();
  const button = (label, page, options = {}) => el("button", {
    type: "button", "data-page": page, disabled: options.disabled, "aria-current": options.current ? "page" : null,
    "aria-label": options.aria || null,
  }, label);
  const wanted = new Set([1, pages, current - 1, current, current + 1].filter((p) => p >= 1 && p <= pages));
  const items = [button("Page précédente", current - 1, { disabled: current === 1 })];
  let previous = 0;
  for (const page of [...wanted].sort((a, b) => a - b)) {
    if (page - previous > 1) items.push(el("span", { className: "ellipse", "aria-hidden": "true" }, "…"));
    items.push(button(String(page), page, { current: page === current, aria: `Page ${page}` }));
    previous = page;
  }
  items.push(button("Page suivante", current + 1, { disabled: current === pages }));
  nav.replaceChildren(el("ul", {}, ...items.map((item) => el("li", {}, item))));
}

// Calls ``choose(page)`` when a page button of ``nav`` is pressed.
export function onPageChosen(nav, choose) {
  nav.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-page]");
    if (button && !button.disabled) choose(Number(button.dataset.page));
  });
}
