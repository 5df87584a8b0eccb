"""What the widget benchmarks share: a store served by ``digor serve``, Debian's chromium, and a
phone's conditions (emulated 4G: 9 Mbit/s, 60 ms; a 4x slower CPU, Chrome DevTools Protocol) with
the bytes each request brought as DevTools counts them (compressed bodies and headers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
NETWORK = {"offline": False, "latency": 60, "downloadThroughput": 9_000_000 / 8, "uploadThroughput": 9_000_000 / 8}
CPU_SLOWDOWN = 4


def conditions(throttle: bool) -> str:
    return "emulated 4G (9 Mbit/s, 60 ms), CPU 4x slower" if throttle else "loopback, full CPU"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB".replace(",", "\u202f")


@contextmanager
def served(store: Path, port: int | None = None) -> Iterator[str]:
    """``digor serve`` on ``store`` (on ``port``, else a free one) for the time of the block; yields its base URL."""
    port = port or free_port()
    server = subprocess.Popen([sys.executable, "-m", "digor.cli", "serve", "--store", str(store), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env=os.environ | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    try:
        server.stdout.readline()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def chromium() -> Iterator:
    """Debian's chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Network:
    """What went over the wire for a page, as the browser's DevTools see it: bytes received per
    request (compressed bodies and headers), and what its cache answered without asking."""

    def __init__(self, context, page, throttle: bool):
        self.received: dict[str, int] = {}
        self.answers: dict[str, tuple[str, int]] = {}
        self.cached: set[str] = set()
        self.raw_status: dict[str, int] = {}  # what the server answered (a 304 shows as 200 once merged with the cache)
        cdp = context.new_cdp_session(page)
        cdp.on("Network.responseReceived", self._answered)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        cdp.on("Network.responseReceivedExtraInfo", lambda e: self.raw_status.__setitem__(e["requestId"], e["statusCode"]))
        cdp.on("Network.loadingFinished", lambda e: self.received.__setitem__(e["requestId"], e["encodedDataLength"]))
        cdp.send("Network.enable")
        if throttle:
            cdp.send("Network.emulateNetworkConditions", NETWORK)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})

    def _answered(self, event: dict) -> None:
        response = event["response"]
        self.answers[event["requestId"]] = (response["url"], response["status"])
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.cached.add(event["requestId"])  # the cache answered without asking (no requestServedFromCache then)

    def total(self) -> int:
        return sum(n for request, n in self.received.items() if request not in self.cached)

    def of(self, urls: set[str]) -> tuple[int, int]:
        """Bytes and requests of the answers to ``urls`` (e.g. what the page had received at a moment)."""
        requests = [r for r, (url, _) in self.answers.items() if url in urls and r not in self.cached]
        return sum(self.received.get(r, 0) for r in requests), len(requests)

    def summary(self) -> str:
        """Files that came with a body (200), were confirmed unchanged (304) or came from the cache."""
        bodies, confirmed, cache = [], 0, 0
        for request, (url, status) in sorted(self.answers.items()):
            if request in self.cached:
                cache += 1
            elif self.raw_status.get(request, status) == 304:
                confirmed += 1
            else:
                bodies.append(url.rsplit("/", 1)[-1])
        return f"{len(bodies)} with a body ({', '.join(bodies) or 'none'}), {confirmed} answered 304, {cache} from the cache"


# The moments a widget page is first drawn (``body[data-etat]``) and its charts are
# (``body[data-graphiques]``), and the files it had received when first drawn (navigation and
# resource timing entries: finished responses only), taken by the page itself: an observer set
# before its scripts run (``context.add_init_script``).
FIRST_RENDER = """
new MutationObserver(() => {
  const body = document.body;
  if (body && body.dataset.etat && window.__dessine === undefined) {
    window.__dessine = performance.now();
    window.__recus = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
      .map((entry) => entry.name);
  }
  if (body && body.dataset.graphiques && window.__graphiques === undefined) window.__graphiques = performance.now();
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-etat", "data-graphiques"] });
"""
