"""The actes DAG publishing for real: files to SeaweedFS (S3), resources to the udata emulator."""

from __future__ import annotations

import hashlib
import json

import pendulum
import pytest

from chains import actes as actes_chain
from core.config import PROJECT_ROOT, Settings
from core.keys import report_key
from core.store import open_store, plain_bytes
from samples.actes import DEMO_NIGHTS

FAST = {"connect_timeout": 2, "read_timeout": 5, "max_attempts": 3, "backoff_seconds": 0.05,
        "max_backoff_seconds": 2, "upload_spacing_seconds": 0.05}


@pytest.fixture
def real_targets(demo_settings, s3_store_url, udata, monkeypatch) -> tuple[Settings, dict]:
    datasets = {"deliberations": udata.add_dataset("Délibérations"), "actes": udata.add_dataset("Actes")}
    monkeypatch.setenv("DIGOR_STORE", s3_store_url)
    monkeypatch.setenv("DIGOR_DATAGOUV_MODE", "api")
    monkeypatch.setenv("DIGOR_DATAGOUV_DATASETS", json.dumps(datasets))
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DATAGOUV", json.dumps(
        {"conn_type": "http", "host": udata.base_url, "password": udata.api_key, "extra": FAST}))
    return Settings.from_env(), datasets


def _run(dag, night: str, **conf):
    from airflow.utils.state import DagRunState

    run = dag.test(logical_date=pendulum.parse(night), run_conf=conf or None)
    assert run.state == DagRunState.SUCCESS, f"actes DAG failed for {night}"


def _public_digest(store) -> dict[str, str]:
    return {k: hashlib.sha256(store.get_bytes(k)).hexdigest() for k in store.list_keys("public/")}


def test_the_actes_dag_publishes_to_s3_and_data_gouv(airflow_db, real_targets, udata):
    from airflow.dag_processing.dagbag import DagBag

    settings, datasets = real_targets
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    for night in DEMO_NIGHTS:
        _run(dag, night)
    store = open_store(settings.store_url)
    # The documents' text side file (public/actes-textes) goes to the acts' dataset.
    folders = {"deliberations": ["deliberations"], "actes": ["actes", "actes-textes"]}
    for dataset, dataset_id in datasets.items():
        resources = {r["extras"]["digor:resource"]: r for r in udata.resources(dataset_id)}
        expected = {}
        for folder in folders[dataset]:
            manifest = json.loads(store.get_bytes(f"public/{folder}/index.json"))
            expected.update({f"{dataset}/{e['permanent']}": (folder, e)
                             for f in manifest["fichiers"].values() for e in f.values()})
        assert set(resources) == set(expected) and len(expected) == 4 * len(folders[dataset]), \
            "one resource per file, year and format"
        for name, (folder, entry) in expected.items():
            resource = resources[name]
            assert udata.file_of(resource["id"]) == store.get_bytes(f"public/{folder}/{entry['fichier']}")
            assert resource["checksum"] == {"type": "sha256", "value": entry["sha256"]}
            assert not resource["title"].startswith(dataset + "-"), "title kept after the platform's rename"
            if dataset == "deliberations":
                assert resource["schema"] == {"name": "scdl/deliberations", "version": "2.1.5"}
    body = next(k for k in store.list_keys("public/widgets/actes/") if k.endswith("/index.json"))
    for year, entry in json.loads(store.get_bytes(body))["annees"].items():
        folder = body.rsplit("/", 1)[0]
        assert plain_bytes(store.get_bytes(f"{folder}/{entry['fichier']}")) == store.get_bytes(f"{folder}/{year}.json")
    report = json.loads(store.get_bytes(report_key("actes", DEMO_NIGHTS[-1])))
    assert report["datagouv"] and all(o["status"] in ("uploaded", "created", "unchanged") for o in report["datagouv"])

    before, calls = _public_digest(store), len(udata.calls())
    actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[0])
    assert _public_digest(store) == before, "a rerun changes no byte on S3"
    assert len(udata.calls()) == calls, "unchanged files are not sent again"

    # The last version published of one resource claims many more rows: the next run holds it back.
    state_key = next(k for k in store.list_keys("private/datagouv/state/") if "dry-run" not in k)
    state = json.loads(store.get_bytes(state_key))
    state["deliberations/deliberations-2025.csv"].update(rows=10_000, sha256="0" * 64)
    store.put_bytes(state_key, json.dumps(state).encode())
    _run(dag, DEMO_NIGHTS[-1])
    held = {o["resource"]: o for o in json.loads(store.get_bytes(report_key("actes", DEMO_NIGHTS[-1])))["datagouv"]}
    assert held["deliberations/deliberations-2025.csv"]["status"] == "held-back"
    assert "10000" in held["deliberations/deliberations-2025.csv"]["reason"]
    _run(dag, DEMO_NIGHTS[-1], allow_shrink=True)
    allowed = {o["resource"]: o for o in json.loads(store.get_bytes(report_key("actes", DEMO_NIGHTS[-1])))["datagouv"]}
    assert allowed["deliberations/deliberations-2025.csv"]["status"] in ("unchanged", "metadata-updated", "uploaded")
    assert json.loads(store.get_bytes(state_key))["deliberations/deliberations-2025.csv"]["rows"] < 10_000
