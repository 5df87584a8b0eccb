"""Per-body widget files beyond the year files: search index, Atom feed, catalogue; ``digor serve``."""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta

from lxml import etree

from core.registry import Body, Registry
from core.store import LocalStore, is_gzip, plain_bytes
from load.widget_catalogue import CATALOGUE_KEY, publish_catalogue
from load.widget_files import (
    atom_feed,
    feed_key,
    first_page,
    index_key,
    publish_index,
    read_widget_json,
    search_key,
    search_tokens,
    year_search_file,
)

from .conftest import write_year

ATOM = "{http://www.w3.org/2005/Atom}"
BODY = Body(siren="212900997", siret="21290099700017", name="Commune de Kerdigor", kind="commune")


def public_url(key: str) -> str:
    return "https://donnees.example/" + key.removeprefix("public/")


def _act(n: int, **changes) -> dict:
    act = {
        "id": f"id{n}", "numero": f"DEL_2025_{n:03d}", "objet": f"Objet {n}", "nature_code": "1",
        "nature": "Délibérations", "matiere_code": "7.1", "matiere": "Finances locales / Décisions budgétaires",
        "date_decision": "2025-03-01", "date_transmission": "2025-03-02", "date_ar": "2025-03-02",
        "date_publication": (date(2025, 3, 2) + timedelta(days=n)).isoformat(),
        "document": {"nom": f"DEL_2025_{n:03d}.pdf", "url": f"https://donnees.example/documents/{n}.pdf"}, "annexes": [],
    }
    return act | changes


def test_search_tokens_drop_accents_case_and_stop_words():
    assert search_tokens("Règlement intérieur de l’Assemblée — n°12 (BUD_2025_021)") == [
        "reglement", "interieur", "assemblee", "n", "12", "bud", "2025", "021"
    ]
    assert search_tokens("<script>alert(1)</script>") == ["script", "alert", "1", "script"]
    assert search_tokens("") == []
    assert search_tokens("Vœu : maîtrise d'Œuvre, ex æquo") == ["voeu", "maitrise", "oeuvre", "ex", "aequo"]


def test_a_years_search_part_holds_each_act_once_with_its_postings_and_field_lengths():
    acts = [_act(1, objet="Vœu relatif aux écoles"), _act(2, objet="Écoles : tarifs des écoles"), _act(1)]
    part = year_search_file(acts)
    assert part["ids"] == ["id1", "id2"], "one entry per act id, as first met"
    assert part["champs"] == ["numero", "objet", "matiere"]
    assert part["termes"]["ecoles"] == {"1": [[0, 1], [1, 2]]}
    assert part["longueurs"][1][1] == 2, "unique words of the objet, as MiniSearch counts them"
    assert part["mots_vides"] and "de" in part["mots_vides"]


def test_atom_feed_is_rfc4287_shaped_and_stable():
    acts = [_act(n) for n in range(1, 60)] + [_act(99, objet="Motion <script>alert(1)</script> & co", date_publication=None)]
    feed_bytes = atom_feed(BODY, "Syndicat", acts, public_url)
    assert feed_bytes == atom_feed(BODY, "Syndicat", list(reversed(acts)), public_url), "same bytes on rerun"
    feed = etree.fromstring(feed_bytes)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == public_url(feed_key(BODY.siren))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 50
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}title") and entry.find(f"{ATOM}link[@rel='alternate']") is not None
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated").replace("Z", "+00:00"))
        assert entry.find(f"{ATOM}link[@rel='enclosure']").get("type") == "application/pdf"
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert feed.findtext(f"{ATOM}updated") == updated[0]


def test_feed_keeps_markup_of_objets_as_text():
    acts = [_act(1, objet="Motion <script>alert(1)</script> & co\x01")]
    feed = etree.fromstring(atom_feed(BODY, "Syndicat", acts, public_url))
    assert feed.find(f"{ATOM}entry/{ATOM}title").text == "DEL_2025_001 : Motion <script>alert(1)</script> & co"
    assert feed.find(f"{ATOM}entry/{ATOM}script") is None


