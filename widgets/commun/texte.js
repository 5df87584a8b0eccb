/* How the widgets compare words: without accents or case, "œ" and "æ" as the two letters a
   visitor types ("voeu" finds "Vœu"). The Actes search index is built with the same rule
   (load/widget_files.py search_tokens). */

const LIGATURES = { "œ": "oe", "æ": "ae" };

// Words too common to tell records apart: a search made only of them searches nothing.
export const MOTS_VIDES = ["a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "pour", "sur",
  "un", "une"];

export function fold(text) {
  return String(text || "")
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[œæ]/g, (letter) => LIGATURES[letter]);
}

// The words of a text, folded, without ``stopWords``.
export function words(text, stopWords = new Set(MOTS_VIDES)) {
  return fold(text).split(/[^\p{L}\p{N}]+/u).filter((word) => word && !stopWords.has(word));
}
