"""The actes chain with bodies on S²LOW beside bodies on Pastell: served the same, faults or not."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.config import Settings
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS
from samples.s2low_platform import S2lowEmulator, transactions_from_versions
from tests.emulators.pastell import PastellEmulator, entities_of
from tests.s2low.conftest import DEMO_REGISTRY, FAST, KERDIGOR, demo_sirens, registry_on_s2low, set_connection

NIGHTS = DEMO_NIGHTS[:2]
PASTELL_BODIES = {"101", "102", "103"}  # the acts of three bodies keep the test short
ON_S2LOW = {KERDIGOR, "252909999"}  # two of them moved to S²LOW in the mixed deployment


def _same_acts(sample_versions) -> list:
    """One version per document (S²LOW never changes a transaction), without the open-data choice
    (S²LOW has none): acts both platforms can carry alike."""
    first = {}
    for version in sorted(sample_versions, key=lambda v: v.stamp):
        if version.id_e in PASTELL_BODIES and version.id_d not in first:
            data = {k: v for k, v in version.data.items() if k != "publication_open_data"}
            first[version.id_d] = replace(version, data=data)
    return list(first.values())


def _run(settings: Settings, emulators, before_night=lambda night: None) -> list[dict]:
    reports = []
    for night in NIGHTS:
        for emulator in emulators:
            emulator.clock = night_cutoff(night)
        before_night(night)
        reports.append(actes_chain.CHAIN.run_night(settings, night))
    return reports


def _public(store: Path) -> dict:
    """What the public sees, source ids aside: each year's tables (rows sorted), the documents."""
    root = store / "public"
    tables = {}
    for path in sorted((root / "actes").glob("actes-*.csv")) + sorted((root / "deliberations").glob("*.csv")):
        if re.fullmatch(r"(actes|deliberations)-\d{4}\.csv", path.name):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["SOURCE_ID"], errors="ignore")
            tables[path.name] = sorted(map(tuple, frame.to_numpy().tolist()))
    documents = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "documents").rglob("*")
                 if p.is_file()}
    return {"tables": tables, "documents": documents}


def _source_ids(store: Path) -> dict[str, set[str]]:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted((store / "public/actes").glob("actes-*.csv"))
              if re.fullmatch(r"actes-\d{4}\.csv", p.name)]
    acts = pd.concat(frames)
    return {siret[:9]: set(group["SOURCE_ID"]) for siret, group in acts.groupby("COLL_SIRET")}


@pytest.fixture(scope="module")
def platforms(sample_versions, pki):
    versions = _same_acts(sample_versions)
    pastell = PastellEmulator(entities_of(DEMO_REGISTRY), versions).start()
    sirens = demo_sirens()
    s2low = S2lowEmulator(pki, {siren: siren for siren in sirens.values()},
                          transactions_from_versions(versions, sirens)).start()
    yield pastell, s2low
    pastell.stop()
    s2low.stop()


def _connect(monkeypatch, pastell: PastellEmulator, s2low: S2lowEmulator) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_PASTELL", json.dumps(
        {"conn_type": "http", "host": pastell.url, "login": pastell.login, "password": pastell.password}))
    for siren in ON_S2LOW:
        set_connection(monkeypatch, s2low, siren)


def _settings(tmp: Path, registry: Path) -> Settings:
    return Settings.from_env().with_overrides(store_url=str(tmp / "store"), registry_path=registry,
                                              source_name="pastell", pastell_client=dict(FAST),
                                              s2low_client=dict(FAST, max_attempts=6))


@pytest.fixture(scope="module")
def all_on_pastell(tmp_path_factory, platforms) -> dict:
    pastell, s2low = platforms
    tmp = tmp_path_factory.mktemp("all-pastell")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _connect(monkeypatch, pastell, s2low)
        reports = _run(_settings(tmp, DEMO_REGISTRY), [pastell])
    return {"public": _public(tmp / "store"), "reports": reports, "ids": _source_ids(tmp / "store")}


