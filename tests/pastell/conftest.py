"""Fixtures of the Pastell connector tests: the sample region served by the loopback emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from core.registry import load_registry
from core.store import LocalStore
from extract.pastell_client import ClientOptions, PastellClient
from extract.pastell_source import night_cutoff, pull_night
from tests.emulators.pastell import PastellEmulator, sample_emulator

REGISTRY_PATH = PROJECT_ROOT / "config" / "registry-demo.yaml"
CONN_ID = "digor_pastell"
# Small timeouts and backoffs so that faults cost milliseconds, not minutes.
FAST = {
    "requests_per_second": 0, "connect_timeout": 2.0, "read_timeout": 0.5, "backoff_seconds": 0.01,
    "max_backoff_seconds": 0.05, "max_attempts": 4, "max_workers": 4,
}


@pytest.fixture(scope="session")
def sample_drop(tmp_path_factory) -> Path:
    from samples.actes import generate_drop_folder

    drop = tmp_path_factory.mktemp("pastell-sample") / "drop"
    generate_drop_folder(drop, REGISTRY_PATH)
    return drop


@pytest.fixture
def registry():
    return load_registry(REGISTRY_PATH)


@pytest.fixture
def emulator(sample_drop):
    with sample_emulator(sample_drop, REGISTRY_PATH) as running:
        yield running


def set_connection(monkeypatch, emulator: PastellEmulator, **changes) -> dict:
    connection = {"conn_type": "http", "host": emulator.url, "login": emulator.login, "password": emulator.password}
    connection.update(changes)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the emulator is on loopback, whatever the proxies
    return connection


@pytest.fixture
def connection(monkeypatch, emulator) -> dict:
    return set_connection(monkeypatch, emulator)


@pytest.fixture
def client(connection):
    with PastellClient.from_connection(CONN_ID, ClientOptions.from_mapping(FAST)) as opened:
        yield opened


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def pull(store, registry, client, emulator, night: str, clock: str | None = "cutoff"):
    """One night's pull, Pastell's clock at the end of the night's data interval by default."""
    emulator.clock = night_cutoff(night) if clock == "cutoff" else clock
    return pull_night(store, registry, client, night, ("actes-generique", "actes-automatique"), max_workers=4)


def raw_snapshot(store, night: str | None = None) -> dict[str, bytes]:
    prefix = "raw/actes/pastell/" + (f"date={night}/" if night else "")
    return {key: store.get_bytes(key) for key in store.list_keys(prefix)}
