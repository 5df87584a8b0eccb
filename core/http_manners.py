"""How digor behaves towards every HTTP service: one retry policy, one ``Retry-After`` reader.

Each client (Pastell, data.gouv.fr, the procurement platform, the SIRENE file host, the plans
de comptes) sends its own requests and says what an answer means; this module decides, the
same way for all of them, what is worth another attempt and how long to wait:

- transient: timeouts, connection errors, cut or unreadable bodies, HTTP 408, 425, 429, 500,
  502, 503 and 504; anything else is the client's to fail at once (401/403 naming the
  connection, other 4xx with the platform's message);
- waits double from ``backoff_seconds`` up to ``max_backoff_seconds``, with jitter so that
  parallel workers do not retry in step; a ``Retry-After`` (seconds or an HTTP date) replaces
  the backoff, and one longer than ``max_retry_after_seconds`` ends the retries at once:
  coming back earlier than asked would only be refused again;
- at most ``max_attempts`` attempts in all;
- sleep, clock and jitter are injected, so tests never really wait;
- what is logged or raised goes through ``redact``: no secret, no credentials in a URL;
  ``redact`` is the one function any URL goes through before it reaches a message;
- a request that cannot even be built (``InvalidURL``, a scheme that is not HTTP: the URL
  of the connection is wrong) is ``UnusableUrl``, with the URL redacted, whatever the client.

A request that is not safe to repeat is the caller's to guard (see ``never_sent``): the
data.gouv.fr client never repeats an upload that may have created a resource.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
import tenacity

from core.failures import ExpectedFailure

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_ERRORS = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
POLICY_FIELDS = ("max_attempts", "backoff_seconds", "max_backoff_seconds", "max_retry_after_seconds")

_DELAY_SECONDS = re.compile(r"^\d+(?:\.\d+)?$")
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]+@")
_SECRET_PARAMETER = re.compile(
    r"([?&][^=&#\s]*(?:token|key|secret|password|passwd|signature|credential|auth)[^=&#\s]*=)[^&#\s]*", re.I
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _jitter() -> float:
    return random.uniform(0.5, 1.0)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` fit for a log line or an error: secrets, URL credentials and secret-looking parameters masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return _SECRET_PARAMETER.sub(r"\1***", text)


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Retry-After``, ``Last-Modified``; RFC 9110) as an aware datetime; None if unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def retry_after_seconds(value: str | None, now: Callable[[], datetime] = _utc_now) -> float | None:
    """``Retry-After`` as seconds from ``now``: a number of seconds or an HTTP date; None if absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    if _DELAY_SECONDS.match(text):
        return float(text)
    when = http_date(text)
    return None if when is None else max(0.0, (when - now()).total_seconds())


