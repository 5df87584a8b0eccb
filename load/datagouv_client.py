"""The udata API v1 calls digor makes to data.gouv.fr, with the platform's manners.

Endpoint (production, demo, or any udata base URL) and API key come from an Airflow
connection (host = base URL, password = API key). The key only ever travels in the
``X-API-KEY`` header: it is kept out of ``repr``, logs and every error message.

Why ``requests`` and not ``datagouv-client`` (PyPI, the platform's own wrapper, read at
0.5.1) for these calls:

- its ``Client`` only knows the www / demo / dev hosts, not an arbitrary base URL (a
  self-hosted udata, the loopback emulator the tests run against);
- its retry decorator retries every exception, 4xx included, ignores ``Retry-After`` and
  re-raises a bare ``Exception(response.text)`` that loses the status code, where digor
  must retry only what is transient and fail at once, naming the resource, on the rest;
- ``create_static`` retries upload + metadata as one unit, so a failed metadata update
  uploads the file again and leaves a second resource behind;
- it depends on niquests / urllib3-future, whose ``.pth`` hook replaces the ``urllib3``
  that requests, botocore and Airflow share in this environment.

Reading a dataset is the one call it would cover as is, and it would still bring that
dependency along, so this module makes every call itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests

from core.config import DATAGOUV_CLIENT_DEFAULTS

log = logging.getLogger(__name__)
API_PREFIX = "/api/1"


class DataGouvError(RuntimeError):
    """data.gouv.fr could not take a request; the message says which and why."""


class DataGouvAuthError(DataGouvError):
    """The platform refused the API key (401/403): the message names the connection."""


class DataGouvRejected(DataGouvError):
    """A 4xx other than 429: retrying would give the same answer."""


class DataGouvUnavailable(DataGouvError):
    """Transient failures (timeouts, connection errors, 5xx, 429) outlasted the retries."""


class DataGouvAmbiguous(DataGouvUnavailable):
    """A request that is not safe to repeat may or may not have been applied."""


@dataclass(frozen=True)
class ClientOptions:
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    upload_spacing_seconds: float

    @classmethod
    def from_mapping(cls, values: dict | None = None) -> "ClientOptions":
        merged = {**DATAGOUV_CLIENT_DEFAULTS, **{k: v for k, v in (values or {}).items() if v is not None}}
        return cls(**{f.name: type(DATAGOUV_CLIENT_DEFAULTS[f.name])(merged[f.name]) for f in fields(cls)})


def retry_after_seconds(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now()).total_seconds())


def _never_sent(error: requests.ConnectionError) -> bool:
    """True when the connection could not even be opened, so nothing reached the server."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError")


class UdataClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        conn_id: str,
        options: ClientOptions | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.conn_id = conn_id
        self.options = options or ClientOptions.from_mapping()
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": "digor (+udata API v1 client)", "Accept": "application/json"})
        self._sleep = sleep
        self._last_write = 0.0

    @classmethod
    def from_connection(cls, conn_id: str, **overrides) -> "UdataClient":
        from core.connections import get_connection

        conn = get_connection(conn_id)
        if not conn.password:
            raise DataGouvAuthError(f"Airflow connection {conn_id!r} has no API key (its password is empty)")
        options = ClientOptions.from_mapping({**conn.extra, **overrides})
        return cls(conn.base_url(), conn.password, conn_id, options)

    def __repr__(self) -> str:
        return f"UdataClient({self.base_url!r}, connection {self.conn_id!r})"

    def _hide(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _message(self, response: requests.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            return self._hide(response.text[:300].strip() or response.reason or "")
        if not isinstance(payload, dict):
            return self._hide(str(payload)[:300])
        message = str(payload.get("message") or payload.get("error") or "")
        errors = payload.get("errors")
        if errors:
            message += f" {errors}"
        return self._hide(message.strip()[:1000])

    def _backoff(self, attempt: int) -> float:
        return min(self.options.max_backoff_seconds, self.options.backoff_seconds * 2 ** (attempt - 1))

    def _space(self) -> None:
        """Successive writes are spaced (from the end of one to the start of the next):
        the platform rate-limits uploads per key."""
        wait = self._last_write + self.options.upload_spacing_seconds - time.monotonic()
        if wait > 0:
            self._sleep(wait)

    def _wrote(self, method: str) -> None:
        if method != "GET":
            self._last_write = time.monotonic()

    def _request(self, method: str, path: str, what: str, *, idempotent: bool, **kwargs) -> dict:
        url = f"{self.base_url}{API_PREFIX}{path}"
        headers = {"X-API-KEY": self._api_key}
        timeout = (self.options.connect_timeout, self.options.read_timeout)
        last = ""
        for attempt in range(1, self.options.max_attempts + 1):
            if method != "GET":
                self._space()
            try:
                response = self.session.request(method, url, headers=headers, timeout=timeout, **kwargs)
            except requests.ConnectionError as error:
                self._wrote(method)
                last = f"{type(error).__name__}: {self._hide(str(error))[:300]}"
                if not idempotent and not _never_sent(error):
                    raise DataGouvAmbiguous(f"data.gouv.fr {what}: the connection failed mid-request ({last})") from None
            except requests.Timeout as error:
                self._wrote(method)
                last = f"timeout after {self.options.read_timeout:g} s ({type(error).__name__})"
                if not idempotent:
                    raise DataGouvAmbiguous(f"data.gouv.fr {what}: no answer in time ({last})") from None
            else:
                self._wrote(method)
                status = response.status_code
                log.info("data.gouv.fr %s %s -> %s", method, path, status)
                if status < 300:
                    return response.json() if response.content else {}
                message = self._message(response)
                if status == 429:
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    wait = self._backoff(attempt) if wait is None else wait
                    if wait > self.options.max_backoff_seconds:
                        raise DataGouvUnavailable(
                            f"data.gouv.fr {what}: rate limited, asked to wait {wait:.0f} s "
                            f"(more than {self.options.max_backoff_seconds:g} s)"
                        )
                    last = f"429 Too Many Requests, waited {wait:g} s"
                    if attempt < self.options.max_attempts:
                        self._sleep(wait)
                    continue
                if status >= 500:
                    last = f"{status} {message}"
                    if not idempotent:
                        raise DataGouvAmbiguous(f"data.gouv.fr {what}: {last}")
                elif status in (401, 403):
                    raise DataGouvAuthError(
                        f"data.gouv.fr at {self.base_url} refused the API key of Airflow connection "
                        f"{self.conn_id!r} ({status}: {message}) on {what}"
                    )
                else:
                    raise DataGouvRejected(f"data.gouv.fr refused {what}: {status} {message}")
            if attempt < self.options.max_attempts:
                self._sleep(self._backoff(attempt))
        raise DataGouvUnavailable(
            f"data.gouv.fr {what}: still failing after {self.options.max_attempts} attempts ({last})"
        )

    def get_dataset(self, dataset_id: str) -> dict:
        return self._request("GET", f"/datasets/{dataset_id}/", f"read of dataset {dataset_id}", idempotent=True)

    def upload_new_resource(self, dataset_id: str, filename: str, data: bytes, mime: str, what: str) -> dict:
        """POST a file as a new resource: not safe to repeat blindly (it would duplicate)."""
        return self._request(
            "POST", f"/datasets/{dataset_id}/upload/", f"upload of {what} as a new resource of dataset {dataset_id}",
            idempotent=False, files={"file": (filename, data, mime)},
        )

    def upload_resource_file(
        self, dataset_id: str, resource_id: str, filename: str, data: bytes, mime: str, what: str
    ) -> dict:
        """Replace the file of a resource: repeating it gives the same resource."""
        return self._request(
            "POST", f"/datasets/{dataset_id}/resources/{resource_id}/upload/",
            f"upload of {what} to resource {resource_id} of dataset {dataset_id}",
            idempotent=True, files={"file": (filename, data, mime)},
        )

    def update_resource(self, dataset_id: str, resource_id: str, metadata: dict, what: str) -> dict:
        return self._request(
            "PUT", f"/datasets/{dataset_id}/resources/{resource_id}/",
            f"metadata update of {what} (resource {resource_id} of dataset {dataset_id})",
            idempotent=True, json=metadata,
        )