def test_the_feed_is_the_bytes_a_standard_xml_writer_gives_its_tree():
    """The feed is written as text (a night writes the feed of every body it touched): what
    ElementTree writes of the same tree, indented, whatever the acts hold."""
    import xml.etree.ElementTree as ElementTree

    hostile = "Tarifs \"été\" <2025> & co\n\tligne\x0bfin\u00a0'\u2028"  # a parser reads a CR in text as LF: not here
    acts = [_act(1, objet=hostile, matiere=None, matiere_code=None,
                 annexes=[{"nom": 'plan "A" & <B>\r\n\t.pdf', "url": "https://donnees.example/a?x=1&y=2"},
                          {"nom": "\x01\x02", "url": "https://donnees.example/b\x7f"}]),
            _act(2, nature="Arrêtés \"réglementaires\"", document=None), _act(3)]
    body = Body(siren=BODY.siren, siret=BODY.siret, name='Commune d\'"Ar & Mor"', kind="commune")
    feed = atom_feed(body, "Région <Test> & \"co\"", acts, public_url)
    ElementTree.register_namespace("", ATOM.strip("{}"))
    tree = ElementTree.fromstring(feed)
    ElementTree.indent(tree)
    assert feed == ElementTree.tostring(tree, encoding="utf-8", xml_declaration=True) + b"\n"
    assert tree.find(f"{ATOM}entry/{ATOM}title").text.startswith("DEL_2025_003"), "newest first"


def test_publish_index_writes_search_and_feed_and_cleans_up(tmp_path):
    store = LocalStore(tmp_path)
    write_year(store, BODY.siren, 2025, [_act(1), _act(2)])
    publish_index(store, BODY, "Syndicat", public_url)
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    assert manifest["annees"]["2025"]["actes"] == 2
    search = manifest["recherche"]["annees"]["2025"]["fichier"]
    assert re.fullmatch(r"recherche-2025\.[0-9a-f]{16}\.json", search)
    assert manifest["flux"] == {"atom": "actes.atom"}
    folder = f"public/widgets/actes/{BODY.siren}"
    for named in (search, manifest["premiere_page"]["fichier"], manifest["annees"]["2025"]["fichier"]):
        assert is_gzip(store.get_bytes(f"{folder}/{named}")), f"{named} is stored compressed"
    assert read_widget_json(store, f"{folder}/{search}")["ids"] == ["id2", "id1"]
    assert json.loads(store.get_bytes(f"{folder}/2025.json"))["actes"][0]["id"] == "id2", "the stable name reads as text"
    assert store.exists(feed_key(BODY.siren))
    registry = Registry("Région", "Syndicat", (BODY, Body(siren="200099992", siret="20009999200014", name="CC", kind="epci")))
    publish_catalogue(store, registry)
    catalogue = json.loads(store.get_bytes(CATALOGUE_KEY))
    assert [b["siren"] for b in catalogue["organismes"]] == [BODY.siren], "only bodies with widget data"
    write_year(store, BODY.siren, 2025, None)
    publish_index(store, BODY, "Syndicat", public_url)
    assert store.list_keys(f"{folder}/") == [], "no manifest, year file, first page, index nor feed left"


def test_publish_index_replaces_the_stable_search_index_of_format_1(tmp_path):
    store = LocalStore(tmp_path)
    store.put_bytes(search_key(BODY.siren), b"{}")
    write_year(store, BODY.siren, 2025, [_act(1)])
    publish_index(store, BODY, "Syndicat", public_url)
    assert not store.exists(search_key(BODY.siren))


def test_publish_index_without_public_url_names_years_and_first_page(tmp_path):
    store = LocalStore(tmp_path)
    write_year(store, BODY.siren, 2024, [_act(1)])
    publish_index(store, BODY, "Syndicat")
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    assert set(manifest) == {"format", "siren", "siret", "nom", "type", "publie_par", "widget", "annees", "premiere_page"}


