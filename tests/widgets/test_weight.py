"""What Focus marchés and Budgets download: compressed files, and the list of contracts only when
a visitor gets near it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

KERDIGOR_SIRET = "21290099700017"
VERSION = re.compile(r"\.[0-9a-f]{16}\.json$")
CONTRACT_YEAR = re.compile(r"/contrats-\d{4}\.[0-9a-f]{16}\.json$")


# What the page had asked for when it first marked itself drawn (an observer set before its scripts run).
FIRST_RENDER = """
new MutationObserver((_, observer) => {
  if (!document.body || !document.body.dataset.etat) return;
  window.__premierRendu = { etat: document.body.dataset.etat, scripts: [...document.scripts].map((s) => s.src),
    fichiers: performance.getEntriesByType("resource").map((e) => e.name) };
  observer.disconnect();
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-etat"] });
"""


def echarts_at_first_render(page) -> list[str]:
    """ECharts files the page had requested or received when it was first drawn."""
    page.wait_for_function("() => window.__premierRendu !== undefined")
    first = page.evaluate("window.__premierRendu")
    assert first["etat"] == "pret", first
    return [url for url in first["scripts"] + first["fichiers"] if "echarts" in url]


def answered(page) -> dict[str, dict]:
    """URL -> response headers of every file the page received."""
    seen: dict[str, dict] = {}
    page.on("response", lambda response: seen.__setitem__(response.url, response.all_headers()))
    return seen


def test_focus_marches_draws_its_figures_before_it_downloads_the_list(site, watched):
    page = watched.page
    page.set_viewport_size({"width": 1100, "height": 500})
    files = answered(page)
    page.add_init_script(FIRST_RENDER)
    watched.open(f"{site.base}/widgets/marches.html?siret={KERDIGOR_SIRET}", "body[data-etat=pret]")
    assert echarts_at_first_render(page) == [], "the figures and tables come before ECharts"
    expect(page.locator("[data-chiffre=marches] .valeur")).not_to_have_text("")
    expect(page.locator("table[data-tableau=annees] tbody tr").first).to_be_attached()
    page.wait_for_timeout(300)
    assert not [url for url in files if CONTRACT_YEAR.search(url)], "no year file before the list is near"
    page.wait_for_selector("body[data-graphiques=pret]", state="attached")
    assert page.locator("#dessin-annees canvas").count() == 1, "the charts follow, once ECharts is there"
    assert page.locator("body").get_attribute("data-liste") is None
    page.locator("#section-liste").scroll_into_view_if_needed()
    page.wait_for_selector("body[data-liste=pret]", state="attached")
    expect(page.locator("#liste > li.contrat").first).to_be_visible()
    versions = [url for url in files if VERSION.search(url)]
    assert any(CONTRACT_YEAR.search(url) for url in versions)
    assert all(files[url].get("content-encoding") == "gzip" for url in versions), \
        {url: files[url].get("content-encoding") for url in versions}


def test_an_address_about_the_list_loads_it_at_once(site, watched):
    page = watched.page
    page.set_viewport_size({"width": 1100, "height": 500})
    watched.open(f"{site.base}/widgets/marches.html?siret={KERDIGOR_SIRET}&tri=montant", "body[data-liste=pret]")
    expect(page.locator("#liste > li.contrat").first).to_be_attached()


def test_budgets_files_come_compressed(site, watched):
    files = answered(watched.page)
    watched.open(f"{site.base}/widgets/budgets.html?siret={KERDIGOR_SIRET}", "body[data-etat=pret]")
    versions = [url for url in files if VERSION.search(url)]
    assert versions and all(files[url].get("content-encoding") == "gzip" for url in versions), \
        {url: files[url].get("content-encoding") for url in versions}


def test_budgets_draws_its_essentials_and_tables_before_echarts_and_the_charts_follow(site, watched):
    page = watched.page
    page.add_init_script(FIRST_RENDER)
    watched.open(f"{site.base}/widgets/budgets.html?siret={KERDIGOR_SIRET}", "body[data-etat=pret]")
    assert echarts_at_first_render(page) == [], "the essentials and tables come before ECharts"
    expect(page.locator("#resume")).to_contain_text("Dépenses : ")
    expect(page.locator("#chiffres-cles tbody tr").first).to_be_attached()
    expect(page.locator("#graphique-sections table tbody tr").first).to_be_attached()
    page.wait_for_selector("body[data-graphiques=pret]", state="attached")
    assert any(url.endswith("/widgets/vendor/echarts.min.js") for url in watched.requests)
    assert page.locator("#dessin-sections canvas").count() == 1, "the charts follow, once ECharts is there"
    assert page.evaluate("window.digorBudgets.charts.size") >= 5
