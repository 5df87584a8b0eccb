"""The Pastell API v2 client against the loopback emulator: paths, paging, auth, retries."""

from __future__ import annotations

import logging
import math
import time

import pytest

from extract.pastell_client import (
    ClientOptions,
    PastellAuthError,
    PastellClient,
    PastellConfigError,
    PastellError,
    PastellNotFound,
    credentials_from_connection,
)
from tests.pastell.conftest import CONN_ID, FAST, set_connection

KERDIGOR = "101"


def _client(sleep=time.sleep, **changes) -> PastellClient:
    return PastellClient.from_connection(CONN_ID, ClientOptions.from_mapping({**FAST, **changes}), sleep)


def test_lists_entities_with_their_siren(client, emulator):
    entities = {e["id_e"]: e for e in client.entities()}
    assert entities[KERDIGOR]["siren"] == "212900997"
    assert [c.path for c in emulator.calls()] == ["/api/v2/entite"]


def test_pages_documents_by_offset_until_a_short_page(connection, emulator):
    expected = {v.id_d for v in emulator.visible(KERDIGOR).values() if v.type == "actes-generique"}
    assert len(expected) > 12
    with _client(page_size=5, page_overlap=2) as client:
        listed = [row["id_d"] for row in client.documents(KERDIGOR, "actes-generique")]
    assert sorted(listed) == sorted(expected), "every document once, none twice"
    pages = emulator.calls("list")
    offsets = [int(c.query["offset"][0]) for c in pages]
    assert offsets == list(range(0, 3 * len(offsets), 3)), "pages overlap by two rows"
    assert all(c.query["limit"] == ["5"] and c.query["type"] == ["actes-generique"] for c in pages)
    assert len(pages) == max(1, math.ceil((len(expected) - 2) / 3)), "stops at the first short page"


def test_a_document_deleted_while_paging_does_not_hide_another(connection, emulator):
    rows = sorted(emulator.visible(KERDIGOR).values(), key=lambda v: (v.stamp, v.id_d), reverse=True)
    with _client(page_size=5, page_overlap=2) as client:
        listing = client.documents(KERDIGOR, "actes-generique")
        first = [next(listing)["id_d"] for _ in range(5)]
        emulator.deleted.add(rows[0].id_d)  # the list shifts up by one under our feet
        rest = [row["id_d"] for row in listing]
    assert set(first) | set(rest) == {v.id_d for v in rows if v.type == "actes-generique"}


def test_changed_after_is_pastell_last_state_begin(client, emulator):
    emulator.clock = None
    rows = list(client.documents(KERDIGOR, "actes-generique", changed_after="2025-03-04"))
    assert rows and all(r["last_action_date"] > "2025-03-04 00:00:00" for r in rows)
    assert emulator.calls("list")[0].query["last_state_begin"] == ["2025-03-04"]


def test_detail_and_files_byte_for_byte(client, emulator):
    version = next(v for v in emulator.visible(KERDIGOR).values() if v.data.get("autre_document_attache"))
    detail = client.document(KERDIGOR, version.id_d)
    assert set(detail) >= {"info", "data", "last_action", "action_possible"}
    assert detail["info"]["id_d"] == version.id_d and detail["data"] == version.data
    for field_name in ("arrete", "autre_document_attache", "aractes"):
        for num, name in enumerate(version.data[field_name]):
            assert client.file(KERDIGOR, version.id_d, field_name, num) == version.files[name]
    with pytest.raises(PastellNotFound):
        client.document(KERDIGOR, "absent0")
    with pytest.raises(PastellNotFound):
        client.file(KERDIGOR, version.id_d, "arrete", 7)


