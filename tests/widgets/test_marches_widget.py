"""The Focus marchés widget in Debian's chromium, on the store the real DECP chain produced.

The demo buyers' files come from ``decp_chain.run_night`` (the ``site`` fixture, no SIRENE
cache there). A test buyer of our own (``TEST_SIRET``) is written with the pipeline's own
functions (``indicators_document``, ``index_document``…) and carries what the demo lacks:
names, SME flags and départements as SIRENE gives them, a non-diffusible person, more
contracts than a page, and objets and names made of HTML.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from core.jsonio import compact_json_bytes
from core.store import plain_bytes
from transform.decp_widget import (
    buyer_prefix,
    index_document,
    indicators,
    indicators_document,
    year_document,
    year_file,
)
from transform.sirene_lookup import NON_DIFFUSIBLE

from .conftest import download_csv, focus_outline, query, run_axe, wait_param

DEMO_BUYERS = ["21290099700017", "20009999200014", "25290999900010", "21290098900014", "22290999600019"]
TEST_SIRET = "99000000000016"
XSS = "<img src=x onerror=alert(1)>"
XSS_OBJET = f"Fourniture {XSS} de matériel de voirie"
SHOWN_NON_DIFFUSIBLE = "Non diffusible"
FIGURES = ["annees", "categories", "natures", "procedures", "pme", "titulaires", "departements"]


def eur(value: float) -> str:
    """What Intl.NumberFormat('fr-FR', {style: 'currency', currency: 'EUR'}) writes."""
    return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def num(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def pct(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + "\u00a0%"


# --- the test buyer ------------------------------------------------------------------------


def _holder(siret, nom=None, pme=None, departement=None):
    return {"id": siret, "type_identifiant": "SIRET", "nom": nom, "non_diffusible": nom == NON_DIFFUSIBLE,
            "pme": pme, "departement": departement}


HOLDERS = [
    _holder("81234567400021", "ARMOR TRAVAUX", True, "29"),
    _holder("55208131700028", "GRANDE ENTREPRISE DE FRANCE", False, "75"),
    _holder("49876543200011", NON_DIFFUSIBLE, True, "974"),
    _holder("12312312300016"),  # unknown to the register: shown by its SIRET
    _holder("40404040400018", XSS, True, "35"),
]
PROCEDURES = ["Procédure adaptée", "Appel d'offres ouvert"]
NATURES = ["Marché", "Accord-cadre"]


def _contract(n: int, year: int) -> dict:
    holder = HOLDERS[n % len(HOLDERS)]
    amount = float(10_000 + 1_234.5 * n)
    modified = n % 6 == 0
    social = ["Clause sociale"] if n % 3 == 0 else ["Pas de considération sociale"]
    return {
        "uid": f"{TEST_SIRET}T{year}{n:03d}", "id": f"T{year}{n:03d}", "type": "Marché",
        "objet": XSS_OBJET if n == 9 else f"Travaux d'entretien lot {n} ({year})",
        "nature": NATURES[n % 2], "categorie": ["Travaux", "Services", "Fournitures"][n % 3],
        "procedure": PROCEDURES[n % 2],
        "cpv": {"code": "45000000", "division": "45", "libelle": "Travaux de construction"},
        "montant": amount + (5_000.0 if modified else 0.0), "montant_initial": amount, "duree_mois": 12,
        "date": f"{year}-{(n % 12) + 1:02d}-15", "date_publication": f"{year}-{(n % 12) + 1:02d}-20",
        "titulaires": [holder],
        "considerations_sociales": social if year >= 2024 else None,
        "considerations_environnementales": ["Pas de considération environnementale"] if year >= 2024 else None,
        "sous_traitance": False, "innovant": False,
        "modifications": 1 if modified else 0,
        "historique": [{"numero": 1, "objet": f"Avenant {XSS} n°1", "date": f"{year}-12-01",
                        "date_publication": f"{year}-12-02", "montant": amount + 5_000.0, "duree_mois": 12,
                        "titulaires": [HOLDERS[1]]}] if modified else [],
        "format": "2.0.2" if year >= 2024 else "1.5.0",
    }


def _concession(year: int) -> dict:
    return {**_contract(99, year), "uid": f"{TEST_SIRET}C{year}", "id": f"C{year}", "type": "Contrat de concession",
            "nature": "Concession de service", "categorie": None, "procedure": "Procédure négociée ouverte",
            "montant": 2_500_000.0, "montant_initial": 2_500_000.0, "modifications": 0, "historique": [], "cpv": None}


def _test_buyer_years() -> dict[int, list[dict]]:
    years = {2023: [_contract(n, 2023) for n in range(6)],
             2024: [_contract(n, 2024) for n in range(6, 18)] + [_concession(2024)],
             2025: [_contract(n, 2025) for n in range(18, 28)]}
    for entries in years.values():
        entries.sort(key=lambda e: (e["date"], e["id"]), reverse=True)
    return years


@pytest.fixture(scope="module")
def test_buyer(site):
    """Written into the served store as a buyer's files are read by the widget."""
    years = _test_buyer_years()
    folder = site.store / buyer_prefix(TEST_SIRET)
    folder.mkdir(parents=True, exist_ok=True)
    for year, entries in years.items():
        (folder / year_file(year)).write_bytes(compact_json_bytes(year_document(TEST_SIRET, year, entries)))
    (folder / "indicateurs.json").write_bytes(compact_json_bytes(indicators_document(TEST_SIRET, years)))
    (folder / "index.json").write_bytes(compact_json_bytes(index_document(
        TEST_SIRET, f"Commune de test {XSS}", "Syndicat numérique de démonstration", years, {"theme": "vert"})))
    return years


