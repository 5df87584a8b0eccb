"""The Actes widget's index of the text of the acts' documents: static, one per year, cut by term ranges
that the body's years share.

A body's acts' documents hold far more words than their objets: one index file would be megabytes.
So the terms (``search_tokens`` of each document's text) are sorted and cut into ranges, the same
for every year of the body, each range about ``SHARD_BYTES`` of postings, every year together; each
year names its part of each range. A search fetches, in each year, the part of the range its words
fall in: one range's worth in all, whatever the number of years, as when the index was one file.
A night makes again the parts of the years it touched only (the ranges stay); when a range has grown
past twice its size, it is cut in two, every year's part of it with it (the other parts are kept).

A posting is the act's rank among the sorted ids of the acts of its year file (delta-encoded): the
widget, which has the year files when it searches, ranks them the same way, and gives up a year's
text search when the count differs.
The passage shown under a result comes from the document's public ``.txt`` (``suffixe``), fetched
for the results on screen only.

Only documents the year files show are indexed (online acts, public annexes): a withdrawn act
leaves the index at the next switch, as it leaves the year files.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable

from core.jsonio import compact_json_bytes as json_bytes
from core.keys import DOCUMENT_TEXT_SUFFIX, widget_year_terms_key
from core.store import ObjectStore, gzip_bytes, plain_bytes
from load.document_texts import read_record
from load.versions import put_version

TEXT_STEM = "texte"
SHARD_SUFFIX = "termes"
# 1: each year cut on its own (a word's shard in each year); 2: ranges shared by the body's years.
TEXT_FORMAT = 2
# Uncompressed JSON per term range, every year's part together, about: a word's range is a few
# tens of KB over the wire. A range past twice this size is cut again.
SHARD_BYTES = 96_000
_HASH = re.compile(r"^[0-9a-f]{64}$")


def document_hashes(act: dict) -> list[str]:
    """Content hashes of an act's documents (main, then annexes), from their public URLs."""
    found = []
    for document in [act.get("document"), *act.get("annexes", [])]:
        if document and document.get("url"):
            sha256 = document["url"].rsplit("/", 1)[-1].split(".", 1)[0]
            found += [sha256] if _HASH.match(sha256) else []
    return found


def year_text_part(store: ObjectStore, siren: str, year: str, acts: list[dict], ids: list[str], tokens) -> dict:
    """One year file's part of the text index: each word's acts (their index in ``ids``, the year's
    acts as its search part lists them) and the documents whose text is not read yet (looked up at each switch; one found makes the part again).

    The terms of the year's documents are kept (``widget_year_terms_key``): making the part again
    reads only the texts not seen yet. Only the documents of ``acts`` are kept: a withdrawn act's
    words leave with it."""
    key = widget_year_terms_key("actes", siren, year)
    try:
        known = json.loads(plain_bytes(store.get_bytes(key)))
    except FileNotFoundError:
        known = {}
    wanted = {sha for act in acts for sha in document_hashes(act)}
    terms = {sha: known[sha] for sha in wanted if sha in known}
    pending = []
    for sha256 in sorted(wanted - set(known)):
        record = read_record(store, sha256)
        if record and record.get("text"):
            terms[sha256] = sorted(set(tokens(record["text"])))
        else:
            pending.append(sha256)
    if terms != known:
        if terms:
            store.put_bytes(key, json_bytes(dict(sorted(terms.items()))))
        else:
            store.delete(key)
    rank = {act_id: n for n, act_id in enumerate(ids)}
    postings: dict[str, set[int]] = {}
    for act in acts:
        found = [terms[sha] for sha in document_hashes(act) if sha in terms]
        for words in found:
            for word in words:
                postings.setdefault(word, set()).add(rank[act["id"]])
    return {"termes": {word: sorted(ranks) for word, ranks in sorted(postings.items())}, "en_attente": pending}


def text_part_outdated(store: ObjectStore, part: dict) -> bool:
    """Whether a document the part waits for has its text now."""
    return any((record := read_record(store, sha256)) and record.get("text") for sha256 in part["en_attente"])


def text_stems(year: str) -> tuple[str, str]:
    """The stems of a year's text index and of its parts of the term ranges."""
    return f"{TEXT_STEM}-{year}", f"{TEXT_STEM}-{year}-{SHARD_SUFFIX}"


