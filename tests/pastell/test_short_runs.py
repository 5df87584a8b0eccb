"""Short runs (``actes_frequent``) through Airflow: an act is online one run after its acknowledgement.

The sample region's three nights are pulled from the Pastell emulator once for the module; each
test copies that store, adds an act to the emulator (sent to the préfecture, then acknowledged)
and runs the DAGs with ``dag.test()``. What a user sees is checked: the regional files, the
body's widget file, the ledger, the run's task states and the Asset events it sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pendulum
import pytest
import yaml

from chains import actes as actes_chain
from core.config import DAG_TIMEZONE, PROJECT_ROOT, Settings, partition_night
from core.keys import partition_day, shard_of, short_run_partition
from core.ledger import read_events, replay
from core.registry import body_registry
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS, Act, act_files
from tests.emulators.pastell import DocVersion, sample_emulator
from tests.held_runs import held_at
from tests.pastell.conftest import CONN_ID, FAST, REGISTRY_PATH

BODY = next(b for b in yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))["bodies"] if b["pastell_id_e"] == "101")


@pytest.fixture(scope="module")
def pulled_nights(tmp_path_factory, sample_drop) -> Path:
    """The demo nights pulled from Pastell, run without a scheduler, once for the module."""
    root = tmp_path_factory.mktemp("short-runs")
    with sample_emulator(sample_drop, REGISTRY_PATH) as emulator, pytest.MonkeyPatch.context() as patch:
        settings = _environment(patch, emulator, root / "store")
        for night in DEMO_NIGHTS:
            emulator.clock = night_cutoff(night)
            actes_chain.CHAIN.run_night(settings, night)
    return root / "store"


def _environment(monkeypatch, emulator, store: Path, **extra: str) -> Settings:
    values = {
        "DIGOR_STORE": str(store), "DIGOR_SOURCE": "pastell", "DIGOR_REGISTRY": str(REGISTRY_PATH),
        "DIGOR_PASTELL_CLIENT": json.dumps(FAST), "NO_PROXY": "127.0.0.1,localhost",
        f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps({"conn_type": "http", "host": emulator.url,
                                                       "login": emulator.login, "password": emulator.password}),
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


@pytest.fixture
def emulator(sample_drop):
    with sample_emulator(sample_drop, REGISTRY_PATH) as running:
        yield running


@pytest.fixture
def store(pulled_nights, tmp_path, emulator, monkeypatch) -> Path:
    """A copy of the module's store, the environment pointing at it and at this test's emulator."""
    copy = tmp_path / "store"
    shutil.copytree(pulled_nights, copy)
    _environment(monkeypatch, emulator, copy)
    return copy


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    return {dag_id: bag.get_dag(dag_id) for dag_id in ("actes", "actes_frequent")}


def _acknowledged_act(emulator, id_d: str, numero: str, sent: str, acknowledged: str, **kind) -> Act:
    """An act sent to the préfecture at ``sent`` (in progress) and acknowledged at ``acknowledged``."""
    ack = datetime.fromisoformat(acknowledged)
    fields = {"nature": "1", "objet": "Tarifs de la cantine scolaire acquittés en cours de journée",
              "classification": "7.10.1 Tarifs", **kind}
    act = Act(id_d=id_d, night=ack.date().isoformat(), body=BODY, numero=numero, decided=date(2025, 3, 3),
              posted=ack.date(), created=datetime.fromisoformat(sent), acknowledged=ack, modified=ack,
              open_data="3", **fields)
    _add_versions(emulator, act, sent, acknowledged)
    return act


def _add_versions(emulator, act: Act, sent: str | None, acknowledged: str) -> None:
    files = act_files(act)
    metadata = json.loads(files.pop("metadata.json"))
    final = DocVersion(id_d=act.id_d, id_e=BODY["pastell_id_e"], type="actes-generique", stamp=acknowledged,
                       data=metadata["data"], last_action=metadata["last_action"], creation=sent or acknowledged,
                       files=files)
    if sent:
        waiting = {k: v for k, v in metadata["data"].items() if k not in ("aractes", "acte_tamponne")}
        emulator.add(dataclasses.replace(final, stamp=sent, data=waiting, last_action={"action": "send-tdt"},
                                         files={n: b for n, b in files.items() if n in waiting["arrete"]}))
    emulator.add(final)


def _short_run(dags, emulator, end: str):
    """The short run whose data interval ends at ``end`` (local time), Pastell's clock there."""
    from airflow.utils.state import DagRunState

    emulator.clock = end
    moment = pendulum.parse(end, tz=DAG_TIMEZONE)
    run = dags["actes_frequent"].test(logical_date=moment)  # a manual run's interval ends at its logical date
    assert run.state == DagRunState.SUCCESS
    return run


