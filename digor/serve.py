"""``digor serve``: the public zone and the widgets on loopback, to look at the demo's results.

Browsers see what they would see in production: ``/<key without public/>`` for every object
of the public zone (read through the object store interface, so any backend works) and
``/widgets/<file>`` for the widget pages of this checkout (rendered from their layout on each
request) and its static widget files, which take precedence so that an edited widget shows on
reload. Nothing outside the public zone is ever served, and a public document is served as what
its bytes are (``core.document_kind``): a PDF as a PDF, anything else as a download.

Caching and compression are those of the S3 store: an object's ``Cache-Control`` from
``core.store.object_headers``, precompressed text with ``Content-Encoding: gzip`` (decompressed
for a client that does not accept it), other text compressed on the fly for one that does, and
an ``ETag`` on every answer, so a revisit is answered ``304 Not Modified`` without a body.
"""

from __future__ import annotations

import mimetypes
import posixpath
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from core.document_kind import document_headers
from core.keys import DOCUMENTS_PREFIX
from core.store import (
    ObjectStore,
    StoreError,
    content_encoding,
    gzip_bytes,
    object_headers,
    plain_bytes,
    sha256_hex,
)
from load.reuse_map import embedding_page, record_embedding_page
from load.widget_pages import WIDGETS_DIR, widget_bytes

CONTENT_TYPES = {
    ".json": "application/json; charset=utf-8",
    ".geojson": "application/geo+json; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
}
HOME = "/widgets/configurateur.html"
COMPRESSED_TYPES = ("text/", "application/json", "application/atom+xml", "application/xml", "image/svg+xml")
SMALLEST_COMPRESSED = 1024  # below this, gzip's header costs more than it saves


def content_type(name: str) -> str:
    suffix = posixpath.splitext(name)[1].lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header takes gzip (``gzip;q=0`` refuses it)."""
    for part in (header or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def make_handler(store: ObjectStore, widgets_dir: Path = WIDGETS_DIR,
                 record_pages: bool = False) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "digor-serve"
        sys_version = ""
        protocol_version = "HTTP/1.1"  # keep-alive: one connection for a page's files, as a CDN gives

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature of the base class
            if getattr(self.server, "verbose", False):
                super().log_message(format, *args)

        def _send(self, status: int, body: bytes, kind: str, head: bool, extra: dict | None = None,
                  cache: str = "no-cache", stored_gzip: bool = False) -> None:
            """Answer with ``body`` (gzip bytes when ``stored_gzip``), in the encoding the client takes,
            with an ETag of what is sent; ``304`` when the client already holds it."""
            encoding = None
            if status == HTTPStatus.OK and kind.startswith(COMPRESSED_TYPES):
                if accepts_gzip(self.headers.get("Accept-Encoding")):
                    if stored_gzip or len(body) >= SMALLEST_COMPRESSED:
                        body, encoding = (body if stored_gzip else gzip_bytes(body)), "gzip"
                elif stored_gzip:
                    body = plain_bytes(body)
            tag = f'"{sha256_hex(body)[:32]}"'
            if status == HTTPStatus.OK and tag in (self.headers.get("If-None-Match") or ""):
                status, head = HTTPStatus.NOT_MODIFIED, True
            self.send_response(status)
            self.send_header("Content-Type", kind)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            if kind.startswith(COMPRESSED_TYPES):
                self.send_header("Vary", "Accept-Encoding")
            if status != HTTPStatus.NOT_MODIFIED:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", tag)
            self.send_header("Cache-Control", cache)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _not_found(self, head: bool) -> None:
            self._send(HTTPStatus.NOT_FOUND, "Introuvable\n".encode(), "text/plain; charset=utf-8", head)

        def _answer(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/widgets", "/widgets/"):
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", HOME)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path.startswith("/widgets/"):
                local = widget_bytes(path[len("/widgets/"):], widgets_dir)
                if local is not None and record_pages and path.endswith(".html") and not head:
                    self._record_page()
                if local is not None:
                    self._send(HTTPStatus.OK, local, content_type(path), head)
                    return
            key = "public" + path
            try:
                data = store.get_bytes(key)
            except (FileNotFoundError, StoreError, IsADirectoryError, NotADirectoryError):
                self._not_found(head)
                return
            cache = object_headers(key)["CacheControl"]
            if key.startswith(DOCUMENTS_PREFIX + "/"):
                headers = document_headers(data, key)
                self._send(HTTPStatus.OK, data, headers.pop("Content-Type"), head, headers, cache)
                return
            self._send(HTTPStatus.OK, data, content_type(key), head, cache=cache,
                       stored_gzip=content_encoding(key, data) is not None)

        def _record_page(self) -> None:
            """The page embedding this widget, for the map of reuses (the server's own pages aside)."""
            page = embedding_page(self.headers.get("Referer"))
            own = f"//{self.headers.get('Host') or ''}/"
            if page is None or own in page.replace("https://", "//").replace("http://", "//"):
                return
            query = parse_qs(urlsplit(self.path).query)
            body = (query.get("siren") or query.get("siret") or [""])[0][:9]
            try:
                record_embedding_page(store, body, page)
            except (OSError, StoreError, ValueError):
                pass  # a page not recorded never stops a widget from being served

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._answer(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(head=True)

    return Handler


def make_server(store: ObjectStore, host: str = "127.0.0.1", port: int = 8765,
                widgets_dir: Path = WIDGETS_DIR, record_pages: bool = False) -> ThreadingHTTPServer:
    """A bound server (port 0 picks a free one: read it back from ``server_address``); ``record_pages``:
    the page embedding each widget is recorded for the map of reuses (``load.reuse_map``)."""
    server = ThreadingHTTPServer((host, port), make_handler(store, widgets_dir, record_pages))
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="digor-serve", daemon=True)
    thread.start()
    return thread
