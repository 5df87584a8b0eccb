"""The Actes widget's index of the text of the acts' documents: static, one per year, sharded by term range.

A body's acts' documents hold far more words than their objets: one index file would be megabytes.
So, for each year file, the terms (``search_tokens`` of each document's text) are sorted and cut into
shards of about ``SHARD_BYTES``; a small file names each shard by its first term, and a search
fetches only the shards its words fall in, in each year. A posting is the act's rank among the
sorted ids of the acts of its year file (delta-encoded): the widget, which has the year files when
it searches, ranks them the same way, and gives up a year's text search when the count differs.
A night makes the index of the years it touched only.
The passage shown under a result comes from the document's public ``.txt`` (``suffixe``), fetched
for the results on screen only.

Only documents the year files show are indexed (online acts, public annexes): a withdrawn act
leaves the index at the next switch, as it leaves the year files.
"""

from __future__ import annotations

import json
import re

from core.jsonio import compact_json_bytes as json_bytes
from core.keys import DOCUMENT_TEXT_SUFFIX, widget_year_terms_key
from core.store import ObjectStore, gzip_bytes, plain_bytes
from load.document_texts import read_record
from load.versions import Fingerprints, fingerprint, put_version

TEXT_STEM = "texte"
SHARD_SUFFIX = "termes"
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


def year_text_part(store: ObjectStore, siren: str, year: str, acts: list[dict], ids: list[str], tokens) -> dict:
    """One year file's part of the text index: each word's acts (their index in ``ids``, the year's
    acts as its search part lists them), the fingerprints of the acts with a text, and the
    documents whose text is not read yet (looked up at each switch; one found makes the part again).

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
    with_text = set()
    for act in acts:
        found = [terms[sha] for sha in document_hashes(act) if sha in terms]
        if found:
            with_text.add(fingerprint(act))
        for words in found:
            for word in words:
                postings.setdefault(word, set()).add(rank[act["id"]])
    return {"termes": {word: sorted(ranks) for word, ranks in sorted(postings.items())},
            "avec_texte": sorted(with_text), "en_attente": pending}


def text_part_outdated(store: ObjectStore, part: dict) -> bool:
    """Whether a document the part waits for has its text now."""
    return any((record := read_record(store, sha256)) and record.get("text") for sha256 in part["en_attente"])


def _deltas(ranks: list[int]) -> list[int]:
    return [rank - previous for previous, rank in zip([0, *ranks], ranks)]


def text_stems(year: str) -> tuple[str, str]:
    """The stems of a year's text index and of its shards."""
    return f"{TEXT_STEM}-{year}", f"{TEXT_STEM}-{year}-{SHARD_SUFFIX}"


def publish_text_index(store: ObjectStore, folder: str, year: str, ids: list[str], part: dict,
                       stop_words) -> tuple[dict | None, list[str]]:
    """One year's text index as versions, from its ``year_text_part`` (``ids``: the year's acts as
    its search part lists them); the manifest's entry (None when no document of its acts has a
    text yet) and the names of the versions it needs. A posting ranks its act among the sorted
    ids of the acts of the year file."""
    ordered = sorted(set(ids))
    rank = {act_id: n for n, act_id in enumerate(ordered)}
    local = [rank[act_id] for act_id in ids]
    postings = {word: sorted({local[n] for n in found}) for word, found in part["termes"].items()}
    if not postings:
        return None, []
    index_stem, shard_stem = text_stems(year)
    shards, current, size = [], {}, 0
    for word in sorted(postings):
        ranks = _deltas(postings[word])
        weight = len(word) + 7 + len(",".join(map(str, ranks)))
        if current and size + weight > SHARD_BYTES:
            shards.append(current)
            current, size = {}, 0
        current[word] = ranks
        size += weight
    shards.append(current)
    held = Fingerprints(part["avec_texte"])
    names = []
    for shard in shards:
        key, _ = put_version(store, folder, shard_stem, "json",
                             gzip_bytes(json_bytes({"format": TEXT_FORMAT, "termes": shard})), held)
        names.append(key.rsplit("/", 1)[1])
    document = {
        "format": TEXT_FORMAT, "actes": len(ordered), "suffixe": DOCUMENT_TEXT_SUFFIX, "mots_vides": list(stop_words),
        "tranches": [{"de": next(iter(shard)), "fichier": name} for shard, name in zip(shards, names)],
    }
    key, _ = put_version(store, folder, index_stem, "json", gzip_bytes(json_bytes(document)), held)
    return {"fichier": key.rsplit("/", 1)[1], "format": TEXT_FORMAT}, [key.rsplit("/", 1)[1], *names]
