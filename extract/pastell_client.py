"""Client for the REST API v2 of Pastell, the télétransmission platform the bodies send acts with.

Only what the nightly pull needs, read-only: entities, documents of a flow (paged with
``offset``/``limit``: the list gives no total, so we page until a short page; a list of
several pages is read again until two readings agree, see ``listing``), a document's
detail (``info``, ``data``, ``last_action``) and its files. The client is polite (bounded
concurrency is the caller's, a shared rate limit is ours), retries what is worth retrying
with the one policy of ``core.http_manners`` (timeouts, broken or truncated bodies, 5xx, 429
with its ``Retry-After``), and stops at once on 401/403 with a message naming the Airflow connection. The
password or token never appears in a message, a log line or a ``repr``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests
import requests.auth

from core.config import PASTELL_CLIENT_DEFAULTS
from core.http_manners import complete_body, json_body, redact
from extract.source_client import (
    SourceClient,
    TeletransmissionOptions,
    paged,
    settled,
    source_errors,
)

API_PATH = "/api/v2"


ERRORS = source_errors(
    "Pastell", "Pastell", __name__,
    config_hint="fix the Airflow connection of Pastell (DIGOR_PASTELL_CONN_ID)",
    auth_hint="fix the login/token of the connection or the user's roles in Pastell, then rerun the night",
    docs={
        "error": "A request to Pastell failed for good (after retries when they made sense).",
        "config": "The Airflow connection is missing or cannot describe a Pastell instance.",
        "auth": "Pastell refused the credentials (401) or the rights (403): nothing else can work.",
        "not_found": "404: the entity, document or file does not exist (any more).",
        "file_missing": "400 on a file the form names: Pastell lost it (\"Ce fichier n'existe pas\"); "
                        "asking again will not help.",
    },
)
PastellError, PastellConfigError, PastellAuthError = ERRORS.error, ERRORS.config, ERRORS.auth
PastellNotFound, PastellFileMissing = ERRORS.not_found, ERRORS.file_missing


@dataclass(frozen=True)
class Listing:
    """The documents of a flow, and whether the list can have hidden one.

    ``complete`` is true when the list fit in one page, or two successive full readings of
    it agreed: then no document can have slipped between two pages unseen. ``rows`` hold
    every document any reading showed (its latest row), deleted ones included.
    """

    rows: list[dict]
    complete: bool
    readings: int


@dataclass(frozen=True)
class PastellCredentials:
    """Where Pastell is and how to authenticate; built from an Airflow connection."""

    conn_id: str
    base_url: str
    auth: str  # "basic" or "token"
    login: str = ""
    secret: str = field(default="", repr=False)
    verify: bool | str = True

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret,)

    def __repr__(self) -> str:
        return f"PastellCredentials({redact(self.base_url)!r}, connection {self.conn_id!r}, auth {self.auth!r})"

    def requests_auth(self) -> requests.auth.AuthBase:
        if self.auth == "token":
            return _BearerAuth(self.secret)
        return requests.auth.HTTPBasicAuth(self.login, self.secret)


class _BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer``; as a requests auth, a ``.netrc`` entry cannot override it."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


@dataclass(frozen=True)
class ClientOptions(TeletransmissionOptions):
    """How hard and how fast the client talks to Pastell: listings read with an overlap, the journal
    read back a little (defaults in ``core.config``)."""

    page_overlap: int = PASTELL_CLIENT_DEFAULTS["page_overlap"]
    journal_overlap_seconds: float = PASTELL_CLIENT_DEFAULTS["journal_overlap_seconds"]

    errors = ERRORS


def credentials_from_connection(conn_id: str) -> PastellCredentials:
    """Read the Pastell URL and credentials from an Airflow connection.

    ``host`` is the whole base URL, or a host name (``schema`` then gives the URL scheme,
    ``https`` by default, and ``port`` the port); see ``core.connections``. ``login`` and
    ``password`` are a Pastell user for Basic authentication; with extra ``{"auth": "token"}``
    (or no login) the password is an API token sent as ``Authorization: Bearer``. Extra
    ``verify`` (false or a CA bundle path) controls TLS verification.
    """
    from core.connections import ConnectionMissing, get_connection

    try:
        conn = get_connection(conn_id)
    except ConnectionMissing as error:
        raise PastellConfigError(f"Pastell: {error}") from None
    if not (conn.host or "").strip():
        raise PastellConfigError(f"Airflow connection {conn_id!r} has no host: set the URL of the Pastell instance")
    extra = dict(conn.extra or {})
    base_url = conn.base_url()
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise PastellConfigError(f"Airflow connection {conn_id!r}: {redact(base_url)!r} is not an http(s) URL")
    login, secret = (conn.login or "").strip(), conn.password or ""
    auth = str(extra.get("auth") or ("basic" if login else "token")).lower()
    if auth not in ("basic", "token"):
        raise PastellConfigError(f"Airflow connection {conn_id!r}: extra auth must be 'basic' or 'token'")
    if not secret or (auth == "basic" and not login):
        raise PastellConfigError(
            f"Airflow connection {conn_id!r} lacks credentials: a login and password, or a token as password"
        )
    verify = extra.get("verify", True)
    if isinstance(verify, str) and verify.lower() in ("false", "0", "no"):
        verify = False
    return PastellCredentials(conn_id, base_url, auth, login, secret, verify)


class PastellClient(SourceClient):
    """One Pastell instance seen through one Airflow connection; safe to share between threads."""

    errors = ERRORS
    read_credentials = staticmethod(credentials_from_connection)

    def __init__(self, credentials: PastellCredentials, options: ClientOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(credentials, options or ClientOptions(), sleep)

    def _configure(self, session: requests.Session) -> None:
        session.headers.update({"Accept": "application/json", "User-Agent": "digor-pastell/1"})
        session.auth = self.credentials.requests_auth()
        session.verify = self.credentials.verify

    def _refused(self, status: int, where: str, detail: str) -> PastellError:
        what = "refused the credentials" if status == 401 else "denied the rights"
        return PastellAuthError(
            f"Pastell {what} of Airflow connection {self.credentials.conn_id!r} "
            f"(HTTP {status} on {where}){': ' + detail if detail else ''}; "
            f"check the login/token and the user's roles in Pastell",
            status,
        )

    def _get(self, path: str, params: dict | None = None, *, binary: bool = False):
        """GET with the retry policy; returns parsed JSON, or ``(bytes, response headers)`` when binary."""
        def answer(response: requests.Response):
            if binary:
                return complete_body(response), response.headers
            return json_body(response)

        return self._request(self.credentials.base_url + API_PATH + path, f"GET {API_PATH}{path}", params, answer)

    def version(self) -> dict:
        return self._get("/version")

    def entities(self) -> list[dict]:
        """Entities the connection's user can read (``id_e``, ``denomination``, ``siren``…)."""
        result = self._get("/entite")
        if not isinstance(result, list):
            raise PastellError("GET /api/v2/entite: expected a list of entities")
        return result

    def journal(self, since: str) -> Iterator[dict]:
        """The journal of every entity (``id_e=0``: the user needs ``journal:lecture`` on the root
        entity, else 403) from ``since`` (``YYYY-MM-DD HH:MM:SS``, Pastell's clock) on, newest first.

        Pastell orders events by ``id_j`` descending and filters dates by day only (``date_debut``):
        pages follow by ``offset`` until a short page or one that reaches an event older than
        ``since``. An event added while we page pushes the others down (seen twice, given once),
        never makes one skipped; one added above the first page is the next reading's.
        """
        size = max(1, self.options.page_size)
        step = max(1, size - max(0, self.options.page_overlap))
        seen: set[str] = set()
        offset = 0
        while True:
            page = self._get("/journal", {"id_e": 0, "date_debut": since[:10], "offset": offset, "limit": size})
            if not isinstance(page, list):
                raise PastellError(f"GET {API_PATH}/journal: expected a list, got {type(page).__name__}")
            rows = [row for row in page if isinstance(row, dict)]
            for row in rows:
                if str(row.get("id_j")) not in seen and str(row.get("date") or "") >= since:
                    seen.add(str(row.get("id_j")))
                    yield row
            if len(page) < size or any(str(row.get("date") or "") < since for row in rows):
                return
            offset += step

    def documents(self, id_e: str, flow: str, *, changed_after: str | None = None) -> Iterator[dict]:
        """Every document of a flow of an entity, most recently changed first.

        ``changed_after`` (``YYYY-MM-DD``) is Pastell's ``last_state_begin`` filter: documents
        whose last action is after that day began. Pages follow each other by ``offset``
        until a short page. Consecutive pages overlap by ``page_overlap`` rows, so that a
        document deleted on an earlier page while we page does not make us skip one; a
        document seen twice (overlap, or it moved while we paged) is given once.
        """
        size = max(1, self.options.page_size)
        path = f"/entite/{quote(str(id_e), safe='')}/document"

        def read_page(offset: int) -> list:
            params = {"type": flow, "offset": offset, "limit": size}
            if changed_after:
                params["last_state_begin"] = changed_after
            page = self._get(path, params)
            if not isinstance(page, list):
                raise PastellError(f"GET {API_PATH}/entite/{id_e}/document: expected a list, got {type(page).__name__}")
            return page

        yield from paged(read_page, lambda row: str(row.get("id_d") or "") if isinstance(row, dict) else "",
                         size, max(1, size - max(0, self.options.page_overlap)))

    def listing(self, id_e: str, flow: str, *, changed_after: str | None = None) -> Listing:
        """``documents`` read whole until two readings agree (at most ``max_listings``).

        Offsets shift when documents are deleted between two page reads, and the overlap
        of the pages covers only so many: a list of one page is read once, a longer one
        again until a reading gives the same documents (and dates) as the one before.
        """
        rows, complete, readings = settled(
            lambda: list(self.documents(id_e, flow, changed_after=changed_after)), lambda row: str(row["id_d"]),
            lambda r: (str(r["id_d"]), str(r.get("last_action_date")), str(r.get("modification"))),
            self.options.page_size, self.options.max_listings)
        return Listing(rows, complete, readings)

    def document(self, id_e: str, id_d: str) -> dict:
        """The detail of a document: ``info``, ``data`` (the form), ``last_action``, ``action_possible``."""
        result = self._get(f"/entite/{quote(str(id_e), safe='')}/document/{quote(str(id_d), safe='')}")
        if not isinstance(result, dict) or not isinstance(result.get("data", {}), dict):
            raise PastellError(f"GET {API_PATH}/entite/{id_e}/document/{id_d}: not a document detail")
        return result

    def file(self, id_e: str, id_d: str, field_name: str, num: int) -> bytes:
        """The ``num``-th file of a file field of a document, byte for byte."""
        path = (f"/entite/{quote(str(id_e), safe='')}/document/{quote(str(id_d), safe='')}"
                f"/file/{quote(field_name, safe='')}/{int(num)}")
        try:
            content, _ = self._get(path, binary=True)
        except PastellNotFound:
            raise
        except PastellError as error:
            if error.status == 400:  # Pastell's answer for a file its form names but its disk lacks
                raise PastellFileMissing(str(error), 400) from None
            raise
        return content
