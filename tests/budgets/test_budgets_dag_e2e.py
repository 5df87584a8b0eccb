"""The budgets DAG through Airflow (``dag.test()``) after the actes DAG, on the sample region."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.config import PROJECT_ROOT
from core.keys import report_key
from core.registry import load_registry
from core.store import plain_bytes
from load.budget_widgets import named_files
from load.versions import is_version
from samples.actes import DEMO_NIGHTS
from samples.budgets import annex_siret, write_demo_plans
from tests.replay import Replay, demo_inputs, shared
from validate.table_validator import validate_table

REGISTRY = load_registry(PROJECT_ROOT / "config" / "registry-demo.yaml")


def _run(dag, night: str, **conf):
    from airflow.utils.state import DagRunState

    run = dag.test(logical_date=pendulum.parse(night), run_conf=conf or None)
    assert run.state == DagRunState.SUCCESS, f"{dag.dag_id} failed for {night}"


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    return bag.get_dag("actes"), bag.get_dag("budgets")


@pytest.fixture(scope="module")
def replayed(dags, tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the actes then the budgets DAG, once for the module."""
    root = tmp_path_factory.mktemp("budgets-dag")
    write_demo_plans(root / "plans")
    replay = demo_inputs(root, DIGOR_PLANS_DIRS=str(root / "plans"))
    actes, budgets = dags
    with replay.active():
        for night in DEMO_NIGHTS:
            _run(actes, night)
            _run(budgets, night)
    yield from shared(replay)


@pytest.fixture
def budget_store(replayed, monkeypatch) -> Path:
    """The module's store, for tests that only read it."""
    replayed.apply(monkeypatch)
    return replayed.store


@pytest.fixture
def own_budget_store(replayed, tmp_path, monkeypatch) -> Path:
    """A copy of the module's store and inputs, for a test that writes."""
    copy = replayed.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    return copy.store


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _latest_csvs(folder: Path) -> list[Path]:
    """The stable names of a dataset's CSV files (what downloaders get), not the versions behind them."""
    return sorted(p for p in folder.glob("*.csv") if not is_version(p.name))


def _widget_document(root: Path, siret: str, name: str) -> dict:
    """A body's widget file by its plain name, read through the manifest that names its current version."""
    current = [f for f in _named_by_manifest(root / siret) if f.startswith(name.rsplit(".", 1)[0] + ".") and is_version(f)]
    assert len(current) == 1, (name, current)
    return json.loads(plain_bytes((root / siret / current[0]).read_bytes()))


def _named_by_manifest(folder: Path) -> set[str]:
    return named_files(json.loads((folder / "index.json").read_text(encoding="utf-8")))


def test_nights_publish_valid_budget_files(budget_store, reference_dir):
    official = reference_dir / "schemas" / "scdl-budget-0.8.3" / "schema.json"
    folder = budget_store / "public" / "budgets"
    for year in (2023, 2024, 2025):
        path = folder / f"budgets-{year}.csv"
        report = validate_table(path, official)
        assert report.valid, report.to_text()
        assert validate_table(folder / f"budgets-{year}.parquet", "scdl-budget").valid
        parquet = pq.read_table(folder / f"budgets-{year}.parquet")
        assert parquet.schema.field("BGT_ANNEE").type == pa.int64(), "a year is a number for Parquet readers"
        assert parquet.schema.field("BGT_MTPREV").type == pa.float64()
        assert set(parquet.column("BGT_ANNEE").to_pylist()) == {year}
        assert len(_csv(path)) > 0
    frame = pd.concat(_csv(p) for p in _latest_csvs(folder))
    kerdigor, epci = REGISTRY.bodies[0], REGISTRY.bodies[1]
    for body in (kerdigor, epci):
        stages = frame[frame["BGT_SIRET"] == body.siret].groupby("BGT_ANNEE")["BGT_NATDEC"].agg(set)
        assert {"budget primitif"} <= stages["2024"] and "compte administratif" in stages["2024"]
        assert "budget primitif" in stages["2025"] and "compte administratif" in stages["2023"]
    assert annex_siret(kerdigor.siret) in set(frame["BGT_SIRET"]), "the annex budget is published under its own SIRET"
    closed = {b.siren for b in REGISTRY.bodies if not b.open_data}
    assert not any(s[:9] in closed for s in frame["BGT_SIRET"]), "a body with open data off was published"


