"""Client for the actes API of S²LOW, the télétransmission platform of ADULLACT/Libriciel.

S²LOW authenticates the TLS client certificate (mutual TLS), and, when several of its users
share one certificate, an HTTP Basic login too. A user sees the transactions of its own
authority (collectivité), so each body has its own connection. Only what the nightly pull
reads, from S²LOW's ``public.ssl/modules/actes``:

- ``api/list_actes.php?status_id=&offset=&limit=&min_date=&max_date=``: JSON ``{"status_id",
  "authority_id", "offset", "limit", "transactions": [{"id", "subject", "number", "date",
  "nature_descr", "classification", "type"}]}``, newest id first, no total (we page until a
  short page); ``min_date``/``max_date`` bound the day the transaction reached that status;
- ``actes_transac_get_status.php?transaction=``: text ``OK\\n<status>\\n<return message>``, or ``KO\\n<why>``;
- ``actes_transac_get_files_list.php?transaction=``: JSON list of ``{"id", "name",
  "posted_filename", "mimetype", "size", "sign", "code_pj"}`` (the ACTES message, the act, its
  annexes), or ``KO\\n<why>`` (before the acknowledgement);
- ``actes_download_file.php?file=[&tampon=true]``: a file (the act stamped by S²LOW with
  ``tampon``); a file S²LOW no longer has is a redirect, never an error status;
- ``actes_transac_get_ARActe.php?id=``: the préfecture's acknowledgement (ACTES ``ARActe``) as
  received; none is a redirect too;
- ``/admin/authorities/admin_authorities_export.php``: the collectivités of the user's group (all of
  them for a super administrator) as CSV, a header of French column names (``Nom``, ``Numéro SIREN``,
  ``Status``…) then one line each; a user who administers no group is redirected. S²LOW offers no
  other list of its collectivités with their SIREN (``api/info-connexion.php`` gives the user's own
  authority without it): the registry refresh needs a group administrator's certificate.

Manners are the Pastell client's (``core.http_manners``): one retry policy, a shared rate limit,
timeouts; a refused certificate, login or right stops at once naming the Airflow connection.
The key, its password and the login's password never appear in a message, a log line or a
``repr``; the key is read into the TLS context and its temporary copy removed at once.
"""

from __future__ import annotations

import csv
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.auth

from core.http_manners import complete_body, json_body, redact
from extract.source_client import (
    SourceClient,
    TeletransmissionOptions,
    paged,
    settled,
    source_errors,
)

ACTES = "/modules/actes"
LIST_ACTES = f"{ACTES}/api/list_actes.php"
GET_STATUS = f"{ACTES}/actes_transac_get_status.php"
GET_FILES_LIST = f"{ACTES}/actes_transac_get_files_list.php"
DOWNLOAD_FILE = f"{ACTES}/actes_download_file.php"
GET_ARACTE = f"{ACTES}/actes_transac_get_ARActe.php"
AUTHORITIES_EXPORT = "/admin/authorities/admin_authorities_export.php"
# Columns of the export (``AuthoritySQL::getColonneNameForExport``) the registry reads.
EXPORT_COLUMNS = {"name": "Nom", "siren": "Numéro SIREN", "status": "Status"}
# Where S²LOW sends a request it could not authenticate (its legacy pages redirect there).
SIGN_IN_STATUS = "connexion-status"
_AUTH_WORDS = ("authentification", "accès refusé", "acces refuse")


ERRORS = source_errors(
    "S²LOW", "S2low", __name__,
    config_hint="fix the body's S²LOW Airflow connection (its URL, client certificate and key)",
    auth_hint="check the body's certificate (not expired, enrolled in S²LOW), its login and its rights, "
              "then rerun the night",
    docs={
        "error": "A request to S²LOW failed for good (after retries when they made sense).",
        "config": "The Airflow connection is missing, or its certificate and key cannot be used.",
        "auth": "S²LOW refused the certificate, the login or the rights: nothing else can work for this body.",
        "not_found": "The transaction does not exist (any more), or has no acknowledgement.",
        "file_missing": "S²LOW lists the file but cannot give it (\"Le fichier archive n'est pas/plus disponible\").",
    },
)
S2lowError, S2lowConfigError, S2lowAuthError = ERRORS.error, ERRORS.config, ERRORS.auth
S2lowNotFound, S2lowFileMissing = ERRORS.not_found, ERRORS.file_missing


class S2lowNotYet(S2lowError):
    """The transaction is not acknowledged yet: S²LOW gives no files before that."""


