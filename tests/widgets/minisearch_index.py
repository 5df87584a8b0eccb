"""The tests' oracle of the Actes widget's search: the index MiniSearch (format 2) holds of some acts.

Written independently of the year parts the pipeline publishes, from the acts themselves: the
widget's index, put together in the browser from the years' parts, must be this one exactly (the
same terms, postings, field lengths and running mean, so the same results and scores).
"""

from __future__ import annotations

from collections.abc import Iterable

from load.widget_files import SEARCH_FIELDS, search_tokens

MINISEARCH_SERIALIZATION = 2


def search_index(acts: Iterable[dict]) -> dict:
    """MiniSearch's serialisation of ``acts`` indexed in order (an act id met again is skipped)."""
    document_ids: dict[str, str] = {}
    field_length: dict[str, list[int]] = {}
    average = [0.0] * len(SEARCH_FIELDS)
    postings: dict[str, dict[str, dict[str, int]]] = {}
    seen: set[str] = set()
    for act in acts:
        if act["id"] in seen:
            continue
        seen.add(act["id"])
        short = len(document_ids)
        document_ids[str(short)] = act["id"]
        lengths = []
        for field_id, field in enumerate(SEARCH_FIELDS):
            tokens = search_tokens(act.get(field) or "")
            lengths.append(len(set(tokens)))
            for token in tokens:
                per_doc = postings.setdefault(token, {}).setdefault(str(field_id), {})
                per_doc[str(short)] = per_doc.get(str(short), 0) + 1
        for field_id, length in enumerate(lengths):
            average[field_id] = (average[field_id] * short + length) / (short + 1)  # MiniSearch's running mean
        field_length[str(short)] = lengths
    return {
        "documentCount": len(document_ids),
        "nextId": len(document_ids),
        "documentIds": document_ids,
        "fieldIds": {field: field_id for field_id, field in enumerate(SEARCH_FIELDS)},
        "fieldLength": field_length,
        "averageFieldLength": average,
        "storedFields": {},
        "dirtCount": 0,
        "index": [[term, postings[term]] for term in sorted(postings)],
        "serializationVersion": MINISEARCH_SERIALIZATION,
    }
