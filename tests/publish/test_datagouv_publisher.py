"""The real publisher (api mode) against the udata emulator: guards, idempotence, faults."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from core.store import LocalStore, sha256_hex
from load.datagouv_client import ClientOptions, DataGouvAuthError, DataGouvError, UdataClient
from load.datagouv_publisher import RESOURCE_EXTRA, ApiPublisher, ResourceUpload, make_publisher

FAST = {"connect_timeout": 2, "read_timeout": 0.4, "max_attempts": 3, "backoff_seconds": 0.01,
        "max_backoff_seconds": 2, "upload_spacing_seconds": 0}
SCHEMA = {"name": "scdl/deliberations", "version": "2.1.5"}


def _upload(name: str, data: bytes, rows: int, dataset="deliberations", fmt="csv", **changes) -> ResourceUpload:
    year = name.split("-")[1].split(".")[0]
    fields = dict(
        dataset=dataset, key=f"public/{dataset}/{name}", title=f"Délibérations {year} ({fmt.upper()})",
        description=f"Région test: {rows} lignes.", format=fmt, schema=SCHEMA, filesize=len(data),
        sha256=sha256_hex(data), rows=rows,
    )
    return ResourceUpload(**{**fields, **changes})


def _csv(rows: int, tag: str = "") -> bytes:
    return ("DELIB_ID\n" + "".join(f"{tag}{i}\n" for i in range(rows))).encode()


def _publisher(udata, store, datasets, key=None, **guards) -> ApiPublisher:
    client = UdataClient(udata.base_url, key or udata.api_key, "digor_datagouv", ClientOptions.from_mapping(FAST))
    return ApiPublisher(store, client, datasets, **guards)


@pytest.fixture
def dataset(udata) -> str:
    return udata.add_dataset("Délibérations de la région")


def test_first_publication_creates_the_resource_with_its_metadata(udata, dataset, tmp_path):
    publisher = _publisher(udata, LocalStore(tmp_path), {"deliberations": dataset})
    data = _csv(10)
    outcome = publisher.publish(_upload("deliberations-2025.csv", data, 10), data)
    assert outcome["status"] == "created"
    [resource] = udata.resources(dataset)
    assert resource["id"] == outcome["resource_id"] and udata.file_of(resource["id"]) == data
    assert resource["title"] == "Délibérations 2025 (CSV)", "the platform's rename after the file is undone"
    assert resource["schema"] == SCHEMA and resource["format"] == "csv" and resource["mime"] == "text/csv"
    assert resource["checksum"] == {"type": "sha256", "value": sha256_hex(data)}
    assert resource["filesize"] == len(data) and resource["extras"][RESOURCE_EXTRA] == "deliberations/deliberations-2025.csv"


def test_a_new_version_replaces_the_file_of_the_same_resource_and_keeps_its_title(udata, dataset, tmp_path):
    publisher = _publisher(udata, LocalStore(tmp_path), {"deliberations": dataset})
    first, second = _csv(10), _csv(12)
    rid = publisher.publish(_upload("deliberations-2025.csv", first, 10), first)["resource_id"]
    outcome = publisher.publish(_upload("deliberations-2025.csv", second, 12), second)
    assert outcome == {"resource": "deliberations/deliberations-2025.csv", "status": "uploaded",
                       "resource_id": rid, "dataset_id": dataset}
    [resource] = udata.resources(dataset)
    assert udata.file_of(rid) == second and resource["title"] == "Délibérations 2025 (CSV)"
    assert resource["checksum"]["value"] == sha256_hex(second) and resource["description"] == "Région test: 12 lignes."


def test_an_unchanged_file_is_not_sent_again(udata, dataset, tmp_path):
    store = LocalStore(tmp_path)
    data = _csv(10)
    _publisher(udata, store, {"deliberations": dataset}).publish(_upload("deliberations-2025.csv", data, 10), data)
    calls = len(udata.calls())
    outcome = _publisher(udata, store, {"deliberations": dataset}).publish(_upload("deliberations-2025.csv", data, 10), data)
    assert outcome["status"] == "unchanged" and len(udata.calls()) == calls, "no request at all"


def test_the_state_is_read_in_one_request_without_a_look_up_first(udata, dataset, tmp_path):
    """On S3 a look-up is a request of its own (HEAD): the state is read, its absence is the read's answer."""
    asked = []

    class Counting(LocalStore):
        def exists(self, key):
            asked.append(("exists", key))
            return super().exists(key)

        def get_bytes(self, key):
            asked.append(("get", key))
            return super().get_bytes(key)

    store = Counting(tmp_path)
    data = _csv(10)
    _publisher(udata, store, {"deliberations": dataset}).publish(_upload("deliberations-2025.csv", data, 10), data)
    asked.clear()
    outcome = _publisher(udata, store, {"deliberations": dataset}).publish(_upload("deliberations-2025.csv", data, 10), data)
    assert outcome["status"] == "unchanged"
    assert [what for what, _ in asked] == ["get"]


