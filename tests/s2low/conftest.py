"""Fixtures of the S²LOW connector tests: the sample region's acts served over mutual TLS on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.config import PROJECT_ROOT
from core.registry import load_registry
from core.store import LocalStore
from extract.pastell_source import night_cutoff
from extract.s2low_client import ClientOptions, S2lowClient
from extract.s2low_source import pull_night
from samples.actes import versions_from_drop_folder
from samples.s2low_platform import S2lowEmulator, make_pki, transactions_from_versions

DEMO_REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"
KERDIGOR = "212900997"
# Small timeouts and backoffs so that faults cost milliseconds, not minutes.
FAST = {
    "requests_per_second": 0, "connect_timeout": 2.0, "read_timeout": 0.5, "backoff_seconds": 0.01,
    "max_backoff_seconds": 0.05, "max_attempts": 4, "max_workers": 4,
}


def conn_id(siren: str) -> str:
    return f"digor_s2low_{siren}"


def demo_sirens() -> dict[str, str]:
    """Pastell entity -> SIREN of the demo registry's bodies."""
    bodies = yaml.safe_load(DEMO_REGISTRY.read_text(encoding="utf-8"))["bodies"]
    return {str(b["pastell_id_e"]): str(b["siren"]) for b in bodies if b.get("pastell_id_e")}


def registry_on_s2low(path: Path, sirens: set[str] | None = None, default: str | None = None) -> Path:
    """The demo registry with the bodies of ``sirens`` (all when None) on S²LOW, each with its connection."""
    document = yaml.safe_load(DEMO_REGISTRY.read_text(encoding="utf-8"))
    for body in document["bodies"]:
        if sirens is None or body["siren"] in sirens:
            body["source"] = "s2low"
            body["s2low_conn_id"] = conn_id(body["siren"])
            body.pop("pastell_id_e", None)
        elif default:
            body["source"] = default
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_drop(tmp_path_factory) -> Path:
    from samples.actes import generate_drop_folder

    drop = tmp_path_factory.mktemp("s2low-sample") / "drop"
    generate_drop_folder(drop, DEMO_REGISTRY)
    return drop


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("s2low-pki"), sorted(demo_sirens().values()) + ["not-enrolled"])


@pytest.fixture(scope="session")
def sample_versions(sample_drop):
    return versions_from_drop_folder(sample_drop)[0]


@pytest.fixture
def emulator(pki, sample_versions):
    users = {siren: siren for siren in demo_sirens().values()}
    with S2lowEmulator(pki, users, transactions_from_versions(sample_versions, demo_sirens())) as running:
        yield running


@pytest.fixture
def registry_path(tmp_path) -> Path:
    return registry_on_s2low(tmp_path / "registry-s2low.yaml")


@pytest.fixture
def registry(registry_path):
    return load_registry(registry_path)


def set_connection(monkeypatch, emulator: S2lowEmulator, siren: str, *, user: str | None = None, **changes) -> dict:
    """The Airflow connection of a body: the emulator's URL, the certificate of ``user`` (the body's by default)."""
    cert, key = emulator.pki.clients[user or siren]
    extra = {"client_cert": cert.decode(), "client_key": key.decode(), "ca_cert": emulator.pki.ca_pem.decode()}
    extra.update(changes.pop("extra", {}))
    connection = {"conn_type": "http", "host": emulator.url, **changes, "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id(siren).upper()}", json.dumps(connection))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return connection


@pytest.fixture
def connections(monkeypatch, emulator) -> None:
    for siren in demo_sirens().values():
        set_connection(monkeypatch, emulator, siren)


def open_client(conn: str, **changes) -> S2lowClient:
    return S2lowClient.from_connection(conn, ClientOptions.from_mapping({**FAST, **changes}))


@pytest.fixture
def client(connections):
    with open_client(conn_id(KERDIGOR)) as opened:
        yield opened


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def pull(store, registry, emulator, night: str, clock: str | None = "cutoff", **changes):
    """One night's pull, S²LOW's clock at the end of the night's data interval by default."""
    emulator.clock = night_cutoff(night) if clock == "cutoff" else clock
    return pull_night(store, registry, lambda conn: open_client(conn, **changes), night, default_source="drop",
                      default_conn_id="digor_s2low", max_workers=4)


def raw_snapshot(store, night: str | None = None) -> dict[str, bytes]:
    prefix = "raw/actes/s2low/" + (f"date={night}/" if night else "")
    return {key: store.get_bytes(key) for key in store.list_keys(prefix)}