# --- helpers ---------------------------------------------------------------------------------


def widget(site, query: str) -> str:
    return f"{site.base}/widgets/marches.html?{query}"


def folder(site, siret: str):
    return site.store / "public" / "widgets" / "marches" / siret


def manifest(site, siret: str) -> dict:
    return json.loads((folder(site, siret) / "index.json").read_text(encoding="utf-8"))


def published_indicators(site, siret: str) -> dict:
    return json.loads(plain_bytes((folder(site, siret) / manifest(site, siret)["indicateurs"]).read_bytes()))


def contracts_by_year(site, siret: str) -> dict[int, list[dict]]:
    return {int(y): json.loads(plain_bytes((folder(site, siret) / entry["fichier"]).read_bytes()))["contrats"]
            for y, entry in manifest(site, siret)["annees"].items()}


def open_ready(watched, url: str):
    """The widget drawn, and its list of contracts, which it loads when a visitor gets near it."""
    return list_ready(watched.open(url, ready="body[data-etat=pret]"))


def list_ready(page):
    """The widget drawn, its charts (ECharts comes after the figures and tables) and its list."""
    page.wait_for_selector("body[data-etat=pret]", state="attached")
    page.wait_for_selector("body[data-graphiques=pret]", state="attached")
    page.locator("#section-liste").scroll_into_view_if_needed()
    page.wait_for_selector("body[data-liste=pret]", state="attached")
    page.evaluate("window.scrollTo(0, 0)")
    return page


def table(page, figure: str) -> list[list[str]]:
    return page.evaluate("""(id) => [...document.querySelectorAll(`table[data-tableau="${id}"] tbody tr`)]
        .map(tr => [...tr.children].map(c => c.textContent))""", figure)


def figure(page, name: str) -> str:
    return page.locator(f"[data-chiffre={name}] .valeur").text_content()


def shown_ids(page) -> list[str]:
    return page.locator("#liste > li.contrat").evaluate_all("items => items.map(i => i.dataset.id)")


def holder_label(h: dict) -> str:
    return SHOWN_NON_DIFFUSIBLE if h["nom"] == NON_DIFFUSIBLE else (h["nom"] or "Nom inconnu")


