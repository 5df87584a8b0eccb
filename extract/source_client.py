"""What the clients of the télétransmission platforms (Pastell, S²LOW) share.

Each platform's client says where its requests go, how it authenticates and what an answer
means; this module gives them the same errors (named after the platform, with the same
hints), the same options reader, the same shared rate limit, one thread-local session per
thread, and one request loop: the retry policy of ``core.http_manners``, a refusal (401/403)
stopping at once naming the Airflow connection, a 404 as ``NotFound``, other 4xx as the
platform's error. It also reads a paged list whole until two readings agree (``settled``):
neither platform gives a total, and rows moving between two page reads hide others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import ClassVar

import requests

from core.config import TELETRANSMISSION_CLIENT_DEFAULTS
from core.failures import ExpectedFailure
from core.http_manners import (
    TRANSIENT_ERRORS,
    TRANSIENT_STATUS,
    GaveUp,
    RetryPolicy,
    Transient,
    error_message,
    problem_of,
    redact,
)


class SourceError(RuntimeError, ExpectedFailure):
    """A request to a platform failed for good (after retries when they made sense)."""

    source = "the platform"

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SourceErrors:
    """The errors of one platform: ``error`` is the base of the others."""

    error: type[SourceError]
    config: type[SourceError]
    auth: type[SourceError]
    not_found: type[SourceError]
    file_missing: type[SourceError]


def source_errors(source: str, prefix: str, module: str, *, config_hint: str, auth_hint: str,
                  docs: dict[str, str]) -> SourceErrors:
    """The error classes of platform ``source`` (``prefix`` names them: ``PastellError``…), defined
    as if in ``module``; ``docs`` gives each its docstring (keys of ``SourceErrors``)."""
    def make(name: str, base: type, doc_key: str, **attributes) -> type[SourceError]:
        return type(f"{prefix}{name}", (base,), {"__module__": module, "__doc__": docs.get(doc_key), **attributes})

    error = make("Error", SourceError, "error", source=source,
                 hint=f"{source} is unavailable or answered oddly: rerun the night later")
    return SourceErrors(
        error,
        make("ConfigError", error, "config", hint=config_hint),
        make("AuthError", error, "auth", hint=auth_hint),
        make("NotFound", error, "not_found"),
        make("FileMissing", error, "file_missing"),
    )


@dataclass(frozen=True)
class TeletransmissionOptions:
    """How hard and how fast a client talks to a télétransmission platform (defaults in ``core.config``);
    a platform's client adds its own and its ``errors``."""

    errors: ClassVar[SourceErrors]

    page_size: int = TELETRANSMISSION_CLIENT_DEFAULTS["page_size"]
    max_listings: int = TELETRANSMISSION_CLIENT_DEFAULTS["max_listings"]
    max_workers: int = TELETRANSMISSION_CLIENT_DEFAULTS["max_workers"]
    requests_per_second: float = TELETRANSMISSION_CLIENT_DEFAULTS["requests_per_second"]
    connect_timeout: float = TELETRANSMISSION_CLIENT_DEFAULTS["connect_timeout"]
    read_timeout: float = TELETRANSMISSION_CLIENT_DEFAULTS["read_timeout"]
    max_attempts: int = TELETRANSMISSION_CLIENT_DEFAULTS["max_attempts"]
    backoff_seconds: float = TELETRANSMISSION_CLIENT_DEFAULTS["backoff_seconds"]
    max_backoff_seconds: float = TELETRANSMISSION_CLIENT_DEFAULTS["max_backoff_seconds"]
    max_retry_after_seconds: float = TELETRANSMISSION_CLIENT_DEFAULTS["max_retry_after_seconds"]

    @classmethod
    def from_mapping(cls, values: dict | None):
        """The options from configuration: unknown names refused, naming the known."""
        known = {f.name for f in fields(cls)}
        unknown = set(values or {}) - known
        if unknown:
            raise cls.errors.config(
                f"unknown {cls.errors.error.source} client options {sorted(unknown)}; known: {sorted(known)}")
        return cls(**(values or {}))


