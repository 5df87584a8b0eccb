"""The text index's term ranges, shared by a body's years: a word is one range's worth of the index
for the visitor, and a night still writes the text index of the years it touched only."""

from __future__ import annotations

import json
import random

import pytest

import load.widget_text_index as widget_text_index
from core.keys import public_document_text_key, widget_body_drafts
from core.registry import Body
from core.store import LocalStore, plain_bytes
from load.document_texts import write_record
from load.widget_files import body_folder, index_key, publish_index, write_year_entries
from samples.widget_bodies import text_word

BODY = Body(siren="219999976", siret="21999997600011", name="Commune de Kerplein", kind="commune")
SHARD_BYTES = 1_500


def public_url(key: str) -> str:
    return "https://donnees.example/" + key.split("/", 1)[1]


def _acts(store: LocalStore, year: int, count: int, start: int = 0, seed: int = 0) -> list[dict]:
    """``count`` acts of ``year`` whose documents have a text read (40 words of a 300-word vocabulary,
    and one word of their own, ``unique<year>x<n>``)."""
    rng = random.Random(seed * 10_000 + year)
    acts = []
    for n in range(start, start + count):
        sha = f"{year:04d}{n:060x}"
        words = [text_word(w) for w in rng.choices(range(300), weights=[1 / (r + 1) for r in range(300)], k=40)]
        text = " ".join([*words, f"unique{year}x{n}"])
        write_record(store, sha, {"status": "texte", "pages": 1, "ocr_pages": 0, "text": text})
        store.put_bytes(public_document_text_key(sha), text.encode("utf-8"))
        day = f"{year}-{1 + n % 12:02d}-{1 + n % 27:02d}"
        acts.append({"id": f"kp{year}{n:04d}", "numero": f"DEL_{year}_{n:04d}", "objet": f"Délibération {n}",
                     "nature_code": "1", "nature": "Délibérations", "matiere_code": "5.2", "matiere": "Institutions",
                     "date_decision": day, "date_transmission": day, "date_ar": day, "date_publication": day,
                     "document": {"nom": "d.pdf", "url": f"https://donnees.example/documents/{sha[:2]}/{sha}.pdf"},
                     "annexes": []})
    return acts


def _publish(store: LocalStore, years: dict[int, list[dict]], writes: list[str] | None = None) -> None:
    for year, acts in years.items():
        write_year_entries(store, BODY.siren, year, acts)
    if writes is not None:
        put = store.put_bytes
        store.put_bytes = lambda key, data: (writes.append(key), put(key, data))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(widget_text_index, "SHARD_BYTES", SHARD_BYTES)
        publish_index(store, BODY, "Syndicat", public_url)
    if writes is not None:
        del store.put_bytes


def _index(store: LocalStore) -> dict[str, list[dict]]:
    """Each year's ranges as its text index names them."""
    folder = body_folder(BODY.siren)
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    return {year: json.loads(plain_bytes(store.get_bytes(f"{folder}/{entry['texte']}")))["tranches"]
            for year, entry in manifest["recherche"]["annees"].items() if "texte" in entry}


def _found(store: LocalStore) -> dict[str, set[str]]:
    """Term -> the acts the widget finds by it, decoded as the widget does."""
    folder = body_folder(BODY.siren)
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    found: dict[str, set[str]] = {}
    for year, ranges in _index(store).items():
        acts = json.loads(plain_bytes(store.get_bytes(f"{folder}/{manifest['annees'][year]['fichier']}")))["actes"]
        ids = sorted({act["id"] for act in acts})
        for part in ranges:
            if "fichier" not in part:
                continue
            terms = json.loads(plain_bytes(store.get_bytes(f"{folder}/{part['fichier']}")))["termes"]
            for term, deltas in terms.items():
                ranks = [sum(deltas[:n + 1]) for n in range(len(deltas))]
                found.setdefault(term, set()).update(ids[r] for r in ranks)
    return found


def _public_files(store: LocalStore) -> dict[str, bytes]:
    """The body's manifest and every text index file a year names."""
    folder = body_folder(BODY.siren)
    names = [part["fichier"] for parts in _index(store).values() for part in parts if "fichier" in part]
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    names += [entry["texte"] for entry in manifest["recherche"]["annees"].values()]
    return {"index.json": store.get_bytes(index_key(BODY.siren))} | {name: store.get_bytes(f"{folder}/{name}")
                                                                     for name in names}


