"""The one retry policy of every HTTP client: what it retries, how long it waits, what it logs."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from core.http_manners import (
    GaveUp,
    RetryPolicy,
    Transient,
    http_date,
    never_sent,
    redact,
    retry_after_seconds,
)

NOW = datetime(2025, 3, 4, 12, tzinfo=timezone.utc)


def _policy(slept: list, **changes) -> RetryPolicy:
    values = dict(max_attempts=4, backoff_seconds=1.0, max_backoff_seconds=3.0, max_retry_after_seconds=60.0)
    return RetryPolicy(**{**values, **changes}, sleep=slept.append, now=lambda: NOW, jitter=lambda: 1.0)


def _failing(*failures):
    """An attempt that raises each of ``failures`` in turn, then returns "ok"; counts its calls."""
    calls = []

    def attempt():
        calls.append(len(calls))
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    return attempt, calls


@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0), (" 120 ", 120.0), ("1.5", 1.5), ("0", 0.0),
    (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
    ("Tue, 04 Mar 2025 12:00:45 GMT", 45.0),
    (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),  # a date already past: no wait
    (None, None), ("", None), ("soon", None), ("-3", None), ("nan", None),
])
def test_retry_after_in_seconds_or_as_an_http_date(value, seconds):
    assert retry_after_seconds(value, lambda: NOW) == seconds


def test_http_dates_are_aware_and_garbage_is_none():
    assert http_date("Sat, 01 Mar 2025 06:00:00 GMT") == datetime(2025, 3, 1, 6, tzinfo=timezone.utc)
    assert http_date("yesterday") is None and http_date(None) is None


def test_backoff_doubles_up_to_its_bound_and_attempts_are_bounded():
    slept = []
    attempt, calls = _failing(*[Transient("HTTP 503")] * 10)
    with pytest.raises(GaveUp, match=r"gave up after 4 attempts \(HTTP 503\)") as gave_up:
        _policy(slept).run(attempt, "GET /x")
    assert len(calls) == 4 and gave_up.value.attempts == 4
    assert slept == [1.0, 2.0, 3.0], "1, 2, then capped at 3; no sleep after the last attempt"


def test_jitter_shortens_waits_so_workers_do_not_retry_in_step():
    slept = []
    attempt, _ = _failing(Transient("HTTP 500"), Transient("HTTP 500"))
    policy = dataclasses.replace(_policy(slept), jitter=lambda: 0.5)
    assert policy.run(attempt, "GET /x") == "ok"
    assert slept == [0.5, 1.0]


def test_retry_after_replaces_the_backoff():
    slept = []
    attempt, calls = _failing(Transient("HTTP 429", "30"), Transient("HTTP 503", "Tue, 04 Mar 2025 12:00:10 GMT"))
    assert _policy(slept).run(attempt, "GET /x") == "ok"
    assert slept == [30.0, 10.0] and len(calls) == 3


def test_a_retry_after_beyond_the_bound_gives_up_at_once_rather_than_sleeping():
    slept = []
    attempt, calls = _failing(Transient("HTTP 429", "3600"))
    with pytest.raises(GaveUp, match=r"HTTP 429, asked to wait 3600 s \(more than the 60 s allowed\)"):
        _policy(slept).run(attempt, "GET /x")
    assert slept == [] and len(calls) == 1


def test_what_is_not_transient_fails_at_once_as_it_was_raised():
    slept = []
    attempt, calls = _failing(PermissionError("401"))
    with pytest.raises(PermissionError):
        _policy(slept).run(attempt, "GET /x")
    assert len(calls) == 1 and slept == []


def test_the_default_clock_is_never_used_when_one_is_injected(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _: pytest.fail("a test slept for real"))
    slept = []
    attempt, _ = _failing(*[Transient("timeout")] * 3)
    assert _policy(slept, backoff_seconds=100.0, max_backoff_seconds=400.0).run(attempt, "GET /x") == "ok"
    assert slept == [100.0, 200.0, 400.0]


def test_a_secret_never_reaches_a_log_line_or_the_error(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Zq81xK-secret"
    problem = f"ConnectionError: http://digor:{secret}@host/x?api_key={secret}&date=2025 refused with {secret}"
    attempt, _ = _failing(*[Transient(problem)] * 3)
    with pytest.raises(GaveUp) as gave_up:
        _policy([], max_attempts=3).run(attempt, f"GET http://digor:{secret}@host/x?token={secret}", [secret])
    assert caplog.records and "retrying in 1.0 s" in caplog.text
    assert secret not in caplog.text and secret not in str(gave_up.value)
    assert "digor:" not in caplog.text, "the user part of the URL goes too"


def test_redact_masks_credentials_in_urls_and_secret_parameters():
    assert redact("GET https://user:pw@h.example/p?date=1&access_token=abc#f") == (
        "GET https://***@h.example/p?date=1&access_token=***#f"
    )
    assert redact("X-Amz-Signature: ?X-Amz-Signature=deadbeef&x=1") == "X-Amz-Signature: ?X-Amz-Signature=***&x=1"
    assert redact("key k3y in text", ["k3y"]) == "key *** in text"
    assert redact("https://h.example/a@b") == "https://h.example/a@b", "an @ in the path is no credential"


def test_a_connection_never_opened_is_told_apart_from_one_cut_mid_request():
    assert never_sent(requests.ConnectTimeout())
    assert not never_sent(requests.ReadTimeout())
    assert not never_sent(requests.ConnectionError("Connection aborted."))


# The policy inside real clients, faults injected in the loopback emulators.


def test_udata_honours_a_retry_after_given_as_an_http_date(udata):
    from load.datagouv_client import ClientOptions, UdataClient

    dataset = udata.add_dataset("Actes")
    udata.inject("429", method="GET", retry_after=format_datetime(NOW + timedelta(seconds=42), usegmt=True))
    slept = []
    client = UdataClient(udata.base_url, udata.api_key, "digor_datagouv",
                         ClientOptions.from_mapping({"upload_spacing_seconds": 0}), sleep=slept.append)
    client.policy = dataclasses.replace(client.policy, now=lambda: NOW)
    assert client.get_dataset(dataset)["id"] == dataset
    assert slept == [42.0] and [c.status for c in udata.calls("get_dataset")] == [429, 200]


def test_credentials_in_the_platform_url_stay_out_of_retry_logs(caplog):
    from extract.decp_platform import PlatformClient, PlatformCredentials
    from tests.emulators.decp_platform import DecpPlatformEmulator

    caplog.set_level(logging.DEBUG)
    with DecpPlatformEmulator({"2024-10-06": {"a.json": b"{}"}}, fail_first=2) as emulator:
        url = emulator.base_url.replace("http://", f"http://digor:{emulator.password}@") + "/"
        slept = []
        client = PlatformClient(PlatformCredentials(url, None, None), sleep=slept.append, backoff_seconds=0.5)
        client.policy = dataclasses.replace(client.policy, jitter=lambda: 1.0)
        assert [e.name for e in client.list_exports("2024-10-06")] == ["a.json"]
    assert slept == [0.5, 1.0]
    assert "retrying" in caplog.text and "HTTP 503" in caplog.text
    assert emulator.password not in caplog.text and "digor:" not in caplog.text


def test_the_platform_gives_up_after_its_attempts_with_the_url_redacted():
    from extract.decp_platform import PlatformClient, PlatformCredentials, PlatformError
    from tests.emulators.decp_platform import DecpPlatformEmulator

    with DecpPlatformEmulator({}, fail_first=10) as emulator:
        slept = []
        client = PlatformClient(PlatformCredentials(emulator.base_url + "/", "digor", emulator.password),
                                sleep=slept.append, max_attempts=3)
        with pytest.raises(PlatformError, match=r"gave up after 3 attempts \(HTTP 503\)"):
            client.list_exports("2024-10-06")
    assert len(emulator.requests) == 3 and len(slept) == 2
