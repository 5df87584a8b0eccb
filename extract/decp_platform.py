"""Source ``platform``: the procurement platform's listing of DECP export files, over HTTP.

The platform publishes, per day, the export files of the données essentielles it holds
(2022 format, JSON or XML; 2019 format for the history). Its listing contract:

- ``GET <base>/exports?date=YYYY-MM-DD`` returns
  ``{"items": [{"name", "url", "size", "sha256"}, ...], "next": <url or null>}``; ``next``
  pages through long listings; ``url`` may be relative to the base URL;
- ``GET <url>`` returns the file's bytes.

Base URL and credentials come from the Airflow connection ``DIGOR_DECP_CONN_ID``
(``digor_decp_platform``; see ``core.connections``): ``host`` is the base URL (or a host
name, ``schema`` the scheme); ``login`` + ``password`` are sent as HTTP Basic, a password
without login as a Bearer token. Files are only fetched from the base URL's origin, so the
credentials never leave for another host. Transient failures (connection, cut bodies, 429,
5xx) are retried with the one policy of ``core.http_manners`` (settings in
``core.config.DECP_CLIENT_DEFAULTS``); 401/403 stop at once naming the connection; a file
whose size or SHA-256 differs from the listing is refused.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

from core.config import DECP_CLIENT_DEFAULTS, DECP_CONN_ID
from core.failures import ExpectedFailure
from core.http_manners import (
    TRANSIENT_ERRORS,
    TRANSIENT_STATUS,
    GaveUp,
    RetryPolicy,
    Transient,
    complete_body,
    error_message,
    problem_of,
    redact,
)
from core.jsonio import JsonTooDeep, load_json
from core.store import ObjectStore
from extract.decp_drop import ExtractedFile, store_raw

SOURCE = "platform"


class PlatformError(RuntimeError, ExpectedFailure):
    hint = "the procurement platform is unavailable or answered oddly: rerun the night later"


class PlatformConfigError(PlatformError):
    hint = "fix the Airflow connection of the procurement platform (DIGOR_DECP_CONN_ID)"


@dataclass(frozen=True)
class PlatformCredentials:
    base_url: str
    login: str | None
    secret: str | None = field(repr=False)
    conn_id: str = DECP_CONN_ID

    def __repr__(self) -> str:
        return f"PlatformCredentials({redact(self.base_url)!r}, connection {self.conn_id!r})"

    def auth(self):
        return (self.login, self.secret or "") if self.login else None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"} if self.secret and not self.login else {}


@dataclass(frozen=True)
class ExportEntry:
    name: str
    url: str
    size: int | None
    sha256: str | None


def credentials_from_connection(conn_id: str) -> PlatformCredentials:
    from core.connections import ConnectionMissing, get_connection

    try:
        conn = get_connection(conn_id)
    except ConnectionMissing as error:
        raise PlatformConfigError(f"procurement platform: {error}") from None
    try:
        base_url = conn.base_url()
    except ValueError as error:
        raise PlatformConfigError(f"procurement platform: {error}") from None
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise PlatformConfigError(f"Airflow connection {conn_id!r}: {redact(base_url)!r} is not an http(s) URL")
    return PlatformCredentials(base_url.rstrip("/") + "/", (conn.login or "").strip() or None, conn.password or None,
                               conn_id)


class PlatformClient:
    """The listing and its files; ``options`` override ``DECP_CLIENT_DEFAULTS`` (timeouts, retries)."""

    def __init__(self, credentials: PlatformCredentials, *, sleep: Callable[[float], None] = time.sleep, **options):
        unknown = set(options) - set(DECP_CLIENT_DEFAULTS)
        if unknown:
            raise PlatformConfigError(f"unknown platform client options {sorted(unknown)}; known: {sorted(DECP_CLIENT_DEFAULTS)}")
        self.credentials = credentials
        self.options = {**DECP_CLIENT_DEFAULTS, **options}
        self.policy = RetryPolicy.from_options(self.options, sleep=sleep)
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "digor-decp/1.0", **credentials.headers()})
        self.session.auth = credentials.auth()

    def __repr__(self) -> str:
        return f"PlatformClient({redact(self.credentials.base_url)!r})"

    def close(self) -> None:
        self.session.close()

    def _same_origin(self, url: str) -> str:
        absolute = urljoin(self.credentials.base_url, url)
        base, target = urlsplit(self.credentials.base_url), urlsplit(absolute)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise PlatformError(f"the listing points outside the platform ({target.scheme}://{target.hostname}): refused")
        return absolute

    def _get(self, url: str, params: dict | None = None) -> requests.Response:
        url = self._same_origin(url)
        secrets = (self.credentials.secret,)
        where = redact(f"GET {url}", secrets)
        timeout = (self.options["connect_timeout"], self.options["read_timeout"])

        def attempt() -> requests.Response:
            try:
                response = self.session.get(url, params=params, timeout=timeout, allow_redirects=False)
            except TRANSIENT_ERRORS as error:
                raise Transient(problem_of(error, secrets)) from None
            status = response.status_code
            if status in (401, 403):
                raise PlatformConfigError(
                    f"the procurement platform refused the credentials of Airflow connection "
                    f"{self.credentials.conn_id!r} (HTTP {status} on {where}): {error_message(response, secrets, 300)}"
                )
            if status in TRANSIENT_STATUS:
                raise Transient.of_status(response)
            if status != 200:
                raise PlatformError(f"platform answered {status} for {where}: {error_message(response, secrets, 300)}")
            complete_body(response)
            return response

        try:
            return self.policy.run(attempt, f"procurement platform {where}", secrets)
        except GaveUp as gave_up:
            raise PlatformError(f"procurement platform {where}: {gave_up}") from None

    def list_exports(self, night: str) -> list[ExportEntry]:
        entries, url, params, seen = [], "exports", {"date": night}, set()
        while url:
            if url in seen:
                raise PlatformError(f"the listing pages loop at {url}")
            seen.add(url)
            body = self._get(url, params).content
            try:
                page = load_json(body)
            except JsonTooDeep as error:
                raise PlatformError(f"the listing at {url} is refused: {error}") from None
            except ValueError:
                raise PlatformError(f"the listing at {url} is not JSON") from None
            if not isinstance(page, dict):
                raise PlatformError(f"the listing at {url} is not a JSON object")
            for item in page.get("items") or []:
                if not isinstance(item, dict) or not item.get("name") or not item.get("url"):
                    raise PlatformError(f"listing item without name or url: {item!r}")
                size = item.get("size")
                entries.append(ExportEntry(str(item["name"]), str(item["url"]), int(size) if size is not None else None,
                                           (item.get("sha256") or None)))
            url, params = page.get("next"), None
        return entries

    def download(self, entry: ExportEntry) -> bytes:
        data = self._get(entry.url).content
        if entry.size is not None and len(data) != entry.size:
            raise PlatformError(f"{entry.name}: {len(data)} bytes received, the listing announced {entry.size}")
        if entry.sha256 and hashlib.sha256(data).hexdigest() != entry.sha256.lower():
            raise PlatformError(f"{entry.name}: SHA-256 differs from the listing's")
        return data


def extract_night(store: ObjectStore, client: PlatformClient, night: str) -> list[ExtractedFile]:
    """Fetch every export the platform lists for ``night`` into ``raw/decp/platform/date=<night>/``."""
    return [store_raw(store, SOURCE, night, entry.name, client.download(entry)) for entry in client.list_exports(night)]
