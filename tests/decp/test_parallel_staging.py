"""The staging's chunks are normalised and validated by worker processes (``DIGOR_DECP_WORKERS``):
what a night publishes, reports and quarantines is the same, byte for byte, with one worker or two,
whatever order the workers finish in; a worker that dies fails the night in one line and leaves
what was published as it was.

Chunks are shrunk to 7 objects, so that the generated national export (with invalid objects and
duplicates) and a copy of it that breaks half-way cross many chunks.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import time
from pathlib import Path

import pytest

from chains.decp import CHAIN
from core.config import PROJECT_ROOT, Settings
from digor.cli import main
from samples.actes import DEMO_NIGHTS
from samples.decp import generate_decp_exports, write_national_export
from transform import decp_staging

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"
TIMED = ("private/locks/", "private/versions/retired/", "private/reports/")
LAST_CHUNK_FIRST, DIES_AT = 0, 3
STAGE = decp_staging.stage_chunk  # the real one, in this process and in the workers (which import this module)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def staged_last_first(chunk):
    """The first chunk of a file is held back, so that the chunks after it end before it."""
    if chunk.number == LAST_CHUNK_FIRST:
        time.sleep(0.3)
    return STAGE(chunk)


def dies_on_a_chunk(chunk):
    """A worker killed (as the kernel's out-of-memory killer does) while staging a chunk."""
    if chunk.number == DIES_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    return STAGE(chunk)


@pytest.fixture
def drop(tmp_path) -> Path:
    folder = tmp_path / "decp-drop"
    generate_decp_exports(folder, REGISTRY)
    national = folder / DEMO_NIGHTS[1] / "consolidation.json"
    write_national_export(national, 300, buyers=12)
    data = national.read_bytes()
    (folder / DEMO_NIGHTS[1] / "tronque.json").write_bytes(data[: len(data) * 2 // 3])
    return folder


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(decp_staging, "BATCH_ROWS", 7)


def _use(monkeypatch, stage) -> None:
    """``stage`` run on each chunk in the workers (found there by its module and name)."""
    monkeypatch.setattr(decp_staging, "stage_chunk", stage)


def _settings(monkeypatch, tmp_path: Path, drop: Path, name: str, workers: int) -> Settings:
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / name))
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(drop))
    monkeypatch.setenv("DIGOR_DECP_SOURCE", "drop")
    monkeypatch.setenv("DIGOR_REGISTRY", str(REGISTRY))
    monkeypatch.setenv("DIGOR_DECP_WORKERS", str(workers))
    settings = Settings.from_env()
    assert settings.decp_workers == workers
    return settings


def test_two_workers_publish_report_and_quarantine_what_one_does(tmp_path, drop, small_chunks, monkeypatch):
    one = _settings(monkeypatch, tmp_path, drop, "one", 1)
    one_reports = {night: CHAIN.run_night(one, night)["totals"] for night in DEMO_NIGHTS}
    _use(monkeypatch, staged_last_first)
    two = _settings(monkeypatch, tmp_path, drop, "two", 2)
    two_reports = {night: CHAIN.run_night(two, night)["totals"] for night in DEMO_NIGHTS}

    assert two_reports == one_reports
    second = one_reports[DEMO_NIGHTS[1]]
    assert second["invalid"] > 0 and second["duplicates"] > 0 and second["unreadable_files"] > 0
    first, other = _tree(Path(one.store_url)), _tree(Path(two.store_url))
    assert sorted(other) == sorted(first)
    assert [key for key in first if other[key] != first[key] and not key.startswith(TIMED)] == []
    assert any(key.startswith("staging/decp/") for key in first)
    rejects = [row for key in first if key.startswith("public/decp/rejets/") and key.endswith(".csv")
               for row in csv.DictReader(io.StringIO(first[key].decode("utf-8")))]
    assert {"consolidation.json", "tronque.json"} <= {row["fichier"] for row in rejects}
    truncated = [row for row in rejects if row["fichier"] == "tronque.json"]
    assert [(row["statut"], row["position"]) for row in truncated] == [("illisible", "")]
    assert all(row["position"] for row in rejects if row["fichier"] == "consolidation.json")


def test_a_worker_that_dies_fails_the_night_in_one_line_and_leaves_the_published_files(tmp_path, drop, small_chunks,
                                                                                       monkeypatch, capsys):
    store = tmp_path / "store"
    _settings(monkeypatch, tmp_path, drop, "store", 2)
    assert main(["run", "decp", "--date", DEMO_NIGHTS[0], "--store", str(store)]) == 0
    capsys.readouterr()
    before = {key: data for key, data in _tree(store).items() if key.startswith(("public/", "staging/"))}
    assert any(key.startswith("public/decp/decp-") for key in before)

    _use(monkeypatch, dies_on_a_chunk)
    assert main(["run", "decp", "--date", DEMO_NIGHTS[1], "--store", str(store)]) == 1
    printed = capsys.readouterr()
    errors = [line for line in printed.err.splitlines() if line.startswith("error:")]  # beside the progress bar
    assert len(errors) == 1 and "Traceback" not in printed.err
    assert errors[0].startswith("error: a worker process died while staging the DECP exports")
    assert "nothing published was changed" in errors[0] and "DIGOR_DECP_WORKERS=1" in errors[0]
    after = _tree(store)
    for key, data in before.items():
        assert after.get(key) == data, key
    assert not any(f"date={DEMO_NIGHTS[1]}" in key for key in after if key.startswith("staging/"))

    _use(monkeypatch, STAGE)
    assert main(["run", "decp", "--date", DEMO_NIGHTS[1], "--store", str(store)]) == 0
    assert f"decp {DEMO_NIGHTS[1]}:" in capsys.readouterr().out