def _range_sizes(store: LocalStore) -> list[int]:
    """Each range's parts, every year together, in bytes."""
    folder = body_folder(BODY.siren)
    ranges = _index(store)
    sizes = [0] * len(next(iter(ranges.values())))
    for parts in ranges.values():
        for k, part in enumerate(parts):
            if "fichier" in part:
                sizes[k] += len(plain_bytes(store.get_bytes(f"{folder}/{part['fichier']}")))
    return sizes


@pytest.fixture
def years(tmp_path) -> tuple[LocalStore, dict[int, list[dict]]]:
    store = LocalStore(tmp_path / "store")
    years = {year: _acts(store, year, 25) for year in (2021, 2022, 2023, 2024)}
    _publish(store, years)
    return store, years


def test_the_years_share_their_ranges_and_a_range_holds_about_one_shard_in_all(years):
    store, _ = years
    ranges = _index(store)
    assert len({tuple(part["de"] for part in parts) for parts in ranges.values()}) == 1, "the same ranges in every year"
    sizes = _range_sizes(store)
    assert len(sizes) > 5 and max(sizes) < 1.5 * SHARD_BYTES, sizes


def test_a_night_writes_the_text_index_of_the_year_it_touched_only_and_a_withdrawn_act_leaves_it(years, tmp_path):
    store, acts = years
    assert _found(store)["unique2022x7"] == {"kp20220007"}
    acts[2022] = [act for act in acts[2022] if act["id"] != "kp20220007"]
    writes: list[str] = []
    _publish(store, acts, writes)
    texts = [key.rsplit("/", 1)[1] for key in writes if "/texte-" in key]
    assert texts and all(name.startswith("texte-2022") for name in texts), texts
    found = _found(store)
    assert "unique2022x7" not in found and all("kp20220007" not in ids for ids in found.values())
    folder = body_folder(BODY.siren)
    assert not [key for key in store.list_keys(f"{folder}/") if b"unique2022x7" in plain_bytes(store.get_bytes(key))], \
        "no version of the folder, retained ones included, holds the withdrawn act's words"
    records = [key for key in writes if "/records/" in key and "/texte-" in key]
    assert records and all(len(store.get_bytes(key)) < 300 for key in records), \
        "the parts' records name the year file's, not a copy each"
    scratch = LocalStore(tmp_path / "scratch")
    for year in acts:
        _acts(scratch, year, 25)
    _publish(scratch, acts)
    assert found == _found(scratch), "what a visitor finds is what a body made from scratch gives"


def test_a_range_grown_past_twice_its_size_is_cut_again_in_every_year(years, tmp_path):
    store, acts = years
    before = _index(store)
    acts[2024] += _acts(store, 2024, 120, start=25, seed=1)
    writes: list[str] = []
    _publish(store, acts, writes)
    after = _index(store)
    assert len({tuple(part["de"] for part in parts) for parts in after.values()}) == 1, "the same ranges in every year"
    assert len(after["2021"]) > len(before["2021"]), "ranges cut again"
    assert max(_range_sizes(store)) < 2.2 * SHARD_BYTES
    for year in ("2021", "2022", "2023"):
        kept = {part.get("fichier") for part in before[year]} & {part.get("fichier") for part in after[year]}
        rewritten = [key for key in writes if f"/texte-{year}-termes." in key]
        assert kept and len(rewritten) < len(after[year]) / 2, f"{year}: its other ranges' parts are kept"
    scratch = LocalStore(tmp_path / "scratch")
    for year in (2021, 2022, 2023):
        _acts(scratch, year, 25)
    _acts(scratch, 2024, 25)
    _acts(scratch, 2024, 120, start=25, seed=1)
    _publish(scratch, acts)
    assert _found(store) == _found(scratch)


def test_a_rebuild_from_scratch_writes_the_text_index_the_nights_kept_up(years):
    """Where the ranges were cut depends on the nights; a switch that lost the private parts (a
    rebuild) cuts on the ranges of the published index, and writes the same files."""
    store, acts = years
    acts[2024] += _acts(store, 2024, 120, start=25, seed=1)
    _publish(store, acts)
    nightly = _public_files(store)
    for key in store.list_keys(widget_body_drafts("actes", BODY.siren)):
        store.delete(key)
    _publish(store, acts)
    assert _public_files(store) == nightly
