"""data.gouv.fr catches up with the object store: a file whose upload failed on every retry is sent by
the next run, even when that run touches none of its years (a withdrawal must not stay online there);
and what digor remembers of each resource sent stays true when two chains publish at once."""

from __future__ import annotations

import io
import json
import signal

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.config import Settings
from digor.cli import main as digor
from samples.actes import DEMO_NIGHTS
from tests.held_runs import held_at

FAST = {"connect_timeout": 2, "read_timeout": 5, "max_attempts": 2, "backoff_seconds": 0.05,
        "max_backoff_seconds": 0.1, "upload_spacing_seconds": 0.0}
NEXT_NIGHT = "2025-03-06"  # no drop folder: a night that brings nothing


@pytest.fixture
def published(demo_settings, udata, monkeypatch) -> Settings:
    """The demo nights published to the object store and to the udata emulator."""
    datasets = {"deliberations": udata.add_dataset("Délibérations"), "actes": udata.add_dataset("Actes"),
                "decp": udata.add_dataset("DECP")}
    monkeypatch.setenv("DIGOR_DATAGOUV_MODE", "api")
    monkeypatch.setenv("DIGOR_DATAGOUV_DATASETS", json.dumps(datasets))
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DATAGOUV", json.dumps(
        {"conn_type": "http", "host": udata.base_url, "password": udata.api_key, "extra": FAST}))
    settings = Settings.from_env()
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(settings, night)
    return settings


def _acts(data: bytes) -> set[tuple[str, str]]:
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    return set(zip(frame["COLL_SIRET"], frame["DELIB_ID"]))


def _online(udata, name: str) -> bytes:
    for dataset_id in list(udata.datasets):
        for resource in udata.resources(dataset_id):
            if resource["extras"].get("digor:resource", "").endswith("/" + name):
                return udata.file_of(resource["id"])
    raise AssertionError(f"{name} is not on data.gouv.fr")


def _a_deliberation(settings: Settings, name: str) -> tuple[str, str]:
    public = pd.read_csv(f"{settings.store_url}/public/deliberations/{name}", dtype=str, keep_default_na=False)
    act = public[public["DELIB_URL"] != ""].iloc[0]
    return act["COLL_SIRET"], act["DELIB_ID"]


def test_a_withdrawal_whose_upload_failed_reaches_data_gouv_with_the_next_run(published, udata, capsys):
    name = "deliberations-2025.csv"
    path = f"{published.store_url}/public/deliberations/{name}"
    key = _a_deliberation(published, name)
    assert key in _acts(_online(udata, name))

    udata.inject("500", method="POST", times=1000)
    udata.inject("500", method="PUT", times=1000)
    assert digor(["unpublish", key[0][:9], key[1], "--reason", "données personnelles"]) != 0
    error = capsys.readouterr().err
    assert "data.gouv.fr is unavailable" in error and "the next run sends" in error and "Traceback" not in error
    with open(path, "rb") as current:
        assert key not in _acts(current.read()), "the object store has the withdrawal"
    assert key in _acts(_online(udata, name)), "the fault kept the old file online"

    udata.clear_faults()
    actes_chain.CHAIN.run_night(published, NEXT_NIGHT)
    online = _online(udata, name)
    assert key not in _acts(online), "the withdrawn act stayed on data.gouv.fr"
    with open(path, "rb") as current:
        assert online == current.read()


def test_a_withdrawal_killed_between_the_switch_and_data_gouv_reaches_it_with_the_next_run(published, udata,
                                                                                         tmp_path):
    """``kill -9`` once the object store has the withdrawal and before anything is sent: the next run
    (which touches none of the year's acts) sends the file."""
    name = "deliberations-2025.csv"
    key = _a_deliberation(published, name)
    with held_at("before-datagouv", ["unpublish", key[0][:9], key[1], "--reason", "erreur"], tmp_path,
                 DIGOR_LOCK_TTL_SECONDS="2") as killed:
        killed.send_signal(signal.SIGKILL)
    with open(f"{published.store_url}/public/deliberations/{name}", "rb") as current:
        assert key not in _acts(current.read()), "the object store has the withdrawal"
    assert key in _acts(_online(udata, name))

    actes_chain.CHAIN.run_night(published, NEXT_NIGHT)
    assert key not in _acts(_online(udata, name)), "the withdrawn act stayed on data.gouv.fr"


def test_two_chains_publishing_at_once_keep_what_each_sent_in_the_state(published, udata, tmp_path, monkeypatch):
    """The DECP night stops between reading the publisher's state and writing it back while a withdrawal
    republishes the acts: afterwards the state names, for every resource, the file data.gouv.fr has."""
    from core.store import open_store
    from load.datagouv_publisher import RESOURCE_EXTRA, make_publisher
    from samples.decp import generate_decp_exports
    from tests.replay import REGISTRY

    generate_decp_exports(tmp_path / "decp-drop", REGISTRY)
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(tmp_path / "decp-drop"))
    name = "deliberations-2025.csv"
    key = _a_deliberation(published, name)
    with held_at("datagouv-state-write", ["run", "decp", "--date", DEMO_NIGHTS[0]], tmp_path) as decp:
        assert digor(["unpublish", key[0][:9], key[1], "--reason", "erreur"]) == 0
    assert decp.returncode == 0, (tmp_path / "held.log").read_text()

    state = make_publisher("api", open_store(published.store_url), settings=Settings.from_env())._state()
    online = {r["extras"][RESOURCE_EXTRA]: r for dataset_id in list(udata.datasets) for r in udata.resources(dataset_id)}
    assert any(name.startswith("decp/") for name in online) and any(name.startswith("actes/") for name in online)
    assert {name: entry["sha256"] for name, entry in state.items()} == \
        {name: resource["checksum"]["value"] for name, resource in online.items()}
