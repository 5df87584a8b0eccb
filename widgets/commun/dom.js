/* Page helpers of every widget: elements built from text only (data never becomes HTML), the
   title and warnings of the layout's header (widgets/templates/layout.html), French dates. */

export const byId = (id) => document.getElementById(id);

// An element whose children are text nodes or elements: data never becomes HTML.
export function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

export function hiddenText(text) {
  return el("span", { className: "visuellement-cache" }, text);
}

export function setTitle(text) {
  document.title = text;
  byId("titre").textContent = text;
}

export function showWarnings(messages) {
  byId("avertissements").replaceChildren(...messages.map((m) => el("p", { className: "avertissement" }, m)));
}

const MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
  "septembre", "octobre", "novembre", "décembre"];

export function frenchDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return `${d === 1 ? "1er" : d} ${MONTHS[m - 1]} ${y}`;
}