class Transient(Exception):
    """One attempt failed in a way another attempt may not: what went wrong, and any ``Retry-After``."""

    def __init__(self, problem: str, retry_after: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.asked_wait: float | None = None

    @classmethod
    def of_status(cls, response: requests.Response) -> "Transient":
        return cls(f"HTTP {response.status_code}", response.headers.get("Retry-After"))


class UnusableUrl(ValueError, ExpectedFailure):
    """The request cannot be sent at all: its URL (from configuration) is malformed or not HTTP."""

    hint = "fix the URL (the host of the service's Airflow connection, or its DIGOR_* setting)"


class GaveUp(RuntimeError):
    """Transient failures outlasted the policy; the message says after how many attempts and why."""

    def __init__(self, message: str, attempts: int, problem: str):
        super().__init__(message)
        self.attempts = attempts
        self.problem = problem


def problem_of(error: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """A one-line account of a network error, without secrets."""
    return redact(f"{type(error).__name__}: {error}", secrets)[:300]


def never_sent(error: BaseException) -> bool:
    """True when the connection could not even be opened, so nothing reached the server."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if not isinstance(error, requests.ConnectionError):
        return False
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError")


def complete_body(response: requests.Response) -> bytes:
    """The body, or ``Transient`` when it is shorter or longer than its ``Content-Length`` said."""
    content = response.content
    declared = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if not encoded and declared is not None and declared.isdigit() and int(declared) != len(content):
        raise Transient(f"truncated body ({len(content)} of {declared} bytes)")
    return content


def json_body(response: requests.Response) -> Any:
    """The complete body as JSON, or ``Transient`` when it is cut or not JSON."""
    content = complete_body(response)
    try:
        return response.json()
    except ValueError:
        raise Transient(f"body is not valid JSON ({len(content)} bytes)") from None


def error_message(response: requests.Response, secrets: Iterable[str | None] = (), limit: int = 1000) -> str:
    """What the platform said about a refusal: its JSON message (and field errors), else the start of the body."""
    try:
        payload = response.json()
    except ValueError:
        text = response.text[:300].strip() or response.reason or ""
    else:
        if isinstance(payload, dict):
            keys = ("error-message", "message", "error", "erreur", "detail")
            text = next((str(payload[k]) for k in keys if payload.get(k)), "")
            if payload.get("errors"):
                text += f" {payload['errors']}"
        else:
            text = str(payload)[:300]
    return redact(text.strip(), secrets)[:limit]


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy; each client gives its own numbers (``core.config``'s ``*_DEFAULTS``)."""

    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    max_retry_after_seconds: float
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utc_now
    jitter: Callable[[], float] = _jitter

    @classmethod
    def from_options(cls, options: Any, **injected) -> "RetryPolicy":
        """The policy of a client's options (a mapping or an object with the ``POLICY_FIELDS``)."""
        read = options.__getitem__ if isinstance(options, Mapping) else lambda name: getattr(options, name)
        return cls(int(read("max_attempts")), *(float(read(name)) for name in POLICY_FIELDS[1:]), **injected)

    def backoff(self, attempt: int) -> float:
        """Wait after the ``attempt``-th failure when the server did not say how long."""
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)) * self.jitter()

    def run(self, attempt: Callable[[], T], where: str, secrets: Iterable[str | None] = ()) -> T:
        """``attempt()`` until it returns, raises anything but ``Transient``, or the policy gives up (``GaveUp``).

        ``where`` names the request in log lines and messages (``redact`` is applied with ``secrets``).
        """
        secrets = tuple(secrets)
        where = redact(where, secrets)
        attempts = max(1, self.max_attempts)

        def once() -> T:
            try:
                return attempt()
            except Transient as transient:
                transient.problem = redact(transient.problem, secrets)
                transient.asked_wait = retry_after_seconds(transient.retry_after, self.now)
                raise
            except requests.RequestException as error:  # not transient: the request could not be built
                raise UnusableUrl(f"{where}: {problem_of(error, secrets)}") from None

        def failure(state: tenacity.RetryCallState) -> Transient:
            return state.outcome.exception()  # type: ignore[union-attr, return-value]

        def asked_too_long(state: tenacity.RetryCallState) -> bool:
            asked = failure(state).asked_wait
            return asked is not None and asked > self.max_retry_after_seconds

        def wait(state: tenacity.RetryCallState) -> float:
            asked = failure(state).asked_wait
            return self.backoff(state.attempt_number) if asked is None else asked

        def announce(state: tenacity.RetryCallState) -> None:
            log.warning("%s: %s (attempt %d/%d), retrying in %.1f s", where, failure(state).problem,
                        state.attempt_number, attempts, state.upcoming_sleep)

        def give_up(state: tenacity.RetryCallState) -> T:
            last = failure(state)
            if asked_too_long(state):
                message = (f"{last.problem}, asked to wait {last.asked_wait:.0f} s "
                           f"(more than the {self.max_retry_after_seconds:g} s allowed)")
            else:
                message = f"gave up after {state.attempt_number} attempts ({last.problem})"
            log.warning("%s: %s", where, message)
            raise GaveUp(message, state.attempt_number, last.problem) from None

        retrying = tenacity.Retrying(
            stop=lambda state: state.attempt_number >= attempts or asked_too_long(state),
            wait=wait,
            retry=tenacity.retry_if_exception_type(Transient),
            sleep=self.sleep,
            before_sleep=announce,
            retry_error_callback=give_up,
        )
        return retrying(once)
