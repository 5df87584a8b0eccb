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
  retries only what is transient (``core.http_manners``, the policy of every digor client)
  and fails at once, naming the resource, on the rest;
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

import requests

from core.config import DATAGOUV_CLIENT_DEFAULTS
from core.failures import ExpectedFailure
from core.http_manners import (
    TRANSIENT_ERRORS,
    TRANSIENT_STATUS,
    GaveUp,
    RetryPolicy,
    Transient,
    error_message,
    json_body,
    never_sent,
    problem_of,
    redact,
)

log = logging.getLogger(__name__)
API_PREFIX = "/api/1"


class DataGouvError(RuntimeError, ExpectedFailure):
    """data.gouv.fr could not take a request; the message says which and why."""

    hint = "check DIGOR_DATAGOUV_DATASETS and the Airflow connection digor_datagouv, then rerun the night"


class DataGouvAuthError(DataGouvError):
    """The platform refused the API key (401/403): the message names the connection."""

    hint = "put a valid API key of the datasets' owner in the connection's password, then rerun the night"


class DataGouvRejected(DataGouvError):
    """A refusal that is not transient (4xx other than 408/425/429): retrying would give the same answer."""

    hint = "fix what data.gouv.fr says (dataset or resource ids in DIGOR_DATAGOUV_DATASETS), then rerun the night"


class DataGouvUnavailable(DataGouvError):
    """Transient failures (timeouts, connection errors, 5xx, 429) outlasted the retries."""

    hint = ("data.gouv.fr is unavailable: the object store is up to date and the next run sends data.gouv.fr "
            "what it missed (rerun sooner if a withdrawal must leave it now)")


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
    max_retry_after_seconds: float

    @classmethod
    def from_mapping(cls, values: dict | None = None) -> "ClientOptions":
        merged = {**DATAGOUV_CLIENT_DEFAULTS, **{k: v for k, v in (values or {}).items() if v is not None}}
        return cls(**{f.name: type(DATAGOUV_CLIENT_DEFAULTS[f.name])(merged[f.name]) for f in fields(cls)})


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
        self.policy = RetryPolicy.from_options(self.options, sleep=sleep)
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
        return f"UdataClient({redact(self.base_url)!r}, connection {self.conn_id!r})"

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
        """One call under the retry policy; a call that is not ``idempotent`` is never repeated
        once it may have been applied (``DataGouvAmbiguous``): the caller looks before trying again."""
        url = f"{self.base_url}{API_PREFIX}{path}"
        headers = {"X-API-KEY": self._api_key}
        timeout = (self.options.connect_timeout, self.options.read_timeout)
        secrets = (self._api_key,)

        def attempt() -> dict:
            if method != "GET":
                self._space()
            try:
                response = self.session.request(method, url, headers=headers, timeout=timeout, **kwargs)
            except TRANSIENT_ERRORS as error:
                self._wrote(method)
                problem = problem_of(error, secrets)
                if not idempotent and not never_sent(error):
                    how = "no answer in time" if isinstance(error, requests.Timeout) else "the connection failed mid-request"
                    raise DataGouvAmbiguous(f"data.gouv.fr {what}: {how} ({problem})") from None
                raise Transient(problem) from None
            self._wrote(method)
            status = response.status_code
            log.info("data.gouv.fr %s %s -> %s", method, path, status)
            if status < 300:
                if not response.content:
                    return {}
                try:
                    return json_body(response)
                except Transient as unreadable:
                    if not idempotent:
                        raise DataGouvAmbiguous(f"data.gouv.fr {what}: applied, but {unreadable.problem}") from None
                    raise
            message = error_message(response, secrets)
            if status in (401, 403):
                raise DataGouvAuthError(
                    f"data.gouv.fr at {redact(self.base_url)} refused the API key of Airflow connection "
                    f"{self.conn_id!r} ({status}: {message}) on {what}"
                )
            if status in TRANSIENT_STATUS:
                if status >= 500 and not idempotent:
                    raise DataGouvAmbiguous(f"data.gouv.fr {what}: {status} {message}")
                raise Transient(f"{status} {message}".strip(), response.headers.get("Retry-After"))
            raise DataGouvRejected(f"data.gouv.fr refused {what}: {status} {message}")

        try:
            return self.policy.run(attempt, f"data.gouv.fr {what}", secrets)
        except GaveUp as gave_up:
            raise DataGouvUnavailable(f"data.gouv.fr {what}: {gave_up}") from None

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
