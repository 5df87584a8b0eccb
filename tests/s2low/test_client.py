"""The S²LOW client against the mutual-TLS emulator: paths, paging, certificates, retries."""

from __future__ import annotations

import logging
import math
import ssl

import pytest
import requests

from extract.s2low_client import (
    LIST_ACTES,
    ClientOptions,
    S2lowAuthError,
    S2lowConfigError,
    S2lowError,
    S2lowFileMissing,
    S2lowNotFound,
    _tls_refused,
    credentials_from_connection,
)
from tests.s2low.conftest import FAST, KERDIGOR, conn_id, open_client, set_connection

CONN = conn_id(KERDIGOR)


def _acknowledged(emulator):
    return sorted((t for t in emulator.visible(KERDIGOR).values() if t.status_at(None)[0] == 4),
                  key=lambda t: int(t.id), reverse=True)


def test_lists_the_authority_s_transactions_by_pages_until_a_short_page(connections, emulator):
    expected = [t.id for t in _acknowledged(emulator)]
    assert len(expected) > 12
    with open_client(CONN, page_size=5) as client:
        listed = [row["id"] for row in client.transactions(4)]
    assert listed == expected, "newest first, each once, only the certificate's authority"
    pages = emulator.calls("list")
    assert [int(c.query["offset"][0]) for c in pages] == list(range(0, 5 * len(pages), 5))
    assert all(c.query["limit"] == ["5"] and c.query["status_id"] == ["4"] for c in pages)
    assert len(pages) == math.ceil((len(expected) + 1) / 5), "stops at the first short page"
    assert {c.user for c in pages} == {KERDIGOR}


def test_min_and_max_date_bound_the_day_the_status_was_reached(client, emulator):
    rows = list(client.transactions(4, min_date="2025-03-04", max_date="2025-03-05"))
    reached = {t.id: t.status_at(None)[1] for t in emulator.visible(KERDIGOR).values()}
    assert rows and all("2025-03-04" <= reached[r["id"]] < "2025-03-05" for r in rows)
    assert emulator.calls("list")[0].query["min_date"] == ["2025-03-04"]


def test_status_files_stamped_act_and_acknowledgement_byte_for_byte(client, emulator):
    transaction = next(t for t in _acknowledged(emulator) if len(t.files) > 2 and t.files[1].stamped)
    status, flux = client.status(transaction.id)
    assert status == 4 and flux == transaction.aracte
    files = client.files(transaction.id)
    assert [f["id"] for f in files] == [f.id for f in transaction.files]
    assert files[1]["posted_filename"] == transaction.files[1].posted_filename
    for emulated in transaction.files:
        assert client.download(emulated.id) == emulated.content
    assert client.download(transaction.files[1].id, stamped=True) == transaction.files[1].stamped
    assert client.acknowledgement(transaction.id) == transaction.aracte
    with pytest.raises(S2lowNotFound, match="Numéro de transaction invalide"):
        client.status("999999")
    with pytest.raises(S2lowNotFound, match="no acknowledgement"):
        client.acknowledgement("999999")


def test_a_file_s2low_lost_is_a_missing_file_not_a_retry(client, emulator):
    transaction = _acknowledged(emulator)[0]
    emulator.inject("missing", file_id=transaction.files[1].id, times=None)
    with pytest.raises(S2lowFileMissing, match=transaction.files[1].id):
        client.download(transaction.files[1].id)
    assert len(emulator.calls("download")) == 1


def test_a_client_without_a_certificate_of_the_ca_is_refused_at_once(monkeypatch, emulator, caplog):
    set_connection(monkeypatch, emulator, KERDIGOR, user="intruder")
    caplog.set_level(logging.DEBUG)
    with open_client(CONN) as client, pytest.raises(S2lowAuthError) as failure:
        list(client.transactions(4))
    assert CONN in str(failure.value) and "refused the TLS handshake" in str(failure.value)
    assert client.requests_sent == 1, "a refused certificate is not retried"
    assert not emulator.calls(), "no request gets past the handshake"
    key = emulator.pki.clients["intruder"][1].decode()
    assert key.splitlines()[1] not in caplog.text + str(failure.value) + repr(client)


