/* Search inside the acts' documents: the static index of load/widget_text_index.py, cut by term
   range, and the passage of a document's text around the words searched.

   Each year's index names its part of each range by the range's first term (the years share the
   ranges; a range without a part has no term in that year); a word is looked for in the one range
   it falls in (a prefix, in the ranges it spans), so a search downloads one range's parts, never the
   whole index. A posting is an act's rank among the sorted ids of the year files. */
import { fold } from "./texte.js";

const PASSAGE_AVANT = 90;
const PASSAGE_APRES = 160;

// The parts (by file name) of the ranges that may hold ``word`` (exactly, or as a prefix).
function shardsFor(index, word, prefix) {
  const ranges = index.tranches;
  let first = 0;
  while (first + 1 < ranges.length && ranges[first + 1].de <= word) first += 1;
  let last = first;
  if (prefix) {
    while (last + 1 < ranges.length && ranges[last + 1].de.startsWith(word)) last += 1;
  }
  return ranges.slice(first, last + 1).filter((range) => range.fichier).map((range) => range.fichier);
}

function ranks(deltas) {
  let rank = 0;
  return deltas.map((delta) => (rank += delta));
}

// A loaded text index: ``search(words, ids)`` gives the ids of the acts whose documents hold every
// word (the last one as a prefix, as it is being typed); ``ids``: every act of the year files.
export function textIndex(index, baseUrl, fetchJson) {
  const shards = new Map();
  const shard = (name) => {
    if (!shards.has(name)) {
      shards.set(name, fetchJson(new URL(name, baseUrl), { version: true }).then((s) => s.termes)
        .catch((error) => { shards.delete(name); throw error; }));
    }
    return shards.get(name);
  };
  // The sorted ids a posting's ranks point into, made once for a list of acts (not at each search).
  let sortedFor = null;
  let sorted = [];
  return {
    suffixe: index.suffixe,
    async search(words, ids) {
      if (ids !== sortedFor) {
        sorted = [...new Set(ids)].sort();
        sortedFor = ids;
      }
      if (!words.length || sorted.length !== index.actes) return null;
      let matching = null;
      for (const [n, word] of words.entries()) {
        const prefix = n === words.length - 1;
        const found = new Set();
        for (const terms of await Promise.all(shardsFor(index, word, prefix).map(shard))) {
          for (const [term, deltas] of Object.entries(terms)) {
            if (term === word || (prefix && term.startsWith(word))) ranks(deltas).forEach((r) => found.add(sorted[r]));
          }
        }
        matching = matching ? new Set([...matching].filter((id) => found.has(id))) : found;
        if (!matching.size) break;
      }
      return matching;
    },
  };
}

// The URL of a document's text: its own URL with the suffix the index names in place of ".pdf".
export function textUrl(documentUrl, suffixe) {
  const url = new URL(documentUrl, location.href);
  if (!/\.pdf$/i.test(url.pathname)) return null;
  url.pathname = url.pathname.replace(/\.pdf$/i, suffixe);
  return url.href;
}

// Where the words are in ``text``: [start, end) offsets in the original text of each occurrence of a
// word (folded as the index folds them; the last word as a prefix), in order.
function occurrences(text, words) {
  let folded = "";
  const origin = [];
  let offset = 0;
  for (const ch of text) {
    const f = fold(ch);
    for (let i = 0; i < f.length; i += 1) origin.push(offset);
    folded += f;
    offset += ch.length;
  }
  origin.push(text.length);
  const found = [];
  const token = /[\p{L}\p{N}]+/gu;
  let match;
  while ((match = token.exec(folded))) {
    const hit = words.some((word, n) => match[0] === word || (n === words.length - 1 && match[0].startsWith(word)));
    if (hit) found.push([origin[match.index], origin[match.index + match[0].length]]);
  }
  return found;
}

// The passage of ``text`` around the first place it holds a searched word, as segments
// ``{ texte, mot }`` (``mot``: a word to highlight); null when no word is there.
export function passage(text, words) {
  const found = occurrences(text, words);
  if (!found.length) return null;
  const start = Math.max(0, found[0][0] - PASSAGE_AVANT);
  const end = Math.min(text.length, found[0][1] + PASSAGE_APRES);
  const segments = [];
  let at = start;
  for (const [from, to] of found) {
    if (from < at) continue;
    if (to > end) break;
    if (from > at) segments.push({ texte: text.slice(at, from), mot: false });
    segments.push({ texte: text.slice(from, to), mot: true });
    at = to;
  }
  if (at < end) segments.push({ texte: text.slice(at, end), mot: false });
  const clean = (s) => s.replace(/\s+/g, " ");
  return segments.map((s, n) => ({
    texte: (n === 0 && start > 0 ? "… " : "") + clean(s.texte) + (n === segments.length - 1 && end < text.length ? " …" : ""),
    mot: s.mot,
  }));
}
