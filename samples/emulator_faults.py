"""What the loopback emulators share: faults injected by tests, requests recorded, the server.

In ``samples`` with the S²LOW emulator the demo serves (``samples.s2low_platform``); the tests'
other emulators (``tests/emulators``) use it too.

``FaultInjection`` is an emulator's list of faults and of requests (under its ``lock``);
``LoopbackServer`` runs the emulator's handler on 127.0.0.1 in a thread; ``FaultyHandler``
counts the requests answered at once (the client's concurrency) and answers the faults every
API emulator knows: ``slow`` (the answer waits ``delay`` seconds), ``truncate`` (the body is
cut halfway, its length announced whole), ``429`` (with ``Retry-After``), ``error``
(``status``), ``403`` and ``404``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer


@dataclass
class Fault:
    kind: str
    path: str | None = None  # regular expression searched in the path
    times: int | None = 1  # None: for ever
    status: int = 500
    delay: float = 0.0
    retry_after: str = "1"

    def matches(self, path: str) -> bool:
        return self.path is None or re.search(self.path, path) is not None


class FaultInjection:
    """Faults a test injects and the requests an emulator records; needs ``lock``, ``faults``, ``requests``."""

    fault_class: type = Fault
    lock: threading.RLock
    faults: list
    requests: list

    def inject(self, kind: str, **options):
        fault = self.fault_class(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def calls(self, operation: str | None = None) -> list:
        with self.lock:
            return [r for r in self.requests if operation is None or r.operation == operation]

    def reset_calls(self) -> None:
        with self.lock:
            self.requests.clear()

    def _take(self, wanted: Callable) -> object | None:
        """The first fault still due that ``wanted`` accepts, counted as met once."""
        with self.lock:
            for fault in self.faults:
                if fault.times != 0 and wanted(fault):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


class LoopbackServer:
    """The emulator's HTTP server on 127.0.0.1, its ``handler`` class bound to the emulator."""

    handler: type
    scheme = "http"
    thread_name = "emulator"
    server: ThreadingHTTPServer | None = None

    def _make_server(self, handler: type) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        assert self.server is not None, "emulator not started"
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def start(self):
        handler = type("Handler", (self.handler,), {"emulator": self})
        self.server = self._make_server(handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name,
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class FaultyHandler:
    """Mixin of a ``BaseHTTPRequestHandler`` answering GETs with ``_handle``: in-flight count, shared faults."""

    emulator: object
    quiet_errors: tuple = (BrokenPipeError, ConnectionResetError)  # the client gave up: nothing to answer

    def log_message(self, *args) -> None:  # the test output stays readable
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        emulator = self.emulator
        with emulator.lock:
            emulator.in_flight += 1
            emulator.max_in_flight = max(emulator.max_in_flight, emulator.in_flight)
        self._counted = True
        try:
            self._handle()
        except self.quiet_errors:
            pass
        finally:
            self._done()

    def _done(self) -> None:
        """Leave the in-flight count once, before the answer goes out: the client may send its next request
        as soon as it has read this one, before this thread gets to run again."""
        if self._counted:
            self._counted = False
            with self.emulator.lock:
                self.emulator.in_flight -= 1

    def _error_answer(self, status: int) -> tuple[str, bytes]:
        """(content type, body) of an injected error."""
        raise NotImplementedError

    def _apply_fault(self, fault: Fault | None, record) -> bool:
        """Play ``fault``; True when it answered the request itself. Sets ``_truncate`` for the answer."""
        record.fault = fault.kind if fault else None
        self._truncate = False
        if fault is None:
            return False
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "truncate":
            self._truncate = True
            return False
        status = {"429": 429, "error": fault.status, "403": 403, "404": 404}.get(fault.kind, 500)
        record.status = status
        mime, body = self._error_answer(status)
        self._send(status, mime, body, {"Retry-After": fault.retry_after} if fault.kind == "429" else {})
        return True

    def _send(self, status: int, mime: str, body: bytes, headers: dict | None = None, truncate: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._done()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        self.wfile.flush()
        if truncate:
            self.close_connection = True