def test_a_hostile_file_is_quarantined_and_the_night_goes_on(budget_store):
    report = json.loads((budget_store / report_key("budgets", DEMO_NIGHTS[0])).read_text(encoding="utf-8"))
    (reject,) = report["rejected"]
    assert "DOCTYPE" in reject["reason"] and reject["raw_key"].startswith("raw/")
    assert report["totals"]["transformed"] >= 8
    quarantine = json.loads((budget_store / "private" / "quarantine" / "budgets" / f"date={DEMO_NIGHTS[0]}.json").read_text())
    assert quarantine["rejects"][0]["raw_key"] == reject["raw_key"]


def test_every_budgets_run_has_the_report_page_its_task_links_to(budget_store):
    """The "Run report" link of a budgets task answers like any chain's: HTML beside the JSON, run index."""
    html = budget_store / report_key("budgets", DEMO_NIGHTS[0], "report.html")
    assert "DOCTYPE" in html.read_text(encoding="utf-8"), "the hostile file's reason is on the page"
    indexes = [json.loads(p.read_text()) for p in (budget_store / "private" / "reports" / "runs" / "budgets").glob("*.json")]
    assert len(indexes) == len(DEMO_NIGHTS)
    assert {i["html"] for i in indexes} == {report_key("budgets", night, "report.html") for night in DEMO_NIGHTS}


def test_the_latest_sealed_version_wins_and_the_replaced_one_is_kept(budget_store):
    epci = REGISTRY.bodies[1]
    frame = _csv(budget_store / "public" / "budgets" / "budgets-2024.csv")
    accounts = frame[(frame["BGT_SIRET"] == epci.siret) & (frame["BGT_NATDEC"] == "compte administratif")]
    assert len(accounts) == len(accounts.drop_duplicates(["BGT_NATURE", "BGT_CODRD", "BGT_OPBUDG"])), "one version only"
    versions = json.loads((budget_store / "private" / "budgets" / "versions" / "annee=2024.json").read_text())["versions"]
    ca = [v for v in versions if v["siret"] == epci.siret and v["stage"] == "compte administratif"]
    assert [v["status"] for v in ca] == ["replaced", "current"]
    assert ca[0]["sealed_at"] < ca[1]["sealed_at"] and ca[0]["replaced_by"] == ca[1]["document_id"]
    widget = _widget_document(budget_store / "public" / "widgets" / "budgets", epci.siret, f"budget-{epci.siret}-2024-ca.json")
    assert widget["date_scellement"] == ca[1]["sealed_at"]


def test_widget_files_follow_their_manifest(budget_store):
    root = budget_store / "public" / "widgets" / "budgets"
    kerdigor = REGISTRY.bodies[0]
    index = json.loads((root / kerdigor.siret / "index.json").read_text(encoding="utf-8"))
    named = named_files(index)
    present = {p.name for p in (root / kerdigor.siret).iterdir()}
    assert named | {"index.json"} <= present and all(is_version(n) for n in present - {"index.json"}), \
        "the manifest names versions; superseded ones stay for readers of the previous manifest"
    assert [e["budget"] for e in index["etablissements"]] == ["principal", "annexe"]
    assert index["etablissements"][1]["siret"] == annex_siret(kerdigor.siret)
    document = _widget_document(root, kerdigor.siret, f"budget-{kerdigor.siret}-2023-ca.json")
    totals = document["totaux"]
    assert totals["recettes"] == pytest.approx(sum(s["recettes"] for s in document["sections"]))
    assert totals["depenses"] == pytest.approx(sum(c["montant"] for c in document["par_chapitre"] if c["sens"] == "dépense"))
    assert {s["section"] for s in document["sections"]} == {"fonctionnement", "investissement"}
    assert {o["type"] for o in document["operations"]} == {"réel", "ordre"}
    assert document["par_nature"] and document["etape"] == "compte administratif"
    series = _widget_document(root, kerdigor.siret, f"serie-{kerdigor.siret}.json")
    assert [p["annee"] for p in series["points"]] == sorted(p["annee"] for p in series["points"])
    epci = REGISTRY.bodies[1]
    functions = _widget_document(root, epci.siret, f"budget-{epci.siret}-2025-bp.json")["par_fonction"]
    assert functions and all(f["libelle"] for f in functions)
    assert all(f["rubrique"] == f["code"][0] and f["rubrique_libelle"] for f in functions), "rubriques from the plan"


