"""The registry from S²LOW: its collectivités (a group administrator's export) checked against SIRENE."""

from __future__ import annotations

import json

import pytest
import yaml

from chains import sirene as sirene_chain
from core.config import Settings
from core.registry import body_registry
from digor.cli import main as digor
from samples.actes import UNKNOWN_SIREN
from samples.s2low_platform import S2lowEmulator, make_pki
from tests.s2low.conftest import FAST, KERDIGOR
from tests.sirene.conftest import file_host, sirene_settings  # noqa: F401  (fixtures)

ADMIN = "group-admin"
OFF = "212900989"  # its override in the file turns its open-data switch off


@pytest.fixture
def admin_emulator(tmp_path_factory):
    pki = make_pki(tmp_path_factory.mktemp("s2low-admin-pki"), [ADMIN, KERDIGOR])
    with S2lowEmulator(pki, {ADMIN: KERDIGOR, KERDIGOR: KERDIGOR}) as running:
        running.admins = {ADMIN}
        running.authorities = [{"name": "Kerdigor", "siren": KERDIGOR}, {"name": "Digor-Plage", "siren": OFF},
                               {"name": "Commune inconnue", "siren": UNKNOWN_SIREN},
                               {"name": "Service commun", "siren": ""},
                               {"name": "Ancienne commune", "siren": "252909999", "status": "0"}]
        yield running


def _connect(monkeypatch, emulator, user: str) -> None:
    cert, key = emulator.pki.clients[user]
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S2LOW", json.dumps({
        "conn_type": "http", "host": emulator.url,
        "extra": {"client_cert": cert.decode(), "client_key": key.decode(), "ca_cert": emulator.pki.ca_pem.decode()}}))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def s2low_settings(tmp_path, monkeypatch, sirene_settings, admin_emulator):  # noqa: F811
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump({
        "region": {"name": "Région S²LOW", "publisher": "Syndicat numérique de démonstration"},
        "overrides": [{"siren": OFF, "open_data": False}],
    }, allow_unicode=True), encoding="utf-8")
    _connect(monkeypatch, admin_emulator, ADMIN)
    for name, value in {"DIGOR_REGISTRY": str(registry), "DIGOR_REGISTRY_SOURCE": "s2low",
                        "DIGOR_S2LOW_CLIENT": json.dumps({k: v for k, v in FAST.items() if k != "max_workers"})
                        }.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def test_bodies_come_from_s2low_s_collectivites_checked_against_sirene(s2low_settings, admin_emulator, capsys):
    settings = s2low_settings
    assert digor(["registry", "refresh"]) == 0
    assert "0 bodies from 5 entities" in capsys.readouterr().out, "none before the register knows them"
    sirene_chain.run_month(settings, "2025-03")
    assert digor(["registry", "refresh"]) == 0
    out = capsys.readouterr()
    assert "2 bodies from 5 entities, 2 added" in out.out
    assert f"error: SIREN {UNKNOWN_SIREN} (Commune inconnue) is unknown to the SIRENE register" in out.err
    assert "(Service commun) has no SIREN" in out.err
    assert "is not active in the télétransmission" in out.err
    assert admin_emulator.calls("authorities")

    registry = body_registry(settings)
    bodies = {body.siren: body for body in registry.bodies}
    assert set(bodies) == {KERDIGOR, OFF}
    assert bodies[KERDIGOR].name == "COMMUNE DE KERDIGOR", "the register's name, not S²LOW's"
    assert bodies[KERDIGOR].s2low_conn_id == f"digor_s2low_{KERDIGOR}", "each reads its acts through its own certificate"
    assert "s2low" in registry.sources("drop") and not bodies[OFF].open_data, "the file's override applies"


def test_a_certificate_that_administers_no_group_is_one_clear_line(s2low_settings, admin_emulator, monkeypatch,
                                                                    capsys):
    _connect(monkeypatch, admin_emulator, KERDIGOR)
    assert digor(["registry", "refresh"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "administers no group" in err[0] and "'digor_s2low'" in err[0]
    assert "Traceback" not in "\n".join(err)