def test_first_page_holds_the_newest_acts_of_every_nature_and_matiere_and_the_counts():
    acts = [_act(n, nature_code="2" if n % 3 == 0 else "1", matiere_code="1.1" if n % 2 else "7.1") for n in range(1, 13)]
    acts += [_act(20, nature_code="74", matiere_code=None), _act(21, date_publication="2025-03-02"),
             _act(22, date_publication="2025-03-02")]  # 21, 22: the same dates as act 0 of the oldest
    page = first_page(BODY.siren, acts, per_group=2)
    held = [a["id"] for a in page["actes"]]
    newest = sorted(acts, key=lambda a: a["date_publication"], reverse=True)

    def top(keep):
        return {a["id"] for a in [a for a in newest if keep(a)][:2]}

    assert top(lambda a: True) | top(lambda a: a["nature_code"] == "2") | top(lambda a: a["matiere_code"] == "1.1") <= set(held)
    assert "id20" in held, "a nature with one act is held whole"
    assert held == [a["id"] for a in sorted(page["actes"], key=lambda a: a["date_publication"], reverse=True)]
    assert page["par_groupe"] == 2
    assert page["comptes"]["1"] == {"1": sum(1 for a in acts if a["nature_code"] == "1" and (a["matiere_code"] or "").startswith("1.")),
                                   "7": sum(1 for a in acts if a["nature_code"] == "1" and a["matiere_code"] == "7.1")}
    assert page["comptes"]["74"] == {"": 1}
    assert sum(n for row in page["comptes"].values() for n in row.values()) == len(acts)
    ties = first_page(BODY.siren, [_act(1), _act(2, date_publication=_act(1)["date_publication"]), _act(3)], per_group=1)
    assert {a["id"] for a in ties["actes"]} >= {"id3"}, "the newest"
    oldest = first_page(BODY.siren, [_act(5), _act(1), _act(2, date_publication=_act(1)["date_publication"])], per_group=2)
    assert {a["id"] for a in oldest["actes"]} == {"id5", "id1", "id2"}, "acts of the same dates as the last kept come too"


def _year_acts(year: int, count: int, start: int) -> list[dict]:
    """``count`` acts decided in ``year``, of two natures and three matières, published on few days (ties)."""
    return [_act(n, date_decision=f"{year}-02-01", date_publication=f"{year}-03-{1 + n % 9:02d}",
                 nature_code="2" if n % 4 == 0 else "1", matiere_code=("7.1", "1.1", "5.2")[n % 3],
                 objet=f"Objet {n} {'écoles' if n % 5 == 0 else 'voirie'} {year}",
                 document=None if n % 7 == 0 else {"nom": "d.pdf", "url": f"https://donnees.example/documents/{n}.pdf"})
            for n in range(start, start + count)]


