"""A loopback emulator of the procurement platform's listing of DECP export files.

It answers the listing contract ``extract.decp_platform`` documents:

- ``GET /api/exports?date=YYYY-MM-DD`` -> ``{"items": [{"name", "url", "size", "sha256"}], "next"}``,
  ``page_size`` items per page, ``next`` a relative URL (``/api/exports?date=...&page=2``);
- ``GET /api/fichiers/<date>/<name>`` -> the file's bytes, exactly as stored.

Authentication: HTTP Basic (``login``, ``password``) or ``Authorization: Bearer <password>``;
anything else is a 401. Faults for tests: ``fail_first`` answers 503 to that many requests
before behaving; ``corrupt`` serves other bytes than the listing announces for these names;
``foreign_url`` makes the listing point files at another host; ``deep_listing`` answers the
listing with JSON nested 100 000 levels deep.

Serve real samples by hand: ``python -m tests.emulators.decp_platform <folder>`` (``<folder>/<date>/<files>``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from samples.emulator_faults import LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    emulator: "DecpPlatformEmulator"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.emulator._handle(self)


class DecpPlatformEmulator(LoopbackServer):
    handler = _Handler

    def __init__(self, exports: dict[str, dict[str, bytes]], login: str | None = "digor", password: str = "s3cret",
                 page_size: int = 2, fail_first: int = 0, corrupt: frozenset[str] = frozenset(),
                 foreign_url: bool = False, deep_listing: bool = False):
        self.exports = exports
        self.login, self.password = login, password
        self.page_size = page_size
        self.fail_first = fail_first
        self.corrupt = corrupt
        self.foreign_url = foreign_url
        self.deep_listing = deep_listing
        self.requests: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, root: Path, **options) -> "DecpPlatformEmulator":
        exports = {
            night.name: {path.name: path.read_bytes() for path in sorted(night.iterdir()) if path.is_file()}
            for night in sorted(root.iterdir()) if night.is_dir()
        }
        return cls(exports, **options)

    @property
    def base_url(self) -> str:
        return f"{self.url}/api"

    def connection_json(self) -> str:
        """The ``AIRFLOW_CONN_DIGOR_DECP_PLATFORM`` value pointing at this emulator."""
        return json.dumps({"conn_type": "http", "host": self.base_url, "login": self.login, "password": self.password})

    def _authorised(self, header: str | None) -> bool:
        if not header:
            return False
        if header.startswith("Bearer "):
            return header[len("Bearer "):] == self.password
        if header.startswith("Basic ") and self.login:
            try:
                decoded = base64.b64decode(header[len("Basic "):]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return False
            return decoded == f"{self.login}:{self.password}"
        return False

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        if status == 401:
            handler.send_header("WWW-Authenticate", 'Basic realm="plateforme"')
        handler.end_headers()
        handler.wfile.write(body)

    def _json(self, handler, status: int, document) -> None:
        self._send(handler, status, json.dumps(document, ensure_ascii=False).encode("utf-8"), "application/json")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(handler.path)
            failing = self.fail_first > 0
            self.fail_first -= 1 if failing else 0
        if failing:
            return self._json(handler, 503, {"erreur": "service momentanément indisponible"})
        if not self._authorised(handler.headers.get("Authorization")):
            return self._json(handler, 401, {"erreur": "authentification requise"})
        if parts.path == "/api/exports":
            return self._listing(handler, parse_qs(parts.query))
        if parts.path.startswith("/api/fichiers/"):
            night, _, name = unquote(parts.path[len("/api/fichiers/"):]).partition("/")
            data = self.exports.get(night, {}).get(name)
            if data is None:
                return self._json(handler, 404, {"erreur": "fichier inconnu"})
            if name in self.corrupt:
                data = data[: len(data) // 2]
            return self._send(handler, 200, data, "application/octet-stream")
        return self._json(handler, 404, {"erreur": "ressource inconnue"})

    def _listing(self, handler, query: dict) -> None:
        if self.deep_listing:
            return self._send(handler, 200, b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json")
        night = (query.get("date") or [""])[0]
        page = int((query.get("page") or ["1"])[0])
        names = sorted(self.exports.get(night, {}))
        chunk = names[(page - 1) * self.page_size: page * self.page_size]
        host = "http://example.invalid" if self.foreign_url else ""
        items = [
            {
                "name": name,
                "url": f"{host}/api/fichiers/{night}/{quote(name)}",
                "size": len(self.exports[night][name]),
                "sha256": hashlib.sha256(self.exports[night][name]).hexdigest(),
            }
            for name in chunk
        ]
        more = page * self.page_size < len(names)
        self._json(handler, 200, {"items": items, "next": f"/api/exports?date={night}&page={page + 1}" if more else None})


if __name__ == "__main__":
    emulator = DecpPlatformEmulator.from_folder(Path(sys.argv[1])).start()
    print(f"serving {sys.argv[1]} on {emulator.base_url} (login digor, password s3cret); Ctrl+C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()
