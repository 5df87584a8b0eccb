"""Browser fixtures: the real pipeline's output served by ``digor serve``, Debian's chromium.

One store per test session of this package: the sample region through ``run_night`` for
the three demo nights, plus a generated body with 20,000 acts written in the per-body
contract (year files) and completed by the real ``publish_index`` (manifest, first page,
search index, feed; ``samples/widget_bodies.py``). The server listens on a free loopback port, and the pipeline runs with
``DIGOR_PUBLIC_BASE_URL`` pointing at it, so document links resolve.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from core.config import PROJECT_ROOT, Settings
from core.store import LocalStore
from samples.widget_bodies import BIG_ACTS, BIG_SIREN  # noqa: F401 - the tests' names for the big body
from tests.environment import REQUIRE_BROWSER, unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
WIDGETS = PROJECT_ROOT / "widgets"
MANIFEST_SCHEMAS = PROJECT_ROOT / "schemas" / "widgets"
# The manifest a key or URL path names, by the schema that describes it (schemas/widgets/<name>.json).
MANIFESTS = {
    "actes": re.compile(r"widgets/actes/\d{9}/index\.json$"),
    "budgets": re.compile(r"widgets/budgets/\d{14}/index\.json$"),
    "marches": re.compile(r"widgets/marches/\d{14}/index\.json$"),
    "catalogue": re.compile(r"widgets/actes-organismes\.json$"),
}
# Other files a page reads that have their schema in schemas/widgets/ too (checked like the manifests).
CHECKED = {**MANIFESTS, "budgets-document": re.compile(r"widgets/budgets/\d{14}/budget-[^/]+\.json$")}
AXE = WIDGETS / "node_modules" / "axe-core" / "axe.min.js"


@functools.cache
def manifest_validators() -> dict[str, Draft202012Validator]:
    """One validator per manifest schema; ``commun.json`` holds the definitions they share."""
    documents = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in MANIFEST_SCHEMAS.glob("*.json")}
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents.values())
    return {name: Draft202012Validator(documents[name], registry=registry) for name in CHECKED}


def manifest_kind(path: str) -> str | None:
    return next((kind for kind, pattern in CHECKED.items() if pattern.search(path)), None)


def manifest_errors(kind: str, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in manifest_validators()[kind].iter_errors(document)]


@dataclass
class Site:
    base: str
    store: Path
    settings: Settings
    big_siren: str = BIG_SIREN

    def widget(self, query: str = "") -> str:
        return f"{self.base}/widgets/actes.html{'?' + query if query else ''}"


def write_year(store, siren: str, year: int, acts: list[dict] | None) -> None:
    """A year file in the per-body contract, through the pipeline's writer (None: removed)."""
    from load.widget_files import write_year_entries

    write_year_entries(store, siren, year, acts)


