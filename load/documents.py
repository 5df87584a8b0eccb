"""Acts' documents in the public zone, stored once by content hash.

A document can be shared by several acts and years, so each year keeps the list of
the documents its online acts use (private zone); a document leaves the public zone
when no year uses it any more, which is how a withdrawal removes its PDF (and the text read
from it, ``load.document_texts``). Only PDFs are
published (``core.document_kind``), under a ``.pdf`` key whatever the file was named; the
transform refuses anything else, and this step checks the bytes again before copying.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import repeat

import pandas as pd

from core.document_kind import is_pdf
from core.keys import DOCUMENT_USAGE_PREFIX, DOCUMENTS_PREFIX, public_document_text_key
from core.store import ObjectStore, put_if_changed

USAGE_PREFIX = DOCUMENT_USAGE_PREFIX


def document_key(sha256: str) -> str:
    """Key of a document: its hash, so one file shared by acts or nights is stored once; always
    ``.pdf``, the only kind published, so that no name sent by a source decides how it is served."""
    return f"{DOCUMENTS_PREFIX}/{sha256[:2]}/{sha256}.pdf"


def document_hash(key: str) -> str:
    """The content hash a document key (``document_key``) names."""
    return key.rsplit("/", 1)[1].split(".", 1)[0]


def years_showing(store: ObjectStore, hashes: set[str]) -> set[int]:
    """The years whose online acts show one of these documents (from the years' document lists, not
    their acts: a few keys a year, whatever the history holds)."""
    return {int(key.rsplit("annee=", 1)[1].split(".", 1)[0]) for key in store.list_keys(USAGE_PREFIX + "/")
            if hashes & {document_hash(item) for item in json.loads(store.get_bytes(key))}}


def public_document_hashes(store: ObjectStore) -> set[str]:
    """Hashes of every document some year's online acts show: the only ones whose text is read."""
    found: set[str] = set()
    for key in store.list_keys(USAGE_PREFIX + "/"):
        found |= {document_hash(item) for item in json.loads(store.get_bytes(key))}
    return found


def _documents_by(acts: pd.DataFrame, groups: Iterable[str]) -> dict[str, dict[str, str]]:
    """Per group (each act's, in ``groups``), public key -> raw key of every document its acts show:
    one pass over the acts, not one per group."""
    found: dict[str, dict[str, str]] = {}
    for group, metadata_only, sha256, raw_key, with_annexes, annexes in zip(
        groups, acts["metadata_only"], acts["main_file_sha256"], acts["main_file_key"], acts["publish_annexes"],
        acts["annexes"],
    ):
        wanted = found.setdefault(group, {})
        if metadata_only:
            continue
        wanted[document_key(sha256)] = raw_key
        if with_annexes:
            for annex in annexes:
                wanted[document_key(annex["sha256"])] = annex["raw_key"]
    return found


def documents_of(acts: pd.DataFrame) -> dict[str, str]:
    """Public key -> raw key of every document the online acts show."""
    return _documents_by(acts, repeat("")).get("", {})


def _usage_key(year: int) -> str:
    return f"{USAGE_PREFIX}/annee={year}.json"


def documents_by_body(online: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Per body (in SIREN order), public key -> raw key of every document its online acts show."""
    return dict(sorted(_documents_by(online, online["siren"]).items())) if len(online) else {}


def publish_documents(store: ObjectStore, year: int, wanted: dict[str, str]) -> dict:
    """Copy the year's new documents from raw, then remove those no year uses any more; ``wanted``:
    every document (public key -> raw key) the year's online acts show (``documents_of``, and the
    bodies' kept lists); ``new``: the hashes of the documents copied (whose text is to be read, or
    published again); ``listed``: the year's documents now.

    A document the year's last publication listed is there (the year's publications hold the
    chain's lease, and a document goes only when no year lists it): only the others are looked
    up, so a night costs its new documents, not the year's. A file that is not a PDF (staged
    before the transform checked kinds) is never copied, nor listed.
    """
    try:
        previous = set(json.loads(store.get_bytes(_usage_key(year))))
    except FileNotFoundError:
        previous = set()
    copied = []
    refused, absent = [], set()
    for key, raw_key in sorted(wanted.items()):
        if key in previous or store.exists(key):
            continue
        data = store.get_bytes(raw_key)
        if not is_pdf(data):
            refused.append(raw_key)
            absent.add(key)
            continue
        store.put_bytes(key, data)
        copied.append(document_hash(key))
    put_if_changed(store, _usage_key(year), (json.dumps(sorted(set(wanted) - absent), indent=0) + "\n").encode())
    dropped = previous - set(wanted)
    if dropped:
        used_elsewhere = set()
        for key in store.list_keys(USAGE_PREFIX + "/"):
            if key != _usage_key(year):
                used_elsewhere |= set(json.loads(store.get_bytes(key)))
        dropped -= used_elsewhere
        for key in sorted(dropped):
            store.delete(public_document_text_key(document_hash(key)))
            store.delete(key)
    return {"copied": len(copied), "new": copied, "removed": sorted(dropped), "not_pdf": refused,
            "listed": set(wanted) - absent}
