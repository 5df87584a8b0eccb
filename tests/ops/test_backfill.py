"""Backfill after a schema change: from raw, diffed first, idempotent, resumable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pendulum
import pytest

from chains import actes as actes_chain
from chains.backfill import backfill_id, backfill_settings, replay_night, run_backfill
from core.config import PROJECT_ROOT, Settings
from digor.cli import main as digor
from load.versions import is_version
from samples.actes import DEMO_NIGHTS
from tests.replay import Replay, demo_inputs, nights_replayed, shared
from validate.table_validator import validate_table

NEXT = "2.2.0"
FIRST, LAST = DEMO_NIGHTS[0], DEMO_NIGHTS[-1]


def _next_version(folder: Path, monkeypatch, schema: str, current: str, version: str,
                  renamed: tuple[str, str], added: str) -> Path:
    """The project's schema file of a next version: one column renamed (fed by the old one), one added after it."""
    descriptor = json.loads((PROJECT_ROOT / f"schemas/{schema}-{current}.json").read_text(encoding="utf-8"))
    descriptor["version"] = version
    fields = []
    for field in descriptor["fields"]:
        if field["name"] == renamed[0]:
            field = {**field, "name": renamed[1], "x-digor-source": renamed[0]}
        fields.append(field)
        if field["name"] == renamed[1]:
            fields.append({"name": added, "type": "string", "description": "Added in the next version."})
    descriptor["fields"] = fields
    folder.mkdir()
    path = folder / f"{schema}-{version}.json"
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    monkeypatch.setenv("DIGOR_EXTRA_SCHEMAS_DIR", str(folder))
    return path


@pytest.fixture
def next_schema(tmp_path, monkeypatch) -> Path:
    """A next version of SCDL délibérations: DELIB_OBJET renamed DELIB_LIBELLE, DELIB_NATURE added."""
    return _next_version(tmp_path / "next-schemas", monkeypatch, "scdl-deliberations", "2.1.5", NEXT,
                         ("DELIB_OBJET", "DELIB_LIBELLE"), "DELIB_NATURE").parent