@pytest.fixture(scope="package")
def site(tmp_path_factory) -> Site:
    """The demo region (acts, budgets, contracts) and the big body, published by the pipeline and served on loopback."""
    from chains import actes as actes_chain
    from chains import budgets as budgets_chain
    from chains import decp as decp_chain
    from chains import populations
    from digor.serve import make_server, serve_in_thread
    from load.widget_pages import missing_assets
    from samples.actes import DEMO_NIGHTS, generate_drop_folder
    from samples.budgets import write_demo_plans
    from samples.decp import generate_decp_exports
    from samples.populations import ARCHIVE, write_populations
    from samples.sirene import serve_folder
    from samples.widget_bodies import publish_big_body

    if missing_assets():
        pytest.fail(f"widget assets not built ({missing_assets()}): run `make widgets`")
    root = tmp_path_factory.mktemp("widget-site")
    store = LocalStore(root / "store")
    server = make_server(store, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    registry = PROJECT_ROOT / "config" / "registry-demo.yaml"
    generate_drop_folder(root / "drop", registry)
    write_demo_plans(root / "plans")
    generate_decp_exports(root / "decp-drop", registry, DEMO_NIGHTS)
    settings = Settings.from_env().with_overrides(
        store_url=str(root / "store"), drop_dir=root / "drop", public_base_url=base,
        plans_dirs=(root / "plans",), decp_drop_dir=root / "decp-drop",
    )
    write_populations(root / "populations", registry)
    with serve_folder(root / "populations") as populations_base:  # the demo's legal populations, as the sirene DAG caches them
        populations.refresh_step(settings.with_overrides(populations_url=f"{populations_base}/{ARCHIVE}",
                                                         sirene_work_dir=root / "sirene-work"))
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(settings, night)
        budgets_chain.CHAIN.run_night(settings, night)
        decp_chain.CHAIN.run_night(settings, night)
    publish_big_body(store, settings.public_base_url, settings.public_url, "Syndicat numérique de démonstration")
    serve_in_thread(server)
    yield Site(base=base, store=root / "store", settings=settings)
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


def launched_chromium():
    """Debian's chromium driven by Playwright, headless (skipped, or failed under DIGOR_REQUIRE_BROWSER, without it)."""
    if not CHROMIUM.exists():
        unavailable(REQUIRE_BROWSER, f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def browser():
    yield from launched_chromium()


def _gone(error) -> bool:
    """Whether a Playwright error says the page, its context or a fetched response went away: what
    a route handler meets when a late request (a preview's) is answered after the page navigated."""
    return any(word in str(error) for word in ("disposed", "closed", "detached"))


class Watched:
    """A page with what a citizen would notice going wrong: script errors, alerts, outside requests;
    and every manifest it reads checked against its schema before the page gets it."""

    def __init__(self, page, base: str):
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.invalid_manifests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: self.requests.append(r.url))
        page.route(lambda url: manifest_kind(urlsplit(url).path) is not None, self._check_manifest)

    def _check_manifest(self, route) -> None:
        from playwright.sync_api import Error

        try:
            response = self._fetch(route)
            document = response.json() if response.ok else None
        except Error as error:
            if _gone(error):
                return
            raise
        if document is not None:
            url = route.request.url
            errors = manifest_errors(manifest_kind(urlsplit(url).path), document)
            self.invalid_manifests += [f"{url}: {error}" for error in errors]
        try:
            route.fulfill(response=response)
        except Error as error:
            if not _gone(error):
                raise

    def _fetch(self, route):
        return route.fetch()

    def forget_logged(self, status: int, timeout: float = 30.0) -> None:
        """Forget the console's line for an answer of ``status`` the test provoked, once the browser has
        logged it: it may come after the page shows its message, and then fail the test's end."""
        marker = f"status of {status}"
        deadline = time.monotonic() + timeout
        while not any(marker in error for error in self.errors):
            assert time.monotonic() < deadline, f"the browser never logged the {status}: {self.errors}"
            self.page.wait_for_timeout(50)
        self.errors[:] = [error for error in self.errors if marker not in error]

    def open(self, url: str, ready: str = "body[data-etat]"):
        self.page.goto(url)
        self.page.wait_for_selector(ready, state="attached")
        return self.page

    def outside_requests(self) -> list[str]:
        allowed = (self.base + "/", "data:", "blob:" + self.base)
        return [url for url in self.requests if not url.startswith(allowed)]


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1100, "height": 900},
                                  accept_downloads=True)
    yield context
    context.unroute_all(behavior="ignoreErrors")
    for page in context.pages:
        page.unroute_all(behavior="ignoreErrors")
    context.close()


@pytest.fixture
def watched(context, site) -> Watched:
    watched = Watched(context.new_page(), site.base)
    yield watched
    assert not watched.dialogs, f"a dialog opened (script from data ran?): {watched.dialogs}"
    assert not watched.errors, f"errors in the page: {watched.errors}"
    assert not watched.outside_requests(), f"requests outside the store: {watched.outside_requests()}"
    assert not watched.invalid_manifests, f"manifests unlike their schema: {watched.invalid_manifests}"


def query(page) -> dict[str, list[str]]:
    """The page's URL parameters: where every widget keeps its state."""
    return parse_qs(urlsplit(page.url).query)


def wait_param(page, name: str, value: str | None, timeout: float = 5.0) -> None:
    """Wait until the widget has written ``name=value`` (None: no such parameter) into its URL."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if query(page).get(name) == ([value] if value is not None else None):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{name}={value!r} never reached the URL: {page.url}")


def focus_outline(page) -> dict:
    """The outline of the focused element: what shows keyboard users where they are."""
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return {style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")


def download_csv(page, target) -> tuple[str, list[dict]]:
    """Click ``target`` (a selector or a locator); the name and rows (by header) of the CSV it downloads,
    which must be UTF-8 with a BOM and ";" between cells, as French spreadsheets open it."""
    with page.expect_download() as download:
        (page.locator(target) if isinstance(target, str) else target).click()
    data = open(download.value.path(), "rb").read()
    assert data.startswith("\ufeff".encode()), "a BOM, so that spreadsheets read UTF-8"
    return download.value.suggested_filename, list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def run_axe(page, context: str | None = None) -> list[dict]:
    """axe-core's violations (WCAG 2.1 A/AA and best practices), injected from the same origin."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make widgets` (npm ci in widgets/)")
    url = page.url.split("/widgets/")[0] + "/widgets/__axe-test.js"
    page.route(url, lambda route: route.fulfill(body=AXE.read_bytes(), content_type="text/javascript"))
    page.add_script_tag(url=url)
    result = page.evaluate(
        "async (ctx) => await axe.run(ctx || document, {resultTypes: ['violations']})", context
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