def test_a_lost_state_finds_its_resources_by_their_mark_never_by_title(udata, dataset, tmp_path):
    data = _csv(10)
    _publisher(udata, LocalStore(tmp_path / "a"), {"deliberations": dataset}).publish(
        _upload("deliberations-2025.csv", data, 10), data)
    look_alike = udata.add_dataset("x")  # noqa: F841 - another dataset does not matter
    outcome = _publisher(udata, LocalStore(tmp_path / "b"), {"deliberations": dataset}).publish(
        _upload("deliberations-2025.csv", data, 10), data)
    assert outcome["status"] == "unchanged" and len(udata.resources(dataset)) == 1
    assert not udata.calls("upload_dataset_resource") and len(udata.calls("upload_new_dataset_resource")) == 1


def test_a_configured_resource_id_is_used_and_must_exist(udata, dataset, tmp_path):
    data = _csv(3)
    existing = UdataClient(udata.base_url, udata.api_key, "c", ClientOptions.from_mapping(FAST)).upload_new_resource(
        dataset, "old-name.csv", b"old\n", "text/csv", "setup")["id"]
    publisher = ApiPublisher(LocalStore(tmp_path), _publisher(udata, None, {}).client, {"deliberations": dataset},
                             {"deliberations/deliberations-2025.csv": existing})
    assert publisher.publish(_upload("deliberations-2025.csv", data, 3), data)["resource_id"] == existing
    assert len(udata.resources(dataset)) == 1
    broken = ApiPublisher(LocalStore(tmp_path / "b"), publisher.client, {"deliberations": dataset},
                          {"deliberations/deliberations-2024.csv": "no-such-id"})
    with pytest.raises(DataGouvError, match="no-such-id"):
        broken.publish(_upload("deliberations-2024.csv", data, 3), data)


def test_a_file_that_failed_validation_is_never_sent(udata, dataset, tmp_path):
    data = _csv(3)
    outcome = _publisher(udata, LocalStore(tmp_path), {"deliberations": dataset}).publish(
        _upload("deliberations-2025.csv", data, 3, validated=False), data)
    assert outcome["status"] == "held-back" and "validation" in outcome["reason"] and not udata.calls()


def test_a_file_that_shrinks_too_much_is_held_back_unless_allowed(udata, dataset, tmp_path):
    store = LocalStore(tmp_path)
    big, small = _csv(100), _csv(70)
    _publisher(udata, store, {"deliberations": dataset}).publish(_upload("deliberations-2025.csv", big, 100), big)
    calls = len(udata.calls())
    held = _publisher(udata, store, {"deliberations": dataset}, max_shrink_ratio=0.2).publish(
        _upload("deliberations-2025.csv", small, 70), small)
    assert held["status"] == "held-back" and "from 100 to 70 rows" in held["reason"] and len(udata.calls()) == calls
    slight = _csv(85)
    assert _publisher(udata, store, {"deliberations": dataset}).publish(
        _upload("deliberations-2025.csv", slight, 85), slight)["status"] == "uploaded"
    allowed = _publisher(udata, store, {"deliberations": dataset}, allow_shrink=True).publish(
        _upload("deliberations-2025.csv", small, 70), small)
    assert allowed["status"] == "uploaded" and udata.file_of(allowed["resource_id"]) == small



def test_rows_taken_out_by_decisions_are_expected_the_rest_is_still_guarded(udata, dataset, tmp_path):
    """Withdrawals empty a small file and it goes out; rows lost otherwise in the same run are held back."""
    store = LocalStore(tmp_path)
    publisher = _publisher(udata, store, {"deliberations": dataset}, max_shrink_ratio=0.2)
    one, none = _csv(1), _csv(0)
    publisher.publish(_upload("deliberations-2025.csv", one, 1), one)
    emptied = publisher.publish(_upload("deliberations-2025.csv", none, 0, left_by_decision=1), none)
    assert emptied["status"] == "uploaded" and udata.file_of(emptied["resource_id"]) == none
    ten, five = _csv(10), _csv(5)
    publisher.publish(_upload("deliberations-2024.csv", ten, 10, left_by_decision=2), ten)
    both = publisher.publish(_upload("deliberations-2024.csv", five, 5, left_by_decision=3), five)
    assert both["status"] == "held-back" and "from 10 to 5 rows, 1 of them taken out by decisions" in both["reason"]
    republished = publisher.publish(_upload("deliberations-2024.csv", _csv(11), 11, left_by_decision=1), _csv(11))
    assert republished["status"] == "uploaded", "a withdrawn act published again"