def _night(dags, emulator, night: str) -> None:
    """The nightly actes DAG for ``night``, Pastell's clock at the end of its data interval."""
    emulator.clock = night_cutoff(night)
    run = dags["actes"].test(logical_date=pendulum.parse(night), run_conf={"date": night})
    assert str(run.state) == "success"


def _states(run) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.run_id == run.run_id,
                                                 TaskInstance.dag_id == run.dag_id).all()
        return {ti.task_id: str(ti.state) for ti in tis}


def _asset_events(run) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return [e.extra for e in session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id).all()]


def _public(store: Path) -> dict[str, str]:
    root = store / "public"
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _where(store: Path, act: Act) -> dict:
    """Every place the act shows: rows of the regional files, entries of the body's widget file,
    its ledger events and first publication date."""
    public = store / "public"
    actes, delib = _csv(public / "actes/actes-2025.csv"), _csv(public / "deliberations/deliberations-2025.csv")
    widget = json.loads((public / f"widgets/actes/{BODY['siren']}/2025.json").read_text(encoding="utf-8"))["actes"]
    events = [e for e in read_events(actes_chain.CHAIN.store(Settings.from_env())) if e.source_id == act.id_d]
    state = replay(events).get((BODY["siren"], "pastell", act.id_d))
    for frame, keys in ((actes, ["COLL_SIRET", "SOURCE_ID"]), (delib, ["COLL_SIRET", "DELIB_ID"])):
        assert not frame.duplicated(keys).any(), "a regional file has a row twice"
    assert len({a["id"] for a in widget}) == len(widget), "the widget file has an act twice"
    return {
        "actes": actes.loc[actes["SOURCE_ID"] == act.id_d, ["ACTE_OBJET", "PUBLICATION_DATE"]].values.tolist(),
        "deliberations": int((delib["DELIB_ID"] == act.numero).sum()),
        "widget": [(a["objet"], a["date_publication"]) for a in widget if a["numero"] == act.numero],
        "events": len(events),
        "first_published": state.publication_date.isoformat() if state and state.publication_date else None,
    }


def test_an_acknowledged_act_is_online_after_one_short_run_and_the_night_keeps_its_date(store, emulator, dags):
    act = _acknowledged_act(emulator, "shortrun1", "2025-SR-001", "2025-03-06 09:40:00", "2025-03-06 10:02:00")
    before = _public(store)

    waiting = _short_run(dags, emulator, "2025-03-06 10:00:00")  # sent, not acknowledged yet
    assert _states(waiting) == {"short_run": "success", "announce": "skipped"}
    assert _public(store) == before, "a run with nothing new changes no public object"
    assert not (store / "private/reports/actes/date=2025-03-06T1000").exists()
    assert _asset_events(waiting) == [], "budgets are not woken by a run that staged nothing"

    published = _short_run(dags, emulator, "2025-03-06 10:15:00")
    assert _states(published) == {"short_run": "success", "announce": "skipped"}  # no budget document
    objet = act.objet
    assert _where(store, act) == {"actes": [[objet, "2025-03-06"]], "deliberations": 1,
                                  "widget": [(objet, "2025-03-06")], "events": 1, "first_published": "2025-03-06"}
    changed = {key for key in set(_public(store)) | set(before) if _public(store).get(key) != before.get(key)}
    bodies = {key.split("/")[2] for key in changed if key.startswith("widgets/actes/") and key.count("/") > 2}
    assert bodies == {BODY["siren"]}, "only the body that got an act has new widget files"
    assert not any("2024" in key for key in changed), "only the touched year is rebuilt"

    _night(dags, emulator, "2025-03-06")
    assert _where(store, act) == {"actes": [[objet, "2025-03-06"]], "deliberations": 1,
                                  "widget": [(objet, "2025-03-06")], "events": 1, "first_published": "2025-03-06"}
    quiet = _public(store)
    _short_run(dags, emulator, "2025-03-07 10:00:00")
    assert _public(store) == quiet