def current_text_entry(entry: dict | None) -> bool:
    """Whether a year digest's text entry is of this format (ranges shared by the years)."""
    return bool(entry) and entry.get("format") == TEXT_FORMAT


Postings = dict[str, list[int]]


def _deltas(ranks: list[int]) -> list[int]:
    return [rank - previous for previous, rank in zip([0, *ranks], ranks)]


def year_postings(ids: list[str], part: dict) -> tuple[int, Postings]:
    """A ``year_text_part``'s postings as the index writes them: each act's rank among the sorted ids
    of the year's acts, delta-encoded; and the count of those acts."""
    ordered = sorted(set(ids))
    rank = {act_id: n for n, act_id in enumerate(ordered)}
    local = [rank[act_id] for act_id in ids]
    return len(ordered), {word: _deltas(sorted({local[n] for n in found})) for word, found in part["termes"].items()}


def _weight(word: str, deltas: list[int]) -> int:
    """About the bytes of a term's postings in a part's JSON."""
    return len(word) + 7 + len(",".join(map(str, deltas)))


def _cut(weights: list[tuple[str, int]], start: str) -> list[str]:
    """The first terms of ranges of about ``SHARD_BYTES`` each over ``weights`` (by term), from ``start``."""
    bounds, size = [start], 0
    for word, weight in weights:
        if size and size + weight > SHARD_BYTES:
            bounds.append(word)
            size = 0
        size += weight
    return bounds


def _pieces(postings: Postings, bounds: list[str]) -> list[Postings]:
    """The postings cut on the ranges starting at ``bounds`` (the first is "")."""
    pieces: list[Postings] = [{} for _ in bounds]
    for word in sorted(postings):
        pieces[bisect_right(bounds, word) - 1][word] = postings[word]
    return pieces


class _Year:
    """One year of the text index being written: each range's part, kept (its name and size) or to
    write (its postings), and what its index file says besides."""

    def __init__(self, year: str, count: int, pending: list[str]):
        self.year, self.count, self.pending = year, count, pending
        self.slots: list[tuple[str | None, int] | Postings] = []

    def terms(self, k: int, read: Callable[[str], Postings]) -> Postings:
        """The postings of its part of range ``k`` (a part kept is read)."""
        slot = self.slots[k]
        if isinstance(slot, dict):
            return slot
        return read(slot[0]) if slot[0] else {}

    def size(self, k: int) -> int:
        slot = self.slots[k]
        return slot[1] if isinstance(slot, tuple) else sum(_weight(w, d) for w, d in slot.items())


def published_bounds(store: ObjectStore, folder: str, manifest: dict | None) -> list[str] | None:
    """The ranges the body's published text index is cut on (``manifest``: its index.json), if any."""
    for entry in ((manifest or {}).get("recherche") or {}).get("annees", {}).values():
        if "texte" in entry:
            try:
                index = json.loads(plain_bytes(store.get_bytes(f"{folder}/{entry['texte']}")))
            except FileNotFoundError:
                continue
            if index.get("format") == TEXT_FORMAT:
                return [part["de"] for part in index["tranches"]]
    return None


