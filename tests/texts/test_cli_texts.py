"""``digor run actes`` reads the published documents' texts as the DAG's text tasks do, unless told not to."""

from __future__ import annotations

from core.config import Settings
from core.keys import public_document_text_key
from core.store import LocalStore
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