def test_bodies_on_s2low_are_served_exactly_like_bodies_on_pastell(tmp_path, monkeypatch, platforms, all_on_pastell):
    pastell, s2low = platforms
    _connect(monkeypatch, pastell, s2low)
    registry = registry_on_s2low(tmp_path / "mixed.yaml", ON_S2LOW)
    settings = _settings(tmp_path, registry)
    reports = _run(settings, [pastell, s2low])
    assert all_on_pastell["public"]["tables"] and all_on_pastell["public"]["documents"]
    assert _public(tmp_path / "store") == all_on_pastell["public"], "the same rows and documents"
    assert [r["totals"]["transformed"] for r in reports] == [r["totals"]["transformed"]
                                                              for r in all_on_pastell["reports"]]
    ids = _source_ids(tmp_path / "store")
    for siren in ON_S2LOW:
        assert ids[siren] and all(i.isdigit() for i in ids[siren]), "S²LOW's transaction ids"
        assert len(ids[siren]) == len(all_on_pastell["ids"][siren]) and not ids[siren] & all_on_pastell["ids"][siren]
    assert ids["200099992"] == all_on_pastell["ids"]["200099992"], "the body left on Pastell is unchanged"
    store = tmp_path / "store"
    assert (store / f"raw/actes/s2low/date={NIGHTS[0]}").is_dir() and (store / f"raw/actes/pastell/date={NIGHTS[0]}").is_dir()
    pulled = json.loads((store / f"private/reports/actes/date={NIGHTS[0]}/s2low-pull.json").read_text())
    assert set(pulled["by_body"]) == {f"siren={s}" for s in ON_S2LOW} and not pulled["failed"]
    run = json.loads((store / reports[0]["key"]).read_text())
    assert set(run["bodies"]) >= ON_S2LOW | {"200099992"}


def test_s2low_faults_at_each_step_leave_the_outputs_unchanged(tmp_path, monkeypatch, platforms, all_on_pastell):
    pastell, s2low = platforms
    _connect(monkeypatch, pastell, s2low)
    settings = _settings(tmp_path, registry_on_s2low(tmp_path / "mixed.yaml", ON_S2LOW))

    def faults(night: str) -> None:
        s2low.clear_faults()
        s2low.inject("429", path="list_actes", retry_after="1", times=1)
        s2low.inject("slow", path="list_actes", delay=1.0, times=1)
        s2low.inject("error", status=503, path="get_status", times=2)
        s2low.inject("truncate", path="get_files_list", times=2)
        s2low.inject("error", status=500, path="download_file", times=3)
        s2low.inject("truncate", path="download_file", times=2)
        s2low.inject("slow", path="download_file", delay=1.0, times=1)
        s2low.inject("error", status=502, path="get_ARActe", times=2)

    s2low.reset_calls()
    reports = _run(settings, [pastell, s2low], faults)
    faulted = [c for c in s2low.calls() if c.fault]
    assert {c.fault for c in faulted} == {"429", "slow", "truncate", "error"}
    assert {c.operation for c in faulted} == {"list", "status", "files", "download", "aracte"}
    assert all(f.times == 0 for f in s2low.faults), "every fault was met"
    assert _public(tmp_path / "store") == all_on_pastell["public"], "faults cost retries, never a difference"
    assert [r["totals"]["transformed"] for r in reports] == [r["totals"]["transformed"]
                                                              for r in all_on_pastell["reports"]]