@pytest.fixture(scope="module")
def actes_replay(tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the actes chain, once for the module."""
    yield from nights_replayed(tmp_path_factory.mktemp("backfill-actes"))


@pytest.fixture
def demo_settings(actes_replay, tmp_path, monkeypatch) -> Settings:
    """Settings of a copy of the module's store: every backfill test writes."""
    return actes_replay.copy(tmp_path / "replay").apply(monkeypatch)


@pytest.fixture
def store(demo_settings) -> Path:
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
    replay_night(work, "actes", FIRST)  # interrupted after the first night
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


@pytest.fixture(scope="module")
def region_replay(tmp_path_factory) -> Iterator[Replay]:
    """The demo's three nights through the actes, budgets and DECP chains, once for the module."""
    from chains import budgets as budgets_chain
    from chains import decp as decp_chain
    from samples.budgets import write_demo_plans
    from samples.decp import generate_decp_exports

    root = tmp_path_factory.mktemp("backfill-region")
    write_demo_plans(root / "plans")
    generate_decp_exports(root / "decp-drop", PROJECT_ROOT / "config" / "registry-demo.yaml", DEMO_NIGHTS)
    replay = demo_inputs(root, DIGOR_PLANS_DIRS=str(root / "plans"), DIGOR_DECP_DROP_DIR=str(root / "decp-drop"))
    with replay.active() as settings:
        for night in DEMO_NIGHTS:
            actes_chain.CHAIN.run_night(settings, night)
            budgets_chain.CHAIN.run_night(settings, night)
            decp_chain.CHAIN.run_night(settings, night)
    yield from shared(replay)


@pytest.fixture
def region_store(region_replay, tmp_path, monkeypatch) -> tuple[Path, object]:
    """A copy of the region's store and sources: the tests backfill it and delete the sources."""
    settings = region_replay.copy(tmp_path / "region").apply(monkeypatch)
    return Path(settings.store_url), settings


NEXT_BUDGET = "0.9.0"


@pytest.fixture
def next_budget_schema(tmp_path, monkeypatch) -> Path:
    """A next version of SCDL budget: BGT_NOM renamed BGT_NOM_ETABLISSEMENT, BGT_CODE_COMMUNE added."""
    return _next_version(tmp_path / "next-budget-schemas", monkeypatch, "scdl-budget", "0.8.3", NEXT_BUDGET,
                         ("BGT_NOM", "BGT_NOM_ETABLISSEMENT"), "BGT_CODE_COMMUNE")


def _forget_sources(settings) -> None:
    """The sources are gone: a backfill has only the raw zone."""
    for source in (settings.drop_dir, settings.decp_drop_dir):
        for path in sorted(Path(source).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()


def _latest(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if not is_version(p.name))


def test_budgets_backfill_publishes_the_next_schema_version_from_raw(region_store, next_budget_schema):
    store, settings = region_store
    public = store / "public" / "budgets"
    before = {p.name: pd.read_csv(p, dtype=str, keep_default_na=False) for p in _latest(public, "budgets-*.csv")}
    _forget_sources(settings)

    report = run_backfill(settings, "budgets", FIRST, LAST, NEXT_BUDGET, dry_run=True)
    diffs = {Path(d["file"]).name: d for d in report["diff"]}
    assert set(diffs) == set(before)
    for name, diff in diffs.items():
        assert diff["columns_added"] == ["BGT_NOM_ETABLISSEMENT", "BGT_CODE_COMMUNE"] and diff["columns_removed"] == ["BGT_NOM"]
        assert diff["rows_before"] == diff["rows_after"] == len(before[name]) and not diff["added"] and not diff["removed"]
    assert {p.name: pd.read_csv(p, dtype=str, keep_default_na=False).columns.tolist()
            for p in _latest(public, "budgets-*.csv")} == {n: f.columns.tolist() for n, f in before.items()}

    run_backfill(settings, "budgets", FIRST, LAST, NEXT_BUDGET)
    published = _digest(public)
    for name, frame in before.items():
        after = pd.read_csv(public / name, dtype=str, keep_default_na=False)
        assert validate_table(public / name, next_budget_schema).valid
        assert after["BGT_NOM_ETABLISSEMENT"].tolist() == frame["BGT_NOM"].tolist()
        assert after["BGT_MTPREV"].tolist() == frame["BGT_MTPREV"].tolist(), "amounts do not move"
    again = run_backfill(settings, "budgets", FIRST, LAST, NEXT_BUDGET)
    assert all(d["unchanged"] for d in again["diff"]) and _digest(public) == published, "idempotent"


def test_decp_backfill_republishes_names_known_since(region_store, tmp_path):
    """Titulaires unnamed when their nights ran get the names of a SIRENE cache that came later."""
    from chains.sirene import CURRENT_KEY, cache_key
    from core.sirene_stock import ETABLISSEMENTS, UNITES_LEGALES
    from core.store import LocalStore, put_if_changed, table_to_parquet_bytes
    from extract.sirene_reduce import Wanted, reduce_stock
    from extract.sirene_sample import write_stock_file
    from samples.sirene import demo_records, identifiers_in

    store, settings = region_store
    public = store / "public" / "decp"
    tables = _latest(public, "decp-20*.csv")
    unnamed = sum((pd.read_csv(p, dtype=str, keep_default_na=False)["titulaire_denominationSociale"] == "").sum()
                  for p in tables)
    assert unnamed, "the 2022 format carries no names: without SIRENE some titulaires are unnamed"
    companies = identifiers_in(settings.decp_drop_dir)
    units, establishments = demo_records(PROJECT_ROOT / "config" / "registry-demo.yaml", companies)
    for kind, records in ((UNITES_LEGALES, units), (ETABLISSEMENTS, establishments)):
        path = write_stock_file(tmp_path / f"{kind}.parquet", kind, records, filler_rows=50)
        put_if_changed(LocalStore(store), cache_key("2025-03", kind),
                       table_to_parquet_bytes(reduce_stock(path, kind, Wanted.of(companies))[0]))
    put_if_changed(LocalStore(store), CURRENT_KEY, b'{"month": "2025-03"}\n')
    _forget_sources(settings)

    report = run_backfill(settings, "decp", FIRST, LAST, dry_run=True)
    tables_diff = [d for d in report["diff"] if Path(d["file"]).name.startswith("decp-20")]
    assert {Path(d["file"]).name for d in tables_diff} == {p.name for p in tables}
    assert sum(d["changed"] for d in tables_diff) >= unnamed and not any(d["added"] or d["removed"] for d in tables_diff)

    run_backfill(settings, "decp", FIRST, LAST)
    rows = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in tables)
    still = rows[rows["titulaire_denominationSociale"] == ""]
    assert len(still) < unnamed and not set(still["titulaire_id"]) & set(companies), \
        "every titulaire the register knows is named"
    published = _digest(public)
    again = run_backfill(settings, "decp", FIRST, LAST)
    assert all(d["unchanged"] for d in again["diff"]) and _digest(public) == published, "idempotent"
