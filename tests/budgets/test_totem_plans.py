"""Plans de comptes: chapters, labels and sections, and where a plan is found; each test runs with
the C walk of the plan's tree and with the parser's callbacks (``reading_path``)."""

from __future__ import annotations

import pytest

from core.store import LocalStore
from extract.plans_de_comptes import CACHE_PREFIX, PLAN_FILE, PlanNotFound, PlanSource, http_fetch, plan_path
from samples.budgets import plan_xml
from transform.totem_plans import PlanError, PlanResolver, clean_label, parse_plan

pytestmark = pytest.mark.usefixtures("reading_path")


@pytest.fixture
def m14(official_plans):
    return official_plans.get("M14", "M14_COM_500_3500", 2021)


def test_chapter_of_an_account_by_kind_of_operation(m14):
    assert m14.chapter_of("6413", "D", "0", "") == "012"  # réelle
    assert m14.chapter_of("7411", "R", "0", "") == "74"
    assert m14.chapter_of("023", "D", "1", "2") == "023"  # ordre de section à section
    assert m14.chapter_of("2804412", "R", "1", "2") == "040"
    assert m14.chapter_of("999999", "D", "0", "") == ""


def test_chapters_have_labels_and_sections(m14):
    assert m14.chapter("012").label == "Charges de personnel et frais assimilés"
    assert m14.chapter("012").section == "F" and m14.chapter("16").section == "I"


def test_third_party_operation_chapters(official_plans):
    plan = official_plans.get("M4", "M43_D", 2022)
    chapter = plan.chapter("4581001")
    assert chapter.section == "I" and chapter.label == "Dépenses (à subdiviser par opération) (opération n° 001)"
    assert plan.chapter("9999999") is None


def test_function_labels_of_m57_files_voted_by_function(official_plans):
    plan = official_plans.get("M57", "M57", 2018)
    assert plan.function_label("020") == "Administration générale de la collectivité"
    assert plan.function_label("93020") == "Administration générale de la collectivité"
    assert plan.function_label("943") != ""
    assert plan.function_label("77777") == ""


def test_labels_are_cleaned():
    assert clean_label("Droits d'utilisation \x96 informatique en nuage ") == "Droits d'utilisation – informatique en nuage"
    assert clean_label("  a   b ") == "a b"


def test_folder_year_wins_over_a_stale_exer_attribute(official_plans):
    assert official_plans.get("M4", "M43_D", 2022).year == 2022  # the file says Exer="2020"


def test_resolver_reads_mirrors_then_cache_then_downloads_once(tmp_path):
    store = LocalStore(tmp_path / "store")
    calls = []

    def fetch(url):
        calls.append(url)
        return plan_xml(2025, "M57", "M57")

    resolver = PlanResolver(PlanSource(store, [tmp_path / "mirror"], "http://plans.example/normes", fetch))
    assert resolver.get("M57", "M57", 2025).chapter("011").label == "Charges à caractère général"
    assert calls == ["http://plans.example/normes/2025/M57/M57/planDeCompte.xml"]
    assert store.exists(f"{CACHE_PREFIX}/2025/M57/M57/planDeCompte.xml")
    again = PlanResolver(PlanSource(store, [], "http://plans.example/normes", fetch))
    again.get("M57", "M57", 2025)
    assert len(calls) == 1, "a cached plan is never downloaded again"


def test_a_downloaded_plan_that_cannot_be_read_is_not_cached(tmp_path):
    store = LocalStore(tmp_path / "store")
    resolver = PlanResolver(PlanSource(store, [], "http://plans.example/normes", lambda url: b"<html>maintenance</html>"))
    with pytest.raises(PlanError):
        resolver.get("M57", "M57", 2025)
    assert not store.exists(f"{CACHE_PREFIX}/2025/M57/M57/planDeCompte.xml"), "tomorrow's night must download it again"


def test_a_missing_plan_is_an_error_naming_where_it_was_looked_for(tmp_path):
    def fetch(url):
        raise OSError("connection refused")

    resolver = PlanResolver(PlanSource(LocalStore(tmp_path), [tmp_path / "mirror"], "http://plans.example", fetch))
    with pytest.raises(PlanError, match=r"M14/M14_CE 2031 not found .*connection refused"):
        resolver.get("M14", "M14_CE", 2031)
    with pytest.raises(PlanError, match="looked in"):
        PlanResolver(PlanSource(None, [tmp_path])).get("M14", "M14_CE", 2031)


@pytest.mark.parametrize("norme, declinaison", [("..", "M14"), ("M14", "../../etc"), ("M14", "a/b"), ("", "M14")])
def test_nomenclature_codes_from_files_never_make_paths(norme, declinaison):
    with pytest.raises(PlanNotFound):
        plan_path(2025, norme, declinaison)


@pytest.mark.parametrize("prologue, codec", [
    ("", "utf-8"),
    (" " * 70_000, "utf-8"),  # past any fixed-size scan of the first bytes
    ("<!-- " + "x" * 5_000 + " -->", "utf-16-le"),  # UTF-16 without byte-order mark
])
def test_a_plan_with_a_doctype_is_refused(prologue, codec):
    declaration = f'<?xml version="1.0" encoding="{"UTF-16" if codec.startswith("utf-16") else "UTF-8"}"?>'
    text = declaration + prologue + '<!DOCTYPE x [<!ENTITY a "ENTITE">]><Nomenclature Norme="M57" Declinaison="&a;"/>'
    with pytest.raises(PlanError, match="DOCTYPE"):
        parse_plan(text.encode(codec), year=2025)


