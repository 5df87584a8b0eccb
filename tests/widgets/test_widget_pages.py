"""Production serving: the widget pages deployed into the store work from the store alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from core.store import LocalStore
from digor.serve import make_server, serve_in_thread
from load.widget_pages import PREFIX, UnbundledModule, bundle_module, deploy_widget_pages

from .conftest import Watched

PAGES = ("actes.html", "budgets.html", "marches.html", "configurateur.html", "commun/commun.css", "commun/dom.js",
         "vendor/echarts.min.js", "vendor/minisearch.js")


def test_deploy_copies_what_browsers_load_and_nothing_else(tmp_path):
    store = LocalStore(tmp_path)
    written = deploy_widget_pages(store)
    keys = set(store.list_keys(PREFIX))
    assert {PREFIX + name for name in PAGES} <= keys and set(written) == keys
    assert not any(k.endswith(("README.md", "package.json", "package-lock.json")) or "node_modules" in k or "templates" in k
                   for k in keys)
    assert deploy_widget_pages(store) == [], "a second deployment rewrites nothing"


def test_deploy_widgets_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "digor.cli", "deploy-widgets", "--store", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "public/widgets/budgets.html" in done.stdout
    assert (tmp_path / "public" / "widgets" / "marches.html").is_file()


def test_deployed_widgets_run_from_the_store_alone(site, context, tmp_path):
    """Served without the checkout's widgets/ folder, as a bucket would serve them."""
    deploy_widget_pages(LocalStore(site.store))
    server = make_server(LocalStore(site.store), "127.0.0.1", 0, widgets_dir=tmp_path)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        watched = Watched(context.new_page(), base)
        for url in (f"{base}/widgets/budgets.html?siret=21290099700017", f"{base}/widgets/marches.html?siret=21290099700017",
                    f"{base}/widgets/actes.html?siren=212900997"):
            page = watched.open(url)
            expect(page.locator("body")).to_have_attribute("data-etat", "pret")
        assert not watched.errors and not watched.dialogs and not watched.outside_requests() and not watched.invalid_manifests
    finally:
        server.shutdown()
        server.server_close()


def test_each_widget_page_gets_its_modules_in_one_request(site, watched):
    """The page's module comes with the shared modules it imports inlined: over HTTP/1.1 a phone
    otherwise waits for a dozen module requests before anything is drawn."""
    for url in (site.widget(f"siren={site.big_siren}"), f"{site.base}/widgets/budgets.html?siret=21290099700017",
                f"{site.base}/widgets/marches.html?siret=21290099700017"):
        watched.requests.clear()
        page = watched.open(url)
        expect(page.locator("body")).to_have_attribute("data-etat", "pret")
        page_module = url.split("/widgets/")[1].split(".html")[0] + ".js"
        scripts = sorted(u.split("/widgets/")[1] for u in watched.requests
                         if u.endswith(".js") and "/widgets/vendor/" not in u)  # libraries come when needed
        assert scripts == sorted([page_module, "commun/debut.js", "commun/hauteur.js"]), scripts
    assert not watched.errors


@pytest.mark.parametrize(("query", "first_screen"), [
    ("actes.html?siren=212900997", "/recents."), ("actes.html?siren=21290099700017", "/recents."),
    ("budgets.html?siret=21290099700017", None), ("marches.html?siret=21290099700017", "/indicateurs.")])
def test_the_manifest_is_asked_for_before_the_page_module_has_come(site, watched, query, first_screen):
    """The head's small script asks for the manifest, then the file of the first screen it names,
    while the module is still on its way (held here); the module then reads those responses: each
    is asked for once."""
    held = []
    module = query.split(".html")[0] + ".js"
    watched.page.route(f"**/widgets/{module}", lambda route: held.append(route))
    watched.page.goto(f"{site.base}/widgets/{query}", wait_until="commit")
    watched.page.wait_for_function("(first) => performance.getEntriesByType('resource').some((e) => "
                                   "first ? e.name.includes(first) : e.name.endsWith('/index.json'))", arg=first_screen)
    assert len(held) == 1
    watched.page.unroute(f"**/widgets/{module}")
    held[0].continue_()
    expect(watched.page.locator("body")).to_have_attribute("data-etat", "pret")
    assert sum(url.endswith("/index.json") for url in watched.requests) == 1
    if first_screen:
        assert sum(first_screen in url for url in watched.requests) == 1
    assert not watched.errors


def test_a_bundled_page_module_runs_alone_and_a_broken_module_is_refused_by_name(tmp_path):
    (tmp_path / "commun").mkdir()
    (tmp_path / "page.js").write_text('import { a, b as c } from "./commun/x.js";\nconsole.log(a, c());\n')
    (tmp_path / "commun" / "x.js").write_text("export const a = 1;\nexport function b() { return 2; }\n")
    bundled = bundle_module("page.js", tmp_path)
    ran = subprocess.run(["node", "--input-type=module"], input=bundled, capture_output=True, check=True)
    assert ran.stdout == b"1 2\n", "the bundle runs without the module it imported"
    (tmp_path / "commun" / "x.js").write_text("export const a = ;\n")
    with pytest.raises(UnbundledModule, match=r"widgets/page.js: esbuild could not bundle it: .*commun/x.js"):
        bundle_module("page.js", tmp_path)


@pytest.mark.parametrize("query", ["actes.html?siren=212900997", "budgets.html?siret=21290099700017",
                                   "marches.html?siret=21290099700017", "marches.html?siret=12345678900011"])
def test_a_head_script_that_comes_after_the_module_asks_for_nothing(site, watched, query):
    """The head's script is asynchronous: when the module has asked for the manifest first, the
    script must not ask again (a second 404 for an unknown body, a wasted request otherwise)."""
    held = []
    watched.page.route("**/widgets/commun/debut.js", lambda route: held.append(route))
    with watched.page.expect_request(lambda request: request.url.split("?")[0].endswith("/index.json")):
        watched.page.goto(f"{site.base}/widgets/{query}", wait_until="commit")
    assert len(held) == 1, "the head's script was held until the module had asked for its manifest"
    watched.page.unroute("**/widgets/commun/debut.js")
    held[0].continue_()
    watched.page.wait_for_selector("body[data-etat]", state="attached")
    watched.page.wait_for_function("() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/debut.js'))")
    watched.page.wait_for_timeout(200)  # room for a second request, were the script to make one
    assert sum(url.split("?")[0].endswith("/index.json") for url in watched.requests) == 1, watched.requests
    if "12345678900011" in query:
        watched.forget_logged(404)
    assert not watched.errors
