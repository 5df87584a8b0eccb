"""The text of the acts' documents: read once per content hash, OCR for scans, bounded, reasons kept."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from chains.actes import CHAIN
from core.config import PROJECT_ROOT, Settings, TextLimits
from core.keys import document_text_record_key, public_document_text_key
from core.store import LocalStore, object_headers
from extract.document_text import MIXED, OCR, TEXT_LAYER, UNREADABLE, TextReader, read_document
from load.documents import document_key, documents_of, publish_documents
from tests.texts.pdfs import born_digital_pdf, encrypted_pdf, huge_page_pdf, scanned_pdf

LIMITS = TextLimits()


def test_a_born_digital_pdf_gives_its_text_layer_without_ocr():
    found = read_document(born_digital_pdf(["Deliberation du conseil", "Travaux rue des Capucins"]), LIMITS)
    assert (found.status, found.pages, found.ocr_pages, found.reason) == (TEXT_LAYER, 1, 0, None)
    assert "rue des Capucins" in found.text


def test_a_scanned_pdf_is_read_by_ocr_in_french(ocr_ready):
    found = read_document(scanned_pdf([["ARRETE DU MAIRE", "Stationnement interdit rue Kerguelen"]]), LIMITS)
    assert (found.status, found.pages, found.ocr_pages) == (OCR, 1, 1)
    assert "Kerguelen" in found.text


@pytest.mark.parametrize("data, reason", [
    (encrypted_pdf(), "encrypted"),
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "broken"),
    (born_digital_pdf(["Deliberation du conseil municipal"])[:150], "broken"),
])
def test_an_unreadable_pdf_gets_its_reason(data, reason):
    found = read_document(data, LIMITS)
    assert (found.status, found.reason, found.text) == (UNREADABLE, reason, "")
    assert found.detail


def test_a_huge_document_is_bounded_by_size_memory_time_and_ocr_pages(ocr_ready):
    text = born_digital_pdf(["Deliberation du conseil municipal"])
    assert read_document(text, replace(LIMITS, max_bytes=len(text) - 1)).reason == "too_big"
    assert read_document(huge_page_pdf(), replace(LIMITS, memory_bytes=300 * 1024 * 1024)).reason == "memory"
    assert read_document(text, replace(LIMITS, timeout_seconds=0.001)).reason == "timeout"
    two_scans = scanned_pdf([["Premiere page Kerguelen"], ["Seconde page Locmaria"]])
    found = read_document(two_scans, replace(LIMITS, max_ocr_pages=1))
    assert (found.status, found.pages, found.ocr_pages, found.reason) == (MIXED, 2, 1, "partial")
    assert "Kerguelen" in found.text and "Locmaria" not in found.text


def test_one_reading_server_reads_a_batch_each_document_bounded_and_survives_its_own_death():
    """A hostile document in the middle of a batch gets its reason and the next one is read; a server
    killed between documents is replaced, and no document of the batch goes unanswered."""
    import os
    import signal

    limits = replace(LIMITS, memory_bytes=300 * 1024 * 1024)
    batch = [born_digital_pdf([f"Deliberation numero {n}", "Travaux rue des Capucins"]) for n in range(3)]
    with TextReader(limits) as reader:
        first = reader.read(batch[0])
        server = reader.server_pid
        hostile = reader.read(huge_page_pdf())
        second = reader.read(batch[1])
        assert reader.server_pid == server, "one server for the batch"
        os.killpg(server, signal.SIGKILL)
        third = reader.read(batch[2])
        assert reader.server_pid != server
    assert [f.reason for f in (first, hostile, second, third)] == [None, "memory", None, None]
    assert ["numero 0" in first.text, "numero 1" in second.text, "numero 2" in third.text] == [True] * 3


def _settings(tmp_path: Path) -> Settings:
    return Settings(store_url=str(tmp_path / "store"), drop_dir=tmp_path / "drop",
                    registry_path=PROJECT_ROOT / "config" / "registry-demo.yaml",
                    public_base_url="http://127.0.0.1:8765", datagouv_mode="dry-run", max_shrink_ratio=0.2)


def _publish(store: LocalStore, documents: dict[str, bytes]) -> dict[str, str]:
    """The documents as the main files of online acts of 2025; their hashes by name."""
    hashes, rows = {}, []
    for name, data in documents.items():
        sha256 = hashlib.sha256(data).hexdigest()
        store.put_bytes(f"raw/actes/drop/date=2025-03-01/b/{name}/{name}.pdf", data)
        rows.append({"metadata_only": False, "main_file_sha256": sha256, "publish_annexes": False, "annexes": [],
                     "main_file_key": f"raw/actes/drop/date=2025-03-01/b/{name}/{name}.pdf"})
        hashes[name] = sha256
    publish_documents(store, 2025, documents_of(pd.DataFrame(rows)))
    return hashes


def test_each_public_document_is_read_once_a_broken_one_is_reported_and_the_others_published(tmp_path):
    settings = _settings(tmp_path)
    store = LocalStore(settings.store_url)
    hashes = _publish(store, {"lisible": born_digital_pdf(["Subvention au club de voile de Locmaria"]),
                              "casse": b"%PDF-1.4\nnot really"})
    jobs = CHAIN.text_jobs(settings)
    assert sorted(d for job in jobs for d in job["documents"]) == sorted(hashes.values())
    read = [CHAIN.read_texts(settings, **job) for job in jobs]
    assert sum(r["read"] for r in read) == 2
    assert [(u["sha256"], u["reason"]) for r in read for u in r["unreadable"]] == [(hashes["casse"], "broken")]

    published = CHAIN.publish_texts(settings, read)
    assert published["written"] == [hashes["lisible"]]
    assert any("not a readable PDF" in line and hashes["casse"] in line for line in published["summary"])
    text_key = public_document_text_key(hashes["lisible"])
    assert text_key.rsplit("/", 1)[0] == document_key(hashes["lisible"]).rsplit("/", 1)[0]
    assert "club de voile de Locmaria" in store.get_bytes(text_key).decode("utf-8")
    assert object_headers(text_key, store.get_bytes(text_key))["ContentType"] == "text/plain; charset=utf-8"
    assert not store.exists(public_document_text_key(hashes["casse"]))

    # Read once per content hash: nothing is planned again, and a batch given it again reads nothing.
    assert CHAIN.text_jobs(settings) == []
    record = store.get_bytes(document_text_record_key(hashes["lisible"]))
    assert CHAIN.read_texts(settings, list(hashes.values()))["read"] == 0
    assert store.get_bytes(document_text_record_key(hashes["lisible"])) == record


def test_a_document_no_online_act_shows_is_never_read(tmp_path):
    settings = _settings(tmp_path)
    store = LocalStore(settings.store_url)
    hashes = _publish(store, {"public": born_digital_pdf(["Acte public"])})
    secret = born_digital_pdf(["Annexe avec des donnees personnelles"])
    store.put_bytes("raw/actes/drop/date=2025-03-01/b/prive/annexe.pdf", secret)
    assert [d for job in CHAIN.text_jobs(settings) for d in job["documents"]] == [hashes["public"]]
    assert CHAIN.read_texts(settings, [hashlib.sha256(secret).hexdigest()])["read"] == 0
    assert store.list_keys("private/texts/documents/") == [], "no text record: never read"