@dataclass(frozen=True)
class S2lowCredentials:
    """Where S²LOW is and how to authenticate; built from an Airflow connection."""

    conn_id: str
    base_url: str
    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    key_password: str = field(default="", repr=False)
    login: str = ""
    password: str = field(default="", repr=False)
    verify: bool | str = True
    ca_pem: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return f"S2lowCredentials({redact(self.base_url)!r}, connection {self.conn_id!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.key_password) if s)

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context: S²LOW's certificate checked (or not, ``verify``), ours presented."""
        try:
            if self.verify is False:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            else:
                cafile = self.verify if isinstance(self.verify, str) else None
                context = ssl.create_default_context(cafile=cafile, cadata=self.ca_pem or None)
        except (OSError, ssl.SSLError, ValueError) as error:
            raise S2lowConfigError(f"Airflow connection {self.conn_id!r}: the CA to check S²LOW's certificate "
                                   f"cannot be read ({type(error).__name__})") from None
        # Python loads a certificate and key from files only: a private folder, removed at once.
        with tempfile.TemporaryDirectory(prefix="digor-s2low-") as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            for path, content in ((cert, self.cert_pem), (key, self.key_pem)):
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(content)
            try:
                context.load_cert_chain(cert, key, password=self.key_password or None)
            except (ssl.SSLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", None) or type(error).__name__
                raise S2lowConfigError(
                    f"Airflow connection {self.conn_id!r}: the client certificate and key cannot be loaded "
                    f"({reason}; a PEM certificate and its PEM key, and the key's password if it has one)"
                ) from None
        return context


def _pem(extra: dict, name: str, conn_id: str) -> bytes:
    """A PEM given in the extra as text (``name``) or as a file path (``name_path``)."""
    text, path = extra.get(name), extra.get(f"{name}_path")
    if text:
        return str(text).replace("\\n", "\n").encode("ascii", "replace")
    if path:
        try:
            return Path(str(path)).read_bytes()
        except OSError as error:
            raise S2lowConfigError(f"Airflow connection {conn_id!r}: {name}_path cannot be read "
                                   f"({error.strerror})") from None
    raise S2lowConfigError(f"Airflow connection {conn_id!r} lacks {name} (PEM text) or {name}_path in its extra")


def credentials_from_connection(conn_id: str) -> S2lowCredentials:
    """Read S²LOW's URL, the client certificate and key (and any login) from an Airflow connection.

    ``host`` is the base URL (``https://s2low.example.org``). Extra: ``client_cert`` and
    ``client_key`` (PEM text) or ``client_cert_path`` and ``client_key_path``; ``client_key_password``
    when the key is encrypted; ``verify`` (false, or a CA bundle path) or ``ca_cert`` (PEM text of the
    CA that signed S²LOW's certificate). ``login``/``password``, when set, are the S²LOW user of a
    certificate several users share (HTTP Basic).
    """
    from core.connections import ConnectionMissing, get_connection

    try:
        conn = get_connection(conn_id)
    except ConnectionMissing as error:
        raise S2lowConfigError(f"S²LOW: {error}") from None
    if not (conn.host or "").strip():
        raise S2lowConfigError(f"Airflow connection {conn_id!r} has no host: set the URL of the S²LOW instance")
    base_url = conn.base_url().rstrip("/")
    if urlsplit(base_url).scheme != "https":
        raise S2lowConfigError(f"Airflow connection {conn_id!r}: {redact(base_url)!r} is not an https URL "
                               "(S²LOW authenticates the client certificate over TLS)")
    extra = dict(conn.extra or {})
    verify = extra.get("verify", True)
    if isinstance(verify, str) and verify.lower() in ("false", "0", "no"):
        verify = False
    elif isinstance(verify, str) and verify.lower() in ("true", "1", "yes"):
        verify = True
    return S2lowCredentials(
        conn_id, base_url, _pem(extra, "client_cert", conn_id), _pem(extra, "client_key", conn_id),
        str(extra.get("client_key_password") or ""), (conn.login or "").strip(), conn.password or "", verify,
        str(extra.get("ca_cert") or "").replace("\\n", "\n"),
    )


@dataclass(frozen=True)
class ClientOptions(TeletransmissionOptions):
    """How hard and how fast the client talks to S²LOW (defaults in ``core.config``)."""

    errors = ERRORS


class _TlsAdapter(requests.adapters.HTTPAdapter):
    """Every connection through our TLS context (client certificate, CA): requests' own is bypassed."""

    def __init__(self, context: ssl.SSLContext):
        self._context = context
        super().__init__()

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host, _ = super().build_connection_pool_key_attributes(request, verify, cert)
        return host, {"ssl_context": self._context, "cert_reqs": self._context.verify_mode}

    def cert_verify(self, conn, url, verify, cert) -> None:
        """Nothing: requests would load its CA bundle into our shared context at every connection."""


class _Redirected(Exception):
    """S²LOW's legacy pages answer a failure with a redirect (its message goes to the session)."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


def _ko_reason(body: bytes) -> str | None:
    """The message of a legacy ``KO\\n<why>`` answer, None for any other body."""
    if not body.startswith(b"KO"):
        return None
    text = body.decode("utf-8", "replace")
    return " ".join(text.splitlines()[1:]).strip() or "KO"


# Alerts saying a handshake message could not be read (garbled on the way, seen once on loopback
# under load): a transient failure, tried again, not a refusal of the certificate.
_GARBLED_ALERTS = ("DECODE_ERROR", "BAD_RECORD_MAC", "RECORD_OVERFLOW", "UNEXPECTED_MESSAGE")


def _tls_refused(error: requests.exceptions.SSLError) -> bool:
    """A TLS failure that is a refusal (certificate, CA), not a connection cut during the handshake
    nor a garbled message."""
    text = str(error)
    if any(alert in text for alert in _GARBLED_ALERTS):
        return False
    return "EOF" not in text or "certificate" in text.lower()


def _tls_reason(error: BaseException) -> tuple[str, bool]:
    """The TLS library's own words for a failed handshake, found under requests' and urllib3's wrappers,
    and whether it is S²LOW's certificate that could not be verified."""
    found: BaseException | None = error
    for _ in range(8):
        if found is None:
            break
        if isinstance(found, ssl.SSLError):
            words = str(getattr(found, "verify_message", "") or found.reason or found)[:200]
            return words, isinstance(found, ssl.SSLCertVerificationError)
        inner = getattr(found, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in found.args if isinstance(a, BaseException)), None) or found.__context__
        found = inner
    return type(error).__name__, False