def expected_tables(figures: dict, per_year: list[tuple[int, dict]]) -> dict[str, list[list[str]]]:
    """The tables the widget must show for published indicators (``figures``), in French format."""
    sme = figures["pme"]
    return {
        "annees": [[str(y), num(f["contrats"]), eur(f["montant"])] for y, f in per_year],
        "categories": [[g["categorie"], num(g["contrats"]), eur(g["montant"])] for g in figures["par_categorie"]],
        "natures": [[g["nature"], num(g["contrats"]), eur(g["montant"])] for g in figures["par_nature"]],
        "procedures": [[g["procedure"], num(g["contrats"]), eur(g["montant"])] for g in figures["par_procedure"]],
        "pme": [["PME", num(sme["contrats_pme"]), eur(sme["montant_pme"])],
                ["Autres entreprises", num(sme["contrats_renseignes"] - sme["contrats_pme"]),
                 eur(sme["montant_renseigne"] - sme["montant_pme"])],
                ["Taille inconnue", num(figures["contrats"] - sme["contrats_renseignes"]),
                 eur(figures["montant"] - sme["montant_renseigne"])]],
        "titulaires": [[holder_label(h), f"{h['type_identifiant']} {h['id']}", num(h["contrats"]), eur(h["montant"])]
                       for h in figures["top_titulaires"]],
        "departements": [[d["departement"] or "Inconnu", num(d["titulaires"]), num(d["contrats"]), eur(d["montant"])]
                         for d in figures["par_departement"]],
    }


def assert_figures(page, figures: dict, per_year: list[tuple[int, dict]]) -> None:
    assert figure(page, "marches") == num(figures["contrats"])
    assert figure(page, "montant") == eur(figures["montant"])
    part = figures["pme"]["part_contrats"]
    assert figure(page, "pme") == ("Non connue" if part is None else pct(part))
    social = figures["considerations"]["part_sociales"]
    assert figure(page, "sociales") == ("Non connue" if social is None else pct(social))
    assert figure(page, "concessions") == num(figures["concessions"]["contrats"])
    for name, rows in expected_tables(figures, per_year).items():
        assert table(page, name) == rows, name


def assert_charts_drawn(page, names: list[str]) -> None:
    drawn = page.evaluate("""(names) => names.map(n => {
        const chart = window.digorMarches.charts.get(n);
        const canvas = document.querySelector(`#dessin-${n} canvas`);
        if (!chart || !canvas) return [n, 0, 0];
        const series = chart.getOption().series[0].data.length;
        return [n, series, canvas.width * canvas.height];
    })""", names)
    for name, points, area in drawn:
        assert points > 0 and area > 0, f"chart {name} not drawn"


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("siret", DEMO_BUYERS)
def test_demo_buyers_show_the_published_figures_charts_and_contracts(site, watched, siret):
    page = open_ready(watched, widget(site, f"siret={siret}"))
    index, published = manifest(site, siret), published_indicators(site, siret)
    expect(page.locator("h1")).to_have_text(f"Marchés publics de {index['nom']}")
    per_year = sorted((int(y), f) for y, f in published["annees"].items())
    assert_figures(page, published["toutes_annees"], per_year)
    assert published["toutes_annees"]["contrats"] > 5, "the demo buyers have contracts to show"
    nonempty = [name for name, rows in expected_tables(published["toutes_annees"], per_year).items() if rows]
    assert_charts_drawn(page, nonempty)
    contracts = [c for entries in contracts_by_year(site, siret).values() for c in entries]
    expect(page.locator("#total")).to_have_text(f"{len(contracts)} contrats")
    newest = max(contracts, key=lambda c: (c["date"], c["id"]))
    assert shown_ids(page)[0] == newest["id"]
    first = page.locator("#liste > li.contrat").first
    expect(first.locator(".objet")).to_have_text(newest["objet"])
    expect(first.locator(".details")).to_contain_text(eur(newest["montant"]))
    expect(page.locator("#a-propos-texte")).to_contain_text("Licence Ouverte / Open Licence version 2.0")
    expect(page.locator("#a-propos-texte")).to_contain_text("Syndicat numérique de démonstration")


