"""``digor unpublish|publish --via-airflow``: the decision goes to the ledger, a run of
``actes_decisions`` is created through Airflow's REST API with the store in its conf, its run id is
printed; failures are one line. Against the loopback emulator, then a real ``airflow api-server``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pendulum
import pytest
import requests

from core.config import PROJECT_ROOT
from core.store import open_store, read_parquet
from digor.cli import main as digor
from tests.emulators.airflow_api import PASSWORD, AirflowApiEmulator
from tests.replay import Replay, nights_replayed

CONN = "AIRFLOW_CONN_DIGOR_AIRFLOW_API"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Iterator[Replay]:
    yield from nights_replayed(tmp_path_factory.mktemp("via-airflow"))


@pytest.fixture
def store(replayed, tmp_path, monkeypatch) -> Path:
    """A copy of the replayed store, given with --store; DIGOR_STORE names another (empty) store."""
    copy = replayed.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "deployment-store"))
    return copy.store


@pytest.fixture
def api(monkeypatch) -> Iterator[AirflowApiEmulator]:
    emulator = AirflowApiEmulator().start()
    monkeypatch.setenv(CONN, emulator.connection_json())
    yield emulator
    emulator.stop()


def _act(store: Path) -> pd.Series:
    frame = pd.read_csv(store / "public/deliberations/deliberations-2025.csv", dtype=str, keep_default_na=False)
    return frame[frame["DELIB_URL"] != ""].iloc[0]


def _unpublish(store: Path, act: pd.Series) -> int:
    return digor(["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur", "--via-airflow",
                  "--store", str(store)])


def _conf(store: Path, act: pd.Series) -> dict:
    siren = act["COLL_SIRET"][:9]
    actes = pd.read_csv(store / "public/actes/actes-2025.csv", dtype=str, keep_default_na=False)
    [source_id] = actes.query("COLL_SIRET == @act.COLL_SIRET and ACTE_ID == @act.DELIB_ID")["SOURCE_ID"]
    return {"years": [2025], "bodies": [siren], "store": str(store),
            "acts": [{"siren": siren, "source_id": source_id, "year": 2025}]}


def _command_events(store: Path) -> list[Path]:
    return sorted((store / "private/ledger/actes/annee=2025").glob("command=*"))


def test_unpublish_via_airflow_creates_a_run_with_the_store_and_prints_its_id(store, api, capsys):
    act = _act(store)
    assert _unpublish(store, act) == 0
    out = capsys.readouterr().out
    [run] = api.runs
    assert run["dag_id"] == "actes_decisions" and run["logical_date"] is None
    assert run["conf"] == _conf(store, act)
    assert f"airflow: triggered actes_decisions run {run['dag_run_id']} (queued)" in out
    assert len(_command_events(store)) == 1, "the decision is recorded in the store given with --store"


def test_the_triggered_run_republishes_the_store_it_was_given(store, api, airflow_db):
    """The conf the CLI sent, run by the DAG while DIGOR_STORE names another store: the act leaves
    the store the decision was recorded in."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    act = _act(store)
    assert _unpublish(store, act) == 0
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes_decisions")
    run = dag.test(logical_date=pendulum.now("UTC"), run_conf=api.runs[0]["conf"])
    assert run.state == DagRunState.SUCCESS
    online = pd.read_csv(store / "public/actes/actes-2025.csv", dtype=str, keep_default_na=False)
    assert act["DELIB_ID"] not in set(online.query("COLL_SIRET == @act.COLL_SIRET")["ACTE_ID"])
    assert not (store / "public" / act["DELIB_URL"].split("/", 3)[3]).exists()
    assert not Path(os.environ["DIGOR_STORE"], "public").exists(), "the deployment's own store was not touched"


def test_a_paused_decisions_dag_is_said(store, api, capsys):
    api.dags["actes_decisions"] = True
    assert _unpublish(store, _act(store)) == 0
    assert "warning: actes_decisions is paused in Airflow: the run waits until it is unpaused" in capsys.readouterr().err


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_wrong_credentials_are_one_line_without_the_password(store, api, monkeypatch, capsys):
    monkeypatch.setenv(CONN, api.connection_json(password="not-the-password"))
    assert _unpublish(store, _act(store)) == 1
    line = _one_error_line(capsys)
    assert f"Airflow API at {api.base_url} refused to log in as admin (HTTP 401: Invalid credentials)" in line
    assert "check the login and password of the Airflow connection 'digor_airflow_api'" in line
    assert "the decision is in the ledger" in line
    assert "not-the-password" not in line and PASSWORD not in line
    assert not api.runs