def test_manifest_files_from_the_years_digests_are_those_of_all_the_acts(tmp_path):
    """The first page and feed, built from each year's digest, are those built from every act of
    every year file, and each year's search part that of its acts; a year rewritten (an act
    withdrawn) changes them at once, and a switch writes the search and text parts of the years it
    touched only."""
    store = LocalStore(tmp_path)
    years = {2023: _year_acts(2023, 40, 1), 2024: _year_acts(2024, 60, 100), 2025: _year_acts(2025, 30, 200)}
    years[2025].append(dict(years[2023][0], date_decision="2025-02-01"))  # an id in two years: counted once
    folder = f"public/widgets/actes/{BODY.siren}"

    def check() -> dict:
        publish_index(store, BODY, "Syndicat", public_url)
        by_year = {year: read_widget_json(store, f"{folder}/{year}.json")["actes"] for year in sorted(years)}
        acts = [act for year in sorted(years) for act in by_year[year]]
        manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
        assert read_widget_json(store, f"{folder}/{manifest['premiere_page']['fichier']}") == first_page(BODY.siren, acts)
        assert manifest["recherche"]["format"] == 3
        assert sorted(manifest["recherche"]["annees"]) == sorted(manifest["annees"]) == [str(year) for year in years]
        for year, entry in manifest["recherche"]["annees"].items():
            assert read_widget_json(store, f"{folder}/{entry['fichier']}") == year_search_file(by_year[int(year)])
        assert store.get_bytes(feed_key(BODY.siren)) == atom_feed(BODY, "Syndicat", acts, public_url)
        return manifest

    for year, acts in years.items():
        write_year(store, BODY.siren, year, acts)
    before = check()
    withdrawn = years[2024].pop(5)
    write_year(store, BODY.siren, 2024, years[2024])
    written = []
    put = store.put_bytes
    store.put_bytes = lambda key, data: (written.append(key), put(key, data))
    manifest = check()
    del store.put_bytes
    assert manifest["annees"]["2024"]["actes"] == 59
    assert {year for year in manifest["recherche"]["annees"]
            if manifest["recherche"]["annees"][year] != before["recherche"]["annees"][year]} == {"2024"}
    assert not [key for key in written if "-2023" in key or "-2025" in key], "the untouched years' parts are not written"
    for name in [manifest["premiere_page"]["fichier"], manifest["recherche"]["annees"]["2024"]["fichier"], "actes.atom"]:
        assert withdrawn["id"].encode() not in plain_bytes(store.get_bytes(f"{folder}/{name}")), name
    assert not [key for key in store.list_keys(f"{folder}/") if withdrawn["id"].encode() in plain_bytes(store.get_bytes(key))], \
        "no version of the folder, retained ones included, shows the withdrawn act"
    write_year(store, BODY.siren, 2023, None)
    del years[2023]
    check()