def test_period_filter_adds_up_the_years_and_lives_in_the_url(site, watched):
    siret = DEMO_BUYERS[0]
    by_year = contracts_by_year(site, siret)
    published = published_indicators(site, siret)
    page = open_ready(watched, widget(site, f"siret={siret}"))
    page.select_option("#annee-debut", "2024")
    wait_param(page, "annee_debut", "2024")
    assert "annee_fin" not in query(page)
    chosen = [c for y in (2024, 2025) for c in by_year[y]]
    expected = indicators(chosen)  # the pipeline's own function over those years' contracts
    assert_figures(page, expected, [(y, published["annees"][str(y)]) for y in (2024, 2025)])
    assert sorted(shown_ids(page)) == sorted(c["id"] for c in chosen)
    page.select_option("#annee-fin", "2024")
    wait_param(page, "annee_fin", "2024")
    assert_figures(page, published["annees"]["2024"], [(2024, published["annees"]["2024"])])
    assert table(page, "titulaires")[0][0] == holder_label(published["annees"]["2024"]["top_titulaires"][0])
    page.reload()
    list_ready(page)
    expect(page.locator("#annee-debut")).to_have_value("2024")
    expect(page.locator("#annee-fin")).to_have_value("2024")
    assert sorted(shown_ids(page)) == sorted(c["id"] for c in by_year[2024])
    expect(page.locator("#etat")).to_contain_text("en 2024")


def test_search_filters_and_sort_live_in_the_url(site, watched):
    siret = DEMO_BUYERS[2]
    contracts = [c for entries in contracts_by_year(site, siret).values() for c in entries]
    page = open_ready(watched, widget(site, f"siret={siret}"))
    word = contracts[0]["objet"].split()[0]
    page.fill("#recherche", word.lower())
    wait_param(page, "recherche", word.lower())
    expected = [c for c in contracts if word.lower() in c["objet"].lower() or word.lower() in (c["nature"] or "").lower()]
    assert set(shown_ids(page)) == {c["id"] for c in expected}
    page.fill("#recherche", "")
    wait_param(page, "recherche", None)
    page.select_option("#filtre-procedure", "Procédure adaptée")
    wait_param(page, "procedure", "Procédure adaptée")
    adapted = [c for c in contracts if c["procedure"] == "Procédure adaptée"]
    expect(page.locator("#total")).to_have_text(f"{len(adapted)} contrat{'s' if len(adapted) > 1 else ''}")
    page.select_option("#filtre-nature", "Marché")
    wait_param(page, "nature", "Marché")
    both = [c for c in adapted if c["nature"] == "Marché"]
    assert set(shown_ids(page)) == {c["id"] for c in both}
    page.select_option("#tri", "montant")
    wait_param(page, "tri", "montant")
    amounts = [next(c["montant"] for c in contracts if c["id"] == i) for i in shown_ids(page)]
    assert amounts == sorted(amounts, reverse=True) and len(amounts) == len(both)
    ids = shown_ids(page)
    page.reload()
    list_ready(page)
    assert shown_ids(page) == ids, "the same URL shows the same list"
    expect(page.locator("#filtre-nature")).to_have_value("Marché")
    expect(page.locator("#tri")).to_have_value("montant")
    page.select_option("#filtre-type", "concession")
    wait_param(page, "type", "concession")
    expect(page.locator("#total")).to_have_text("Aucun contrat ne correspond à ces critères.")
    page.click("#effacer")
    expect(page.locator("#total")).to_have_text(f"{len(contracts)} contrats")
    assert set(query(page)) == {"siret"}
    page.select_option("#filtre-type", "concession")
    concessions = [c for c in contracts if c["type"] == "Contrat de concession"]
    assert concessions and set(shown_ids(page)) == {c["id"] for c in concessions}
    expect(page.locator("#liste .details").first).to_contain_text("Valeur globale")


