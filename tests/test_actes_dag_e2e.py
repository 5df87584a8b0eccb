"""The actes DAG through Airflow (``dag.test()``) on the generated sample region."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pendulum
import pytest

from core.config import PROJECT_ROOT, Settings
from core.keys import report_key
from core.registry import load_registry
from core.store import plain_bytes
from samples.actes import DEMO_NIGHTS
from tests.replay import Replay, demo_inputs, shared
from validate.table_validator import validate_table

REGISTRY = load_registry(PROJECT_ROOT / "config" / "registry-demo.yaml")


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(dag, night: str):
    from airflow.utils.state import DagRunState

    run = dag.test(logical_date=pendulum.parse(night))
    assert run.state == DagRunState.SUCCESS, f"actes DAG failed for {night}"


@pytest.fixture(scope="module")
def actes_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")


@pytest.fixture(scope="module")
def replayed(actes_dag, tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the DAG, once for the module."""
    replay = demo_inputs(tmp_path_factory.mktemp("actes-dag"))
    with replay.active():
        for night in DEMO_NIGHTS:
            _run(actes_dag, night)
    yield from shared(replay)


@pytest.fixture
def demo_settings(replayed, monkeypatch) -> Settings:
    return replayed.apply(monkeypatch)


@pytest.fixture
def published_store(demo_settings) -> Path:
    """The module's store, for tests that only read it."""
    return Path(demo_settings.store_url)


@pytest.fixture
def own_store(replayed, tmp_path, monkeypatch) -> Path:
    """A copy of the module's store, for a test that writes."""
    return Path(replayed.copy(tmp_path / "replay").apply(monkeypatch).store_url)


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_nights_publish_valid_yearly_files(published_store, reference_dir):
    public = published_store / "public"
    for year in (2024, 2025):
        deliberations = public / "deliberations" / f"deliberations-{year}.csv"
        assert validate_table(deliberations, "scdl-deliberations").valid
        official = reference_dir / "schemas" / "scdl-deliberations-2.1.5" / "schema.json"
        report = validate_table(deliberations, official)
        assert report.valid, report.to_text()
        assert len(_read_csv(deliberations)) > 0
        assert (public / "deliberations" / f"deliberations-{year}.parquet").is_file()
        actes = public / "actes" / f"actes-{year}.csv"
        assert validate_table(actes, "actes").valid
        assert set(_read_csv(actes)["ACTE_NATURE_CODE"]) >= {"1", "2"}


def _current_csv(folder: Path) -> list[Path]:
    """The CSV files the dataset's manifest names now (older versions may still sit beside them)."""
    manifest = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return [folder / formats["csv"]["fichier"] for _, formats in sorted(manifest["fichiers"].items())]


def test_published_rows_follow_the_publication_rules(published_store, demo_settings):
    public = published_store / "public"
    actes = pd.concat(_read_csv(p) for p in _current_csv(public / "actes"))
    closed = {b.siret for b in REGISTRY.bodies if not b.open_data}
    assert closed and not (set(actes["COLL_SIRET"]) & closed), "a body with open data off was published"
    deliberations = pd.concat(_read_csv(p) for p in _current_csv(public / "deliberations"))
    assert set(deliberations["DELIB_MATIERE_CODE"].str.count(r"\.")) == {1}
    assert deliberations["DELIB_OBJET"].str.contains("<script>", regex=False).any(), "objet must be kept as text"
    assert deliberations["DELIB_OBJET"].map(lambda s: any(ord(c) > 255 for c in s)).any()
    assert (deliberations["PREF_ID"] != "").all() and (deliberations["PREF_DATE"] >= deliberations["DELIB_DATE"]).all()
    for url in deliberations["DELIB_URL"]:
        key = url[len(demo_settings.public_base_url) + 1:]
        assert (public / key).read_bytes().startswith(b"%PDF-"), url


def test_broken_records_are_reported_by_name_and_do_not_stop_the_night(published_store):
    reports = [
        json.loads((published_store / report_key("actes", night)).read_text(encoding="utf-8"))
        for night in DEMO_NIGHTS
    ]
    rejected = [r for report in reports for r in report["rejected"]]
    reasons = " | ".join(r["reason"] for r in rejected)
    assert len(rejected) >= 6
    for expected in ("not valid JSON", "date_de_lacte is missing", "12.9", "missing from the folder",
                     "unknown to the registry", "31/02/2025"):
        assert expected in reasons
    assert all(r["raw_prefix"].startswith("raw/actes/drop/date=") for r in rejected)
    assert all((published_store / r["raw_prefix"]).is_dir() for r in rejected), "broken input must stay in raw"
    assert all(report["totals"]["transformed"] > 0 for report in reports)


def test_manifests_name_the_current_versions_and_the_stable_names_match_them(published_store):
    public = published_store / "public"
    for dataset in ("deliberations", "actes"):
        manifest = json.loads((public / dataset / "index.json").read_text(encoding="utf-8"))
        assert set(manifest["fichiers"]) == {"2024", "2025"}
        for formats in manifest["fichiers"].values():
            for entry in formats.values():
                version = (public / dataset / entry["fichier"]).read_bytes()
                assert hashlib.sha256(version).hexdigest() == entry["sha256"]
                assert entry["fichier"] != entry["permanent"] and entry["sha256"][:16] in entry["fichier"]
                assert (public / dataset / entry["permanent"]).read_bytes() == version
    for index in (public / "widgets" / "actes").glob("*/index.json"):
        for year, entry in json.loads(index.read_text(encoding="utf-8"))["annees"].items():
            assert plain_bytes((index.parent / entry["fichier"]).read_bytes()) == (index.parent / f"{year}.json").read_bytes()


def test_widget_files_per_body(published_store):
    widgets = published_store / "public" / "widgets" / "actes"
    open_bodies = {b.siren for b in REGISTRY.bodies if b.open_data}
    assert {p.name for p in widgets.iterdir()} == open_bodies
    body = REGISTRY.bodies[0]
    index = json.loads((widgets / body.siren / "index.json").read_text(encoding="utf-8"))
    assert index["nom"] == body.name and index["annees"]
    for year, entry in index["annees"].items():
        acts = json.loads(plain_bytes((widgets / body.siren / entry["fichier"]).read_bytes()))["actes"]
        assert len(acts) == entry["actes"]
        assert all(a["date_publication"] >= a["date_decision"] for a in acts)


def test_rerun_of_a_night_changes_no_byte(actes_dag, own_store):
    before = _tree_digest(own_store / "public")
    staging = _tree_digest(own_store / "staging")
    _run(actes_dag, DEMO_NIGHTS[0])
    assert _tree_digest(own_store / "public") == before
    assert _tree_digest(own_store / "staging") == staging
