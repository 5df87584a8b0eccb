"""Decisions of the agents' space applied through Airflow: the portail records them, triggers an
``actes_decisions`` run for them, and says they are done once the public files follow the ledger."""

from __future__ import annotations

import pytest

from chains.chain import republish_decisions
from core.config import PortailSettings
from portail.actions import DONE, FAILED, TRIGGERED, Decisions
from portail.acts import ACTIONS, Acts
from portail.auth import Agent
from tests.emulators.airflow_api import AirflowApiEmulator
from tests.portail.conftest import BODY

AGENT = Agent(sub="s-1", name="Agent", identity="agent.eaux-aber", sirens=(BODY,), hr=False, admin=False)
OTHER = Agent(sub="s-2", name="Autre", identity="agent.autre", sirens=(BODY,), hr=False, admin=False)


@pytest.fixture
def settings(replayed, tmp_path, monkeypatch):
    return replayed.copy(tmp_path / "replay").apply(monkeypatch)


@pytest.fixture
def api(monkeypatch):
    emulator = AirflowApiEmulator().start()
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_AIRFLOW_API", emulator.connection_json())
    yield emulator
    emulator.stop()


def test_a_decision_triggers_the_decisions_run_and_is_done_when_the_ledger_is_applied(settings, api):
    decisions = Decisions(settings, PortailSettings(decisions="airflow", state_url=str(settings.store_url) + "-portail"))
    act = Acts(settings, AGENT).to_decide().iloc[0]
    operation = decisions.record(AGENT, [act], ACTIONS["publier"], "Publication décidée")
    decisions.close()  # the trigger is done
    assert decisions.status(operation.id, AGENT).state == TRIGGERED
    assert [run["conf"]["acts"] for run in api.runs] == [
        [{"siren": BODY, "source_id": act["source_id"], "year": int(act["year"])}]]
    assert api.runs[0]["conf"]["store"] == settings.store_url
    assert decisions.status(operation.id, OTHER) is None, "another agent cannot follow it"
    # what the triggered run does, then the page asks again
    republish_decisions(settings, "actes", api.runs[0]["conf"]["acts"], "decision-airflow")
    assert decisions.status(operation.id, AGENT).state == DONE


def test_when_airflow_cannot_be_reached_the_decision_stays_in_the_ledger_for_the_night(settings, api, monkeypatch):
    api.stop()
    decisions = Decisions(settings, PortailSettings(decisions="airflow", state_url=str(settings.store_url) + "-portail"))
    act = Acts(settings, AGENT).to_decide().iloc[0]
    operation = decisions.record(AGENT, [act], ACTIONS["ne-pas-publier"], "Ne pas publier")
    decisions.close()
    assert operation.state == FAILED
    assert "la prochaine publication de la nuit l'appliquera" in operation.message
    assert Acts(settings, AGENT).find(f"{BODY}/{act['source_id']}")["decision"] == "refused"