def test_the_actes_dag_pulls_from_s2low_for_the_bodies_on_it(airflow_db, tmp_path, monkeypatch, connections, emulator,
                                                            registry_path):
    """Production wiring: the registry names the bodies' source and connections, the DAG unchanged."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from core.config import PROJECT_ROOT

    night = DEMO_NIGHTS[1]
    emulator.transactions = [t for t in emulator.transactions if t.authority == "252909999"]
    emulator.clock = night_cutoff(night)
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "dag-store"))
    monkeypatch.setenv("DIGOR_REGISTRY", str(registry_path))
    monkeypatch.setenv("DIGOR_S2LOW_CLIENT", json.dumps({"requests_per_second": 0}))
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    run = dag.test(logical_date=pendulum.parse(night))
    assert run.state == DagRunState.SUCCESS
    reports = tmp_path / f"dag-store/private/reports/actes/date={night}"
    pulled = json.loads((reports / "s2low-pull.json").read_text())
    report = json.loads((reports / "report.json").read_text())
    assert pulled["acts"] > 0 and report["totals"]["extracted"] == pulled["acts"]
    assert list(pulled["by_body"]) == ["siren=252909999"] and emulator.calls("download")


def test_an_act_cancelled_on_s2low_is_withdrawn_at_once_like_a_pastell_withdrawal(tmp_path, monkeypatch, platforms):
    """The préfecture's ARAnnulation of a published act: gone from the public files, its document and the
    widget in the next night, and the ledger says withdrawn by the télétransmission, as for Pastell's."""
    from core.ledger import read_events, replay
    from core.publication_rule import Decision, DecisionSource, source_decision
    from core.store import LocalStore, plain_bytes

    pastell, s2low = platforms
    _connect(monkeypatch, pastell, s2low)
    settings = _settings(tmp_path, registry_on_s2low(tmp_path / "mixed.yaml", ON_S2LOW))
    store = tmp_path / "store"
    cancelled: dict = {}

    def cancel_one(night: str) -> None:
        if night != NIGHTS[1]:
            return
        frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted((store / "public/actes").glob("actes-*.csv"))
                  if re.fullmatch(r"actes-\d{4}\.csv", p.name)]
        acts = pd.concat(frames)
        act = acts[acts["COLL_SIRET"].str.startswith(KERDIGOR) & (acts["ACTE_URL"] != "")].iloc[0]
        document = store / "public" / act["ACTE_URL"].split("/", 3)[3]
        assert document.is_file(), "its document is public before"
        cancelled.update(act.to_dict(), year=act["ACTE_DATE"][:4], document=document)
        s2low.cancel(act["SOURCE_ID"], f"{night} 10:00:00")

    saved = list(s2low.transactions)
    try:
        _run(settings, [pastell, s2low], cancel_one)
    finally:
        s2low.transactions = saved
    assert cancelled, "an act of the body on S²LOW was published the first night"
    public = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False)
                        for p in sorted((store / "public/actes").glob("actes-*.csv"))
                        if re.fullmatch(r"actes-\d{4}\.csv", p.name)])
    assert cancelled["SOURCE_ID"] not in set(public["SOURCE_ID"]), "out of the public table"
    assert not cancelled["document"].exists(), "its document is gone"
    widget = json.loads(plain_bytes(LocalStore(store).get_bytes(f"public/widgets/actes/{KERDIGOR}/{cancelled['year']}.json")))
    assert cancelled["ACTE_ID"] not in {a["numero"] for a in widget["actes"]}, "out of the widget"
    state = replay(read_events(LocalStore(store)))[(KERDIGOR, "s2low", cancelled["SOURCE_ID"])]
    pastell_decision, pastell_source, _ = source_decision("1", "", "annuler-tdt")
    assert (state.decision, state.decided_by) == (pastell_decision.value, pastell_source.value)
    assert (pastell_decision, pastell_source) == (Decision.WITHDRAWN, DecisionSource.TELETRANSMISSION)
    assert [e.decision for e in state.history][0] == Decision.PUBLISHED.value, "published, then withdrawn"


def test_acts_of_another_authority_through_a_bodys_connection_are_refused_and_alerted(tmp_path, monkeypatch,
                                                                                         platforms):
    """Kerdigor's connection holds the other body's certificate: S²LOW serves that authority's acts through it.
    They are never published under Kerdigor, each is quarantined with its reason, one alert line says what to
    do; the other body's own acts go on."""
    pastell, s2low = platforms
    other = "252909999"
    _connect(monkeypatch, pastell, s2low)
    set_connection(monkeypatch, s2low, KERDIGOR, user=other)
    settings = _settings(tmp_path, registry_on_s2low(tmp_path / "mixed.yaml", ON_S2LOW))
    store = tmp_path / "store"
    s2low.clock = pastell.clock = night_cutoff(NIGHTS[0])
    first = actes_chain.CHAIN.run_night(settings, NIGHTS[0])
    theirs = {t.id for t in s2low.visible(other).values() if t.status_at(s2low.clock)[0] == 4}
    assert theirs, "the other authority has acts that night"
    ids = _source_ids(store)
    assert KERDIGOR not in ids, "nothing published under the body whose connection brought them"
    report = json.loads((store / first["key"]).read_text())
    assert ids[other] and report["bodies"][other]["transformed"] == len(theirs), "the other body's own acts go on"
    refused = {r["source_id"]: r["reason"] for r in report["rejected"] if r["siren"] == KERDIGOR}
    assert set(refused) == theirs
    connection = f"digor_s2low_{KERDIGOR}"
    assert all(f"belongs to SIREN {other}" in reason and f"not to body {KERDIGOR}" in reason and connection in reason
               and f"act {act}" in reason for act, reason in refused.items())
    quarantine = json.loads((store / f"private/quarantine/actes/date={NIGHTS[0]}.json").read_text())
    assert {r["source_id"] for r in quarantine["rejects"] if r["siren"] == KERDIGOR} == theirs
    alerts = [line for line in first["summary"] if line.strip().startswith("alert:")]
    assert len(alerts) == 1 and connection in alerts[0] and other in alerts[0] and "certificate" in alerts[0]
    assert report["alerts"] == [alerts[0].strip().removeprefix("alert: ")]