def publish_text_indexes(store: ObjectStore, folder: str, siren: str, entries: dict[str, dict | None],
                         year_files: dict[str, str], acts_of: Callable[[str], list[dict]], tokens, stop_words,
                         published: Callable[[], list[str] | None] = lambda: None) -> dict[str, dict]:
    """The body's text index, a year at a time: ``entries`` has each year's text entry (its digest's),
    None for a year to make again (its acts from ``acts_of``, a year file's); returns the new entry of
    each year whose index changed (every version it names written before). A year's index and parts
    hold some of the acts of its year file (``year_files``: its name): their records are its
    (``put_version``'s ``records_of``), not a copy per part.

    The years made again are cut on the ranges the others share; when none does, on the ranges of the
    published index (``published``: a rebuild from scratch writes the files the nights kept up), else
    on ranges cut over those years' terms together. A range grown past twice ``SHARD_BYTES`` is cut
    again, in every year (the years' other parts are kept); a year cut on other ranges (a switch
    stopped during such a cut) is cut again from its parts."""
    kept = {year: entry for year, entry in entries.items() if current_text_entry(entry)}
    years: dict[str, _Year] = {}
    made: dict[str, Postings] = {}
    for year in sorted(set(entries) - set(kept)):
        acts = acts_of(year)
        ids = list(dict.fromkeys(act["id"] for act in acts))  # as ``search_part`` ranks them
        part = year_text_part(store, siren, year, acts, ids, tokens)
        count, made[year] = year_postings(ids, part)
        years[year] = _Year(year, count, part["en_attente"])

    def read(name: str) -> Postings:
        return json.loads(plain_bytes(store.get_bytes(f"{folder}/{name}")))["termes"]

    shared = {tuple(entry["bornes"]) for entry in kept.values() if entry["fichier"]}
    if shared:
        bounds = sorted(set().union(*shared))  # several: a cut stopped halfway; its ranges are the finer
    elif made and (before := published()):
        bounds = before
    else:
        weights: dict[str, int] = {}
        for postings in made.values():
            for word, deltas in postings.items():
                weights[word] = weights.get(word, 0) + _weight(word, deltas)
        bounds = _cut(sorted(weights.items()), "")
    for year, entry in kept.items():
        if entry["fichier"] and entry["bornes"] != bounds:
            years[year] = _Year(year, entry["actes"], entry["en_attente"])
            made[year] = {word: deltas for name in entry["parts"] if name for word, deltas in read(name).items()}
    for year, postings in made.items():
        years[year].slots = list(_pieces(postings, bounds))
    others = {year: entry for year, entry in kept.items() if year not in years and entry["fichier"]}
    for year, entry in others.items():
        years[year] = _Year(year, entry["actes"], entry["en_attente"])
        years[year].slots = list(zip(entry["parts"], entry["tailles"]))
    heavy = [k for k in range(len(bounds)) if sum(y.size(k) for y in years.values()) > 2 * SHARD_BYTES]
    new_bounds = list(bounds)
    for k in reversed(heavy):
        merged: dict[str, int] = {}
        for y in years.values():
            for word, deltas in y.terms(k, read).items():
                merged[word] = merged.get(word, 0) + _weight(word, deltas)
        new_bounds[k:k + 1] = _cut(sorted(merged.items()), bounds[k])
    if new_bounds != bounds:
        for y in years.values():
            slots: list = []
            for k, slot in enumerate(y.slots):
                if k in heavy:
                    end = bounds[k + 1] if k + 1 < len(bounds) else None
                    within = [b for b in new_bounds if b >= bounds[k] and (end is None or b < end)]
                    slots += _pieces(y.terms(k, read), within)
                else:
                    slots.append(slot)
            y.slots = slots
    changed = {year: _write_year(store, folder, y, new_bounds, stop_words, f"{folder}/{year_files[year]}")
               for year, y in years.items() if year not in others or new_bounds != bounds}
    return changed


def _write_year(store: ObjectStore, folder: str, y: _Year, bounds: list[str], stop_words, year_file: str) -> dict:
    """A year's parts not written yet and its index file (naming its part of each range), their records
    those of the year file (``year_file``: its key); its entry."""
    index_stem, shard_stem = text_stems(y.year)
    names, sizes = [], []
    for slot in y.slots:
        if isinstance(slot, tuple):
            name, size = slot
        elif slot:
            key, _ = put_version(store, folder, shard_stem, "json",
                                 gzip_bytes(json_bytes({"format": TEXT_FORMAT, "termes": slot})), records_of=year_file)
            name, size = key.rsplit("/", 1)[1], sum(_weight(w, d) for w, d in slot.items())
        else:
            name, size = None, 0
        names.append(name)
        sizes.append(size)
    if not any(names):
        return {"format": TEXT_FORMAT, "fichier": None, "fichiers": [], "en_attente": y.pending}
    document = {
        "format": TEXT_FORMAT, "actes": y.count, "suffixe": DOCUMENT_TEXT_SUFFIX, "mots_vides": list(stop_words),
        "tranches": [{"de": bound} | ({"fichier": name} if name else {}) for bound, name in zip(bounds, names)],
    }
    key, _ = put_version(store, folder, index_stem, "json", gzip_bytes(json_bytes(document)), records_of=year_file)
    name = key.rsplit("/", 1)[1]
    return {"format": TEXT_FORMAT, "fichier": name, "fichiers": [name, *filter(None, names)], "en_attente": y.pending,
            "actes": y.count, "bornes": bounds, "parts": names, "tailles": sizes}
