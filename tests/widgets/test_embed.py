"""A widget pasted into a town hall's page: the iframe fits its content with the embed script,
keeps its height without it, and a phone scrolls the page only."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

KERDIGOR_SIREN = "212900997"
KERDIGOR_SIRET = "21290099700017"
WIDGETS = {
    "actes": f"actes.html?siren={KERDIGOR_SIREN}",
    "marches": f"marches.html?siret={KERDIGOR_SIRET}",
    "budgets": f"budgets.html?siret={KERDIGOR_SIRET}",
}


class TownHall(ThreadingHTTPServer):
    """The town hall's site: another origin (another loopback port) serving the pages a test gives."""

    pages: dict[str, bytes]


@pytest.fixture(scope="module")
def town_hall():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            body = self.server.pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = TownHall(("127.0.0.1", 0), Handler)
    server.pages = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def host_page(context, site, town_hall, widget: str, script: bool, width: int = 320):
    """The town hall's page with the widget's iframe, as the configurator writes it."""
    src = f"{site.base}/widgets/{WIDGETS[widget]}"
    tag = f'<script src="{site.base}/widgets/commun/integration.js" defer></script>' if script else ""
    body = (f'<!doctype html><html lang="fr"><head><meta name="viewport" content="width=device-width">'
            f'<title>Mairie</title></head><body style="margin:0"><h1>Mairie de Kerdigor</h1>'
            f'<iframe id="widget" src="{html.escape(src)}" title="Widget" width="100%" height="600" '
            f'style="border: 0; max-width: 100%;"></iframe>{tag}<p id="fin">Pied de page</p></body></html>')
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 640})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    path = f"/{widget}-{'script' if script else 'simple'}.html"
    town_hall.pages[path] = body.encode()
    page.goto(f"http://127.0.0.1:{town_hall.server_address[1]}{path}")
    frame = page.frame_locator("#widget")
    expect(frame.locator("body")).to_have_attribute("data-etat", "pret", timeout=30_000)
    return page, errors


def frame_height(page) -> float:
    return page.locator("#widget").evaluate("f => f.getBoundingClientRect().height")



def inner(page):
    return next(f for f in page.frames if f != page.main_frame)


def fits(page) -> bool:
    """The iframe is as tall as its content, and nothing scrolls inside it."""
    frame = inner(page)
    scroll = frame.evaluate("() => document.documentElement.scrollHeight - innerHeight")
    content = frame.evaluate("() => Math.ceil(document.body.getBoundingClientRect().bottom + scrollY)")
    return scroll <= 1 and abs(frame_height(page) - content) <= 2


@pytest.mark.parametrize("widget", list(WIDGETS))
def test_with_the_embed_script_the_iframe_fits_its_content_on_a_phone(site, context, town_hall, widget):
    page, errors = host_page(context, site, town_hall, widget, script=True)
    page.wait_for_function("() => document.querySelector('#widget').style.height !== ''")
    deadline = 50
    while not fits(page) and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    assert fits(page), (frame_height(page), inner(page).evaluate("() => document.documentElement.scrollHeight"))
    assert frame_height(page) > 600 or widget == "budgets", "a list taller than the site's default height shows whole"
    assert inner(page).evaluate("() => document.documentElement.scrollWidth <= innerWidth"), "nothing wider than a phone"
    assert not errors


def test_the_frame_follows_its_content_when_it_changes(site, context, town_hall):
    page, _ = host_page(context, site, town_hall, "actes", script=True)
    page.wait_for_function("() => document.querySelector('#widget').style.height !== ''")
    before = frame_height(page)
    frame = page.frame_locator("#widget")
    frame.locator("#recherche").fill("zzzz introuvable")
    frame.locator("#recherche").press("Enter")
    expect(frame.locator("#total")).to_have_text("Aucun acte ne correspond à ces critères.")
    page.wait_for_function("(h) => document.querySelector('#widget').getBoundingClientRect().height < h", arg=before)
    assert fits(page)


def test_without_the_script_the_iframe_keeps_its_height_and_works(site, context, town_hall):
    page, errors = host_page(context, site, town_hall, "actes", script=False)
    expect(page.frame_locator("#widget").locator("#liste > li.acte").first).to_be_visible()
    page.wait_for_timeout(300)
    assert frame_height(page) == 600 and not errors


def test_only_the_widgets_messages_resize_their_own_iframe(site, context, town_hall):
    page, _ = host_page(context, site, town_hall, "actes", script=True)
    page.wait_for_function("() => document.querySelector('#widget').style.height !== ''")
    fitted = frame_height(page)
    page.evaluate("() => window.postMessage({type: 'digor-hauteur', hauteur: 9000}, '*')")  # the host's own origin
    page.wait_for_timeout(300)
    assert frame_height(page) == fitted


def test_the_configurator_offers_the_script_and_the_plain_iframe(site, watched):
    page = watched.open(f"{site.base}/widgets/configurateur.html?siren={KERDIGOR_SIREN}", "body[data-etat=pret]")
    expect(page.locator("#hauteur-auto")).to_be_checked()
    code = page.locator("#code").input_value()
    assert f'<script src="{site.base}/widgets/commun/integration.js" defer></script>' in code
    assert code.index("<iframe") < code.index("<script"), "the iframe first, then the script"
    page.uncheck("#hauteur-auto")
    code = page.locator("#code").input_value()
    assert "<script" not in code and code.startswith("<iframe") and 'height="800"' in code
