"""The Actes widget's index of the text of the acts' documents: static, sharded by term range.

A body's acts' documents hold far more words than their objets: one index file would be megabytes.
So the terms (``search_tokens`` of each document's text) are sorted and cut into shards of about
``SHARD_BYTES``; a small file names each shard by its first term, and a search fetches only the
shards its words fall in. A posting is the act's rank among the sorted ids of every act the
manifest's year files show (delta-encoded): the widget, which has the year files when it
searches, ranks them the same way, and gives up text search when the count differs.
The passage shown under a result comes from the document's public ``.txt`` (``suffixe``), fetched
for the results on screen only.

Only documents the year files show are indexed (online acts, public annexes): a withdrawn act
leaves the index at the next switch, as it leaves the year files.
"""

from __future__ import annotations

import json
import re

from core.jsonio import compact_json_bytes as json_bytes
from core.keys import DOCUMENT_TEXT_SUFFIX, widget_text_terms_key
from core.store import ObjectStore, gzip_bytes, plain_bytes
from load.document_texts import read_record
from load.versions import Fingerprints, put_version

TEXT_STEM = "texte"
SHARD_STEM = "texte-termes"
TEXT_FORMAT = 1
# Uncompressed JSON per shard, about: a word's shard is a few tens of KB over the wire.
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


def _document_terms(store: ObjectStore, siren: str, wanted: set[str], tokens) -> dict[str, list[str]]:
    """The search terms of each wanted document whose text is read; the ones known from the last
    switch are not read again, the others are looked up (a document not read yet is looked up
    again at the next switch)."""
    key = widget_text_terms_key("actes", siren)
    try:
        known = json.loads(plain_bytes(store.get_bytes(key)))
    except FileNotFoundError:
        known = {}
    terms = {sha: known[sha] for sha in wanted if sha in known}
    for sha256 in sorted(wanted - set(known)):
        record = read_record(store, sha256)
        if record and record.get("text"):
            terms[sha256] = sorted(set(tokens(record["text"])))
    if terms != known:
        store.put_bytes(key, gzip_bytes(json_bytes(dict(sorted(terms.items())))))
    return terms


def _deltas(ranks: list[int]) -> list[int]:
    return [rank - previous for previous, rank in zip([0, *ranks], ranks)]


def publish_text_index(store: ObjectStore, folder: str, siren: str, ids: list[str],
                       documents: list[tuple[str, list[str], str]], tokens,
                       stop_words) -> tuple[dict | None, list[str]]:
    """The body's text index as versions; the manifest's ``texte`` entry (None when no document of
    its acts has a text yet) and the names of the versions it needs. ``ids``: every act the year
    files show, sorted; ``documents``: (act id, its ``document_hashes``, the act's fingerprint as
    ``load.versions.fingerprint`` makes it) of each act that has documents."""
    rank = {act_id: n for n, act_id in enumerate(ids)}
    terms = _document_terms(store, siren, {sha for _, shas, _ in documents for sha in shas}, tokens)
    postings: dict[str, set[int]] = {}
    with_text = []
    for act_id, shas, held in documents:
        found = [terms[sha] for sha in shas if sha in terms]
        if found:
            with_text.append(held)
        for words in found:
            for word in words:
                postings.setdefault(word, set()).add(rank[act_id])
    if not postings:
        return None, []
    shards, current, size = [], {}, 0
    for word in sorted(postings):
        ranks = _deltas(sorted(postings[word]))
        weight = len(word) + 6 + sum(len(str(r)) + 1 for r in ranks)
        if current and size + weight > SHARD_BYTES:
            shards.append(current)
            current, size = {}, 0
        current[word] = ranks
        size += weight
    shards.append(current)
    held = Fingerprints(sorted(set(with_text)))
    names = []
    for shard in shards:
        key, _ = put_version(store, folder, SHARD_STEM, "json",
                             gzip_bytes(json_bytes({"format": TEXT_FORMAT, "termes": shard})), held)
        names.append(key.rsplit("/", 1)[1])
    document = {
        "format": TEXT_FORMAT, "actes": len(ids), "suffixe": DOCUMENT_TEXT_SUFFIX, "mots_vides": list(stop_words),
        "tranches": [{"de": next(iter(shard)), "fichier": name} for shard, name in zip(shards, names)],
    }
    key, _ = put_version(store, folder, TEXT_STEM, "json", gzip_bytes(json_bytes(document)), held)
    return {"fichier": key.rsplit("/", 1)[1], "format": TEXT_FORMAT}, [key.rsplit("/", 1)[1], *names]