def _files(version: int) -> dict[str, bytes]:
    """Version 1: 2025 CSV and Parquet. Version 2: both updated, and 2026 CSV new (created)."""
    files = {"deliberations-2025.csv": _csv(10 + version, "a"),
             "deliberations-2025.parquet": b"PAR1" + bytes([version]) * 20}
    if version == 2:
        files["deliberations-2026.csv"] = _csv(5, "n")
    return files


def _scenario(udata, store, datasets, version: int, **options):
    publisher = _publisher(udata, store, datasets)
    publisher.client.options = ClientOptions.from_mapping({**FAST, **options})
    for name, data in _files(version).items():
        publisher.publish(_upload(name, data, None, format=name.rsplit(".", 1)[1]), data)


@pytest.mark.parametrize("kind", ["500", "timeout", "drop", "429", "500-applied", "timeout-applied"])
def test_a_fault_at_any_call_leaves_each_resource_old_or_new_and_the_rerun_finishes(kind, tmp_path):
    from tests.emulators.udata import UdataEmulator

    probe = UdataEmulator().start()
    try:
        probe_ds = probe.add_dataset("probe")
        _scenario(probe, LocalStore(tmp_path / "probe"), {"deliberations": probe_ds}, 1)
        first_run = len(probe.calls())
        _scenario(probe, LocalStore(tmp_path / "probe"), {"deliberations": probe_ds}, 2)
        second_run = len(probe.calls()) - first_run
    finally:
        probe.stop()
    assert second_run >= 6
    for index in range(second_run):
        udata = UdataEmulator().start()
        try:
            ds = udata.add_dataset("Délibérations")
            store = LocalStore(tmp_path / f"{kind}-{index}")
            old, new = _files(1), _files(2)
            _scenario(udata, store, {"deliberations": ds}, 1)
            fault, _, applied = kind.partition("-")
            udata.inject(fault, nth=first_run + index, delay=0.6, retry_after="0", apply=bool(applied))
            try:
                _scenario(udata, store, {"deliberations": ds}, 2, max_attempts=1)
            except DataGouvError:
                for resource in udata.resources(ds):
                    data = udata.file_of(resource["id"])
                    name = (resource["extras"].get(RESOURCE_EXTRA) or "").rsplit("/", 1)[-1]
                    allowed = {old.get(name), new.get(name)} if name else set(new.values())
                    assert data in allowed, f"{kind} at call {index}: {resource['title']} is neither old nor new"
                assert len(udata.resources(ds)) <= 3
                _scenario(udata, store, {"deliberations": ds}, 2)
            resources = udata.resources(ds)
            assert len(resources) == 3, f"{kind} at call {index}: {len(resources)} resources, duplicated"
            by_name = {r["extras"][RESOURCE_EXTRA].rsplit("/", 1)[1]: r for r in resources}
            assert set(by_name) == {"deliberations-2025.csv", "deliberations-2025.parquet", "deliberations-2026.csv"}
            for name, resource in by_name.items():
                assert udata.file_of(resource["id"]) == new[name]
                assert resource["checksum"]["value"] == hashlib.sha256(new[name]).hexdigest()
                assert not resource["title"].startswith("deliberations-"), "title kept after the platform's rename"
        finally:
            udata.stop()


def test_the_api_key_never_reaches_logs_state_reports_or_errors(udata, dataset, tmp_path, monkeypatch, caplog):
    from core.config import Settings

    secret = udata.api_key
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DATAGOUV", json.dumps(
        {"conn_type": "http", "host": udata.base_url, "password": secret, "extra": FAST}))
    settings = Settings.from_env().with_overrides(datagouv_datasets={"deliberations": dataset})
    store = LocalStore(tmp_path)
    caplog.set_level(logging.DEBUG)
    data = _csv(4)
    publisher = make_publisher("api", store, settings=settings)
    assert publisher.publish(_upload("deliberations-2025.csv", data, 4), data)["status"] == "created"
    udata.inject("500", times=10)
    with pytest.raises(DataGouvError) as failed:
        publisher.publish(_upload("deliberations-2025.csv", _csv(5), 5), _csv(5))
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DATAGOUV", json.dumps(
        {"conn_type": "http", "host": udata.base_url, "password": "wrong-" + secret, "extra": FAST}))
    udata.faults.clear()
    with pytest.raises(DataGouvAuthError) as refused:
        make_publisher("api", store, settings=settings).publish(_upload("deliberations-2025.csv", _csv(6), 6), _csv(6))
    dry = make_publisher("dry-run", store, settings=settings)
    dry.publish(_upload("deliberations-2025.csv", data, 4), data)
    for text in (caplog.text, str(failed.value), str(refused.value), repr(publisher.client)):
        assert secret not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
