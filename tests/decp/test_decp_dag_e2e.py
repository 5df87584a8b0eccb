"""The decp DAG through Airflow (``dag.test()``) on the demo exports of the sample region."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pandas as pd
import pendulum
import pytest
from jsonschema import Draft7Validator

from chains.decp import CHAIN
from core.config import PROJECT_ROOT, Settings
from core.keys import report_key
from load.versions import is_version
from samples.actes import DEMO_NIGHTS
from samples.decp import generate_decp_exports, write_national_export
from transform import decp_staging
from validate.table_validator import validate_table

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"
STAGE = decp_staging.stage_chunk


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def decp_settings(tmp_path, monkeypatch) -> Settings:
    drop = tmp_path / "decp-drop"
    generate_decp_exports(drop, REGISTRY)
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(drop))
    monkeypatch.setenv("DIGOR_DECP_SOURCE", "drop")
    return Settings.from_env()


@pytest.fixture
def decp_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("decp")


def _run(dag, night: str) -> None:
    from airflow.utils.state import DagRunState

    run = dag.test(logical_date=pendulum.parse(night))
    assert run.state == DagRunState.SUCCESS, f"decp DAG failed for {night}"


def test_demo_nights_publish_valid_files_widgets_and_balanced_reports(decp_dag, decp_settings, reference_dir):
    for night in DEMO_NIGHTS:
        _run(decp_dag, night)
    store = Path(decp_settings.store_url)
    public = store / "public"

    reports = [json.loads((store / report_key("decp", night)).read_text(encoding="utf-8")) for night in DEMO_NIGHTS]
    for report in reports:
        assert report["files"] and all(f["balanced"] for f in report["files"])
    totals = [r["totals"] for r in reports]
    assert sum(t["duplicates"] for t in totals) == 1  # the exact copy; re-sent contracts are duplicates of night-1 files
    assert sum(t["invalid"] for t in totals) == 5
    assert sum(t["unreadable_files"] for t in totals) == 1

    official = Draft7Validator(json.loads((reference_dir / "schemas/decp-format-commande-publique-2.0.2/schema_decp_v2.0.2.json").read_text()))
    for year in (2024, 2025):
        document = json.loads((public / "decp" / f"decp-{year}.json").read_text(encoding="utf-8"))
        assert not list(official.iter_errors(document))
        assert validate_table(public / "decp" / f"decp-{year}.csv", "decp-table").valid
    assert (public / "decp" / "decp-2023-format-2019.json").is_file()
    manifest = json.loads((public / "decp" / "index.json").read_text(encoding="utf-8"))  # switched last, atomically
    entries = [entry for formats in manifest["fichiers"].values() for entry in formats.values()]
    assert {"decp-2024.json", "decp-2024.csv", "decp-2024.parquet", "decp-2023-format-2019.json"} <= {e["permanent"] for e in entries}
    for entry in entries:
        for name in (entry["permanent"], entry["fichier"]):
            assert hashlib.sha256((public / "decp" / name).read_bytes()).hexdigest() == entry["sha256"], name

    table = pd.read_csv(public / "decp" / "decp-2024.csv", dtype=str, keep_default_na=False)
    modified = table[(table["modification_id"] == "1") & (table["donneesActuelles"] == "True")]
    assert set(modified["typeContrat"]) == {"Marché", "Contrat de concession"} and len(set(modified["uid"])) == 3
    rejects = pd.read_csv(public / "decp" / "rejets" / "decp-rejets-2024.csv", dtype=str, keep_default_na=False)
    assert (rejects["statut"] == "doublon").sum() == 3  # the night-1 versions of the three modified contracts

    buyers = sorted(p.name for p in (public / "widgets" / "marches").iterdir())
    assert len(buyers) == 5
    for siret in buyers:
        folder = public / "widgets" / "marches" / siret
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        named = {index["indicateurs"]} | {year["fichier"] for year in index["annees"].values()}
        assert named <= {p.name for p in folder.iterdir()}, "the manifest names files that are there"
        assert all(is_version(name) for name in named), "files switched in as a set, never rewritten in place"
        assert index["nom"], "registry bodies are named"

    dry_run = store / "private" / "datagouv" / "dry-run" / "decp"
    request = json.loads((dry_run / "decp-2025.json.json").read_text(encoding="utf-8"))
    assert request["metadata"]["schema"] == {"name": "139bercy/format-commande-publique", "version": "2.0.2"}

    before = _tree(public)
    for night in DEMO_NIGHTS:
        _run(decp_dag, night)
    assert _tree(public) == before, "reruns give the same bytes"


def staged_in_a_worker(chunk):
    """The real staging, refusing to run a file's later chunks in the task's own process."""
    if chunk.number and multiprocessing.parent_process() is None:
        raise AssertionError("a chunk of a large file staged in the Airflow task's own process")
    return STAGE(chunk)


def test_the_transform_task_stages_a_large_file_in_worker_processes(decp_dag, decp_settings, tmp_path, monkeypatch):
    night = DEMO_NIGHTS[1]
    write_national_export(decp_settings.decp_drop_dir / night / "consolidation.json", 120, buyers=6)
    monkeypatch.setattr(decp_staging, "BATCH_ROWS", 7)
    monkeypatch.setattr(decp_staging, "stage_chunk", staged_in_a_worker)
    monkeypatch.setenv("DIGOR_DECP_WORKERS", "2")
    _run(decp_dag, night)

    monkeypatch.setattr(decp_staging, "stage_chunk", STAGE)
    alone = decp_settings.with_overrides(store_url=str(tmp_path / "alone"), decp_workers=1)
    CHAIN.run_night(alone, night)
    staged = {key: digest for key, digest in _tree(Path(decp_settings.store_url)).items() if key.startswith("staging/")}
    assert staged and staged == {key: digest for key, digest in _tree(tmp_path / "alone").items()
                                 if key.startswith("staging/")}
