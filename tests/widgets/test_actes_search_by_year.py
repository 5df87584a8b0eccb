"""The Actes widget's search, cut by year: what a citizen sees is what the whole index showed.

Two bodies hold the same acts over three years: one switched by today's code (one search part per
year, put together in the browser), one as the code before left it in a region in service (one
whole index, ``recherche.format`` 2), which the widget still reads until the body's next switch.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from core.registry import Body
from core.store import LocalStore, gzip_bytes, plain_bytes
from load.versions import put_version
from load.widget_files import SEARCH_FIELDS, STOP_WORDS, body_folder, index_key, publish_index

from .conftest import write_year
from .minisearch_index import search_index

NEW, OLD = "219999982", "219999974"
YEARS = (2023, 2024, 2025)
PUBLISHER = "Syndicat numérique de démonstration"
OBJETS = ("Location de la salle des fêtes", "Travaux de voirie rue de la salle", "Budget primitif de la commune",
          "Tarifs de la salle polyvalente et de la salle des fêtes", "Subvention au comité des fêtes")
# Only in one act of 2024: the act withdrawn.
UNIQUE = "Convention avec Monsieur Kerbrat pour la salle"


def _acts() -> dict[int, list[dict]]:
    acts = {}
    for year in YEARS:
        acts[year] = [{
            "id": f"sy{year}{n:03d}", "numero": f"DEL_{year}_{n:03d}",
            "objet": UNIQUE if (year, n) == (2024, 7) else f"{OBJETS[n % len(OBJETS)]} {year}",
            "nature_code": "1", "nature": "Délibérations", "matiere_code": "5.2" if n % 2 else "7.1",
            "matiere": "Institutions et vie politique / Fonctionnement des assemblées" if n % 2
            else "Finances locales / Décisions budgétaires",
            "date_decision": f"{year}-0{1 + n % 9}-1{n % 10}", "date_transmission": f"{year}-0{1 + n % 9}-1{n % 10}",
            "date_ar": f"{year}-0{1 + n % 9}-1{n % 10}", "date_publication": f"{year}-0{1 + n % 9}-2{n % 9}",
            "document": None, "annexes": [],
        } for n in range(24)]
    return acts


def _body(siren: str) -> Body:
    return Body(siren=siren, siret=siren + "00011", name="Commune de Salle-sur-Digor", kind="commune")


def _publish(store: LocalStore, siren: str, acts: dict[int, list[dict]], public_url) -> None:
    for year in YEARS:
        write_year(store, siren, year, acts[year] or None)
    publish_index(store, _body(siren), PUBLISHER, public_url)


def _as_the_code_before(store: LocalStore, siren: str, acts: dict[int, list[dict]]) -> None:
    """The body's search as the code before wrote it: one whole index (MiniSearch's serialisation with
    digor's settings) as a version, named by the manifest's ``recherche.fichier`` (format 2)."""
    folder = body_folder(siren)
    every = [act for year in YEARS for act in acts[year]]
    whole = search_index(every) | {"digor": {"champs": list(SEARCH_FIELDS), "mots_vides": list(STOP_WORDS)}}
    key, _ = put_version(store, folder, "recherche", "json", gzip_bytes(json.dumps(whole).encode()), every)
    manifest = json.loads(store.get_bytes(index_key(siren)))
    manifest["recherche"] = {"fichier": key.rsplit("/", 1)[1], "bibliotheque": "minisearch", "format": 2}
    store.put_bytes(index_key(siren), json.dumps(manifest).encode())


@pytest.fixture(scope="module")
def bodies(site):
    store = LocalStore(site.store)
    acts = _acts()
    for siren in (NEW, OLD):
        _publish(store, siren, acts, site.settings.public_url)
    _as_the_code_before(store, OLD, acts)
    return acts


def _results(watched, site, siren: str, words: str, page: int = 1) -> tuple[str, list[str]]:
    shown = watched.open(site.widget(f"siren={siren}&recherche={words}&page={page}"), "body[data-etat=pret]")
    expect(shown.locator("#resultats")).to_have_attribute("aria-busy", "false")
    ids = shown.locator("#liste > li.acte").evaluate_all("items => items.map(i => i.dataset.id)")
    return shown.locator("#total").inner_text(), ids


def _manifest(site, siren: str) -> dict:
    return json.loads((site.store / index_key(siren)).read_text(encoding="utf-8"))


@pytest.mark.parametrize("words", ["salle", "fetes 2024", "salle des fetes", "budjet", "voirie"])
def test_a_search_across_years_shows_what_the_whole_index_showed(site, watched, bodies, words):
    assert _manifest(site, NEW)["recherche"]["format"] == 3 and _manifest(site, OLD)["recherche"]["format"] == 2
    found = []
    for page in (1, 2, 3):
        total, ids = _results(watched, site, NEW, words, page)
        assert (total, ids) == _results(watched, site, OLD, words, page), f"{words}, page {page}"
        found += ids
    assert found and "Aucun acte" not in total
    if words == "salle":
        assert {act_id[2:6] for act_id in found} == {str(year) for year in YEARS}, "found in every year"


def test_a_withdrawn_act_is_found_nowhere_and_the_other_years_parts_stay(site, watched, bodies):
    store = LocalStore(site.store)
    before = _manifest(site, NEW)
    total, ids = _results(watched, site, NEW, "kerbrat")
    assert ids == ["sy2024007"]
    acts = {year: [act for act in bodies[year] if act["id"] != "sy2024007"] for year in YEARS}
    _publish(store, NEW, acts, site.settings.public_url)
    after = _manifest(site, NEW)
    assert {year for year in YEARS if before["recherche"]["annees"][str(year)] != after["recherche"]["annees"][str(year)]} \
        == {2024}, "the night wrote the part of the year it touched, only"
    total, ids = _results(watched, site, NEW, "kerbrat")
    assert (total, ids) == ("Aucun acte ne correspond à ces critères.", [])
    total, ids = _results(watched, site, NEW, "salle")
    assert "sy2024007" not in ids
    folder = site.store / body_folder(NEW)
    assert not [p.name for p in folder.iterdir() if b"sy2024007" in plain_bytes(p.read_bytes())], \
        "no file of the body, retained versions included, shows the withdrawn act"
    _publish(store, NEW, bodies, site.settings.public_url)  # published again: the other tests' body


def test_the_next_switch_of_a_body_left_by_the_code_before_cuts_its_index_by_year(site, watched, bodies):
    """Searched from its whole index until its next switch; then from its years' parts, the same
    results; the whole index stays readable for a page that read the manifest before the switch."""
    store = LocalStore(site.store)
    old_index = _manifest(site, OLD)["recherche"]["fichier"]
    seen = _results(watched, site, OLD, "salle")
    assert any(url.endswith(old_index) for url in watched.requests)
    publish_index(store, _body(OLD), PUBLISHER, site.settings.public_url)
    assert _manifest(site, OLD)["recherche"]["format"] == 3
    assert (site.store / body_folder(OLD) / old_index).exists(), "kept for the retention, like any version"
    watched.requests.clear()
    assert _results(watched, site, OLD, "salle") == seen
    assert not any(url.endswith(old_index) for url in watched.requests)
    assert sum("/recherche-" in url for url in watched.requests) == len(YEARS)


def test_a_search_part_that_cannot_be_read_leaves_the_search_to_the_year_files(site, watched, bodies):
    """The browser then indexes the year files itself: the same results."""
    expected = _results(watched, site, OLD, "salle")
    broken = _manifest(site, NEW)["recherche"]["annees"]["2024"]["fichier"]
    watched.page.route(f"**/{broken}", lambda route: route.fulfill(status=503, body="indisponible"))
    assert _results(watched, site, NEW, "salle") == expected
    watched.forget_logged(503)
