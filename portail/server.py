"""The portail's HTTP server (uvicorn), bound before it starts so that port 0 picks a free port."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class Server:
    """One uvicorn server on a socket bound here; ``url`` is where browsers reach it."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8767, verbose: bool = False):
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.host, self.port = host, self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="info" if verbose else "warning", access_log=verbose,
                                proxy_headers=False, server_header=False, lifespan="on")
        self.uvicorn = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self.uvicorn.run(sockets=[self.socket])

    def start(self, timeout: float = 30.0) -> Server:
        """Serve from a background thread (tests, the demo's provider beside it)."""
        self.thread = threading.Thread(target=self.serve_forever, name="digor-portail", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the portail did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        if self.thread:
            self.thread.join(timeout=30)
        self.socket.close()
