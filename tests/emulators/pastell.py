"""A loopback emulator of the Pastell REST API v2 endpoints digor's connector reads.

Built from Pastell's documented API (v2, as described for Pastell 4.1 and as its
``DocumentAPIController`` answers): the same paths, query parameters, status codes and JSON
shapes for

- ``GET /api/v2/version``
- ``GET /api/v2/entite``                                            entities the user can read
- ``GET /api/v2/entite/{id_e}/document?type=&offset=&limit=&last_state_begin=&last_state_end=``
  flat rows, most recent ``last_action_date`` first, no total (the client pages until a short page)
- ``GET /api/v2/entite/{id_e}/document/{id_d}``                    detail: ``info``, ``data``,
  ``action_possible``, ``action-possible``, ``last_action``
- ``GET /api/v2/entite/{id_e}/document/{id_d}/file/{field}/{num}``  the file, as an attachment; as
  Pastell's ``DocumentAPIController::getFichier``: 404 "Ce fichier n'existe pas" when the form
  names no file at ``num``, 400 with the same message when it names one Pastell does not have
  (and, as Pastell, a journal event "Consulté" of type 7)
- ``GET /api/v2/journal?id_e=&type=&id_d=&date_debut=&date_fin=&offset=&limit=``  as Pastell's
  ``JournalAPIController`` and ``Journal::getQueryAll``: events newest first (``id_j`` descending),
  ``id_e=0`` (the default) every entity's, which needs ``journal:lecture`` on the root entity (403
  otherwise: ``journal_root = False``), ``type`` the document type, dates compared by day
  (``DATE(date)``), ``limit`` 100 by default, no total. Each document version is one event of type
  1 (an action on a document) with its action and date; ``id_j`` follows the order events were added
  (a version added later gets a larger one whatever its date: an event committed late)

Authentication is HTTP Basic (login, password) or ``Authorization: Bearer <token>``; a
failure is a 401 with ``WWW-Authenticate: Basic realm="API Pastell"``. Errors have Pastell's
shape ``{"status": "error", "error-message": ...}``.

Time: documents have versions stamped with Pastell's local dates; the emulator shows, for
each document, its latest version not after ``clock`` (all of them when ``clock`` is None),
so a test can replay several nights against one dataset.

Faults (``inject``): ``slow`` (the answer waits ``delay`` seconds), ``error`` (``status``,
500 by default), ``429`` (with ``Retry-After``), ``truncate`` (``Content-Length`` announces
the whole body, half of it is sent, the connection is cut), ``403``, ``404``, and
``delete_after_list`` (the document ``id_d`` disappears right after a list showed it: several of
them delete documents between two page reads).
Each fault applies ``times`` times (None: for ever) to requests whose path matches ``path``.

Run by hand: ``python -m tests.emulators.pastell`` serves the sample region's documents.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from samples import emulator_faults as faults
from samples.actes import FILE_FIELDS, DocVersion, versions_from_drop_folder  # noqa: F401 (re-exported)

ROUTES = [
    (re.compile(r"^/api/v2/version$"), "version"),
    (re.compile(r"^/api/v2/entite$"), "entities"),
    (re.compile(r"^/api/v2/journal$"), "journal"),
    (re.compile(r"^/api/v2/entite/(?P<id_e>[^/]+)/document$"), "list"),
    (re.compile(r"^/api/v2/entite/(?P<id_e>[^/]+)/document/(?P<id_d>[^/]+)$"), "detail"),
    (re.compile(r"^/api/v2/entite/(?P<id_e>[^/]+)/document/(?P<id_d>[^/]+)/file/(?P<field>[^/]+)/(?P<num>\d+)$"),
     "file"),
]
ACTIONS_POSSIBLE = ["send-ged", "send-archive"]


@dataclass
class Fault(faults.Fault):
    """slow, error, 429, truncate, 403, 404 (``faults``), or delete_after_list (of ``id_d``)."""

    id_d: str | None = None


@dataclass
class Recorded:
    operation: str | None
    path: str
    query: dict
    status: int | None = None
    fault: str | None = None


class PastellEmulator(faults.FaultInjection, faults.LoopbackServer):
    fault_class = Fault
    thread_name = "pastell-emulator"

    @property
    def handler(self) -> type:
        return _Handler

    def __init__(
        self, entities: list[dict], versions: list[DocVersion] = (), *, login: str = "digor-api",
        password: str = "emulator-password-4f9c", token: str = "emulator-token-7d1e0b",
    ):
        self.entities = [dict(e) for e in entities]
        self.versions: list[DocVersion] = []
        self.journal: list[dict] = []  # every event, in id_j order (Pastell's auto-increment)
        self.journal_root = True  # whether the user reads the journal of every entity (id_e=0)
        self.landing: list[DocVersion] = []  # added right after the next journal page is answered
        self.login, self.password, self.token = login, password, token
        self.clock: str | None = None
        self.deleted: set[str] = set()
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.in_flight = self.max_in_flight = 0  # requests being answered at once: the client's concurrency
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        for version in sorted(versions, key=lambda v: v.stamp):
            self.add(version)

    # ---- setup and inspection -------------------------------------------------------
    def add(self, version: DocVersion) -> None:
        """A new state of a document, and its journal event (the next ``id_j``)."""
        with self.lock:
            self.versions.append(version)
            action = str(version.last_action.get("action") or "modification")
            self._log("1", version.id_e, version.id_d, action, version.stamp, version.type,
                      f"L'action {action} a été effectuée sur le document", version.titre)

    def land_during_journal_read(self, version: DocVersion) -> None:
        """``version`` is added right after the next journal page is answered: an event that lands
        while a reader pages through the journal."""
        with self.lock:
            self.landing.append(version)

    def _log(self, kind: str, id_e: str, id_d: str, action: str, date: str, document_type: str, message: str,
             titre: str = "") -> None:
        entity = next((e for e in self.entities if str(e["id_e"]) == str(id_e)), {})
        id_j = str(len(self.journal) + 1)
        self.journal.append({
            "id_j": id_j, "type": kind, "id_e": str(id_e), "id_u": "0", "id_d": id_d, "action": action,
            "message": message, "date": date, "message_horodate": f"{kind} - {id_e} - 0 - {id_d} - {action} - "
                                                                 f"{message} - {date} - {document_type}",
            "date_horodatage": "", "document_type": document_type, "titre": titre,
            "denomination": entity.get("denomination"), "nom": None, "prenom": None, "siren": entity.get("siren"),
            "document_type_libelle": document_type, "action_libelle": action,
        })

    def visible(self, id_e: str | None = None) -> dict[str, DocVersion]:
        """Each document's latest version not after the clock, deleted ones left out."""
        latest: dict[str, DocVersion] = {}
        with self.lock:
            for version in self.versions:
                if self.clock is not None and version.stamp > self.clock:
                    continue
                if version.id_d in self.deleted or (id_e is not None and version.id_e != id_e):
                    continue
                if version.id_d not in latest or version.stamp >= latest[version.id_d].stamp:
                    latest[version.id_d] = version
        return latest

    # ---- the API ----------------------------------------------------------------------
    def _take_fault(self, path: str) -> Fault | None:
        return self._take(lambda fault: fault.kind != "delete_after_list" and fault.matches(path))

    def _authorised(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() == self.token
        if scheme.lower() == "basic":
            try:
                login, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return login == self.login and password == self.password
        return False

    def _entity(self, id_e: str) -> dict:
        entity = next((e for e in self.entities if str(e["id_e"]) == id_e), None)
        if entity is None:
            raise ApiError(404, f"L'entité {id_e} n'existe pas")
        return entity

    def handle(self, operation: str, params: dict, query: dict):
        if operation == "version":
            return {"version": "4.1.18", "revision": 1, "last_changed_date": "", "extensions_versions_accepted": [],
                    "version_complete": "Version 4.1.18 - Revision 1"}
        if operation == "entities":
            return [dict(e) for e in self.entities]
        if operation == "journal":
            return self._journal(query)
        entity = self._entity(unquote(params["id_e"]))
        if operation == "list":
            return self._list(entity, query)
        version = self.visible(str(entity["id_e"])).get(unquote(params["id_d"]))
        if version is None:
            raise ApiError(404, f"Le document {params['id_d']} n'appartient pas à l'entité {entity['id_e']}")
        if operation == "detail":
            return self._detail(version)
        names = version.data.get(params["field"])
        names = [names] if isinstance(names, str) else list(names or [])
        num = int(params["num"])
        if num >= len(names):
            raise ApiError(404, "Ce fichier n'existe pas")
        if names[num] not in version.files:  # named in the form, missing from Pastell's disk
            raise ApiError(400, "Ce fichier n'existe pas")
        with self.lock:
            self._log("7", version.id_e, version.id_d, "Consulté", self.clock or version.stamp, version.type,
                      f"digor a consulté le document {names[num]}", version.titre)
        return _File(names[num], version.files[names[num]])

    def _journal(self, query: dict) -> list[dict]:
        def one(name, default=None):
            return query.get(name, [default])[0]

        id_e = one("id_e", "0") or "0"
        if id_e == "0" and not self.journal_root:
            raise ApiError(403, "Acces interdit id_e=0, droit=journal:lecture")
        if id_e != "0":
            self._entity(id_e)
        offset, limit = int(one("offset", 0) or 0), int(one("limit", 100) or 100)
        flow, id_d, begin, end = one("type"), one("id_d"), one("date_debut"), one("date_fin")
        with self.lock:
            rows = [dict(e) for e in reversed(self.journal)
                    if (self.clock is None or e["date"] <= self.clock)
                    and (id_e == "0" or e["id_e"] == id_e) and (not flow or e["document_type"] == flow)
                    and (not id_d or e["id_d"] == id_d)
                    and (not begin or e["date"][:10] >= begin[:10]) and (not end or e["date"][:10] <= end[:10])]
            page = rows[offset:offset + limit]
            landing, self.landing = self.landing, []
            for version in landing:
                self.add(version)
        return page

    def _list(self, entity: dict, query: dict) -> list[dict]:
        def one(name, default=None):
            return query.get(name, [default])[0]

        offset, limit = int(one("offset", 0) or 0), int(one("limit", 100) or 100)
        flow, begin, end = one("type"), one("last_state_begin"), one("last_state_end")
        rows = []
        for version in self.visible(str(entity["id_e"])).values():
            if flow and version.type != flow:
                continue
            # Pastell compares a datetime with a date: the day's midnight.
            if begin and not version.stamp > f"{begin[:10]} 00:00:00":
                continue
            if end and not version.stamp < f"{end[:10]} 00:00:00":
                continue
            rows.append(version)
        rows.sort(key=lambda v: (v.stamp, v.id_d), reverse=True)
        page = rows[offset:offset + limit]
        with self.lock:
            while fault := self._take(lambda f: f.kind == "delete_after_list" and f.id_d not in self.deleted
                                      and any(v.id_d == f.id_d for v in page)):
                self.deleted.add(fault.id_d)
        return [self._row(entity, v) for v in page]

    @staticmethod
    def _row(entity: dict, version: DocVersion) -> dict:
        action = str(version.last_action.get("action") or "")
        return {
            "id_d": version.id_d, "id_e": str(entity["id_e"]), "role": "editeur", "last_action": action,
            "last_action_date": version.stamp, "type": version.type, "titre": version.titre,
            "creation": version.creation or version.stamp, "modification": version.stamp,
            "denomination": entity.get("denomination", ""), "siren": entity.get("siren", ""),
            "centre_de_gestion": "0", "entite_mere": entity.get("entite_mere", "0"), "is_active": True,
            "entite_base": entity.get("denomination", ""), "entite": [], "last_action_display": action,
        }

    @staticmethod
    def _detail(version: DocVersion) -> dict:
        return {
            "info": {"id_d": version.id_d, "type": version.type, "titre": version.titre,
                     "creation": version.creation or version.stamp, "modification": version.stamp},
            "data": json.loads(json.dumps(version.data)),
            "action_possible": list(ACTIONS_POSSIBLE),
            "action-possible": list(ACTIONS_POSSIBLE),
            "last_action": dict(version.last_action),
        }


@dataclass
class _File:
    name: str
    content: bytes


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class _Handler(faults.FaultyHandler, BaseHTTPRequestHandler):
    emulator: PastellEmulator
    server_version = "PastellEmulator/4.1"

    def _error_answer(self, status: int) -> tuple[str, bytes]:
        message = "Trop de requêtes" if status == 429 else f"Erreur simulée ({status})"
        return "application/json", _json({"status": "error", "error-message": message})

    def _handle(self) -> None:
        emulator = self.emulator
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        operation, params = None, {}
        for pattern, name in ROUTES:
            match = pattern.match(path)
            if match:
                operation, params = name, match.groupdict()
                break
        record = Recorded(operation, path, query)
        with emulator.lock:
            emulator.requests.append(record)
        if not emulator._authorised(self.headers.get("Authorization")):
            record.status = 401
            self._send_json(401, {"status": "error", "error-message": "Accès interdit"},
                            {"WWW-Authenticate": 'Basic realm="API Pastell"'})
            return
        if self._apply_fault(emulator._take_fault(path), record):
            return
        if operation is None:
            record.status = 404
            self._send_json(404, {"status": "error", "error-message": f"Ressource {path} non trouvée"})
            return
        try:
            result = emulator.handle(operation, params, query)
        except ApiError as error:
            record.status = error.status
            self._send_json(error.status, {"status": "error", "error-message": error.message})
            return
        record.status = 200
        if isinstance(result, _File):
            headers = {"Content-disposition": f'attachment; filename="{result.name}"'}
            mime = "application/pdf" if result.name.lower().endswith(".pdf") else "application/xml"
            self._send(200, mime, result.content, headers, self._truncate)
        else:
            self._send_json(200, result, truncate=self._truncate)

    def _send_json(self, status: int, payload, headers: dict | None = None, truncate: bool = False) -> None:
        self._send(status, "application/json", _json(payload), headers, truncate)


def _json(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


# ---- datasets --------------------------------------------------------------------------
def entities_of(registry_path: Path, extra: list[dict] = ()) -> list[dict]:
    """The registry's bodies as Pastell entities (their ``pastell_id_e``), plus ``extra`` ones."""
    import yaml

    bodies = yaml.safe_load(Path(registry_path).read_text(encoding="utf-8"))["bodies"]
    entities = [
        {"id_e": str(b["pastell_id_e"]), "denomination": b["name"], "siren": str(b["siren"]),
         "type": "collectivite", "entite_mere": "0", "centre_de_gestion": "0", "is_active": True}
        for b in bodies if b.get("pastell_id_e")
    ]
    return entities + [dict(e) for e in extra]


def sample_emulator(drop_dir: Path, registry_path: Path, **options) -> PastellEmulator:
    from samples.actes import UNKNOWN_ID_E, UNKNOWN_SIREN

    versions, _ = versions_from_drop_folder(drop_dir)
    unknown = {"id_e": UNKNOWN_ID_E, "denomination": "Commune inconnue", "siren": UNKNOWN_SIREN,
               "type": "collectivite", "entite_mere": "0", "centre_de_gestion": "0", "is_active": True}
    return PastellEmulator(entities_of(registry_path, [unknown]), versions, **options)


if __name__ == "__main__":  # pragma: no cover - manual use
    import tempfile

    from core.config import PROJECT_ROOT
    from samples.actes import generate_drop_folder

    registry = PROJECT_ROOT / "config" / "registry-demo.yaml"
    drop = Path(tempfile.mkdtemp(prefix="pastell-emulator-")) / "drop"
    generate_drop_folder(drop, registry)
    with sample_emulator(drop, registry) as emulator:
        print(f"Pastell emulator on {emulator.url} (login {emulator.login!r}, token {emulator.token!r}); Ctrl-C stops")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
