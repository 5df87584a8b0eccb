"""Backfill after a schema change: from raw, diffed first, idempotent, resumable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pendulum
import pytest

from digor import actes_chain
from digor.backfill import backfill_id, backfill_settings, replay_night, run_backfill
from digor.cli import main as digor
from digor.config import PROJECT_ROOT
from digor.sample_data import DEMO_NIGHTS
from validate.table_validator import validate_table

NEXT = "2.2.0"
FIRST, LAST = DEMO_NIGHTS[0], DEMO_NIGHTS[-1]


@pytest.fixture
def next_schema(tmp_path, monkeypatch) -> Path:
    """A next version of SCDL délibérations: DELIB_OBJET renamed DELIB_LIBELLE, DELIB_NATURE added."""
    descriptor = json.loads((PROJECT_ROOT / "schemas/scdl-deliberations-2.1.5.json").read_text(encoding="utf-8"))
    descriptor["version"] = NEXT
    fields = []
    for field in descriptor["fields"]:
        if field["name"] == "DELIB_OBJET":
            field = {**field, "name": "DELIB_LIBELLE", "x-digor-source": "DELIB_OBJET"}
        fields.append(field)
        if field["name"] == "DELIB_LIBELLE":
            fields.append({"name": "DELIB_NATURE", "type": "string", "description": "Added in the next version."})
    descriptor["fields"] = fields
    folder = tmp_path / "next-schemas"
    folder.mkdir()
    (folder / f"scdl-deliberations-{NEXT}.json").write_text(json.dumps(descriptor), encoding="utf-8")
    monkeypatch.setenv("DIGOR_EXTRA_SCHEMAS_DIR", str(folder))
    return folder


@pytest.fixture
def store(demo_settings) -> Path:
    for night in DEMO_NIGHTS:
        actes_chain.run_night(demo_settings, night)
    return Path(demo_settings.store_url)


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _publication_dates(store: Path) -> dict[str, str]:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in (store / "public/actes").glob("*.csv")]
    actes = pd.concat(frames)
    return dict(zip(actes["SOURCE_ID"], actes["PUBLICATION_DATE"]))


def test_dry_run_stops_at_the_diff_report(store, next_schema, capsys):
    before = _digest(store / "public")
    code = digor(["backfill", "actes", "--from", FIRST, "--to", LAST, "--schema-version", NEXT, "--dry-run"])
    assert code == 0
    assert _digest(store / "public") == before
    out = capsys.readouterr().out
    assert "dry run: nothing published" in out and "deliberations-2025.csv" in out
    report = json.loads((store / f"private/backfill-reports/actes-{FIRST}-{LAST}-{NEXT}.json").read_text())
    delib = next(d for d in report["diff"] if d["file"].endswith("deliberations-2025.csv"))
    assert delib["columns_added"] == ["DELIB_LIBELLE", "DELIB_NATURE"] and delib["columns_removed"] == ["DELIB_OBJET"]
    assert (delib["added"], delib["removed"], delib["changed"]) == (0, 0, 0)


def test_backfill_publishes_the_next_version_and_keeps_publication_dates(store, next_schema, demo_settings):
    dates = _publication_dates(store)
    report = run_backfill(demo_settings, "actes", FIRST, LAST, NEXT)
    assert report["years"] == [2024, 2025] and report["nights"] == list(DEMO_NIGHTS)
    for year in (2024, 2025):
        path = store / f"public/deliberations/deliberations-{year}.csv"
        assert validate_table(path, f"scdl-deliberations@{NEXT}").valid
        assert "DELIB_LIBELLE" in path.read_text(encoding="utf-8").splitlines()[0]
    assert _publication_dates(store) == dates
    upload = json.loads((store / "private/datagouv/dry-run/deliberations/deliberations-2025.csv.json").read_text())
    assert upload["metadata"]["schema"] == {"name": "scdl/deliberations", "version": NEXT}
    leftovers = [p for p in (store / "private/backfill").rglob("*") if p.is_file()]
    assert not leftovers, "the overlay is cleaned after promotion"


def test_an_interrupted_backfill_resumes_to_the_same_result(store, next_schema, demo_settings, tmp_path):
    work = backfill_settings(demo_settings, "actes", backfill_id("actes", FIRST, LAST, NEXT), NEXT)
    replay_night(work, FIRST)  # interrupted after the first night
    run_backfill(demo_settings, "actes", FIRST, LAST, NEXT)
    resumed = _digest(store / "public")
    run_backfill(demo_settings, "actes", FIRST, LAST, NEXT)
    assert _digest(store / "public") == resumed


def test_backfill_through_the_dag(airflow_db, store, next_schema):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("backfill")
    conf = {"chain": "actes", "date_from": FIRST, "date_to": LAST, "schema_version": NEXT, "dry_run": False}
    run = dag.test(logical_date=pendulum.now("UTC"), run_conf=conf)
    assert run.state == DagRunState.SUCCESS
    assert validate_table(store / "public/deliberations/deliberations-2025.csv", f"scdl-deliberations@{NEXT}").valid


def test_unknown_chain_or_schema_version_is_a_clear_error(store, capsys):
    assert digor(["backfill", "actes", "--from", FIRST, "--to", LAST, "--schema-version", "9.9"]) == 2
    assert "no version '9.9'" in capsys.readouterr().err
