"""The monthly sirene DAG through Airflow (``dag.test()``) against the loopback file host."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from core.config import PROJECT_ROOT
from tests.sirene.conftest import unit_records, write_extract


@pytest.fixture
def sirene_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("sirene")


def _digest(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_monthly_run_caches_the_month_and_reruns_change_nothing(sirene_dag, sirene_settings, file_host):
    from airflow.utils.state import DagRunState

    assert sirene_dag.timetable.expression == "0 4 3 * *"
    run = sirene_dag.test(logical_date=pendulum.datetime(2025, 3, 3, 4, tz="Europe/Paris"))
    assert run.state == DagRunState.SUCCESS
    cache = Path(sirene_settings.store_url) / "private" / "sirene"
    manifest = json.loads((cache / "2025-03" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"unites_legales", "etablissements"}
    first = _digest(cache)
    run = sirene_dag.test(logical_date=pendulum.datetime(2025, 3, 3, 5, tz="Europe/Paris"))
    assert run.state == DagRunState.SUCCESS
    assert _digest(cache) == first
    runs = Path(sirene_settings.store_url) / "private" / "reports" / "runs" / "sirene"
    assert len(list(runs.glob("*.json"))) == 2, "each run's report is reachable from the Airflow UI"


def test_a_registry_error_fails_the_run_after_its_report(sirene_dag, sirene_settings, file_host):
    from airflow.utils.state import DagRunState

    write_extract(file_host.root, units=[u for u in unit_records() if u["siren"] != "212900989"])
    run = sirene_dag.test(logical_date=pendulum.datetime(2025, 4, 3, 4, tz="Europe/Paris"))
    assert run.state == DagRunState.FAILED
    report = json.loads((Path(sirene_settings.store_url) / "private/reports/sirene/date=2025-04/report.json").read_text())
    assert [f["code"] for f in report["registry_check"]["findings"]] == ["unknown_siren"]
    assert (Path(sirene_settings.store_url) / "private/sirene/2025-04/manifest.json").is_file(), "the cache is still refreshed"
