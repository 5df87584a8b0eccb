"""Browser fixtures: the real pipeline's output served by ``digor serve``, Debian's chromium.

One store per test session of this package: the sample region through ``run_night`` for
the three demo nights, plus a generated body with 20,000 acts written in the per-body
contract (year files) and completed by the real ``publish_index`` (manifest, search
index, feed). The server listens on a free loopback port, and the pipeline runs with
``DIGOR_PUBLIC_BASE_URL`` pointing at it, so document links resolve.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import random
import re
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from core.config import PROJECT_ROOT, Settings
from core.registry import Body
from core.store import LocalStore
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
AXE = WIDGETS / "node_modules" / "axe-core" / "axe.min.js"
BIG_SIREN = "213500010"  # not in the demo registry
BIG_ACTS = 20_000
XSS_OBJETS = ("Motion de soutien <script>alert(1)</script> aux agriculteurs du territoire",
              "Convention <img src=x onerror=alert(1)> de mise à disposition de la salle des fêtes")
BIG_TEMPLATES = (
    ("1", "8.3", "Domaines de compétences par thèmes / Voirie", "Travaux de voirie {place} : programme {year} n°{n}"),
    ("1", "7.1", "Finances locales / Décisions budgétaires", "Décision modificative n°{n} du budget {year}"),
    ("1", "2.1", "Urbanisme / Documents d'urbanisme", "Modification du plan local d'urbanisme secteur {place} n°{n}"),
    ("2", "6.1", "Libertés publiques et pouvoirs de police / Police municipale", "Arrêté de police du maire {place} n°{n}"),
    ("3", "4.1", "Fonction publique / Personnels titulaires et stagiaires de la F.P.T.", "Nomination d'un agent n°{n}"),
    ("4", "1.1", "Commande publique / Marchés publics", "Marché de restauration scolaire lot {n} ({year})"),
    ("5", "7.1", "Finances locales / Décisions budgétaires", "Budget primitif {year} annexe {n}"),
    ("6", "9.1", "Autres domaines de compétences / Autres domaines de compétences des communes", "Décision {n} : adhésion"),
    ("71", "5.2", "Institutions et vie politique / Fonctionnement des assemblées", "Liste des délibérations de la séance n°{n}"),
    ("72", "6.1", "Libertés publiques et pouvoirs de police / Police municipale", "Arrêté temporaire de circulation {place} n°{n}"),
    ("73", "5.2", "Institutions et vie politique / Fonctionnement des assemblées", "Procès-verbal du conseil n°{n}"),
    ("74", "6.1", "Libertés publiques et pouvoirs de police / Police municipale", "Arrêté permanent de stationnement {place} n°{n}"),
)
BIG_NATURES = {"1": "Délibérations", "2": "Actes réglementaires", "3": "Actes individuels",
               "4": "Contrats, conventions et avenants", "5": "Documents budgétaires et financiers", "6": "Autres",
               "71": "Listes des délibérations", "72": "Arrêtés temporaires", "73": "Procès-verbaux de séance",
               "74": "Arrêtés permanents"}
PLACES = ("rue de Brest", "Kerdigor", "Lanvézec", "quai des Pêcheurs", "Pen ar Hoat", "place de l'Église")


@functools.cache
def manifest_validators() -> dict[str, Draft202012Validator]:
    """One validator per manifest schema; ``commun.json`` holds the definitions they share."""
    documents = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in MANIFEST_SCHEMAS.glob("*.json")}
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents.values())
    return {name: Draft202012Validator(documents[name], registry=registry) for name in MANIFESTS}


def manifest_kind(path: str) -> str | None:
    return next((kind for kind, pattern in MANIFESTS.items() if pattern.search(path)), None)


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


def _big_body_acts(base: str) -> dict[int, list[dict]]:
    """20,000 acts of one body over 2016-2025, in the year-file contract."""
    rng = random.Random(35)
    years: dict[int, list[dict]] = {}
    counters: dict[tuple, int] = {}
    for n in range(BIG_ACTS):
        nature, matiere_code, matiere, template = BIG_TEMPLATES[n % len(BIG_TEMPLATES)]
        decided = date(2016, 1, 4) + timedelta(days=rng.randrange(0, 3640))
        published = decided + timedelta(days=rng.randint(1, 20))
        counters[(decided.year, nature)] = counters.get((decided.year, nature), 0) + 1
        numero = f"{nature.rjust(2, '0')}_{decided.year}_{counters[(decided.year, nature)]:04d}"
        objet = template.format(place=rng.choice(PLACES), year=decided.year, n=n)
        if n in (17, 18):
            objet = XSS_OBJETS[n - 17]
        sha = f"{n:064x}"
        name = f"{numero}.pdf" if n != 18 else "<img src=x onerror=alert(2)>.pdf"
        act = {
            "id": f"big{n:05d}", "numero": numero, "objet": objet, "nature_code": nature, "nature": BIG_NATURES[nature],
            "matiere_code": matiere_code, "matiere": matiere, "date_decision": decided.isoformat(),
            "date_transmission": published.isoformat(), "date_ar": published.isoformat(),
            "date_publication": published.isoformat(),
            "document": {"nom": name, "url": f"{base}/documents/{sha[:2]}/{sha}.pdf"},
            "annexes": [{"nom": f"Annexe {numero}.pdf", "url": f"{base}/documents/{sha[:2]}/{sha}-a.pdf"}] if n % 7 == 0 else [],
        }
        years.setdefault(decided.year, []).append(act)
    return years


def write_year(store, siren: str, year: int, acts: list[dict] | None) -> None:
    """A year file in the per-body contract, written the way ``publish_year_files`` does (None: removed)."""
    from load.versions import put_version, set_pointer
    from load.widget_files import body_folder, json_bytes

    folder = body_folder(siren)
    if acts is None:
        set_pointer(store, folder, str(year), None)
        return
    document = {"format": 1, "siren": siren, "annee": year, "actes": acts}
    key, _ = put_version(store, folder, str(year), "json", json_bytes(document))
    set_pointer(store, folder, str(year), {"fichier": key.rsplit("/", 1)[1], "actes": len(acts)})


def _write_big_body(store: LocalStore, settings: Settings) -> None:
    from load.widget_files import publish_index

    body = Body(siren=BIG_SIREN, siret=BIG_SIREN + "00015", name="Ville de Grand-Digor", kind="commune",
                widget={"theme": "default"})
    for year, acts in _big_body_acts(settings.public_base_url).items():
        acts.sort(key=lambda a: (a["date_publication"], a["date_decision"], a["numero"]), reverse=True)
        write_year(store, BIG_SIREN, year, acts)
    publish_index(store, body, "Syndicat numérique de démonstration", settings.public_url)


@pytest.fixture(scope="package")
def site(tmp_path_factory) -> Site:
    """The demo region (acts, budgets, contracts) and the big body, published by the pipeline and served on loopback."""
    from chains import actes as actes_chain
    from chains import budgets as budgets_chain
    from chains import decp as decp_chain
    from digor.serve import make_server, serve_in_thread
    from load.widget_pages import missing_assets
    from samples.actes import DEMO_NIGHTS, generate_drop_folder
    from samples.budgets import write_demo_plans
    from samples.decp import generate_decp_exports

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
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(settings, night)
        budgets_chain.CHAIN.run_night(settings, night)
        decp_chain.CHAIN.run_night(settings, night)
    _write_big_body(store, settings)
    serve_in_thread(server)
    yield Site(base=base, store=root / "store", settings=settings)
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        unavailable(REQUIRE_BROWSER, f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
        response = route.fetch()
        if response.ok:
            url = route.request.url
            errors = manifest_errors(manifest_kind(urlsplit(url).path), response.json())
            self.invalid_manifests += [f"{url}: {error}" for error in errors]
        route.fulfill(response=response)

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
