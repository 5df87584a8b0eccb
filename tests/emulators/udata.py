"""A loopback emulator of the udata (data.gouv.fr) API v1 endpoints digor calls.

Built from ``reference/udata/udata-17.18.0-api-v1-swagger.json``: the same paths, status
codes and JSON shapes (``Dataset``, ``Resource``, ``UploadedResource``, ``Error``,
``ValidationError``) for

- ``GET  /api/1/datasets/{dataset}/``                        read a dataset and its resources
- ``POST /api/1/datasets/{dataset}/upload/``                 upload a file as a new resource (201)
- ``POST /api/1/datasets/{dataset}/resources/{rid}/upload/`` replace a resource's file (200)
- ``GET|PUT /api/1/datasets/{dataset}/resources/{rid}/``     read / update a resource's metadata

Writes need the ``X-API-KEY`` of the dataset's owner. Like the platform, an upload
renames the resource after its file and sets a sha1 checksum; ``schema`` is checked
against the schema catalogue (``schema.data.gouv.fr-schemas-catalog.json``).

Faults are injected per request (``inject``): ``429`` (with ``Retry-After``), ``500``,
``timeout`` (the answer comes after the client gave up; ``apply=True`` makes the server
apply the request anyway, as a slow platform would) and ``drop`` (the connection is
cut in the middle of the request body; nothing is applied).

Run by hand: ``python -m tests.emulators.udata`` prints its base URL, a key and a dataset.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from samples import emulator_faults as faults

ROUTES = [
    ("GET", re.compile(r"^/api/1/datasets/(?P<dataset>[^/]+)/$"), "get_dataset"),
    ("POST", re.compile(r"^/api/1/datasets/(?P<dataset>[^/]+)/upload/$"), "upload_new_dataset_resource"),
    ("POST", re.compile(r"^/api/1/datasets/(?P<dataset>[^/]+)/resources/(?P<rid>[^/]+)/upload/$"),
     "upload_dataset_resource"),
    ("GET", re.compile(r"^/api/1/datasets/(?P<dataset>[^/]+)/resources/(?P<rid>[^/]+)/$"), "get_resource"),
    ("PUT", re.compile(r"^/api/1/datasets/(?P<dataset>[^/]+)/resources/(?P<rid>[^/]+)/$"), "update_resource"),
]
# Fields of the swagger's ``Resource`` a client may write; the rest is read-only.
WRITABLE = {"title", "description", "format", "mime", "filesize", "checksum", "schema", "type", "extras", "url",
            "filetype"}
CHECKSUM_TYPES = {"sha1", "sha2", "sha256", "md5", "crc"}
RESOURCE_TYPES = {"main", "documentation", "update", "api", "code", "other"}
ALLOWED_EXTENSIONS = {"csv", "json", "parquet", "xml", "zip", "pdf", "geojson", "txt", "xlsx", "ods"}
REFERENCE_DIR = Path(os.environ.get("DIGOR_REFERENCE_DIR", Path(__file__).resolve().parents[3] / "shared" / "reference"))
DEFAULT_CATALOGUE = REFERENCE_DIR / "udata" / "schema.data.gouv.fr-schemas-catalog.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Fault:
    kind: str  # "429", "500", "timeout", "drop"
    method: str | None = None
    path: str | None = None  # regular expression searched in the path
    times: int = 1
    retry_after: str | None = None
    delay: float = 0.0
    apply: bool = False
    nth: int | None = None  # only the request with this index (0 = the emulator's first request)

    def matches(self, method: str, path: str, index: int) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.path is None or re.search(self.path, path) is not None)
            and (self.nth is None or self.nth == index)
        )


@dataclass
class Recorded:
    method: str
    path: str
    operation: str | None
    at: float
    status: int | None = None
    fault: str | None = None
    filename: str | None = None
    headers: dict = field(default_factory=dict)


class UdataEmulator(faults.FaultInjection, faults.LoopbackServer):
    fault_class = Fault
    thread_name = "udata-emulator"

    @property
    def handler(self) -> type:
        return _Handler

    def __init__(self, api_key: str = "emulator-api-key", catalogue: Path | None = None):
        self.api_key = api_key
        self.lock = threading.RLock()
        self.datasets: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        path = catalogue or DEFAULT_CATALOGUE
        self.catalogue = (
            {s["name"]: {v["version_name"] for v in s.get("versions", [])}
             for s in json.loads(path.read_text(encoding="utf-8"))["schemas"]}
            if path.is_file() else None
        )
        self.server: ThreadingHTTPServer | None = None

    # ---- setup and inspection -------------------------------------------------------
    def add_dataset(self, title: str, owner_key: str | None = None) -> str:
        dataset_id = uuid.uuid4().hex[:24]
        with self.lock:
            self.datasets[dataset_id] = {
                "id": dataset_id, "title": title, "slug": re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
                "description": title, "frequency": "daily", "created_at": _now(), "last_modified": _now(),
                "last_update": _now(), "private": False, "resources": [], "community_resources": [],
                "tags": [], "extras": {}, "_owner_key": owner_key or self.api_key,
            }
        return dataset_id

    def resources(self, dataset_id: str) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(self.datasets[dataset_id]["resources"]))

    def file_of(self, resource_id: str) -> bytes:
        return self.files[resource_id]

    @property
    def base_url(self) -> str:
        return self.url

    # ---- the API ---------------------------------------------------------------------
    def _take_fault(self, method: str, path: str, index: int) -> Fault | None:
        return self._take(lambda fault: fault.matches(method, path, index))

    def _dataset(self, dataset_id: str) -> dict:
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            raise ApiError(404, {"message": "Dataset not found"})
        return dataset

    def _resource(self, dataset: dict, rid: str) -> dict:
        for resource in dataset["resources"]:
            if resource["id"] == rid:
                return resource
        raise ApiError(404, {"message": "Resource not found"})

    def _authorise(self, headers, dataset: dict) -> None:
        key = headers.get("X-API-KEY")
        if not key:
            raise ApiError(401, {"message": "Unauthorized"})
        if key not in {self.api_key, dataset["_owner_key"]}:
            raise ApiError(401, {"message": "Invalid API Key"})
        if key != dataset["_owner_key"]:
            raise ApiError(403, {"message": "You do not have the permission to modify that object."})

    @staticmethod
    def _public(dataset: dict) -> dict:
        return {k: v for k, v in dataset.items() if not k.startswith("_")}

    def _file_infos(self, filename: str, data: bytes, base_url: str, dataset_id: str) -> dict:
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in ALLOWED_EXTENSIONS:
            raise ApiError(415, {"message": "This file type is not allowed"})
        return {
            "title": filename,
            "filetype": "file",
            "format": extension,
            "mime": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "filesize": len(data),
            "checksum": {"type": "sha1", "value": hashlib.sha1(data).hexdigest()},
            "url": f"{base_url}/fake-storage/{dataset_id}/{uuid.uuid4().hex[:8]}-{filename}",
            "last_modified": _now(),
        }

    def handle(self, operation: str, params: dict, headers, body: dict | None, upload, base_url: str):
        with self.lock:
            dataset = self._dataset(params["dataset"])
            if operation == "get_dataset":
                return 200, self._public(dataset)
            if operation == "get_resource":
                return 200, self._resource(dataset, params["rid"])
            self._authorise(headers, dataset)
            if operation == "upload_new_dataset_resource":
                filename, data = self._upload_of(upload)
                resource = {
                    "id": str(uuid.uuid4()), "type": "main", "description": None, "schema": {}, "extras": {},
                    "created_at": _now(), "internal": {"created_at_internal": _now()},
                    **self._file_infos(filename, data, base_url, dataset["id"]),
                }
                resource["latest"] = f"{base_url}/api/1/datasets/r/{resource['id']}"
                resource["internal"]["last_modified_internal"] = resource["last_modified"]
                dataset["resources"].insert(0, resource)
                self.files[resource["id"]] = data
                dataset["last_update"] = _now()
                return 201, {**resource, "success": True}
            resource = self._resource(dataset, params["rid"])
            if operation == "upload_dataset_resource":
                filename, data = self._upload_of(upload)
                if resource.get("filetype") != "file":
                    raise ApiError(400, {"message": "This resource is not a file"})
                resource.update(self._file_infos(filename, data, base_url, dataset["id"]))
                resource["internal"]["last_modified_internal"] = resource["last_modified"]
                self.files[resource["id"]] = data
                dataset["last_update"] = _now()
                return 200, {**resource, "success": True}
            if operation == "update_resource":
                errors = self._validate(body)
                if errors:
                    raise ApiError(400, {"errors": errors, "message": "Validation error"})
                resource.update({k: v for k, v in body.items() if k in WRITABLE})
                resource["last_modified"] = _now()
                return 200, resource
        raise ApiError(405, {"message": "The method is not allowed for the requested URL."})

    @staticmethod
    def _upload_of(upload) -> tuple[str, bytes]:
        if upload is None:
            raise ApiError(400, {"message": "No file provided", "success": False})
        return upload

    def _validate(self, body: dict | None) -> dict:
        if not isinstance(body, dict):
            return {"payload": ["A JSON object is expected"]}
        errors: dict[str, list[str]] = {}
        for name in ("title", "format"):
            if name in body and not (isinstance(body[name], str) and body[name].strip()):
                errors[name] = ["This field is required."]
        if "filesize" in body and not isinstance(body["filesize"], int):
            errors["filesize"] = ["Not a valid integer value."]
        if "type" in body and body["type"] not in RESOURCE_TYPES:
            errors["type"] = [f"'{body['type']}' is not a valid choice."]
        checksum = body.get("checksum")
        if checksum is not None and not (
            isinstance(checksum, dict) and checksum.get("type", "sha1") in CHECKSUM_TYPES and checksum.get("value")
        ):
            errors["checksum"] = ["Invalid checksum: a type among sha1, sha2, sha256, md5, crc and a value."]
        schema = body.get("schema")
        if schema and self.catalogue is not None:
            name, version = schema.get("name"), schema.get("version")
            if name not in self.catalogue:
                errors["schema"] = [f'Schema name "{name}" is not an allowed value. Allowed values: '
                                    f'{", ".join(sorted(self.catalogue)[:5])}, ...']
            elif version and version not in self.catalogue[name]:
                errors["schema"] = [f'Version "{version}" is not an allowed value for the schema "{name}". '
                                    f'Allowed versions: {", ".join(sorted(self.catalogue[name]))}']
        return errors


class ApiError(Exception):
    def __init__(self, status: int, payload: dict):
        super().__init__(payload.get("message"))
        self.status = status
        self.payload = payload


class _Handler(BaseHTTPRequestHandler):
    emulator: UdataEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # the test output stays readable
        pass

    def _route(self):
        path = self.path.split("?", 1)[0]
        for method, pattern, operation in ROUTES:
            match = pattern.match(path)
            if match and method == self.command:
                return operation, match.groupdict(), path
        return None, {}, path

    def _send(self, status: int, payload: dict | None, extra_headers: dict | None = None) -> None:
        body = json.dumps(payload).encode("utf-8") if payload is not None else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self, limit: int | None = None) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(limit, length))

    def _parse(self, raw: bytes):
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=email_policy).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw
            )
            for part in message.iter_parts():
                if part.get_param("name", header="content-disposition") == "file" and part.get_filename():
                    return None, (part.get_filename(), part.get_payload(decode=True))
            return None, None
        if raw:
            try:
                return json.loads(raw), None
            except json.JSONDecodeError:
                raise ApiError(400, {"message": "The browser (or proxy) sent a request that this server could not understand."})
        return None, None

    def _handle(self) -> None:
        emulator = self.emulator
        operation, params, path = self._route()
        record = Recorded(self.command, path, operation, time.monotonic(),
                          headers={k: v for k, v in self.headers.items() if k.lower() != "x-api-key"})
        with emulator.lock:
            index = len(emulator.requests)
            emulator.requests.append(record)
        fault = emulator._take_fault(self.command, path, index) if operation else None
        if fault is not None:
            record.fault = fault.kind
        if fault is not None and fault.kind == "drop":
            self._read_body(limit=max(1, int(self.headers.get("Content-Length") or 0) // 2))
            self.close_connection = True
            import socket

            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        raw = self._read_body()
        if fault is not None and fault.kind == "429":
            record.status = 429
            self._send(429, {"message": "Too many requests"}, {"Retry-After": fault.retry_after or "1"})
            return
        if fault is not None and fault.kind == "500" and not fault.apply:
            record.status = 500
            self._send(500, {"message": "Internal server error"})
            return
        if fault is not None and fault.kind == "timeout" and not fault.apply:
            time.sleep(fault.delay)
            record.status = 504
            self._send(504, {"message": "Gateway timeout"})
            return
        if operation is None:
            record.status = 404
            self._send(404, {"message": "The requested URL was not found on the server."})
            return
        try:
            body, upload = self._parse(raw)
            record.filename = upload[0] if upload else None
            status, payload = emulator.handle(operation, params, self.headers, body, upload, emulator.base_url)
        except ApiError as error:
            status, payload = error.status, error.payload
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "500":
            status, payload = 500, {"message": "Internal server error"}
        record.status = status
        self._send(status, payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


if __name__ == "__main__":  # pragma: no cover - manual use
    emulator = UdataEmulator().start()
    dataset = emulator.add_dataset("Délibérations (émulateur)")
    print(f"udata emulator at {emulator.base_url}  X-API-KEY {emulator.api_key}  dataset {dataset}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()