def test_contracts_show_their_modifications(site, watched):
    siret = DEMO_BUYERS[2]
    modified = [c for entries in contracts_by_year(site, siret).values() for c in entries if c["modifications"]]
    assert modified
    contract = modified[0]
    page = open_ready(watched, widget(site, f"siret={siret}&recherche={contract['id']}"))
    item = page.locator(f"#liste > li.contrat[data-id='{contract['id']}']")
    summary = item.locator(".modifications summary")
    expect(summary).to_contain_text(f"Modifications ({contract['modifications']})")
    summary.click()
    last = contract["historique"][-1]
    expect(item.locator(".modification").last).to_contain_text(eur(last["montant"]))
    expect(item.locator(".modification").last).to_contain_text(f"Modification n° {last['numero']}")
    if contract["montant_initial"] != contract["montant"]:
        expect(item.locator(".details")).to_contain_text(eur(contract["montant_initial"]))


def test_csv_export_gives_the_filtered_rows(site, watched, test_buyer):
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}&procedure=Appel d'offres ouvert&annee_debut=2024"))
    name, rows = download_csv(page, "#export-csv")
    assert name == f"marches-{TEST_SIRET}.csv"
    expected = [c for y in (2024, 2025) for c in test_buyer[y] if c["procedure"] == "Appel d'offres ouvert"]
    assert sorted(r["id"] for r in rows) == sorted(c["id"] for c in expected)
    by_id = {c["id"]: c for c in expected}
    for row in rows:
        contract = by_id[row["id"]]
        assert row["montant"] == f"{contract['montant']:.2f}".replace(".", ",")
        assert row["titulaires_identifiants"] == contract["titulaires"][0]["id"]
        assert row["modifications"] == str(len(contract["historique"]))
    assert any(r["objet"] == XSS_OBJET for r in rows)
    assert any(r["titulaires"] == SHOWN_NON_DIFFUSIBLE for r in rows)


def test_test_buyer_names_sme_share_paging_and_xss(site, watched, test_buyer):
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}"))
    expect(page.locator("h1")).to_have_text(f"Marchés publics de Commune de test {XSS}")
    published = published_indicators(site, TEST_SIRET)
    per_year = sorted((int(y), f) for y, f in published["annees"].items())
    assert_figures(page, published["toutes_annees"], per_year)
    assert_charts_drawn(page, FIGURES)
    sme = published["toutes_annees"]["pme"]
    assert 0 < sme["contrats_pme"] < sme["contrats_renseignes"] < published["toutes_annees"]["contrats"]
    expect(page.locator("[data-chiffre=pme] .detail")).to_have_text(
        f"{sme['contrats_pme']} sur {sme['contrats_renseignes']} marchés dont la taille des titulaires est connue")
    names = [row[0] for row in table(page, "titulaires")]
    assert {"ARMOR TRAVAUX", SHOWN_NON_DIFFUSIBLE, "Nom inconnu", XSS} <= set(names)
    assert "JEAN" not in " ".join(names)
    departements = [row[0] for row in table(page, "departements")]
    assert {"29", "75", "974", "35", "Inconnu"} == set(departements)
    total = sum(len(v) for v in test_buyer.values())
    expect(page.locator("#total")).to_have_text(f"{total} contrats — page 1 sur 2")
    page.get_by_role("button", name="Page suivante").click()
    wait_param(page, "page", "2")
    assert len(shown_ids(page)) == total - 20
    assert page.evaluate("document.activeElement.id") == "total"
    # HTML in objets, names and modifications stays text.
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}&recherche=voirie"))
    item = page.locator("#liste > li.contrat").first
    expect(item.locator(".objet")).to_have_text(XSS_OBJET)
    expect(item.locator(".titulaires .nom")).to_have_text(XSS)
    assert page.locator("img").count() == 0
    tooltip = page.evaluate("""() => {
        const chart = window.digorMarches.charts.get('titulaires');
        const option = chart.getOption();
        return {mode: option.tooltip[0].renderMode, text: option.tooltip[0].formatter({dataIndex: 0})};
    }""")
    assert tooltip["mode"] == "richText" and "marché" in tooltip["text"]
    box = page.locator("#dessin-titulaires").bounding_box()
    for y in range(int(box["y"]) + 10, int(box["y"] + box["height"]) - 10, 17):
        page.mouse.move(box["x"] + box["width"] * 0.6, y)
    assert page.locator("img").count() == 0 and page.locator("#dessin-titulaires *[style*=onerror]").count() == 0
    page.wait_for_timeout(300)
    assert watched.dialogs == []


