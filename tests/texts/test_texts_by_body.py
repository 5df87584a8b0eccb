"""The year's text side file reads the texts of the bodies a night touches: one kept object per body
and year, and the records of documents not seen before; never a record per document of the history."""

from __future__ import annotations

from core.keys import DOCUMENT_TEXTS_PREFIX
from core.store import LocalStore
from load.document_texts import read_record, texts_by_body, texts_of, write_record


class Counting(LocalStore):
    def __init__(self, root):
        super().__init__(root)
        self.records_read = 0

    def get_bytes(self, key):
        if key.startswith(DOCUMENT_TEXTS_PREFIX + "/"):
            self.records_read += 1
        return super().get_bytes(key)


def _sha(n: int) -> str:
    return f"{n:064x}"


def test_a_body_year_reads_each_record_once_and_waits_for_the_unread(tmp_path):
    store = Counting(tmp_path)
    for n in range(1, 6):
        write_record(store, _sha(n), {"status": "texte", "pages": 1, "text": f"texte {n} " + "x" * n})
    write_record(store, _sha(9), {"status": "illisible", "pages": 0, "reason": "chiffré"})
    wanted = {"200000001": {_sha(1), _sha(2), _sha(3), _sha(9)}, "200000002": {_sha(4), _sha(6)}}
    first = texts_by_body(store, 2025, wanted, keep_chars=100)
    assert first == texts_of(store, {sha for hashes in wanted.values() for sha in hashes})
    assert store.records_read == 6 + 6  # the six documents once each by each call

    store.records_read = 0
    again = texts_by_body(store, 2025, wanted, keep_chars=100)
    assert again == first
    assert store.records_read == 1, "only the document without a record is asked again"

    write_record(store, _sha(6), {"status": "texte", "pages": 2, "text": "lu depuis"})
    wanted["200000001"] |= {_sha(5)}
    store.records_read = 0
    later = texts_by_body(store, 2025, wanted, keep_chars=100)
    assert later[_sha(6)] == read_record(store, _sha(6)) and later[_sha(5)] == read_record(store, _sha(5))
    assert store.records_read == 2 + 2  # the two new ones (and the two read back here)


def test_a_document_that_leaves_the_body_leaves_what_is_kept_and_long_texts_keep_their_start(tmp_path):
    store = Counting(tmp_path)
    write_record(store, _sha(1), {"status": "texte", "pages": 1, "text": "a" * 50})
    write_record(store, _sha(2), {"status": "texte", "pages": 1, "text": "court"})
    found = texts_by_body(store, 2024, {"200000001": {_sha(1), _sha(2)}}, keep_chars=11)
    assert found[_sha(1)]["text"] == "a" * 11 and found[_sha(2)]["text"] == "court"
    assert set(texts_by_body(store, 2024, {"200000001": {_sha(2)}}, keep_chars=11)) == {_sha(2)}
    store.records_read = 0
    assert set(texts_by_body(store, 2024, {"200000001": {_sha(1), _sha(2)}}, keep_chars=11)) == {_sha(1), _sha(2)}
    assert store.records_read == 1, "a document withdrawn then back is read again, once"
