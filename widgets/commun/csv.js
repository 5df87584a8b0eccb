/* Files a visitor downloads: CSV as spreadsheets in France open it, and any other blob. */
import { el } from "./dom.js";

export function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  // A cell starting like a formula would run in a spreadsheet: keep it as text.
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[";\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// A number with a decimal comma, as French spreadsheets read it; empty when there is none.
export function csvDecimal(value, digits = 2) {
  return Number.isFinite(value) ? value.toFixed(digits).replace(".", ",") : "";
}

export function download(blob, name) {
  const link = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// UTF-8 with BOM, ";" between cells.
export function downloadCsv(header, rows, name) {
  const text = "\ufeff" + [header, ...rows].map((row) => row.map(csvCell).join(";")).join("\r\n") + "\r\n";
  download(new Blob([text], { type: "text/csv;charset=utf-8" }), name);
}