class RateLimiter:
    """At most ``per_second`` request starts per second, shared by every thread of a client."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second and per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class SourceClient:
    """One platform seen through one Airflow connection; safe to share between threads.

    A subclass sets ``errors``, ``read_credentials`` (conn_id -> credentials with ``conn_id``,
    ``base_url`` and ``secrets``), and says how a session authenticates (``_configure``) and
    how a refusal reads (``_refused``).
    """

    errors: SourceErrors
    read_credentials: Callable[[str], object]
    message_limit = 500  # characters of the platform's error message quoted

    def __init__(self, credentials, options, sleep: Callable[[float], None] = time.sleep):
        self.credentials = credentials
        self.options = options
        self.policy = RetryPolicy.from_options(self.options, sleep=sleep)
        self._limiter = RateLimiter(self.options.requests_per_second)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._count_lock = threading.Lock()
        self.requests_sent = 0

    @classmethod
    def from_connection(cls, conn_id: str, options=None, sleep: Callable[[float], None] = time.sleep):
        return cls(cls.read_credentials(conn_id), options, sleep)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.credentials.base_url)!r}, connection={self.credentials.conn_id!r})"

    @property
    def source(self) -> str:
        return self.errors.error.source

    def _configure(self, session: requests.Session) -> None:
        """Headers and authentication of a new session."""

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._configure(session)
            self._local.session = session
            with self._count_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._count_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _refused(self, status: int, where: str, detail: str) -> SourceError:
        """The error of a 401 (credentials) or 403 (rights): nothing else can work."""
        raise NotImplementedError

    def _connection_failed(self, error: requests.exceptions.RequestException, where: str) -> None:
        """Raise when a failed connection is a refusal rather than a transient failure."""

    def _request(self, url: str, where: str, params: dict | None, answer: Callable[[requests.Response], object],
                 **get_options):
        """GET ``url`` with the retry policy; ``answer`` reads a response below 400 (or raises ``Transient``)."""
        secrets = tuple(self.credentials.secrets)

        def attempt():
            self._limiter.wait()
            with self._count_lock:
                self.requests_sent += 1
            try:
                response = self._session().get(
                    url, params=params, timeout=(self.options.connect_timeout, self.options.read_timeout),
                    **get_options)
            except TRANSIENT_ERRORS as error:
                self._connection_failed(error, where)
                raise Transient(problem_of(error, secrets)) from None
            status = response.status_code
            if status in (401, 403):
                raise self._refused(status, where, error_message(response, secrets, limit=self.message_limit))
            if status == 404:
                raise self.errors.not_found(f"{where}: not found ({self._message(response)})", 404)
            if status in TRANSIENT_STATUS:
                raise Transient.of_status(response)
            if status >= 400:
                raise self.errors.error(f"{where}: HTTP {status} ({self._message(response)})", status)
            return answer(response)

        try:
            return self.policy.run(attempt, f"{self.source} {where}", secrets)
        except GaveUp as gave_up:
            raise self.errors.error(f"{where}: {gave_up}") from None

    def _message(self, response: requests.Response) -> str:
        return error_message(response, tuple(self.credentials.secrets), limit=self.message_limit)


def paged(read_page: Callable[[int], list], key: Callable[[object], str], size: int, step: int) -> Iterator:
    """Rows of a list read page by page (``read_page(offset)``) until a short page, each key once."""
    seen: set[str] = set()
    offset = 0
    while True:
        page = read_page(offset)
        for row in page:
            row_key = key(row)
            if row_key and row_key not in seen:
                seen.add(row_key)
                yield row
        if len(page) < size:
            return
        offset += step


def settled(read: Callable[[], list[dict]], key: Callable[[dict], str], signature: Callable[[dict], Iterable],
            page_size: int, max_listings: int) -> tuple[list[dict], bool, int]:
    """A list read whole until two readings agree (at most ``max_listings``): every row any reading
    showed (its latest), whether the list settled, and how many readings it took.

    A list of one page is read once; a longer one again until a reading gives the same rows
    (same ``signature``) as the one before.
    """
    rows: dict[str, dict] = {}
    previous = None
    readings = max(1, max_listings)
    for reading in range(1, readings + 1):
        current = read()
        rows.update((key(row), row) for row in current)
        seen = sorted(tuple(signature(row)) for row in current)
        if len(current) < max(1, page_size) or seen == previous:
            return list(rows.values()), True, reading
        previous = seen
    return list(rows.values()), False, readings