def test_a_short_run_that_staged_budget_documents_wakes_the_budgets_dag(store, emulator, dags):
    _acknowledged_act(emulator, "shortrunbp", "2025-SR-BP", "2025-03-07 10:01:00", "2025-03-07 10:05:00",
                      nature="5", objet="Budget primitif 2025", classification="7.1.1 Budget primitif",
                      totem=b"<DocumentBudgetaire/>")
    budget = _short_run(dags, emulator, "2025-03-07 10:15:00")
    assert _states(budget) == {"short_run": "success", "announce": "success"}
    assert _asset_events(budget) == [{"night": "2025-03-07T1015"}], "the budgets DAG is told what to read"


def test_a_short_run_partition_belongs_to_the_night_whose_interval_holds_it():
    assert short_run_partition(datetime(2025, 3, 6, 10, 15)) == "2025-03-06T1015"
    assert [partition_night(p) for p in ("2025-03-06", "2025-03-06T1015", "2025-03-07T0200", "2025-03-07T0215")] \
        == [date(2025, 3, 6), date(2025, 3, 6), date(2025, 3, 6), date(2025, 3, 7)]
    assert partition_day("2025-03-07T0115") == date(2025, 3, 7), "an act's publication date is the day it ran"


def test_a_night_pulling_a_later_change_of_an_act_keeps_the_date_a_short_run_published_it(store, emulator, dags):
    """Acknowledged after midnight, before the night's cut: the short run publishes it that day; the
    night before (its data interval runs until 02:00) then pulls the agent's correction: one row,
    the new objet, the first publication date unchanged."""
    act = _acknowledged_act(emulator, "shortrun2", "2025-SR-002", "2025-03-07 00:50:00", "2025-03-07 01:05:00")
    _short_run(dags, emulator, "2025-03-07 01:15:00")
    assert _where(store, act)["first_published"] == "2025-03-07"

    corrected = dataclasses.replace(act, objet="Tarifs de la cantine scolaire (objet corrigé)",
                                    modified=datetime(2025, 3, 7, 1, 30))
    _add_versions(emulator, corrected, None, "2025-03-07 01:30:00")
    _night(dags, emulator, "2025-03-06")
    assert _where(store, act) == {"actes": [[corrected.objet, "2025-03-07"]], "deliberations": 1,
                                  "widget": [(corrected.objet, "2025-03-07")], "events": 2,
                                  "first_published": "2025-03-07"}


def test_a_short_run_while_the_night_holds_the_lease_skips_and_the_act_is_published_once(
        store, emulator, dags, monkeypatch, tmp_path):
    act = _acknowledged_act(emulator, "shortrun3", "2025-SR-003", "2025-03-06 09:40:00", "2025-03-06 10:02:00")
    emulator.clock = night_cutoff("2025-03-06")
    with held_at("after-ledger-read-2025", ["run", "actes", "--date", "2025-03-06"], tmp_path) as night:
        held = _public(store)
        monkeypatch.setenv("DIGOR_SHORT_RUN_LOCK_WAIT_SECONDS", "0")
        skipped = _short_run(dags, emulator, "2025-03-06 10:15:00")
        assert _states(skipped) == {"short_run": "skipped", "announce": "skipped"}
        assert _public(store) == held, "the short run wrote while the night held the lease"
    assert night.returncode == 0, (tmp_path / "held.log").read_text()
    objet = act.objet
    assert _where(store, act) == {"actes": [[objet, "2025-03-06"]], "deliberations": 1,
                                  "widget": [(objet, "2025-03-06")], "events": 1, "first_published": "2025-03-06"}
    after = _public(store)
    _short_run(dags, emulator, "2025-03-06 10:30:00")
    assert _public(store) == after, "what the night published is not published again"


def test_a_short_run_that_failed_after_its_pull_is_finished_by_the_night(store, emulator, monkeypatch):
    """Every retry failed after the pull moved the watermarks: the night stages and publishes what that
    short run pulled, dated by the day it ran, once."""
    act = _acknowledged_act(emulator, "shortrun4", "2025-SR-004", "2025-03-07 00:50:00", "2025-03-07 01:05:00")
    settings = Settings.from_env()
    emulator.clock = "2025-03-07 01:15:00"
    before = _public(store)
    with monkeypatch.context() as patch:
        patch.setattr(actes_chain, "transform_night", lambda *args, **kwargs: _raise(OSError("the store went away")))
        with pytest.raises(OSError):
            actes_chain.CHAIN.run_short(settings, "2025-03-07T0115", "2025-03-07 01:15:00", "test")
    assert _public(store) == before

    emulator.clock = night_cutoff("2025-03-06")
    report = actes_chain.CHAIN.run_night(settings, "2025-03-06")
    assert report["totals"]["transformed"] == 1
    objet = act.objet
    assert _where(store, act) == {"actes": [[objet, "2025-03-07"]], "deliberations": 1,
                                  "widget": [(objet, "2025-03-07")], "events": 1, "first_published": "2025-03-07"}
    assert json.loads((store / "private/pastell/short-runs.json").read_text()) == {"unreported": []}
    finished = json.loads((store / "private/reports/actes/date=2025-03-07T0115/report.json").read_text())
    assert finished["finished_by"] == report["key"], "the budgets chain may read that partition's acts"