def test_modification_with_new_titulaires_and_html(site, watched, test_buyer):
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}&recherche=T2024012"))
    item = page.locator("#liste > li.contrat").first
    item.locator(".modifications summary").click()
    expect(item.locator(".objet-modification")).to_have_text(f"Avenant {XSS} n°1")
    expect(item.locator(".modification")).to_contain_text("GRANDE ENTREPRISE DE FRANCE")
    expect(item.locator(".modification")).to_contain_text(eur(10_000 + 1_234.5 * 12 + 5_000))
    assert page.locator("img").count() == 0


def test_unknown_or_malformed_siret_gets_a_french_message(site, watched):
    page = watched.open(widget(site, "siret=12345678900011"))
    expect(page.locator("#etat")).to_have_text(re.compile(r"^Aucun marché publié pour le SIRET 12345678900011\."))
    watched.forget_logged(404)  # the missing manifest
    page = watched.open(widget(site, "siret=2129"))
    expect(page.locator("#etat")).to_contain_text("n'est pas un numéro SIRET (14 chiffres)")
    page = watched.open(f"{site.base}/widgets/marches.html")
    expect(page.locator("#etat")).to_contain_text("?siret=")
    assert page.evaluate("document.body.dataset.etat") == "erreur"


def _colours(page) -> dict:
    return page.evaluate("""() => ({
        fond: getComputedStyle(document.body).backgroundColor,
        texte: getComputedStyle(document.body).color,
        bouton: getComputedStyle(document.querySelector('#formulaire-recherche button')).backgroundColor,
        barre: window.digorMarches.charts.get('annees').getOption().series[0].itemStyle.color,
    })""")


def test_colours_and_themes_apply_to_page_and_charts(site, watched):
    siret = DEMO_BUYERS[0]
    page = open_ready(watched, widget(site, f"siret={siret}&couleur_principale=%238b0000&couleur_fond=fffdf5&couleur_texte=%23222"))
    assert _colours(page) == {"fond": "rgb(255, 253, 245)", "texte": "rgb(34, 34, 34)", "bouton": "rgb(139, 0, 0)",
                              "barre": "#8b0000"}
    assert query(page)["couleur_principale"] == ["#8b0000"]
    page = open_ready(watched, widget(site, f"siret={siret}&theme=sombre"))
    assert _colours(page)["fond"] == "rgb(22, 26, 29)" and _colours(page)["barre"] == "#8ab4f8"
    page = open_ready(watched, widget(site, f"siret={siret}&couleur_texte=%23777777&couleur_fond=%23888888"))
    expect(page.locator("#avertissements")).to_contain_text("Couleurs refusées : contraste insuffisant")
    assert _colours(page)["fond"] == "rgb(255, 255, 255)"
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}"))  # the manifest's own theme (vert)
    assert _colours(page)["bouton"] == "rgb(27, 110, 32)"