class S2lowClient(SourceClient):
    """One body's S²LOW authority seen through one Airflow connection; safe to share between threads."""

    errors = ERRORS
    read_credentials = staticmethod(credentials_from_connection)
    message_limit = 300

    def __init__(self, credentials: S2lowCredentials, options: ClientOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(credentials, options or ClientOptions(), sleep)
        self._context = credentials.ssl_context()

    def _configure(self, session: requests.Session) -> None:
        session.headers.update({"User-Agent": "digor-s2low/1"})
        session.mount("https://", _TlsAdapter(self._context))
        session.trust_env = False  # no .netrc login, no proxy: the certificate goes to S²LOW only
        if self.credentials.login:
            session.auth = requests.auth.HTTPBasicAuth(self.credentials.login, self.credentials.password)

    def _denied(self, what: str, where: str, status: int | None = None) -> S2lowError:
        return S2lowAuthError(
            f"S²LOW {what} of Airflow connection {self.credentials.conn_id!r} ({where}); "
            "check its certificate (not expired, enrolled in S²LOW), its login and the user's rights", status)

    def _refused(self, status: int, where: str, detail: str) -> S2lowError:
        return self._denied("refused the credentials" if status == 401 else "denied the rights",
                            f"HTTP {status} on {where}{': ' + detail if detail else ''}", status)

    def _connection_failed(self, error: requests.exceptions.RequestException, where: str) -> None:
        if not isinstance(error, requests.exceptions.SSLError) or not _tls_refused(error):
            return
        reason, unverified = _tls_reason(error)
        if unverified:
            raise S2lowConfigError(
                f"S²LOW's certificate could not be verified ({reason}) on {where}: set the CA of "
                f"Airflow connection {self.credentials.conn_id!r} (extra ca_cert or verify)") from None
        raise self._denied(f"refused the TLS handshake ({reason}) with the client certificate", where) from None

    def _get(self, path: str, params: dict, *, kind: str):
        """GET with the retry policy: parsed JSON (``kind="json"``) or the body's bytes; ``_Redirected``
        for a redirect that is not a refusal, ``S2lowNotFound``/``S2lowNotYet`` for a legacy ``KO``."""
        where = f"GET {path}"
        secrets = self.credentials.secrets

        def answer(response: requests.Response):
            if 300 <= response.status_code < 400:
                location = response.headers.get("Location", "")
                if SIGN_IN_STATUS in location:
                    raise self._denied("did not authenticate the certificate", f"{where} redirected to sign-in")
                raise _Redirected(redact(location, secrets))
            body = complete_body(response)
            reason = _ko_reason(body) if kind != "binary" else None
            if reason is not None:
                lowered = reason.lower()
                if any(word in lowered for word in _AUTH_WORDS):
                    raise self._denied(f"answered {reason!r}", where)
                if "acquittement" in lowered:
                    raise S2lowNotYet(f"{where}: {redact(reason, secrets)}")
                raise S2lowNotFound(f"{where}: {redact(reason, secrets)}")
            if kind == "json":
                return json_body(response)
            return body

        return self._request(self.credentials.base_url + path, where, params, answer, allow_redirects=False)

    def transactions(self, status_id: int, *, min_date: str | None = None, max_date: str | None = None
                     ) -> Iterator[dict]:
        """The authority's transactions whose status is ``status_id``, newest first, each once.

        ``min_date``/``max_date`` (``YYYY-MM-DD``) bound the day they reached that status. Pages
        follow by ``offset`` until a short one; S²LOW gives no total.
        """
        size = max(1, self.options.page_size)

        def read_page(offset: int) -> list:
            params: dict = {"status_id": status_id, "offset": offset, "limit": size}
            if min_date:
                params["min_date"] = min_date
            if max_date:
                params["max_date"] = max_date
            page = self._get(LIST_ACTES, params, kind="json")
            rows = page.get("transactions") if isinstance(page, dict) else None
            if not isinstance(rows, list):
                problem = page.get("error") if isinstance(page, dict) else type(page).__name__
                raise S2lowError(f"GET {LIST_ACTES}: expected a list of transactions ({problem})")
            return rows

        yield from paged(read_page, lambda row: str(row.get("id") or "") if isinstance(row, dict) else "", size, size)

    def listing(self, status_id: int, *, min_date: str | None = None, max_date: str | None = None
                ) -> tuple[list[dict], bool]:
        """``transactions`` read whole until two readings agree (at most ``max_listings``): every row any
        reading showed, and whether the list settled.

        A transaction moving on to another status between two page reads shifts the later pages up,
        and hides a row of the next page from a single reading; a list of one page is read once.
        """
        rows, complete, _ = settled(
            lambda: list(self.transactions(status_id, min_date=min_date, max_date=max_date)),
            lambda row: str(row["id"]), lambda row: (str(row["id"]),), self.options.page_size,
            self.options.max_listings)
        return rows, complete

    def status(self, transaction_id: str) -> tuple[int, bytes]:
        """(current status, the return message of that status) of a transaction."""
        body = self._get(GET_STATUS, {"transaction": transaction_id}, kind="text")
        lines = body.split(b"\n", 2)
        try:
            if lines[0].strip() != b"OK":
                raise ValueError
            return int(lines[1].strip()), lines[2] if len(lines) > 2 else b""
        except (ValueError, IndexError):
            raise S2lowError(f"GET {GET_STATUS}: unreadable answer ({len(body)} bytes)") from None

    def files(self, transaction_id: str) -> list[dict]:
        """The transaction's files: the ACTES message, the act, then its annexes."""
        result = self._get(GET_FILES_LIST, {"transaction": transaction_id}, kind="json")
        if not isinstance(result, list) or not all(isinstance(f, dict) and f.get("id") for f in result):
            raise S2lowError(f"GET {GET_FILES_LIST}: expected a list of files")
        return result

    def download(self, file_id: str, *, stamped: bool = False) -> bytes:
        """A file's bytes; ``stamped``: the act with S²LOW's stamp of the acknowledgement."""
        params = {"file": file_id, **({"tampon": "true"} if stamped else {})}
        try:
            return self._get(DOWNLOAD_FILE, params, kind="binary")
        except _Redirected as redirect:
            raise S2lowFileMissing(f"S²LOW cannot give file {file_id} (redirected to {redirect.location!r})") from None

    def acknowledgement(self, transaction_id: str) -> bytes:
        """The préfecture's ``ARActe`` of the transaction, as S²LOW received it."""
        try:
            body = self._get(GET_ARACTE, {"id": transaction_id}, kind="binary")
        except _Redirected:
            body = b""
        if not body.strip():
            raise S2lowNotFound(f"GET {GET_ARACTE}: transaction {transaction_id} has no acknowledgement")
        return body

    def authorities(self) -> list[dict]:
        """The collectivités the connection's user administers: ``name``, ``siren``, ``status`` (``"1"``
        active) of each line of S²LOW's export, in its order."""
        try:
            body = self._get(AUTHORITIES_EXPORT, {}, kind="text")
        except _Redirected:
            raise self._denied("redirected the list of collectivités (the user administers no group)",
                               f"GET {AUTHORITIES_EXPORT}; the registry refresh needs a group administrator's "
                               "certificate") from None
        return _export_rows(body)


def _export_rows(body: bytes) -> list[dict]:
    """The lines of the authorities export as dicts of ``EXPORT_COLUMNS``; UTF-8 or Latin-1, ``;`` or ``,``."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    lines = text.splitlines()
    header = lines[0] if lines else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    names = [name.strip() for name in rows[0]] if rows else []
    missing = [column for column in EXPORT_COLUMNS.values() if column not in names]
    if missing:
        raise S2lowError(f"GET {AUTHORITIES_EXPORT}: not the export of collectivités (no column {missing[0]!r})")
    where = {key: names.index(column) for key, column in EXPORT_COLUMNS.items()}
    return [{key: (row[index].strip() if index < len(row) else "") for key, index in where.items()}
            for row in rows[1:] if any(cell.strip() for cell in row)]
