"""``digor run actes`` reads the published documents' texts as the DAG's text tasks do, unless told not to."""

from __future__ import annotations

from core.config import Settings
from core.keys import public_document_text_key
from core.store import LocalStore, sha256_hex
from digor.cli import main
from samples.actes import DEMO_NIGHTS, generate_drop_folder

NIGHT = DEMO_NIGHTS[0]


def _night(tmp_path, monkeypatch, capsys, *extra: str) -> tuple[LocalStore, str]:
    drop = tmp_path / "drop"
    generate_drop_folder(drop, Settings.from_env().registry_path)
    monkeypatch.setenv("DIGOR_DROP_DIR", str(drop))
    store = tmp_path / "store"
    assert main(["run", "actes", "--date", NIGHT, "--store", str(store), *extra]) == 0
    return LocalStore(store), capsys.readouterr().out


def _public_documents(store: LocalStore) -> list[str]:
    return [key.rsplit("/", 1)[1].removesuffix(".pdf") for key in store.list_keys("public/documents/")
            if key.endswith(".pdf")]


def test_a_night_run_from_the_command_line_publishes_the_texts_of_its_documents(tmp_path, monkeypatch, capsys):
    store, out = _night(tmp_path, monkeypatch, capsys)
    documents = _public_documents(store)
    assert documents, "the demo night published no document"
    assert f"{len(documents)} texts published" in out
    for sha256 in documents:
        text = store.get_bytes(public_document_text_key(sha256)).decode("utf-8")
        assert text.strip(), sha256
    assert any("/actes-textes-" in key for key in store.list_keys("public/actes-textes/"))


def test_no_texts_leaves_them_for_a_later_run(tmp_path, monkeypatch, capsys):
    store, out = _night(tmp_path, monkeypatch, capsys, "--no-texts")
    assert _public_documents(store)
    assert "texts published" not in out
    assert not any(key.endswith(".txt") for key in store.list_keys("public/documents/"))


def test_the_texts_run_reads_what_the_nights_published_without_listing_the_history(tmp_path, monkeypatch, capsys):
    """Each night's new documents wait in a queue: the texts' run reads and publishes them without
    listing every public document and every text read (once only, in a store kept before the
    queue); a document whose reading is postponed (no OCR on this machine) stays queued."""
    import chains.actes as actes_chain
    import load.document_texts as texts
    from extract.document_text import OCR_UNAVAILABLE, DocumentText, TextReader

    store, _ = _night(tmp_path, monkeypatch, capsys)  # the first texts' run makes the queue
    first = set(_public_documents(store))
    assert main(["run", "actes", "--date", DEMO_NIGHTS[1], "--store", str(store.root), "--no-texts"]) == 0
    new = sorted(set(_public_documents(store)) - first)
    assert new, "the second demo night publishes new documents"

    def listing(*_):
        raise AssertionError("the texts' run listed the history")

    monkeypatch.setattr(texts, "public_document_hashes", listing)
    monkeypatch.setattr(texts, "read_hashes", listing)
    postponed, read = new[0], TextReader.read
    monkeypatch.setattr(TextReader, "read", lambda reader, data: (
        DocumentText(status="unreadable", reason=OCR_UNAVAILABLE) if sha256_hex(data) == postponed
        else read(reader, data)))
    settings = Settings.from_env().with_overrides(store_url=str(store.root))
    assert actes_chain.CHAIN.after_night(settings)
    published = {sha256 for sha256 in new if store.exists(public_document_text_key(sha256))}
    assert published == set(new) - {postponed}
    assert texts.to_read(store) == [postponed], "postponed, not forgotten"

    monkeypatch.setattr(TextReader, "read", read)
    actes_chain.CHAIN.after_night(settings)
    assert store.exists(public_document_text_key(postponed))
    assert texts.to_read(store) == []