def test_token_authentication(monkeypatch, emulator):
    set_connection(monkeypatch, emulator, login="", password=emulator.token, extra={"auth": "token"})
    with _client() as client:
        assert client.credentials.auth == "token"
        assert client.entities()


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_wrong_credentials_fail_at_once_naming_the_connection(monkeypatch, emulator, caplog, auth):
    secret = "wrong-secret-Zq81xK"
    changes = {"password": secret} if auth == "basic" else {"login": "", "password": secret, "extra": {"auth": "token"}}
    set_connection(monkeypatch, emulator, **changes)
    caplog.set_level(logging.DEBUG)
    with _client() as client, pytest.raises(PastellAuthError) as failure:
        client.entities()
    message = str(failure.value)
    assert CONN_ID in message and "401" in message
    assert secret not in message and secret not in repr(failure.value) and secret not in repr(client)
    assert secret not in caplog.text
    assert len(emulator.calls()) == 1, "a refused credential is not retried"


def test_forbidden_fails_at_once(client, emulator):
    emulator.inject("403", path="/document$", times=None)
    with pytest.raises(PastellAuthError, match=f"{CONN_ID}.*403"):
        list(client.documents(KERDIGOR, "actes-generique"))
    assert len(emulator.calls("list")) == 1


def test_missing_connection_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)
    with pytest.raises(PastellConfigError, match="digor_pastell_absent"):
        credentials_from_connection("digor_pastell_absent")


def test_connection_with_host_and_scheme(monkeypatch, emulator):
    host, port = emulator.server.server_address[:2]
    set_connection(monkeypatch, emulator, host=host, port=port, schema="http")
    credentials = credentials_from_connection(CONN_ID)
    assert credentials.base_url == emulator.url and "password" not in repr(credentials)
    assert emulator.password not in repr(credentials)


@pytest.mark.parametrize(
    "fault, options",
    [
        ({"kind": "error", "status": 500, "times": 2}, {}),
        ({"kind": "error", "status": 503, "times": 1}, {}),
        ({"kind": "truncate", "times": 2}, {}),
        ({"kind": "slow", "delay": 1.0, "times": 1}, {}),
    ],
    ids=["500", "503", "truncated", "timeout"],
)
@pytest.mark.parametrize("operation", ["list", "detail", "file"])
def test_transient_faults_are_retried(client, emulator, fault, options, operation):
    version = next(iter(emulator.visible(KERDIGOR).values()))
    paths = {"list": r"/document$", "detail": rf"/document/{version.id_d}$", "file": r"/file/arrete/0$"}
    emulator.inject(path=paths[operation], **fault)
    if operation == "list":
        assert version.id_d in {r["id_d"] for r in client.documents(KERDIGOR, version.type)}
    elif operation == "detail":
        assert client.document(KERDIGOR, version.id_d)["info"]["id_d"] == version.id_d
    else:
        assert client.file(KERDIGOR, version.id_d, "arrete", 0) == version.files[version.data["arrete"][0]]
    calls = [c for c in emulator.calls(operation)]
    assert len(calls) == fault["times"] + 1 and calls[-1].status == 200


def test_429_waits_for_retry_after(connection, emulator):
    emulator.inject("429", path="/entite$", retry_after="1", times=1)
    slept = []
    with _client(sleep=slept.append) as client:
        assert client.entities()
    assert slept == [1.0], "Retry-After is honoured, not the short backoff"
    assert [c.status for c in emulator.calls()] == [429, 200]


def test_gives_up_after_the_last_attempt_with_a_clear_error(client, emulator):
    emulator.inject("error", status=502, path="/entite$", times=None)
    with pytest.raises(PastellError, match=r"GET /api/v2/entite: gave up after 4 attempts \(HTTP 502\)"):
        client.entities()
    assert len(emulator.calls()) == FAST["max_attempts"]


def test_rate_limit_spaces_requests(connection, emulator):
    with _client(requests_per_second=20) as client:
        started = time.monotonic()
        for _ in range(6):
            client.version()
    assert time.monotonic() - started >= 0.24


def test_unknown_option_is_refused():
    with pytest.raises(PastellConfigError, match="page_sise"):
        ClientOptions.from_mapping({"page_sise": 10})
