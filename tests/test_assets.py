"""Budgets wait for actes through an Airflow Asset: the event carries the night, the consumer reads it."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum

from chains.budgets import CHAIN as BUDGETS
from core.config import PROJECT_ROOT
from orchestration import chain_tasks
from orchestration.assets import ACTES_STAGED
from samples.actes import DEMO_NIGHTS


def _context(monkeypatch, params: dict, events: dict | None = None, ds: str | None = None):
    context = {"params": params, "triggering_asset_events": events or {}, "ds": ds}
    monkeypatch.setattr(chain_tasks, "get_current_context", lambda: context)


def test_an_asset_triggered_run_processes_every_night_its_events_carry(monkeypatch):
    events = {ACTES_STAGED: [SimpleNamespace(extra={"night": "2025-03-05"}), SimpleNamespace(extra={"night": "2025-03-04"}),
                             SimpleNamespace(extra={})]}
    _context(monkeypatch, {"date": ""}, events)
    assert chain_tasks.nights() == ["2025-03-04", "2025-03-05"]


def test_the_date_param_wins_then_the_logical_date(monkeypatch):
    _context(monkeypatch, {"date": "2025-03-06"}, {ACTES_STAGED: [SimpleNamespace(extra={"night": "2025-03-04"})]})
    assert chain_tasks.nights() == ["2025-03-06"]
    _context(monkeypatch, {"date": ""}, ds="2025-03-07")
    assert chain_tasks.nights() == ["2025-03-07"]


def test_nights_transformed_together_make_one_summary():
    first = {**BUDGETS.empty_night, "night": "2025-03-04", "years": [2024], "bodies": ["b"], "documents": [{"n": 1}]}
    second = {**BUDGETS.empty_night, "night": "2025-03-05", "years": [2025, 2024], "bodies": ["a"], "documents": [{"n": 2}]}
    merged = BUDGETS.merge_nights([first, second])
    assert merged["years"] == [2024, 2025] and merged["bodies"] == ["a", "b"]
    assert merged["documents"] == [{"n": 1}, {"n": 2}] and merged["night"] == "2025-03-05"
    assert merged["nights"] == ["2025-03-04", "2025-03-05"]


def test_an_actes_run_tells_the_budgets_dag_which_night_is_staged(airflow_db, demo_settings):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert [a.name for a in bag.get_dag("budgets").timetable.asset_condition.objects] == [ACTES_STAGED.name]
    run = bag.get_dag("actes").test(logical_date=pendulum.parse(DEMO_NIGHTS[0]))
    assert run.state == DagRunState.SUCCESS
    with create_session() as session:
        events = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                  .filter(AssetModel.name == ACTES_STAGED.name, AssetEvent.source_run_id == run.run_id).all())
        assert [e.extra.get("night") for e in events] == [DEMO_NIGHTS[0]]