def _get(url: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, b"", ""


def test_digor_serve_serves_public_zone_and_widgets_only(tmp_path):
    from digor.serve import make_server, serve_in_thread

    store = LocalStore(tmp_path)
    store.put_bytes("public/widgets/actes/212900997/index.json", b"{}")
    store.put_bytes("public/documents/ab/abc.pdf", b"%PDF-1.4")
    store.put_bytes("private/reports/actes/report.json", b"secret")
    store.put_bytes("raw/actes/x.json", b"raw")
    server = make_server(store, "127.0.0.1", 0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, body, kind = _get(f"{base}/widgets/actes/212900997/index.json")
        assert (status, body, kind) == (200, b"{}", "application/json; charset=utf-8")
        assert _get(f"{base}/documents/ab/abc.pdf")[2] == "application/pdf"
        status, body, kind = _get(f"{base}/widgets/actes.html")
        assert status == 200 and b"<html lang=\"fr\">" in body and kind.startswith("text/html")
        assert _get(f"{base}/widgets/commun/dom.js")[0] == 200
        for refused in ("/widgets/templates/layout.html", "/widgets/templates/actes.html", "/private/reports/actes/report.json", "/../private/reports/actes/report.json",
                        "/%2e%2e/raw/actes/x.json", "/widgets/package.json", "/widgets/node_modules/minisearch/package.json",
                        "/widgets/../digor/config.py", "/widgets/actes/nope.json"):
            assert _get(base + refused)[0] == 404, refused
        status, body, _ = _get(f"{base}/")
        assert status == 200 and "Configurer les widgets Actes, Budgets et Focus marchés" in body.decode()
    finally:
        server.shutdown()
        server.server_close()


def test_digor_serve_never_serves_a_document_as_a_page(tmp_path):
    from core.document_kind import OTHER_CONTENT_TYPE
    from digor.serve import make_server, serve_in_thread

    store = LocalStore(tmp_path)
    store.put_bytes("public/documents/ab/ab12.pdf", b"%PDF-1.4 act")
    # what a store written before documents were checked may still hold
    store.put_bytes("public/documents/cd/cd34.html", b"<script>alert(1)</script>")
    store.put_bytes("public/documents/ef/ef56.svg", b"<svg onload='alert(1)'/>")
    server = make_server(store, "127.0.0.1", 0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/documents/ab/ab12.pdf", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/pdf"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        for path in ("/documents/cd/cd34.html", "/documents/ef/ef56.svg"):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.headers["Content-Type"] == OTHER_CONTENT_TYPE, path
                assert response.headers["Content-Disposition"] == "attachment", path
                assert response.headers["X-Content-Type-Options"] == "nosniff", path
                assert "sandbox" in response.headers["Content-Security-Policy"], path
    finally:
        server.shutdown()
        server.server_close()


def test_digor_serve_command_prints_where_to_look(tmp_path):
    import os
    import subprocess
    import sys

    LocalStore(tmp_path).put_bytes("public/widgets/actes-organismes.json", b'{"organismes": []}')
    process = subprocess.Popen(
        [sys.executable, "-m", "digor.cli", "serve", "--store", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        first = process.stdout.readline()
        base = first.split(" on ")[1].split(" ")[0]
        assert base.startswith("http://127.0.0.1:")
        assert "configurator: " + base + "/widgets/configurateur.html" in process.stdout.readline()
        status, body, _ = _get(base + "/widgets/actes-organismes.json")
        assert (status, body) == (200, b'{"organismes": []}')
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_digor_serve_sends_precompressed_files_encoded_and_answers_revisits_with_304(tmp_path):
    from core.store import CACHE_MANIFEST, CACHE_WITHDRAWABLE, gzip_bytes
    from digor.serve import make_server, serve_in_thread

    store = LocalStore(tmp_path)
    text = json.dumps({"actes": [{"objet": "Vœu du conseil municipal"}] * 200}, ensure_ascii=False).encode()
    store.put_bytes("public/widgets/actes/212900997/2025.0123456789abcdef.json", gzip_bytes(text))
    store.put_bytes("public/widgets/actes/212900997/index.json", text)
    server = make_server(store, "127.0.0.1", 0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}/widgets"

    def get(path: str, **headers) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    try:
        status, headers, body = get("/actes/212900997/2025.0123456789abcdef.json", **{"Accept-Encoding": "gzip, br"})
        assert (status, headers["Content-Encoding"], headers["Cache-Control"]) == (200, "gzip", CACHE_WITHDRAWABLE)
        assert gzip.decompress(body) == text and len(body) < len(text) / 5
        assert get("/actes/212900997/2025.0123456789abcdef.json", **{"If-None-Match": headers["ETag"],
                                                                     "Accept-Encoding": "gzip"})[0] == 304
        status, headers, body = get("/actes/212900997/2025.0123456789abcdef.json")
        assert (status, body, headers.get("Content-Encoding")) == (200, text, None), "a client without gzip gets the text"
        status, headers, body = get("/actes/212900997/2025.0123456789abcdef.json", **{"Accept-Encoding": "gzip;q=0"})
        assert (body, headers.get("Content-Encoding")) == (text, None)
        status, headers, body = get("/actes/212900997/index.json", **{"Accept-Encoding": "gzip"})
        assert (headers["Content-Encoding"], headers["Cache-Control"]) == ("gzip", CACHE_MANIFEST), "compressed on the fly"
        assert gzip.decompress(body) == text
        status, headers, body = get("/actes.js", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and headers["Cache-Control"] == "no-cache", "the checkout's widgets"
        assert get("/actes.js", **{"If-None-Match": headers["ETag"], "Accept-Encoding": "gzip"})[0] == 304
    finally:
        server.shutdown()
        server.server_close()


def _named_files(store, siren: str) -> dict[str, bytes]:
    """What a reader of the body's manifest can fetch: the manifest and every file it names (and the
    text indexes' shards), plain bytes; a named file missing is an error."""
    folder = f"public/widgets/actes/{siren}"
    manifest = json.loads(store.get_bytes(index_key(siren)))
    names = [entry["fichier"] for entry in manifest["annees"].values()] + [manifest["premiere_page"]["fichier"]]
    for entry in manifest["recherche"]["annees"].values():
        names.append(entry["fichier"])
        if "texte" in entry:
            names += [entry["texte"]] + [s["fichier"] for s in read_widget_json(store, f"{folder}/{entry['texte']}")["tranches"]
                                         if "fichier" in s]
    missing = [name for name in names if not store.exists(f"{folder}/{name}")]
    assert not missing, f"the manifest names files that do not exist: {missing}"
    return {"index.json": store.get_bytes(index_key(siren))} | {name: plain_bytes(store.get_bytes(f"{folder}/{name}"))
                                                                for name in names}


class _Killed(Exception):
    """The process stopped (kill -9) before a write."""


def test_a_switch_stopped_before_any_write_leaves_a_manifest_naming_files_that_exist(tmp_path):
    """A switch killed before any of its writes or deletes: the manifest then in the store names only
    files that exist (the old set or the new one), and the next switch publishes what an unbroken one does.
    No retention: a version the switch does not count as named is deleted at once."""
    years = {2023: _year_acts(2023, 12, 1), 2024: _year_acts(2024, 12, 100)}

    def night(root) -> LocalStore:
        store = LocalStore(root)
        for year, acts in years.items():
            write_year(store, BODY.siren, year, acts)
        publish_index(store, BODY, "Syndicat", public_url)
        write_year(store, BODY.siren, 2024, years[2024][1:])  # an act withdrawn
        write_year(store, BODY.siren, 2025, _year_acts(2025, 5, 200))  # a new year
        return store

    unbroken = night(tmp_path / "unbroken")
    publish_index(unbroken, BODY, "Syndicat", public_url, retention_days=0)
    expected = _named_files(unbroken, BODY.siren)
    withdrawn = years[2024][0]["id"].encode()
    stop = 0
    while True:
        stop += 1
        store = night(tmp_path / f"killed-{stop}")
        writes = []

        def killing(operation):
            def write(*args):
                writes.append(args[0])
                if len(writes) == stop:
                    raise _Killed(args[0])
                return operation(*args)
            return write

        store.put_bytes, store.delete = killing(store.put_bytes), killing(store.delete)
        try:
            publish_index(store, BODY, "Syndicat", public_url, retention_days=0)
            finished = True
        except _Killed:
            finished = False
        del store.put_bytes, store.delete
        _named_files(store, BODY.siren)
        publish_index(store, BODY, "Syndicat", public_url, retention_days=0)  # the next night
        assert _named_files(store, BODY.siren) == expected, f"stopped before write {stop}: {writes[-1]}"
        assert not [key for key in store.list_keys("public/") if withdrawn in plain_bytes(store.get_bytes(key))]
        if finished:
            break
    assert stop > 10, "the switch was stopped before each of its writes"


def test_a_body_left_by_the_code_before_gets_its_years_parts_at_its_next_switch(tmp_path):
    """Year digests of the format before (which held the years' search and text parts) are made again
    from the year files, and the manifest names one search part per year."""
    from core.keys import widget_year_digest_key
    from load.versions import read_pointers

    store = LocalStore(tmp_path)
    years = {2024: _year_acts(2024, 12, 1), 2025: _year_acts(2025, 12, 100)}
    for year, acts in years.items():
        write_year(store, BODY.siren, year, acts)
    for pointer in read_pointers(store, f"public/widgets/actes/{BODY.siren}").values():
        store.put_bytes(widget_year_digest_key("actes", BODY.siren, pointer["fichier"]),
                        json.dumps({"format": 2, "actes": 1, "recherche": {"debut": 0}}).encode())
    publish_index(store, BODY, "Syndicat", public_url)
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    assert manifest["annees"]["2025"]["actes"] == 12
    folder = f"public/widgets/actes/{BODY.siren}"
    for year, acts in years.items():
        part = manifest["recherche"]["annees"][str(year)]["fichier"]
        assert read_widget_json(store, f"{folder}/{part}") == year_search_file(
            read_widget_json(store, f"{folder}/{year}.json")["actes"])


def test_feed_and_first_page_records_from_the_year_digests_are_those_of_the_acts(tmp_path):
    """The feed (its acts kept in the digests as ranks among their first page acts) and the first
    page's records (the digests' fingerprints) are those made from the acts: after an act corrected
    (same id, new objet), and from digests of the formats before, which are completed: format 3
    (without the fingerprints, its feed acts written whole), format 4 (without the first page acts'
    keys; those completed from format 3 kept their feed acts whole): their feed acts become ranks."""
    from core.keys import widget_year_digest_key
    from load.versions import fingerprints, read_pointers, read_records

    store = LocalStore(tmp_path)
    years = {2024: _year_acts(2024, 30, 1), 2025: _year_acts(2025, 40, 100)}
    folder = f"public/widgets/actes/{BODY.siren}"
    for year, year_acts in years.items():
        write_year(store, BODY.siren, year, year_acts)

    def switched(address) -> None:
        publish_index(store, BODY, "Syndicat", address)
        acts = [act for year in sorted(years) for act in years[year]]
        assert store.get_bytes(feed_key(BODY.siren)) == atom_feed(BODY, "Syndicat", acts, address)
        manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
        page_key = f"{folder}/{manifest['premiere_page']['fichier']}"
        assert read_records(store, page_key) == set(fingerprints(read_widget_json(store, page_key)["actes"]))

    switched(public_url)
    newest = max(range(40), key=lambda n: years[2025][n]["date_publication"])
    years[2025][newest] = dict(years[2025][newest], objet="Objet corrigé")
    write_year(store, BODY.siren, 2025, years[2025])
    switched(public_url)
    assert "Objet corrigé" in store.get_bytes(feed_key(BODY.siren)).decode()
    digest_keys = [widget_year_digest_key("actes", BODY.siren, pointer["fichier"])
                   for pointer in read_pointers(store, folder).values()]
    for kind in (3, 4):
        for key in digest_keys:
            digest = read_widget_json(store, key)
            page, feed = digest.pop("premiere_page"), digest.pop("flux")
            older = dict(digest, format=kind, premiere_page=page,
                         flux=[page[act] if isinstance(act, int) else act for act in feed])
            del older["cles"]
            if kind == 3:
                del older["empreintes"]
            store.put_bytes(key, json.dumps(older).encode())
        switched(public_url)
        for key in digest_keys:
            digest = read_widget_json(store, key)
            assert digest["format"] == 5 and len(digest["cles"]) == len(digest["premiere_page"])
            assert all(isinstance(act, int) for act in digest["flux"]), "the feed acts of the first page are ranks"


def test_a_stable_year_copy_lost_is_written_again_at_the_next_switch(tmp_path):
    """The stable ``<year>.json`` copies are looked up in the folder's listing the switch makes once:
    one deleted (by hand, by a tool) comes back at the next switch though its version did not move."""
    store = LocalStore(tmp_path)
    write_year(store, BODY.siren, 2025, _year_acts(2025, 5, 1))
    publish_index(store, BODY, "Syndicat", public_url)
    stable = f"public/widgets/actes/{BODY.siren}/2025.json"
    copy = store.get_bytes(stable)
    store.delete(stable)
    publish_index(store, BODY, "Syndicat", public_url)
    assert store.get_bytes(stable) == copy


def test_search_tokens_and_first_page_are_those_of_their_plain_definitions():
    """The accents taken out a block at a time (a year's texts at once) and the first page's moments
    computed once give what dropping every mark character by character and ranking each group by its
    dates gave."""
    import random
    import unicodedata

    from load.widget_files import (
        _NOT_WORD, LIGATURES, STOP_WORDS, _matiere_group, _moment, _newest_first, _tokens_each, page_acts,
    )

    def tokens(text):
        bare = "".join(c for c in unicodedata.normalize("NFD", text or "") if not unicodedata.category(c).startswith("M"))
        return [w for w in _NOT_WORD.split(bare.lower().translate(str.maketrans(LIGATURES))) if w and w not in STOP_WORDS]

    def page(acts, per_group):
        groups = {("tous", ""): list(acts)}
        for act in acts:
            groups.setdefault(("nature", str(act.get("nature_code") or "")), []).append(act)
            groups.setdefault(("matiere", _matiere_group(act)), []).append(act)
        held = {}
        for members in groups.values():
            ranked = sorted(members, key=_moment, reverse=True)
            if len(ranked) > per_group:
                ranked = [act for act in ranked if _moment(act) >= _moment(ranked[per_group - 1])]
            held.update((act["id"], act) for act in ranked)
        return sorted(held.values(), key=_newest_first, reverse=True)

    rng = random.Random(5)
    alphabet = "abcéèàçœÆ’ '-\u0301\u0483\u20dd1.ÅØ\u1e9eß"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 15)))
        assert search_tokens(text) == tokens(text)
    assert search_tokens(None) == tokens(None) == []
    # a year's texts made plain together: marks opening a text, a final sigma, a dotted capital I, the
    # character put between the texts held by one of them
    alphabet += "\u0301\u0327ΣσΟΔİ\x00\n"
    for _ in range(500):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(0, 6))]
        assert _tokens_each(texts) == [tokens(text) for text in texts], texts
    for _ in range(200):
        acts = [{"id": f"i{rng.randint(0, 60)}", "numero": str(rng.randint(0, 5)), "seen": at,
                 "nature_code": rng.choice(["1", "2", None]), "matiere_code": rng.choice(["1.1", "2.3", "", None]),
                 "date_publication": rng.choice([None, "2025-01-02", "2025-01-03"]),
                 "date_decision": rng.choice([None, "2025-01-01", "2024-11-01"])} for at in range(rng.randint(0, 120))]
        per_group = rng.choice([1, 3, 20])
        assert page_acts(acts, per_group) == page(acts, per_group)


def test_a_year_digest_left_unreadable_is_made_again_from_its_year_file(tmp_path):
    """A private year digest cut short or garbled (a disk, a hand) does not stop the body's switch: it is
    made again from its year file, and the first page and feed are those of the acts."""
    from core.keys import widget_year_digest_key
    from load.versions import read_pointers

    store = LocalStore(tmp_path)
    years = {2024: _year_acts(2024, 12, 1), 2025: _year_acts(2025, 12, 100)}
    folder = f"public/widgets/actes/{BODY.siren}"
    for year, acts in years.items():
        write_year(store, BODY.siren, year, acts)
    publish_index(store, BODY, "Syndicat", public_url)
    for pointer, garbage in zip(read_pointers(store, folder).values(), (b'{"format": 5, "actes": ', b"[1, 2]")):
        store.put_bytes(widget_year_digest_key("actes", BODY.siren, pointer["fichier"]), garbage)
    publish_index(store, BODY, "Syndicat", public_url)
    acts = [act for year in sorted(years) for act in years[year]]
    manifest = json.loads(store.get_bytes(index_key(BODY.siren)))
    assert read_widget_json(store, f"{folder}/{manifest['premiere_page']['fichier']}") == first_page(BODY.siren, acts)
    assert store.get_bytes(feed_key(BODY.siren)) == atom_feed(BODY, "Syndicat", acts, public_url)
    for pointer in read_pointers(store, folder).values():
        assert read_widget_json(store, widget_year_digest_key("actes", BODY.siren, pointer["fichier"]))["format"] == 5