@pytest.fixture
def plans_host():
    """A loopback plans host answering each request with the next (status, body) of ``answers``."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answers: list[tuple[int, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            status, body = answers.pop(0)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Retry-After", "2")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/2025/M57/M57/{PLAN_FILE}", answers
    server.shutdown()
    server.server_close()


def test_a_download_retries_what_is_transient_and_a_404_is_not_found_at_once(plans_host):
    url, answers = plans_host
    plan = plan_xml(2025, "M57", "M57")
    answers += [(503, b""), (429, b""), (200, plan)]
    slept = []
    assert http_fetch(url, sleep=slept.append) == plan
    assert slept == [2.0, 2.0] and not answers, "the host's Retry-After, twice"
    answers += [(404, b"")]
    with pytest.raises(PlanNotFound, match="HTTP 404"):
        http_fetch(url, sleep=slept.append)
    assert not answers and len(slept) == 2


def test_a_plan_is_parsed_once_per_process_and_again_when_its_file_changes(tmp_path):
    """Converting file after file (a resolver each) shares the parsed plan; an edited file is read anew."""
    path = tmp_path / "mirror" / plan_path(2025, "M57", "M57")
    path.parent.mkdir(parents=True)
    path.write_bytes(plan_xml(2025, "M57", "M57"))
    first = PlanResolver(PlanSource(None, [tmp_path / "mirror"])).get("M57", "M57", 2025)
    assert PlanResolver(PlanSource(None, [tmp_path / "mirror"])).get("M57", "M57", 2025) is first
    path.write_bytes(path.read_bytes().replace(b"Charges \xc3\xa0 caract\xc3\xa8re g\xc3\xa9n\xc3\xa9ral", b"Charges courantes"))
    edited = PlanResolver(PlanSource(None, [tmp_path / "mirror"])).get("M57", "M57", 2025)
    assert edited.chapter("011").label == "Charges courantes"
    assert first.chapter("011").label == "Charges à caractère général"


def test_every_reference_plan_reads_as_its_tree_says(reference_dir):
    """``parse_plan`` reads a plan from libxml2's callbacks, without a tree: the same accounts, chapters
    and functions as the plan's tree gives, for every official plan of the reference material."""
    from lxml import etree

    from core.safe_xml import parse_xml

    def chapters(parent):
        found = {}
        for element in parent.iterfind("Chapitres/Chapitre") if parent is not None else ():
            code = (element.get("Code") or "").strip()
            if code:
                found.setdefault(code, (code, clean_label(element.get("Libelle")), (element.get("Section") or "").strip()))
        return list(found.items())

    paths = sorted((reference_dir / "totem" / "plans-de-comptes").glob("*/*/*/planDeCompte.xml"))
    accounts = 0
    for path in paths:
        data = path.read_bytes()
        plan, root = parse_plan(data, year=2024), parse_xml(data)
        nature, fonction = root.find("Nature"), root.find("Fonction")
        expected = {}
        for element in nature.iter("Compte"):
            code = (element.get("Code") or "").strip()
            if code and code not in expected:
                label = clean_label(element.get("Libelle"))
                expected[code] = (label, {k: (element.get(k) or "").strip() for k in ("DR", "RR", "DOES", "ROES", "DOIS", "ROIS")})
        assert [(code, plan.accounts[code].label, plan.accounts[code].chapters) for code in plan.accounts] == [
            (code, label, chapters_) for code, (label, chapters_) in expected.items()], path
        assert [(code, (c.code, c.label, c.section)) for code, c in plan.chapters.items()] == chapters(nature), path
        assert [(code, (c.code, c.label, c.section)) for code, c in plan.function_chapters.items()] == chapters(fonction), path
        functions = {}
        for element in fonction.iter("RefFonc") if fonction is not None else ():
            code = (element.get("Code") or "").strip()
            if code:
                functions.setdefault(code, clean_label(element.get("Libelle")))
        assert plan.functions == functions and (plan.norme, plan.declinaison) == (root.get("Norme"), root.get("Declinaison"))
        accounts += len(plan.accounts)
        assert isinstance(root, etree._Element)
    assert len(paths) > 100 and accounts > 100_000



def test_an_ampersand_in_a_plan_reads_as_written():
    """A plan read without a tree gets "&" from the parser as "&#38;": every value is put back."""
    plan = parse_plan(
        b'<Nomenclature Norme="M&amp;57" Declinaison="M57" Exer="2024"><Nature><Chapitres>'
        b'<Chapitre Code="011" Libelle="Charges &amp; frais &#38;amp;" Section="F"/></Chapitres>'
        b'<Comptes><Compte Code="60&amp;1" Libelle="Achats &amp; variations" DR="01&#38;1"/></Comptes></Nature>'
        b'<Fonction><RefFonc Code="0&amp;1" Libelle="Services &#x26; assembl\xc3\xa9es"/></Fonction></Nomenclature>',
        year=2024,
    )
    assert plan.norme == "M&57" and plan.chapter("011").label == "Charges & frais &amp;"
    assert list(plan.accounts) == ["60&1"] and plan.accounts["60&1"].label == "Achats & variations"
    assert plan.accounts["60&1"].chapters["DR"] == "01&1" and plan.functions == {"0&1": "Services & assemblées"}