def test_keyboard_use_and_visible_focus(site, watched):
    page = open_ready(watched, widget(site, f"siret={DEMO_BUYERS[0]}"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "annee-debut"
    outline = focus_outline(page)
    assert outline["style"] != "none" and outline["width"] >= 2, outline
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.className || document.activeElement.tagName"))
    assert {"annee-fin", "recherche", "filtre-nature", "filtre-procedure", "tri", "export-csv"} <= reached
    assert "tableau" in reached, "data tables that may scroll take the focus"
    page.focus("#recherche")
    page.keyboard.type("maintenance")
    page.keyboard.press("Enter")
    wait_param(page, "recherche", "maintenance")


@pytest.mark.parametrize("variant", ["", "&theme=sombre", "&theme=contraste-eleve", "&recherche=zzzz", "TEST"])
def test_axe_reports_no_violation(site, watched, test_buyer, variant):
    url = widget(site, f"siret={TEST_SIRET}") if variant == "TEST" else widget(site, f"siret={DEMO_BUYERS[2]}{variant}")
    page = open_ready(watched, url)
    page.evaluate("document.querySelector('#a-propos').open = true;"
                  "document.querySelectorAll('.modifications').forEach(d => d.open = true)")
    assert run_axe(page) == []


@pytest.mark.parametrize("siret", [DEMO_BUYERS[2], TEST_SIRET])
def test_layout_at_320_px_has_no_horizontal_scroll(site, watched, test_buyer, siret):
    page = watched.page
    page.set_viewport_size({"width": 320, "height": 640})
    open_ready(watched, widget(site, f"siret={siret}"))
    page.evaluate("document.querySelectorAll('.modifications').forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    rights = page.locator("#liste > li.contrat, #recherche, #tri, #export-csv, .figure, .chiffre").evaluate_all(
        "nodes => nodes.map(n => n.getBoundingClientRect().right)")
    assert max(rights) <= 320
    widths = page.locator(".dessin canvas").evaluate_all("nodes => nodes.map(n => n.getBoundingClientRect().width)")
    assert widths and all(0 < w <= 300 for w in widths)
    assert run_axe(page) == []


def test_everything_comes_from_the_store(site, watched):
    page = open_ready(watched, widget(site, f"siret={DEMO_BUYERS[1]}"))
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert any(re.search(r"/indicateurs\.[0-9a-f]{16}\.json$", url) for url in watched.requests), "the manifest's version"
    assert any(url.endswith("/vendor/echarts.min.js") for url in watched.requests)
    assert watched.requests and not watched.outside_requests()


def test_search_folds_ligatures_and_ignores_stop_words(site, watched, test_buyer):
    def with_ligatures(route):
        document = route.fetch().json()
        document["contrats"][0]["objet"] = "Maîtrise d'œuvre de la rénovation de l'école"
        route.fulfill(json=document)

    watched.page.route(f"**/marches/{TEST_SIRET}/{year_file(2025)}", with_ligatures)
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}&recherche=maitrise d'oeuvre de la"))
    expect(page.locator("#liste .objet")).to_have_text(["Maîtrise d'œuvre de la rénovation de l'école"])


def test_the_nature_is_not_repeated_when_it_says_the_type(site, watched, test_buyer):
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}&nature=Marché"))
    metas = page.locator("#liste .meta").all_inner_texts()
    assert metas and all(m.startswith("Marché · Procédure") for m in metas), metas
    page.select_option("#filtre-nature", "Accord-cadre")
    expect(page.locator("#liste .meta").first).to_contain_text("Marché · Accord-cadre · ")


def test_back_returns_to_the_previous_filter_and_page(site, watched, test_buyer):
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}"))
    total = page.locator("#total").inner_text()
    page.select_option("#filtre-procedure", "Procédure adaptée")
    wait_param(page, "procedure", "Procédure adaptée")
    page.go_back()
    expect(page.locator("#total")).to_have_text(total)
    expect(page.locator("#filtre-procedure")).to_have_value("")
    page.get_by_role("button", name="Page suivante").click()
    expect(page.locator("#total")).to_contain_text("page 2 sur")
    page.go_back()
    expect(page.locator("#total")).to_have_text(total)


def test_one_year_file_that_fails_leaves_the_other_years_listed(site, watched, test_buyer):
    watched.page.route(f"**/marches/{TEST_SIRET}/{year_file(2024)}", lambda route: route.fulfill(status=503, body="indisponible"))
    page = open_ready(watched, widget(site, f"siret={TEST_SIRET}"))
    watched.forget_logged(503)
    listed = len(test_buyer[2023]) + len(test_buyer[2025])
    expect(page.locator("#total")).to_contain_text(f"{listed} contrats")
    expect(page.locator("#incomplet")).to_have_text(
        "Les contrats de 2024 n'ont pas pu être chargés : la liste est incomplète. Réessayez dans quelques instants.")
