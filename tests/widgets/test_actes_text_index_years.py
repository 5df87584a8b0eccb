"""Search inside the documents' text of a body with several years: what a word costs the visitor.

The text index is written a year at a time (a night rewrites the year it touched), but a word is
looked up in one term range, the same in every year: the visitor downloads that range's part of each
year, one shard's worth in all, not one shard per year.
"""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

import load.widget_text_index as widget_text_index
from core.keys import public_document_text_key
from core.registry import Body
from core.store import LocalStore, plain_bytes
from load.document_texts import write_record
from load.documents import document_key
from load.widget_files import body_folder, publish_index, write_year_entries
from samples.widget_bodies import text_word

SIREN = "219999968"
BODY = Body(siren=SIREN, siret=SIREN + "00016", name="Commune de Kerplein", kind="commune", widget={"theme": "default"})
YEARS = (2021, 2022, 2023, 2024)
ACTS_PER_YEAR = 30
# Small shards, so that this small body's index has many of them, as a town's has.
SHARD_BYTES = 2_000
RARE = "kerbratig"


def _text(rng: random.Random, year: int, n: int) -> str:
    words = [text_word(w) for w in rng.choices(range(400), weights=[1 / (r + 1) for r in range(400)], k=60)]
    if n == 3:
        words.insert(20, RARE)
    return f"Délibération {year} " + " ".join(words)


@pytest.fixture(scope="module")
def years_body(site):
    """A body of four years whose acts' documents have their text read, indexed with small shards."""
    store = LocalStore(site.store)
    rng = random.Random(7)
    for year in YEARS:
        entries = []
        for n in range(ACTS_PER_YEAR):
            sha = f"{year:04d}{n:060x}"
            text = _text(rng, year, n)
            write_record(store, sha, {"status": "texte", "pages": 1, "ocr_pages": 0, "text": text})
            store.put_bytes(public_document_text_key(sha), text.encode("utf-8"))
            day = f"{year}-{1 + n % 12:02d}-{1 + n % 27:02d}"
            entries.append({
                "id": f"kp{year}{n:03d}", "numero": f"DEL_{year}_{n:03d}", "objet": f"Délibération n° {n} de {year}",
                "nature_code": "1", "nature": "Délibérations", "matiere_code": "5.2",
                "matiere": "Institutions et vie politique / Fonctionnement des assemblées", "date_decision": day,
                "date_transmission": day, "date_ar": day, "date_publication": day,
                "document": {"nom": f"del-{n}.pdf", "url": site.settings.public_url(document_key(sha))}, "annexes": [],
            })
        write_year_entries(store, SIREN, year, entries)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(widget_text_index, "SHARD_BYTES", SHARD_BYTES)
        publish_index(store, BODY, "Région de démonstration", site.settings.public_url)
    return store


def test_a_word_costs_one_shard_of_the_text_index_whatever_the_number_of_years(site, watched, years_body):
    folder = site.store / body_folder(SIREN)
    index_files = [name for name in folder.iterdir() if name.name.startswith("texte-") and "-termes." in name.name]
    assert len(index_files) > 3 * len(YEARS), "the index has many shards"
    page = watched.open(site.widget(f"siren={SIREN}&recherche={RARE}"), "body[data-extraits=pret]")
    expect(page.locator("#liste > li.acte")).to_have_count(len(YEARS))
    expect(page.locator("#liste > li.acte .extrait mark").first).to_have_text(RARE)
    fetched = [url.rsplit("/", 1)[1] for url in watched.requests if "-termes." in url]
    by_year = {year: [name for name in fetched if name.startswith(f"texte-{year}-")] for year in YEARS}
    assert all(len(names) == 1 for names in by_year.values()), f"one part of each year: {by_year}"
    downloaded = sum(len(plain_bytes((folder / name).read_bytes())) for name in fetched)
    assert downloaded <= 1.5 * SHARD_BYTES, f"{downloaded} bytes of the index for one word, in {len(fetched)} files"