def _raise(error: Exception):
    raise error


def test_a_night_that_failed_after_its_pull_is_finished_by_the_next_night(store, emulator, monkeypatch):
    """Its pull moved the watermarks, then every retry of its transform failed and nobody reran it:
    the next night stages and publishes what it pulled, once, dated by the night that pulled it."""
    act = _acknowledged_act(emulator, "nightfail1", "2025-NF-001", "2025-03-07 09:00:00", "2025-03-07 10:00:00")
    settings = Settings.from_env()
    before = _public(store)
    emulator.clock = night_cutoff("2025-03-07")
    with monkeypatch.context() as patch:
        patch.setattr(actes_chain, "transform_night", lambda *args, **kwargs: _raise(OSError("the store went away")))
        with pytest.raises(OSError):
            actes_chain.CHAIN.run_night(settings, "2025-03-07")
    assert _public(store) == before

    emulator.clock = night_cutoff("2025-03-08")
    actes_chain.CHAIN.run_night(settings, "2025-03-08")
    objet = act.objet
    assert _where(store, act) == {"actes": [[objet, "2025-03-07"]], "deliberations": 1,
                                  "widget": [(objet, "2025-03-07")], "events": 1, "first_published": "2025-03-07"}


def test_a_night_whose_later_shard_failed_loses_none_of_the_acts_its_other_shards_pulled(store, emulator, monkeypatch):
    """A shard's pull moves its bodies' watermarks; another shard's pull then fails on every retry and
    nobody reruns the night: the next night still stages and publishes what the first shard pulled."""
    monkeypatch.setenv("DIGOR_SHARD_BODIES", "1")
    settings = Settings.from_env()
    count = settings.shard_count(len(body_registry(settings).bodies))
    assert shard_of(BODY["siren"], count) < count - 1, "the act's body must be pulled before the failing shard"
    act = _acknowledged_act(emulator, "shardfail1", "2025-SF-001", "2025-03-07 09:00:00", "2025-03-07 10:00:00")
    before = _public(store)
    pull, pulled = actes_chain.pastell_source.extract_night, []

    def pull_or_fail(*args, only, **kwargs):
        if pulled:
            raise OSError("Pastell went away")
        summary = pull(*args, only=only, **kwargs)
        if only(BODY["siren"]):
            pulled.append(summary)
        return summary

    emulator.clock = night_cutoff("2025-03-07")
    with monkeypatch.context() as patch:
        patch.setattr(actes_chain.pastell_source, "extract_night", pull_or_fail)
        with pytest.raises(OSError):
            actes_chain.CHAIN.run_night(settings, "2025-03-07")
    assert pulled and pulled[0]["acts"] == 1 and _public(store) == before

    emulator.clock = night_cutoff("2025-03-08")
    actes_chain.CHAIN.run_night(settings, "2025-03-08")
    assert _where(store, act) == {"actes": [[act.objet, "2025-03-07"]], "deliberations": 1,
                                  "widget": [(act.objet, "2025-03-07")], "events": 1, "first_published": "2025-03-07"}


def test_a_night_that_failed_before_pulling_anything_leaves_the_next_night_whole(store, emulator, monkeypatch):
    act = _acknowledged_act(emulator, "shardfail2", "2025-SF-002", "2025-03-08 09:00:00", "2025-03-08 10:00:00")
    settings = Settings.from_env()
    emulator.clock = night_cutoff("2025-03-07")
    with monkeypatch.context() as patch:
        patch.setattr(actes_chain.pastell_source, "extract_night", lambda *a, **k: _raise(OSError("Pastell went away")))
        with pytest.raises(OSError):
            actes_chain.CHAIN.run_night(settings, "2025-03-07")
    emulator.clock = night_cutoff("2025-03-08")
    report = actes_chain.CHAIN.run_night(settings, "2025-03-08")
    assert report["totals"]["transformed"] == 1
    assert _where(store, act)["actes"] == [[act.objet, "2025-03-08"]]
    assert json.loads((store / "private/pastell/short-runs.json").read_text()) == {"unreported": []}
