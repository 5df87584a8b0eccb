"""The udata client against the loopback emulator: what is retried, what fails at once."""

from __future__ import annotations

import time

import pytest

from load.datagouv_client import (
    ClientOptions,
    DataGouvAmbiguous,
    DataGouvAuthError,
    DataGouvRejected,
    DataGouvUnavailable,
    UdataClient,
)
from tests.environment import reference_missing

FAST = {"connect_timeout": 2, "read_timeout": 0.5, "max_attempts": 3, "backoff_seconds": 0.01,
        "max_backoff_seconds": 5, "upload_spacing_seconds": 0}


def _client(udata, key=None, sleep=time.sleep, **options) -> UdataClient:
    return UdataClient(udata.base_url, key or udata.api_key, "digor_datagouv", ClientOptions.from_mapping({**FAST, **options}),
                       sleep=sleep)


def _resource(udata, client, dataset):
    return client.upload_new_resource(dataset, "actes-2025.csv", b"a\n1\n", "text/csv", "actes/actes-2025.csv")


def test_429_is_retried_after_the_time_the_platform_asks(udata):
    dataset = udata.add_dataset("Actes")
    udata.inject("429", method="GET", retry_after="1")
    slept = []
    assert _client(udata, sleep=slept.append).get_dataset(dataset)["id"] == dataset
    assert slept == [1.0]
    assert [c.status for c in udata.calls("get_dataset")] == [429, 200]


def test_a_rate_limit_longer_than_the_bound_fails_rather_than_sleeping(udata):
    dataset = udata.add_dataset("Actes")
    udata.inject("429", method="GET", retry_after="3600")
    with pytest.raises(DataGouvUnavailable, match="asked to wait 3600 s"):
        _client(udata).get_dataset(dataset)


def test_5xx_timeouts_and_dropped_connections_are_retried_when_safe(udata):
    dataset = udata.add_dataset("Actes")
    client = _client(udata, max_attempts=4)
    rid = _resource(udata, client, dataset)["id"]
    udata.inject("500", method="PUT")
    udata.inject("timeout", method="PUT", delay=1.0)
    udata.inject("drop", method="PUT")
    updated = client.update_resource(dataset, rid, {"title": "Actes 2025 (CSV)"}, "actes/actes-2025.csv")
    assert updated["title"] == "Actes 2025 (CSV)"
    assert [c.fault for c in udata.calls("update_resource")] == ["500", "timeout", "drop", None]


def test_retries_are_bounded(udata):
    dataset = udata.add_dataset("Actes")
    udata.inject("500", method="GET", times=10)
    with pytest.raises(DataGouvUnavailable, match="after 3 attempts"):
        _client(udata).get_dataset(dataset)
    assert len(udata.calls("get_dataset")) == 3


def test_a_new_resource_upload_is_never_repeated_blindly(udata):
    """The platform may have created the resource: the caller must look before retrying."""
    dataset = udata.add_dataset("Actes")
    udata.inject("500", method="POST", apply=True)
    with pytest.raises(DataGouvAmbiguous):
        _resource(udata, _client(udata), dataset)
    assert len(udata.calls("upload_new_dataset_resource")) == 1 and len(udata.resources(dataset)) == 1


def test_a_4xx_fails_at_once_with_the_platform_message_and_the_resource_named(udata):
    if udata.catalogue is None:
        reference_missing("../shared/reference/udata schema catalogue not present: the emulator cannot refuse a schema name")
    dataset = udata.add_dataset("Délibérations")
    client = _client(udata)
    rid = _resource(udata, client, dataset)["id"]
    with pytest.raises(DataGouvRejected) as rejected:
        client.update_resource(dataset, rid, {"schema": {"name": "scdl/deliberation", "version": "2.1.5"}},
                               "deliberations/deliberations-2025.csv")
    message = str(rejected.value)
    assert "400" in message and 'Schema name "scdl/deliberation" is not an allowed value' in message
    assert "deliberations/deliberations-2025.csv" in message and rid in message and dataset in message
    assert len(udata.calls("update_resource")) == 1


def test_a_wrong_api_key_names_the_connection_and_never_shows_the_key(udata):
    dataset = udata.add_dataset("Actes")
    with pytest.raises(DataGouvAuthError) as refused:
        _resource(udata, _client(udata, key="wrong-secret-key-123"), dataset)
    assert "Airflow connection 'digor_datagouv'" in str(refused.value) and "401" in str(refused.value)
    assert "wrong-secret-key-123" not in str(refused.value)
    assert "wrong-secret-key-123" not in repr(_client(udata, key="wrong-secret-key-123"))


def test_successive_uploads_are_spaced(udata):
    dataset = udata.add_dataset("Actes")
    client = _client(udata, upload_spacing_seconds=0.3)
    for _ in range(3):
        _resource(udata, client, dataset)
    times = [c.at for c in udata.calls("upload_new_dataset_resource")]
    assert all(b - a >= 0.3 for a, b in zip(times, times[1:]))


def test_the_connection_gives_base_url_key_and_options(udata, monkeypatch):
    import json

    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DATAGOUV", json.dumps(
        {"conn_type": "http", "host": udata.base_url, "password": udata.api_key, "extra": {"max_attempts": 2}}
    ))
    client = UdataClient.from_connection("digor_datagouv")
    assert client.base_url == udata.base_url and client.options.max_attempts == 2
    assert udata.api_key not in repr(client)
