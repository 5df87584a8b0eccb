"""The text read from the acts' documents: kept once per content hash (private), published next to
each public PDF as ``<sha256>.txt`` for reuse.

A document's record (``extract.document_text.DocumentText`` as JSON) is written once and never
read from its PDF again, whatever act or night brings the same bytes; an unreadable document's
record keeps its reason. Only documents of online acts (and their public annexes) are read, and
a text is public only while its PDF is: ``load.documents`` removes both together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from core.keys import (
    DOCUMENT_TEXT_SUFFIX,
    DOCUMENT_TEXTS_PREFIX,
    DOCUMENT_TEXTS_QUEUE_KEPT,
    DOCUMENTS_PREFIX,
    document_text_queue_key,
    document_text_queue_prefix,
    document_text_record_key,
    document_texts_body_year_key,
    public_document_text_key,
)
from core.store import ObjectStore, gzip_bytes, plain_bytes
from load.documents import document_hash, document_key, public_document_hashes

TO_READ = "a-lire"
TO_PUBLISH = "a-publier"


def read_hashes(store: ObjectStore) -> set[str]:
    """Hashes of the documents whose text was read (or found unreadable) already."""
    return {document_hash(key) for key in store.list_keys(DOCUMENT_TEXTS_PREFIX + "/")}


def _keep_queue(store: ObjectStore) -> None:
    """Once, in a store kept before the queue: queue every public document not read yet and every
    read one whose text is not published (the only time the texts' run lists the history)."""
    if store.exists(DOCUMENT_TEXTS_QUEUE_KEPT):
        return
    public, read = public_document_hashes(store), read_hashes(store)
    published = {document_hash(key) for key in store.list_keys(DOCUMENTS_PREFIX + "/")
                 if key.endswith(DOCUMENT_TEXT_SUFFIX)}
    for stage, hashes in ((TO_READ, public - read), (TO_PUBLISH, (public & read) - published)):
        for sha256 in hashes:
            store.put_bytes(document_text_queue_key(stage, sha256), b"")
    store.put_bytes(DOCUMENT_TEXTS_QUEUE_KEPT, b"{}\n")


def _queued(store: ObjectStore, stage: str) -> list[str]:
    _keep_queue(store)
    prefix = document_text_queue_prefix(stage)
    return sorted(key[len(prefix):] for key in store.list_keys(prefix))


def queue_documents(store: ObjectStore, hashes: Iterable[str]) -> None:
    """Documents the publication just made public: their text to read."""
    for sha256 in hashes:
        store.put_bytes(document_text_queue_key(TO_READ, sha256), b"")


def to_read(store: ObjectStore) -> list[str]:
    """Public documents whose text was never read, in a stable order (those whose reading was
    postponed stay until read)."""
    return _queued(store, TO_READ)


def not_to_read(store: ObjectStore, sha256: str, record: dict | None = None) -> None:
    """A queued document that needs no reading: read now or already (``record``: by another task,
    or before its acts were withdrawn and published again; its text is then to publish), or whose
    acts left the public zone (if they come back, the publication queues it again)."""
    if record and record.get("text"):
        store.put_bytes(document_text_queue_key(TO_PUBLISH, sha256), b"")
    store.delete(document_text_queue_key(TO_READ, sha256))


def write_record(store: ObjectStore, sha256: str, record: dict) -> None:
    store.put_bytes(document_text_record_key(sha256), gzip_bytes(json.dumps(record, ensure_ascii=False).encode()))
    not_to_read(store, sha256, record)


def read_record(store: ObjectStore, sha256: str) -> dict | None:
    try:
        return json.loads(plain_bytes(store.get_bytes(document_text_record_key(sha256))))
    except FileNotFoundError:
        return None


def texts_of(store: ObjectStore, hashes: set[str]) -> dict[str, dict]:
    """The records of those of ``hashes`` whose text is read (one read each: listing every record
    would cost the whole history's documents)."""
    return {sha256: record for sha256 in sorted(hashes) if (record := read_record(store, sha256)) is not None}


def texts_by_body(store: ObjectStore, year: int, wanted: Mapping[str, Iterable[str]], keep_chars: int) -> dict[str, dict]:
    """``texts_of`` the documents ``wanted`` names per body (SIREN), for the year's text side file: each
    body's records found before are kept in one private object per body and year, so that a night reads
    one object per body it touches and the records of its new documents, not a record per document
    of the body's year. A record never changes once written (a document is read once), so a kept one is
    never read again; a document without a record yet is asked again each time. What is kept of a
    text is its first ``keep_chars`` characters (what the side file shows, and whether there is more)."""
    found: dict[str, dict] = {}
    for siren, hashes in sorted(wanted.items()):
        key = document_texts_body_year_key(siren, year)
        try:
            kept = json.loads(plain_bytes(store.get_bytes(key)))
        except FileNotFoundError:
            kept = {}
        hashes = set(hashes)
        records = {sha256: kept[sha256] for sha256 in hashes if sha256 in kept}
        records.update(texts_of(store, hashes - set(records)))
        records = {sha256: _kept(record, keep_chars) for sha256, record in records.items()}
        if records != kept:
            if records:
                store.put_bytes(key, gzip_bytes(json.dumps(dict(sorted(records.items())), ensure_ascii=False).encode()))
            else:
                store.delete(key)
        found.update(records)
    return found


def _kept(record: dict, keep_chars: int) -> dict:
    text = record.get("text")
    return {**record, "text": text[:keep_chars]} if isinstance(text, str) and len(text) > keep_chars else record


def public_pdf(store: ObjectStore, sha256: str) -> bytes | None:
    """The public PDF of a document, None once it left the public zone (its acts withdrawn)."""
    try:
        return store.get_bytes(document_key(sha256))
    except FileNotFoundError:
        return None


def publish_texts(store: ObjectStore) -> dict:
    """Write the ``.txt`` of every public document whose text is read and not published yet (the
    queued ones).

    Runs under the chain's lease, like ``load.documents.publish_documents``, so that a text never
    outlives its PDF: a document withdrawn meanwhile has no PDF and gets no text.
    """
    written = []
    for sha256 in _queued(store, TO_PUBLISH):
        record = read_record(store, sha256)
        if record and record.get("text") and store.exists(document_key(sha256)):
            store.put_bytes(public_document_text_key(sha256), record["text"].encode("utf-8"))
            written.append(sha256)
        store.delete(document_text_queue_key(TO_PUBLISH, sha256))
    return {"written": written}