def test_a_request_without_any_certificate_never_reaches_s2low(emulator, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(emulator.pki.ca_pem)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(emulator.url + LIST_ACTES, params={"status_id": 4}, verify=str(ca), timeout=5)
    assert not emulator.calls()


def test_a_certificate_s2low_does_not_know_is_refused_naming_the_connection(monkeypatch, emulator):
    set_connection(monkeypatch, emulator, KERDIGOR, user="not-enrolled")
    with open_client(CONN) as client:
        with pytest.raises(S2lowAuthError, match=f"{CONN}.*HTTP 403"):
            list(client.transactions(4))
        with pytest.raises(S2lowAuthError, match="Échec de l'authentification"):
            client.status("4000")
    assert len(emulator.calls()) == 2


def test_a_shared_certificate_needs_its_login(monkeypatch, emulator, caplog):
    emulator.passwords[KERDIGOR] = ("kerdigor-api", "shared-cert-pass-81")
    set_connection(monkeypatch, emulator, KERDIGOR, login="kerdigor-api", password="wrong-pass-Qx7")
    caplog.set_level(logging.DEBUG)
    with open_client(CONN) as client, pytest.raises(S2lowAuthError) as failure:
        list(client.transactions(4))
    assert "wrong-pass-Qx7" not in str(failure.value) + caplog.text + repr(client) + repr(client.credentials)
    set_connection(monkeypatch, emulator, KERDIGOR, login="kerdigor-api", password="shared-cert-pass-81")
    with open_client(CONN) as client:
        assert list(client.transactions(4))


def test_an_encrypted_key_is_read_with_its_password(monkeypatch, emulator, tmp_path):
    from samples.s2low_platform import make_pki

    locked = make_pki(tmp_path / "locked", [KERDIGOR], key_password=b"key-pass-5521")
    emulator.pki.clients["locked"] = locked.clients[KERDIGOR]
    set_connection(monkeypatch, emulator, KERDIGOR, user="locked", extra={"client_key_password": "wrong-key-pass"})
    with pytest.raises(S2lowConfigError, match=f"{CONN}.*cannot be loaded") as failure:
        open_client(CONN)
    assert "wrong-key-pass" not in str(failure.value)
    set_connection(monkeypatch, emulator, KERDIGOR, user="locked", extra={"client_key_password": "key-pass-5521"})
    with open_client(CONN) as client, pytest.raises(S2lowAuthError, match="refused the TLS handshake"):
        client.status("4000")  # another CA signed it: the key was read, S²LOW refuses the certificate


def test_s2low_s_certificate_is_checked(monkeypatch, emulator):
    set_connection(monkeypatch, emulator, KERDIGOR, extra={"ca_cert": ""})  # the system's CAs do not know it
    with open_client(CONN) as client, pytest.raises(S2lowConfigError, match=f"could not be verified .*{CONN}"):
        client.status("4000")
    assert not emulator.calls()


def test_connection_problems_are_one_clear_line(monkeypatch, emulator):
    set_connection(monkeypatch, emulator, KERDIGOR, extra={"client_cert": ""})
    with pytest.raises(S2lowConfigError, match=f"{CONN}.*lacks client_cert"):
        credentials_from_connection(CONN)
    set_connection(monkeypatch, emulator, KERDIGOR, host=emulator.url.replace("https", "http"))
    with pytest.raises(S2lowConfigError, match="not an https URL"):
        credentials_from_connection(CONN)
    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN.upper()}")
    with pytest.raises(S2lowConfigError, match=CONN):
        credentials_from_connection(CONN)


@pytest.mark.parametrize(
    "fault",
    [{"kind": "error", "status": 500, "times": 2}, {"kind": "error", "status": 503, "times": 1},
     {"kind": "truncate", "times": 2}, {"kind": "slow", "delay": 1.0, "times": 1}],
    ids=["500", "503", "truncated", "timeout"],
)
@pytest.mark.parametrize("operation", ["list", "status", "files", "download", "aracte"])
def test_transient_faults_are_retried(client, emulator, fault, operation):
    transaction = _acknowledged(emulator)[0]
    paths = {"list": "list_actes", "status": "get_status", "files": "get_files_list",
             "download": r"download_file\.php\?file=" + transaction.files[1].id, "aracte": "get_ARActe"}
    emulator.inject(path=paths[operation], **fault)
    if operation == "list":
        assert transaction.id in {r["id"] for r in client.transactions(4)}
    elif operation == "status":
        assert client.status(transaction.id)[0] == 4
    elif operation == "files":
        assert len(client.files(transaction.id)) == len(transaction.files)
    elif operation == "download":
        assert client.download(transaction.files[1].id) == transaction.files[1].content
    else:
        assert client.acknowledgement(transaction.id) == transaction.aracte
    calls = emulator.calls(operation)
    assert len(calls) == fault["times"] + 1 and calls[-1].status == 200


def test_429_waits_for_retry_after(connections, emulator):
    emulator.inject("429", path="list_actes", retry_after="1", times=1)
    slept = []
    from extract.s2low_client import S2lowClient

    with S2lowClient.from_connection(CONN, ClientOptions.from_mapping(FAST), slept.append) as client:
        assert list(client.transactions(4))
    assert slept == [1.0]
    assert [c.status for c in emulator.calls()][:2] == [429, 200]


def test_gives_up_after_the_last_attempt_with_a_clear_error(client, emulator):
    emulator.inject("error", status=502, path="get_status", times=None)
    with pytest.raises(S2lowError, match=r"actes_transac_get_status\.php: gave up after 4 attempts \(HTTP 502\)"):
        client.status("4000")
    assert len(emulator.calls()) == FAST["max_attempts"]


def test_unknown_option_is_refused():
    with pytest.raises(S2lowConfigError, match="page_sise"):
        ClientOptions.from_mapping({"page_sise": 10})


def test_forbidden_fails_at_once(client, emulator):
    emulator.inject("403", path="list_actes", times=None)
    with pytest.raises(S2lowAuthError, match=f"{CONN}.*403"):
        list(client.transactions(4))
    assert len(emulator.calls("list")) == 1


def test_rate_limit_spaces_requests(connections, emulator):
    import time

    transaction = _acknowledged(emulator)[0].id
    with open_client(CONN, requests_per_second=20) as client:
        started = time.monotonic()
        for _ in range(6):
            client.status(transaction)
    assert time.monotonic() - started >= 0.24


@pytest.mark.parametrize("alert, refused", [
    ("[SSL: TLSV1_ALERT_DECODE_ERROR] tlsv1 alert decode error (_ssl.c:2580)", False),
    ("[SSL: SSLV3_ALERT_BAD_RECORD_MAC] sslv3 alert bad record mac (_ssl.c:2580)", False),
    ("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)", True),
    ("[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate (_ssl.c:2580)", True),
    ("[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)", True),
])
def test_a_garbled_handshake_is_tried_again_and_a_refused_one_is_not(alert, refused):
    """A handshake message the other side could not read (seen once on loopback under load) is a
    transient failure, tried again by the retry policy; only a refusal of the certificate skips the
    body for the night with "check its certificate"."""
    error = requests.exceptions.SSLError(requests.packages.urllib3.exceptions.SSLError(ssl.SSLError(1, alert)))
    assert _tls_refused(error) is refused
