"""A password inside a URL (``http://user:pw@host``) never reaches a CLI message, a traceback or a log line.

The DECP platform's Airflow connection carries its credentials in the host URL; each case is a
way that URL can fail (refused credentials, a scheme that is not HTTP, a port out of range, no
host). What the user sees (``digor run decp``, with and without ``--verbose``) and what the
Airflow task log gets (the chain's extract step: its log records and its exception's traceback)
are checked.
"""

from __future__ import annotations

import json
import logging
import traceback

import pytest

from chains.decp import CHAIN
from core.config import Settings
from digor.cli import main
from tests.emulators.decp_platform import DecpPlatformEmulator

NIGHT = "2025-03-03"
PASSWORD = "pw-in-url-7Hq2"


@pytest.fixture
def platform():
    with DecpPlatformEmulator({NIGHT: {"a.json": b"{}"}}) as emulator:
        yield emulator


def hosts(emulator: DecpPlatformEmulator) -> dict[str, str]:
    address = emulator.base_url[len("http://"):]
    return {
        "refused": f"http://digor:{PASSWORD}@{address}",
        "not-http": f"ftp://digor:{PASSWORD}@{address}",
        "bad-port": f"http://digor:{PASSWORD}@127.0.0.1:99999/api",
        "no-host": f"http://digor:{PASSWORD}@/api",
    }


@pytest.mark.parametrize("case", ["refused", "not-http", "bad-port", "no-host"])
def test_the_cli_never_prints_a_password_from_a_url(platform, case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DECP_PLATFORM", json.dumps({"conn_type": "http", "host": hosts(platform)[case]}))
    monkeypatch.setenv("DIGOR_DECP_SOURCE", "platform")
    for verbose in ([], ["--verbose"]):
        code = main([*verbose, "run", "decp", "--date", NIGHT, "--store", str(tmp_path / "store")])
        out, err = capsys.readouterr()
        assert code == 1
        assert "error: " in err and "procurement platform" in err
        assert PASSWORD not in out + err, f"{case}: the password shows"
        assert "digor:" not in out + err, f"{case}: the user part of the URL goes too"


@pytest.mark.parametrize("case", ["refused", "not-http", "bad-port", "no-host"])
def test_the_task_log_never_gets_a_password_from_a_url(platform, case, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DECP_PLATFORM", json.dumps({"conn_type": "http", "host": hosts(platform)[case]}))
    settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "store"), decp_source="platform")
    with pytest.raises(Exception) as raised:
        CHAIN.extract(settings, NIGHT)
    task_log = caplog.text + "".join(traceback.format_exception(raised.value))
    assert PASSWORD not in task_log and "digor:" not in task_log, task_log


def test_no_repr_shows_a_password_from_a_url(monkeypatch):
    from core.connections import get_connection
    from extract.decp_platform import credentials_from_connection
    from extract.pastell_client import PastellClient
    from load.datagouv_client import UdataClient

    url = f"https://digor:{PASSWORD}@services.example/api"
    for conn_id in ("digor_decp_platform", "digor_pastell", "digor_datagouv"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}",
                           json.dumps({"conn_type": "http", "host": url, "login": "digor", "password": "other-secret"}))
    shown = [repr(get_connection("digor_pastell")), repr(credentials_from_connection("digor_decp_platform")),
             repr(PastellClient.from_connection("digor_pastell")), repr(UdataClient.from_connection("digor_datagouv"))]
    for text in shown:
        assert PASSWORD not in text and "other-secret" not in text and "services.example" in text, text
