"""Search inside the acts' documents in the Actes widget: a word only in a scanned PDF finds its act."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from playwright.sync_api import expect

from chains.actes import CHAIN
from core.registry import Body
from core.store import LocalStore, plain_bytes
from load.document_texts import publish_texts
from load.documents import document_key, documents_of, publish_documents
from load.widget_files import publish_index, write_year_entries
from tests.texts.pdfs import born_digital_pdf, scanned_pdf

SIREN = "213500028"
BODY = Body(siren=SIREN, siret=SIREN + "00017", name="Commune de Plouzélambre", kind="commune",
            widget={"theme": "default"})
# A year no demo act has: the documents' usage list of that year is this body's alone.
YEAR = 2019
DOCUMENTS = {
    "scan": scanned_pdf([["ARRETE DU MAIRE", "Stationnement interdit", "rue Kerguelen le jeudi matin"]]),
    "texte": born_digital_pdf(["Deliberation du conseil municipal",
                               "Programme de voirie du bourg, <img src=x onerror=alert(3)> compris"]),
    "titre": born_digital_pdf(["Deliberation sur le programme de voirie communale"]),
}
OBJETS = {"scan": "Arrêté de police du maire n° 12", "texte": "Programme pluriannuel d'investissement",
          "titre": "Travaux de voirie communale"}


@pytest.fixture(scope="module")
def text_body(site, ocr_ready):
    """A body whose three acts' PDFs (one scanned) are read by the pipeline's text reading, published
    beside their PDFs and indexed in the widget's files."""
    store = LocalStore(site.store)
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in DOCUMENTS.items()}
    rows = []
    for name, data in DOCUMENTS.items():
        raw = f"raw/actes/drop/date={YEAR}-06-01/{SIREN}/{name}/{name}.pdf"
        store.put_bytes(raw, data)
        rows.append({"metadata_only": False, "main_file_sha256": hashes[name], "main_file_key": raw,
                     "publish_annexes": False, "annexes": []})
    publish_documents(store, YEAR, documents_of(pd.DataFrame(rows)))
    read = CHAIN.read_texts(site.settings, sorted(hashes.values()))
    assert read["read"] == 3 and read["ocr_pages"] == 1
    publish_texts(store)
    entries = [{
        "id": f"plz-{name}", "numero": f"2019_{n:03d}", "objet": OBJETS[name], "nature_code": "2" if n == 0 else "1",
        "nature": "Actes réglementaires" if n == 0 else "Délibérations", "matiere_code": "5.2",
        "matiere": "Institutions et vie politique / Fonctionnement des assemblées", "date_decision": f"{YEAR}-06-{10 + n}",
        "date_transmission": f"{YEAR}-06-{11 + n}", "date_ar": f"{YEAR}-06-{11 + n}",
        "date_publication": f"{YEAR}-06-{12 + n}",
        "document": {"nom": f"{name}.pdf", "url": site.settings.public_url(document_key(hashes[name]))},
        "annexes": [],
    } for n, name in enumerate(DOCUMENTS)]
    write_year_entries(store, SIREN, YEAR, entries)
    publish_index(store, BODY, "Région de démonstration", site.settings.public_url)
    return hashes


def _search(watched, site, words: str):
    page = watched.open(site.widget(f"siren={SIREN}&recherche={words}"), "body[data-extraits=pret]")
    expect(page.locator("#liste > li.acte").first).to_be_visible()
    return page


def test_a_word_only_in_a_scanned_pdf_finds_its_act_with_the_passage_highlighted(site, watched, text_body):
    page = _search(watched, site, "kerguelen")
    expect(page.locator("#liste > li.acte")).to_have_count(1)
    act = page.locator("#liste > li.acte").first
    expect(act.locator(".objet")).to_have_text(OBJETS["scan"])
    expect(act.locator(".extrait mark")).to_have_text("Kerguelen")
    expect(act.locator(".extrait")).to_contain_text("rue Kerguelen le jeudi")


def test_the_acts_own_fields_rank_first_and_a_text_shows_as_text(site, watched, text_body):
    page = _search(watched, site, "voirie")
    ids = page.locator("#liste > li.acte").evaluate_all("items => items.map(i => i.dataset.id)")
    assert ids == ["plz-titre", "plz-texte"]  # the objet's word first, then the document's
    passage = page.locator("#acte-plz-texte .extrait")
    expect(passage.locator("mark")).to_have_text("voirie")
    expect(passage).to_contain_text("<img src=x onerror=alert(3)>")
    assert passage.locator("img").count() == 0


def test_the_text_index_is_in_the_manifest_and_a_search_reads_only_its_shards(site, watched, text_body):
    folder = site.store / "public" / "widgets" / "actes" / SIREN
    manifest = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    index = json.loads(plain_bytes((folder / manifest["recherche"]["annees"][str(YEAR)]["texte"]).read_bytes()))
    assert index["actes"] == 3 and index["suffixe"] == ".txt"
    terms = {}
    for shard in index["tranches"]:
        terms.update(json.loads(plain_bytes((folder / shard["fichier"]).read_bytes()))["termes"])
    assert "kerguelen" in terms and "onerror" in terms
    _search(watched, site, "kerguelen")
    texts = [url for url in watched.requests if url.endswith(".txt")]
    assert texts == [site.settings.public_url(document_key(text_body["scan"])).replace(".pdf", ".txt")]


def test_the_acts_found_by_their_fields_show_while_their_documents_text_is_searched(site, watched, text_body):
    """A search draws what the acts' own fields give at once; the acts found by their documents' text
    join them when the index's shards have come (held here), and only then is the list announced."""
    held = []
    watched.page.route("**/texte-*-termes.*", lambda route: held.append(route))
    page = watched.open(site.widget(f"siren={SIREN}&recherche=voirie"), "#acte-plz-titre")
    expect(page.locator("#liste > li.acte")).to_have_count(1)
    expect(page.locator("#total")).to_have_text("1 acte (recherche dans le texte des documents…)")
    expect(page.locator("#resultats")).to_have_attribute("aria-busy", "true")
    assert held
    page.unroute("**/texte-*-termes.*")
    for route in held:
        route.continue_()
    expect(page.locator("#liste > li.acte")).to_have_count(2)
    expect(page.locator("#total")).to_have_text("2 actes")
    expect(page.locator("#resultats")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#annonce")).to_have_text("2 actes trouvés.")