def test_server_down_unknown_dag_and_missing_connection_are_one_line(store, api, monkeypatch, capsys):
    act = _act(store)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens there once the probe is closed
    monkeypatch.setenv(CONN, json.dumps({"conn_type": "http", "host": f"http://127.0.0.1:{closed}",
                                         "login": "admin", "password": PASSWORD}))
    assert _unpublish(store, act) == 1
    assert f"Airflow API at http://127.0.0.1:{closed} cannot be reached to log in" in _one_error_line(capsys)

    monkeypatch.setenv(CONN, api.connection_json())
    del api.dags["actes_decisions"]
    assert _unpublish(store, act) == 1
    assert "cannot look up the DAG actes_decisions (HTTP 404: The Dag with ID: `actes_decisions` was not found)" \
        in _one_error_line(capsys)

    monkeypatch.delenv(CONN)
    assert _unpublish(store, act) == 1
    assert "AIRFLOW_CONN_DIGOR_AIRFLOW_API" in _one_error_line(capsys)
    assert len(_command_events(store)) == 3, "each decision stays recorded, whatever Airflow said"


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the actes then the budgets chain, once for the module."""
    yield from nights_replayed(tmp_path_factory.mktemp("via-airflow-budgets"), ("actes", "budgets"))


def _budget_lines(store: Path) -> pd.DataFrame:
    paths = sorted((store / "public/budgets").glob("budgets-[0-9][0-9][0-9][0-9].csv"))
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths], ignore_index=True)


def test_budget_acts_withdrawn_via_airflow_leave_the_budget_files(region, tmp_path, monkeypatch, api, airflow_db):
    """As without --via-airflow: the DAG run republishes the budgets the withdrawn acts came with."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    copy = region.copy(tmp_path / "region")
    copy.apply(monkeypatch)
    store = copy.store
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "deployment-store"))
    staged = [read_parquet(open_store(str(store)), key) for key in open_store(str(store)).list_keys("staging/budgets/")]
    siren = staged[0].column("siren")[0].as_py()
    acts = sorted({i for t in staged for s, i in zip(t.column("siren").to_pylist(), t.column("source_id").to_pylist())
                   if s == siren})
    assert acts and _budget_lines(store)["BGT_SIRET"].str.startswith(siren).any()

    for act in acts:
        assert digor(["unpublish", siren, act, "--reason", "budget voté par erreur", "--via-airflow",
                      "--store", str(store)]) == 0
    assert _budget_lines(store)["BGT_SIRET"].str.startswith(siren).any(), "nothing republished before the run"
    conf = {**api.runs[0]["conf"], "years": sorted({y for r in api.runs for y in r["conf"]["years"]}),
            "acts": [a for r in api.runs for a in r["conf"]["acts"]]}
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes_decisions")
    assert dag.test(logical_date=pendulum.now("UTC"), run_conf=conf).state == DagRunState.SUCCESS
    assert not _budget_lines(store)["BGT_SIRET"].str.startswith(siren).any(), "the withdrawn budgets left the files"
    assert not (store / "public/widgets/budgets" / _budget_siret(region, siren) / "index.json").exists()


def _budget_siret(region: Replay, siren: str) -> str:
    lines = _budget_lines(region.store)
    return lines[lines["BGT_SIRET"].str.startswith(siren)]["BGT_SIRET"].iloc[0]


# ---- a real Airflow API server on loopback ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def airflow_api_server(tmp_path_factory) -> Iterator[str]:
    """``airflow api-server`` (simple auth manager, user admin) on a free loopback port, with digor's
    DAGs serialized into its own SQLite DB; stopped at the end of the module."""
    home = tmp_path_factory.mktemp("airflow-api-home")
    password = uuid.uuid4().hex
    (home / "passwords.json").write_text(json.dumps({"admin": password}), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
           "DIGOR_DAGS_FOLDER": str(PROJECT_ROOT / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
           "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex, "PYTHONPATH": str(PROJECT_ROOT)}
    airflow = [sys.executable, "-m", "airflow"]
    for step in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run(airflow + step, env=env, cwd=home, check=True, capture_output=True, timeout=300)
    log = (home / "api-server.log").open("wb")
    server = subprocess.Popen(airflow + ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (home / "api-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "airflow api-server did not answer within 180 s"
            try:
                if requests.get(f"{base}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        yield base, password
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log.close()


def test_unpublish_via_a_real_airflow_api_server(store, airflow_api_server, monkeypatch, capsys):
    base, password = airflow_api_server
    act = _act(store)
    monkeypatch.setenv(CONN, json.dumps({"conn_type": "http", "host": base, "login": "admin", "password": "wrong"}))
    assert _unpublish(store, act) == 1
    assert f"Airflow API at {base} refused to log in as admin (HTTP 401" in _one_error_line(capsys)

    monkeypatch.setenv(CONN, json.dumps({"conn_type": "http", "host": base, "login": "admin", "password": password}))
    assert _unpublish(store, act) == 0
    captured = capsys.readouterr()
    run_id = captured.out.split("airflow: triggered actes_decisions run ", 1)[1].split(" ", 1)[0]
    assert "actes_decisions is paused" in captured.err  # dags_are_paused_at_creation in airflow.cfg
    token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30)
    run = requests.get(f"{base}/api/v2/dags/actes_decisions/dagRuns/{run_id}", timeout=30,
                       headers={"Authorization": f"Bearer {token.json()['access_token']}"}).json()
    assert run["conf"] == _conf(store, act)
    assert run["state"] == "queued" and run["triggered_by"] == "rest_api"