def test_budget_outputs_hold_no_personal_data_from_the_annexes(budget_store):
    for folder in (budget_store / "public" / "budgets", budget_store / "public" / "widgets" / "budgets"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert b"Gwenola" not in plain_bytes(path.read_bytes()), path


def test_a_rerun_gives_the_same_bytes(own_budget_store, dags):
    before = _digest(own_budget_store / "public")
    _run(dags[1], DEMO_NIGHTS[-1])
    _run(dags[1], DEMO_NIGHTS[0], force_rebuild=True)
    assert _digest(own_budget_store / "public") == before


@pytest.mark.parametrize("plans", ["at hand", "out of reach"])
def test_a_garbled_budget_manifest_is_written_again_by_the_next_run(own_budget_store, dags, plans, monkeypatch,
                                                                     tmp_path):
    """A body's widget manifest garbled by hand: the next run writes the body's files again (with the plans
    out of reach too, when the run otherwise keeps the files as published) and every body is switched."""
    if plans == "out of reach":
        monkeypatch.setenv("DIGOR_PLANS_DIRS", str(tmp_path / "no-plans"))
        monkeypatch.setenv("DIGOR_PLANS_BASE_URL", "http://127.0.0.1:9/plans")
    folder = next(p for p in sorted((own_budget_store / "public/widgets/budgets").iterdir()) if (p / "index.json").is_file())
    whole = (folder / "index.json").read_bytes()
    (folder / "index.json").write_bytes(whole[: len(whole) // 2])
    _run(dags[1], DEMO_NIGHTS[-1], force_rebuild=True)
    assert json.loads((folder / "index.json").read_bytes())["etablissements"]


def test_the_budgets_run_waits_for_the_actes_run(demo_settings):
    from chains.budgets import CHAIN, ActesNotStaged

    with pytest.raises(ActesNotStaged):
        CHAIN.transform(demo_settings, "2031-01-01")


def test_a_withdrawn_budget_leaves_the_budget_files(own_budget_store):
    from chains import actes as actes_chain
    from chains import budgets as budgets_chain
    from core.config import Settings
    from core.publication_rule import Decision

    settings = Settings.from_env()
    budgets = pd.concat(_csv(p) for p in _latest_csvs(own_budget_store / "public/budgets"))
    siret = budgets["BGT_SIRET"].iloc[0]
    actes = pd.concat(_csv(p) for p in _latest_csvs(own_budget_store / "public/actes"))
    act = actes[(actes["ACTE_NATURE_CODE"] == "5") & (actes["COLL_SIRET"].str[:9] == siret[:9])].iloc[0]
    folder = own_budget_store / "public/widgets/budgets" / next(b.siret for b in REGISTRY.bodies if b.siren == siret[:9])
    before = _named_by_manifest(folder)
    actes_chain.record_engineer_decision(settings, siret[:9], act["SOURCE_ID"], Decision.WITHDRAWN, "test")
    years = sorted({int(p.stem.split("-")[-1]) for p in _latest_csvs(own_budget_store / "public/budgets")})
    results = [budgets_chain.CHAIN.publish_year(settings, year) for year in years]
    budgets_chain.CHAIN.publish_widgets(settings, None)  # switches the manifest to the new versions
    after = pd.concat(_csv(own_budget_store / f"public/budgets/budgets-{year}.csv") for year in years)
    assert len(after) < len(budgets), "the withdrawn document's lines are gone"
    plain = lambda names: {n.rsplit(".", 2)[0] for n in names}  # noqa: E731 - file name without its version
    gone = plain(before) - plain(_named_by_manifest(folder))
    assert gone, "the withdrawn budget's widget file left the manifest"
    assert not [p.name for p in folder.iterdir() if p.name.rsplit(".", 2)[0] in gone], \
        "and left the store at once, not after the retention of superseded versions"

    shrunk = {f"budgets/budgets-{y}.csv" for y in years
              if len(_csv(own_budget_store / f"public/budgets/budgets-{y}.csv")) < (budgets["BGT_ANNEE"] == str(y)).sum() * 0.8}
    assert shrunk, "the withdrawal takes more than a fifth of some exercice's lines"
    outcomes = {o["resource"]: o for o in budgets_chain.CHAIN.publish_datagouv(settings, results)}
    assert set(outcomes) == {f"budgets/budgets-{y}.{fmt}" for y in years for fmt in ("csv", "parquet")}, \
        "one resource per exercice and format, under its stable name"
    assert not {r for r, o in outcomes.items() if o["status"] == "held-back"}, \
        "lines a withdrawal took out are expected: the shrink guard is for accidents"
    assert all(outcomes[r]["status"] != "unchanged" for r in shrunk), "the shrunk files reach data.gouv.fr"
