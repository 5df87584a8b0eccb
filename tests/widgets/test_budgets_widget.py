"""The Budgets widget in Debian's chromium, on the budget files the real pipeline produced.

Expected figures are computed here from the published JSON files, independently of the
widget's code, and compared with what its data tables show (French formats)."""

from __future__ import annotations

import json
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from core.store import plain_bytes
from load.budget_widgets import citizen_view, named_files

from .conftest import download_csv, focus_outline, query, run_axe, wait_param

DEMO_BODIES = ["21290099700017", "20009999200014", "25290999900010"]
KERDIGOR, EPCI, SYNDICAT = DEMO_BODIES
KERDIGOR_ANNEX = "21290099700025"
CHARTS = ["sections", "depenses-nature", "recettes-nature", "depenses-fonction", "recettes-fonction", "top-depenses", "evolution"]
XSS_SIRET = "30000000000017"  # not in the demo registry: files written by the test below
XSS = "<img src=x onerror=alert(1)>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XSS_POPULATION = {"nombre": 250, "annee": 2022, "type": "population totale", "code_commune": "29999"}


# ---- expected figures, from the files -------------------------------------------------------

def folder(site, siret: str):
    return site.store / "public" / "widgets" / "budgets" / siret


def read(site, siret: str, name: str) -> dict:
    """A body's file by the name its manifest gives, or by its plain name (``budget-<siret>-2024-ca.json``),
    found through the manifest, which names the current version (``budget-<siret>-2024-ca.<hash>.json``)."""
    path = folder(site, siret) / name
    if not path.exists():
        named = named_files(json.loads((folder(site, siret) / "index.json").read_text(encoding="utf-8")))
        current = [n for n in named if n.rsplit(".", 2)[0] == name.rsplit(".", 1)[0]]
        assert len(current) == 1, (name, sorted(named))
        path = folder(site, siret) / current[0]
    return json.loads(plain_bytes(path.read_bytes()))


def latest(site, siret: str, establishment: int = 0) -> tuple[dict, dict]:
    entry = read(site, siret, "index.json")["etablissements"][establishment]
    stage = entry["exercices"][-1]["etapes"][-1]
    return read(site, siret, stage["fichier"]), read(site, siret, entry["serie"])


def euros(value: float) -> str:
    """What Intl.NumberFormat('fr-FR', {style: 'currency', currency: 'EUR'}) writes."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def percent_value(text: str) -> float:
    return float(text.replace("\u202f", "").replace("\u00a0", "").replace("%", "").replace(",", ".").replace("+", ""))


def grouped(items, key, label) -> list[tuple[str, float]]:
    sums, labels = defaultdict(float), {}
    for item in items:
        sums[key(item)] += item["montant"]
        labels[key(item)] = label(item)
    rows = [(labels[k], round(v, 2)) for k, v in sums.items()]
    return sorted(rows, key=lambda r: -r[1])


def expected_breakdown(document: dict, sense: str, by: str, detailed: bool) -> list[tuple[str, float]]:
    if by == "nature":
        items = [x for x in document["par_nature" if detailed else "par_chapitre"] if x["sens"] == sense]
        return grouped(items, lambda x: x["code"], lambda x: f"{x['code']} {x['libelle']}")
    items = [f for f in document["par_fonction"] if f["sens"] == sense]
    if detailed:
        return grouped(items, lambda f: f["code"], lambda f: f"{f['code']} {f['libelle']}")
    return grouped(items, lambda f: f["rubrique"], lambda f: f"{f['rubrique']} {f['rubrique_libelle']}")


def expected_tables(document: dict, serie: dict, detailed: bool = False) -> dict[str, list[list[str]]]:
    """Rows (label, formatted amounts...) of every chart's table in amount mode."""
    names = {"fonctionnement": "Fonctionnement", "investissement": "Investissement"}
    tables = {}
    if detailed:
        sums = defaultdict(lambda: [0.0, 0.0])
        for c in document["par_chapitre"]:
            sums[(c["section"], c["type"])][0 if c["sens"] == "dépense" else 1] += c["montant"]
        tables["sections"] = [
            [f"{names[s]} — opérations {'d' + chr(39) + 'ordre' if t == 'ordre' else 'réelles'}", euros(round(d, 2)), euros(round(r, 2))]
            for (s, t), (d, r) in sorted(sums.items())
        ]
    else:
        tables["sections"] = [[names[s["section"]], euros(s["depenses"]), euros(s["recettes"])] for s in document["sections"]]
    for sense, word in (("dépense", "depenses"), ("recette", "recettes")):
        for by in ("nature", "fonction"):
            tables[f"{word}-{by}"] = [[label, euros(v)] for label, v in expected_breakdown(document, sense, by, detailed)]
    real = [x for x in document["par_nature" if detailed else "par_chapitre"] if x["sens"] == "dépense" and x["type"] == "réel"]
    tables["top-depenses"] = [[label, euros(v)] for label, v in grouped(real, lambda x: x["code"], lambda x: f"{x['code']} {x['libelle']}")[:10]]
    points = [p for p in serie["points"] if p["etape"] == document["etape"]]
    if detailed:
        def section(p, name, side):
            return next(s[side] for s in p["sections"] if s["section"] == name)
        tables["evolution"] = [[str(p["annee"]), *(euros(section(p, n, side)) for side in ("depenses", "recettes")
                                                     for n in ("fonctionnement", "investissement"))] for p in points]
    else:
        tables["evolution"] = [[str(p["annee"]), euros(p["totaux"]["depenses"]), euros(p["totaux"]["recettes"])] for p in points]
    return tables


# ---- what the page shows ----------------------------------------------------------------------

def table_rows(page, chart: str) -> list[list[str]]:
    return page.evaluate("""(id) => [...document.querySelectorAll(`#graphique-${id} table tbody tr`)]
        .map(tr => [...tr.children].map(c => c.textContent))""", chart)


def table_total(page, chart: str) -> list[str]:
    return page.evaluate("""(id) => [...document.querySelectorAll(`#graphique-${id} table tfoot tr > *`)]
        .map(c => c.textContent)""", chart)


def widget(site, query_string: str) -> str:
    return f"{site.base}/widgets/budgets.html?{query_string}"


def ready(watched, url: str):
    """The widget drawn, and its charts (ECharts comes after the essentials and tables)."""
    page = watched.open(url)
    expect(page.locator("body")).to_have_attribute("data-etat", "pret")
    page.wait_for_selector("body[data-graphiques=pret]", state="attached")
    return page


def has_drawing(page, chart: str) -> bool:
    return page.locator(f"#dessin-{chart} canvas, #dessin-{chart} svg").count() > 0


# ---- tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("siret", DEMO_BODIES)
def test_every_chart_renders_and_its_table_matches_the_published_figures(site, watched, siret):
    document, serie = latest(site, siret)
    page = ready(watched, widget(site, f"siret={siret}"))
    expect(page.locator("h1")).to_have_text(f"Budgets de {read(site, siret, 'index.json')['nom']}")
    expect(page.locator("#resume")).to_contain_text(f"Dépenses : {euros(document['totaux']['depenses'])}")
    for detailed in (False, True):
        if detailed:
            page.get_by_label("vue détaillée").check()
            wait_param(page, "niveau", "detaille")
        expected = expected_tables(document, serie, detailed)
        for chart in CHARTS:
            if not expected[chart]:
                assert chart.endswith("-fonction"), chart
                expect(page.locator(f"#graphique-{chart} .vide")).to_contain_text("ne présente pas ses")
                continue
            assert has_drawing(page, chart), f"{chart} is not drawn"
            assert table_rows(page, chart) == expected[chart], (chart, detailed)
            label = page.locator(f"#dessin-{chart}")
            expect(label).to_have_attribute("role", "img")
            assert expected[chart][0][0] in label.get_attribute("aria-label")
    assert table_total(page, "sections") == ["Total", euros(document["totaux"]["depenses"]), euros(document["totaux"]["recettes"])]
    assert sum(1 for rows in expected_tables(document, serie).values() if rows) >= 5


def test_year_stage_and_annex_budget_from_the_url_and_the_controls(site, watched):
    index = read(site, KERDIGOR, "index.json")
    ca_2024 = read(site, KERDIGOR, f"budget-{KERDIGOR}-2024-ca.json")
    serie = read(site, KERDIGOR, f"serie-{KERDIGOR}.json")
    page = ready(watched, widget(site, f"siret={KERDIGOR}&annee=2024&etape=ca"))
    expect(page.locator("#etat")).to_have_text(f"{ca_2024['nom']} — Compte administratif 2024")
    assert table_rows(page, "depenses-nature") == expected_tables(ca_2024, serie)["depenses-nature"]
    assert table_rows(page, "evolution") == [[r[0], *r[1:]] for r in expected_tables(ca_2024, serie)["evolution"]]
    assert [r[0] for r in table_rows(page, "evolution")] == ["2023", "2024"], "comptes administratifs over the years"
    expect(page.locator("#etape option")).to_have_text(["Budget primitif", "Compte administratif"])
    page.select_option("#etape", "bp")
    wait_param(page, "etape", "bp")
    bp_2024 = read(site, KERDIGOR, f"budget-{KERDIGOR}-2024-bp.json")
    expect(page.locator("#etat")).to_have_text(f"{bp_2024['nom']} — Budget primitif 2024")
    assert table_rows(page, "sections") == expected_tables(bp_2024, serie)["sections"]
    page.select_option("#annee", "2023")  # only a compte administratif that year
    wait_param(page, "annee", "2023")
    expect(page.locator("#etat")).to_contain_text("Compte administratif 2023")
    # The annex budget (its own SIRET) is selectable and kept in the URL.
    assert [e["budget"] for e in index["etablissements"]] == ["principal", "annexe"]
    page.select_option("#budget", KERDIGOR_ANNEX)
    wait_param(page, "budget", KERDIGOR_ANNEX)
    annex, annex_serie = latest(site, KERDIGOR, establishment=1)
    expect(page.locator("#etat")).to_have_text(f"{annex['nom']} — Budget primitif 2025")
    assert table_rows(page, "recettes-nature") == expected_tables(annex, annex_serie)["recettes-nature"]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-etat", "pret")
    expect(page.locator("#budget")).to_have_value(KERDIGOR_ANNEX)
    assert table_rows(page, "recettes-nature") == expected_tables(annex, annex_serie)["recettes-nature"]


def test_toggles_change_the_tables_and_live_in_the_url(site, watched):
    document, serie = latest(site, EPCI)
    page = ready(watched, widget(site, f"siret={EPCI}"))
    page.get_by_label("les pourcentages").check()
    wait_param(page, "affichage", "pourcentage")
    expected = expected_breakdown(document, "dépense", "nature", False)
    total = sum(v for _, v in expected)
    shown = table_rows(page, "depenses-nature")
    assert [r[0] for r in shown] == [label for label, _ in expected]
    for (label, value), row in zip(expected, shown):
        assert row[1].endswith("\u00a0%") and abs(percent_value(row[1]) - 100 * value / total) < 0.051, (label, row)
    assert table_total(page, "depenses-nature") == ["Total", "100,0\u00a0%"]
    section_rows = table_rows(page, "sections")
    assert abs(percent_value(section_rows[0][1]) - 100 * document["sections"][0]["depenses"] / document["totaux"]["depenses"]) < 0.051
    evolution = table_rows(page, "evolution")
    points = [p for p in serie["points"] if p["etape"] == document["etape"]]
    assert evolution[0][1] == "—"
    change = 100 * (points[1]["totaux"]["depenses"] / points[0]["totaux"]["depenses"] - 1)
    assert abs(percent_value(evolution[1][1]) - change) < 0.051 and evolution[1][1].startswith("+" if change > 0 else "-")
    page.get_by_label("vue détaillée").check()
    wait_param(page, "niveau", "detaille")
    accounts = expected_breakdown(document, "dépense", "nature", True)
    assert [r[0] for r in table_rows(page, "depenses-nature")] == [label for label, _ in accounts]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-etat", "pret")
    expect(page.get_by_label("les pourcentages")).to_be_checked()
    expect(page.get_by_label("vue détaillée")).to_be_checked()
    page.get_by_label("les montants").check()
    wait_param(page, "affichage", None)
    assert table_rows(page, "depenses-nature") == [[label, euros(v)] for label, v in accounts]


def test_one_chart_per_iframe(site, watched):
    document, serie = latest(site, SYNDICAT)
    page = ready(watched, widget(site, f"siret={SYNDICAT}&graphique=top-depenses"))
    expect(page.locator("section.graphique")).to_have_count(1)
    assert has_drawing(page, "top-depenses")
    assert table_rows(page, "top-depenses") == expected_tables(document, serie)["top-depenses"]
    page.get_by_role("link", name="Voir tous les graphiques").click()
    expect(page.locator("section.graphique")).to_have_count(len(CHARTS))
    link = page.locator("#graphique-recettes-fonction a.seul")
    assert parse_qs(urlsplit(link.get_attribute("href")).query)["graphique"] == ["recettes-fonction"]
    page = ready(watched, widget(site, f"siret={SYNDICAT}&graphique=camembert"))
    expect(page.locator("#avertissements")).to_contain_text("Graphique « camembert » inconnu")
    expect(page.locator("section.graphique")).to_have_count(len(CHARTS))


def test_csv_export_downloads_the_table(site, watched):
    document, _ = latest(site, EPCI)
    page = ready(watched, widget(site, f"siret={EPCI}&niveau=detaille"))
    name, rows = download_csv(page, "#graphique-depenses-fonction button[data-action=csv]")
    assert name == f"budget-{EPCI}-{document['annee']}-bp-depenses-fonction.csv"
    assert list(rows[0]) == ["code", "fonction", "Montant (euros)"]
    expected = expected_breakdown(document, "dépense", "fonction", True)
    assert [(r["fonction"], float(r["Montant (euros)"].replace(",", "."))) for r in rows] == expected
    assert [r["fonction"] for r in rows] == [r[0] for r in table_rows(page, "depenses-fonction")]
    page.get_by_label("les pourcentages").check()
    _, rows = download_csv(page, "#graphique-sections button[data-action=csv]")
    assert list(rows[0])[2] == "Dépenses (part du total) (%)"
    assert sum(float(r["Dépenses (part du total) (%)"].replace(",", ".")) for r in rows) == pytest.approx(100, abs=0.3)


def test_png_export_of_a_chart(site, watched):
    page = ready(watched, widget(site, f"siret={KERDIGOR}"))
    with page.expect_download() as download:
        page.locator("#graphique-depenses-nature button[data-action=png]").click()
    assert download.value.suggested_filename.endswith("-depenses-nature.png")
    data = open(download.value.path(), "rb").read()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000


def _colours(page) -> dict:
    return page.evaluate("""() => ({
        fond: getComputedStyle(document.body).backgroundColor,
        texte: getComputedStyle(document.body).color,
        bouton: getComputedStyle(document.querySelector('#graphiques button')).color,
        graphique: window.digorBudgets.charts.get('sections').getOption().color[0],
    })""")


def test_colours_and_themes_apply_to_the_page_and_the_charts(site, watched):
    page = ready(watched, widget(site, f"siret={SYNDICAT}&couleur_principale=%238b0000&couleur_fond=fffdf5&couleur_texte=%23222"))
    assert _colours(page) == {"fond": "rgb(255, 253, 245)", "texte": "rgb(34, 34, 34)", "bouton": "rgb(139, 0, 0)",
                              "graphique": "#8b0000"}
    expect(page.locator("#avertissements")).to_be_empty()
    page = ready(watched, widget(site, f"siret={KERDIGOR}&theme=sombre"))
    assert _colours(page)["fond"] == "rgb(22, 26, 29)" and _colours(page)["graphique"] == "#8ab4f8"
    page = ready(watched, widget(site, f"siret={KERDIGOR}&couleur_texte=%23777777&couleur_fond=%23888888"))
    expect(page.locator("#avertissements")).to_contain_text("Couleurs refusées : contraste insuffisant")
    assert _colours(page)["fond"] == "rgb(255, 255, 255)"
    # Without a theme in the URL, the body's settings from the registry apply (green for the EPCI).
    page = ready(watched, widget(site, f"siret={EPCI}"))
    assert _colours(page)["graphique"] == "#2e7d32"


def test_clear_french_messages(site, watched):
    page = watched.open(widget(site, "siret=99999999999999"))
    expect(page.locator("#etat")).to_have_text("Aucun budget publié pour le SIRET 99999999999999.")
    watched.forget_logged(404)  # the missing manifest
    page = watched.open(widget(site, "siret=abc"))
    expect(page.locator("#etat")).to_contain_text("n'est pas un numéro SIRET (14 chiffres)")
    page = watched.open(widget(site, ""))
    expect(page.locator("#etat")).to_contain_text("?siret=")
    page = watched.open(widget(site, f"siret={KERDIGOR}&annee=2019"))
    expect(page.locator("#etat")).to_have_text(
        "Aucun budget publié pour l'exercice 2019 (COMMUNE DE KERDIGOR - BUDGET PRINCIPAL). Exercices disponibles : 2023, 2024, 2025.")
    assert page.evaluate("document.body.dataset.etat") == "erreur"
    page.select_option("#annee", "2024")  # the controls stay usable
    expect(page.locator("body")).to_have_attribute("data-etat", "pret")
    expect(page.locator("#etat")).to_contain_text("2024")
    page = watched.open(widget(site, f"siret={KERDIGOR}&annee=2025&etape=bs"))
    expect(page.locator("#etat")).to_contain_text("L'étape « budget supplémentaire » n'est pas publiée pour l'exercice 2025")
    page = watched.open(widget(site, f"siret={KERDIGOR}&budget=21290099700099"))
    expect(page.locator("#etat")).to_contain_text("Le budget de SIRET 21290099700099 n'est pas publié par Commune de Kerdigor")
    page.select_option("#annee", "2023")  # back to the principal budget
    expect(page.locator("body")).to_have_attribute("data-etat", "pret")
    expect(page.locator("#etat")).to_have_text("COMMUNE DE KERDIGOR - BUDGET PRINCIPAL — Compte administratif 2023")
    assert "budget" not in query(page)


def _xss_document(stage: str, code: str, dm: str | None, factor: float) -> dict:
    def amount(x):
        return round(x * factor, 2)
    label = f"Charges {XSS} générales"
    return {
        "annee": 2025, "budget": "principal", "collectivite": "COMMUNE TEST", "compte_financier_unique": code == "10",
        "date_decision_dm": dm, "date_scellement": None, "etape": stage, "etape_code_totem": code,
        "format": "digor-budgets-widget/1", "montant": "voté (BGT_MTPREV)", "nom": f"Commune {XSS}",
        "nomenclature": "M57-M57",
        "totaux": {"depenses": amount(1500), "recettes": amount(1500)},
        "sections": [{"section": "fonctionnement", "depenses": amount(1000), "recettes": amount(1500)},
                     {"section": "investissement", "depenses": amount(500), "recettes": 0.0}],
        "operations": [{"type": "réel", "depenses": amount(1500), "recettes": amount(1500)}],
        "par_chapitre": [
            {"sens": "dépense", "section": "fonctionnement", "code": "011", "libelle": label, "type": "réel", "montant": amount(1000)},
            {"sens": "dépense", "section": "investissement", "code": "21", "libelle": "Immobilisations {a|b}", "type": "réel", "montant": amount(500)},
            {"sens": "recette", "section": "fonctionnement", "code": "73", "libelle": "Impôts <script>alert(2)</script>", "type": "réel", "montant": amount(1500)},
        ],
        "par_nature": [
            {"sens": "dépense", "section": "fonctionnement", "code": "6042", "libelle": label, "chapitre": "011", "type": "réel", "montant": amount(1000)},
            {"sens": "dépense", "section": "investissement", "code": "2183", "libelle": "Matériel", "chapitre": "21", "type": "réel", "montant": amount(500)},
            {"sens": "recette", "section": "fonctionnement", "code": "73111", "libelle": "Impôts", "chapitre": "73", "type": "réel", "montant": amount(1500)},
        ],
        "par_fonction": [
            {"sens": "dépense", "section": "fonctionnement", "code": "020", "libelle": f"Administration {XSS}", "rubrique": "0",
             "rubrique_libelle": f"Services {XSS}", "montant": amount(1500)},
        ],
    }


STAGES = [("budget primitif", "01", None, "bp", 1.0), ("budget supplémentaire", "03", None, "bs", 1.1),
          ("décision modificative", "04", "2025-06-12", "dm-2025-06-12", 1.2),
          ("décision modificative", "04", "2025-10-02", "dm-2025-10-02", 1.3),
          ("compte administratif", "10", None, "cfu", 0.9)]


@pytest.fixture(scope="module")
def xss_body(site):
    """A body whose labels carry markup, with every stage of a year (BP, BS, two DMs, CFU)."""
    root = folder(site, XSS_SIRET)
    root.mkdir(parents=True, exist_ok=True)
    stages, points = [], []
    for stage, code, dm, slug, factor in STAGES:
        name = f"budget-{XSS_SIRET}-2025-{slug}.json"
        document = citizen_view({**_xss_document(stage, code, dm, factor), "siret": XSS_SIRET}, None, XSS_POPULATION)
        document["comparaison"] = {"groupe": f"communes {XSS} de la région", "organismes": 1, "minimum": 3}
        (root / name).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        stages.append({"etape": stage, "etape_code_totem": code, "date_decision_dm": dm, "fichier": name})
        points.append({"annee": 2025, "etape": stage, "date_decision_dm": dm, "totaux": document["totaux"], "sections": document["sections"]})
    (root / f"serie-{XSS_SIRET}.json").write_text(json.dumps({"format": "digor-budgets-widget/1", "siret": XSS_SIRET, "points": points}), encoding="utf-8")
    index = {"format": "digor-budgets-widget/1", "siren": XSS_SIRET[:9], "siret": XSS_SIRET, "nom": f"Ville {XSS}",
             "publie_par": "Syndicat <b>test</b>", "widget": {}, "population": XSS_POPULATION,
             "etablissements": [{"siret": XSS_SIRET, "nom": f"Commune {XSS}", "budget": "principal", "nomenclature": "M57-M57",
                                 "serie": f"serie-{XSS_SIRET}.json", "exercices": [{"annee": 2025, "etapes": stages}]}]}
    (root / "index.json").write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    return XSS_SIRET


def test_markup_in_labels_shows_as_text_and_never_runs(site, watched, xss_body):
    page = ready(watched, widget(site, f"siret={xss_body}&etape=bp"))
    expect(page.locator("h1")).to_have_text(f"Budgets de Ville {XSS}")
    assert table_rows(page, "depenses-nature")[0] == [f"011 Charges {XSS} générales", euros(1000)]
    assert table_rows(page, "recettes-nature")[0] == ["73 Impôts <script>alert(2)</script>", euros(1500)]
    assert table_rows(page, "depenses-fonction") == [[f"0 Services {XSS}", euros(1500)]]
    assert XSS in page.locator("#dessin-depenses-nature").get_attribute("aria-label")
    box = page.locator("#dessin-depenses-nature").bounding_box()
    for dx in range(-60, 61, 20):  # hover the ring: tooltips are drawn (rich text), not HTML
        page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + 50)
        page.wait_for_timeout(30)
    box = page.locator("#dessin-top-depenses").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    page.wait_for_timeout(200)
    expect(page.locator("#note-comparaison")).to_contain_text(f"parmi les communes {XSS} de la région")
    assert page.locator("img").count() == 0 and page.locator("#graphiques script, #graphiques b, #essentiel b").count() == 0
    assert page.evaluate("document.body.innerHTML.includes('<img')") is False
    assert watched.dialogs == []


def test_every_stage_of_a_year_is_reachable(site, watched, xss_body):
    page = ready(watched, widget(site, f"siret={xss_body}"))
    expect(page.locator("#etape option")).to_have_text([
        "Budget primitif", "Budget supplémentaire", "Décision modificative du 12 juin 2025",
        "Décision modificative du 2 octobre 2025", "Compte financier unique"])
    expect(page.locator("#etat")).to_have_text(f"Commune {XSS} — Compte financier unique 2025")
    assert table_rows(page, "sections")[0] == ["Fonctionnement", euros(900), euros(1350)]
    for param, label, factor in (("bs", "Budget supplémentaire 2025", 1.1),
                                 ("dm-2025-06-12", "Décision modificative du 12 juin 2025 (exercice 2025)", 1.2),
                                 ("dm", "Décision modificative du 2 octobre 2025 (exercice 2025)", 1.3),
                                 ("ca", "Compte financier unique 2025", 0.9)):
        page = ready(watched, widget(site, f"siret={xss_body}&etape={param}"))
        expect(page.locator("#etat")).to_have_text(f"Commune {XSS} — {label}")
        assert table_rows(page, "sections")[0] == ["Fonctionnement", euros(round(1000 * factor, 2)), euros(round(1500 * factor, 2))]
    page.select_option("#etape", "bs")
    wait_param(page, "etape", "bs")
    expect(page.locator("#etat")).to_have_text(f"Commune {XSS} — Budget supplémentaire 2025")
    assert [r[0] for r in table_rows(page, "evolution")] == ["2025"]


@pytest.mark.parametrize("variant", ["", "&theme=sombre", "&theme=contraste-eleve&affichage=pourcentage&niveau=detaille",
                                     "&graphique=evolution", "&annee=2019"])
def test_axe_reports_no_violation(site, watched, variant):
    page = watched.open(widget(site, f"siret={EPCI}{variant}"))
    if "annee=2019" not in variant:  # an error page has no chart
        page.wait_for_selector("body[data-graphiques=pret]", state="attached")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert run_axe(page) == []


def test_320_px_wide_without_horizontal_scroll_and_accessible(site, watched):
    page = watched.page
    page.set_viewport_size({"width": 320, "height": 640})
    ready(watched, widget(site, f"siret={EPCI}&niveau=detaille"))
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.wait_for_timeout(100)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    rights = page.locator("section.graphique, #choix, select, .dessin, #essentiel").evaluate_all(
        "nodes => nodes.map(n => n.getBoundingClientRect().right)")
    assert max(rights) <= 320
    assert all(has_drawing(page, chart) for chart in CHARTS)
    assert run_axe(page) == []


def test_keyboard_only_use(site, watched):
    page = ready(watched, widget(site, f"siret={KERDIGOR}"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "budget"
    outline = focus_outline(page)
    assert outline["style"] != "none" and outline["width"] >= 2, outline
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "affichage-montant"
    page.keyboard.press("ArrowRight")
    wait_param(page, "affichage", "pourcentage")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("(document.activeElement.textContent || '').trim().slice(0, 30)"))
    assert any(r.startswith("Tableau des données") for r in reached)
    assert any(r.startswith("Télécharger les données (CSV)") for r in reached)
    assert any(r.startswith("Télécharger l'image (PNG)") for r in reached)
    page.locator("#graphique-sections summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graphique-sections table")).to_be_visible()


def test_everything_comes_from_the_store(site, watched):
    page = ready(watched, widget(site, f"siret={EPCI}"))
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert any(r.endswith("/widgets/vendor/echarts.min.js") for r in watched.requests)
    assert any(r.endswith(f"/widgets/budgets/{EPCI}/index.json") for r in watched.requests)
    expect(page.locator("#a-propos-texte")).to_contain_text("Licence Ouverte / Open Licence version 2.0")
    expect(page.locator("#a-propos-texte")).to_contain_text("Syndicat numérique de démonstration")


def test_small_texts_a_citizen_reads(site, watched, xss_body):
    page = ready(watched, widget(site, f"siret={KERDIGOR}"))
    expect(page.locator("#resume")).to_contain_text("plan comptable M57)")
    assert "M57-M57" not in page.locator("body").inner_text()
    page = watched.open(widget(site, f"siret={KERDIGOR}&annee=2025&etape=cfu"))
    expect(page.locator("#etat")).to_contain_text("L'étape « compte financier unique » n'est pas publiée pour l'exercice 2025")
    page = watched.open(widget(site, f"siret={KERDIGOR}&annee=2025&etape=xyz"))
    expect(page.locator("#etat")).to_contain_text("L'étape demandée par l'adresse du widget n'est pas publiée pour l'exercice 2025")
    assert "xyz" not in page.locator("#etat").inner_text()


def _ring(page, chart: str) -> dict:
    return page.evaluate("""(id) => { const o = echarts.getInstanceByDom(document.getElementById('dessin-' + id)).getOption();
        const s = o.series[0]; return {legend: Boolean(o.legend && o.legend[0] && o.legend[0].show),
            labels: s.label.show, hideOverlap: Boolean(s.labelLayout && s.labelLayout.hideOverlap),
            inside: s.label.alignTo === 'edge', slices: s.data.length}; }""", chart)


def test_rings_are_named_on_phones_and_their_labels_never_overlap_on_desktop(site, watched):
    page = watched.page
    page.set_viewport_size({"width": 320, "height": 640})
    ready(watched, widget(site, f"siret={EPCI}"))
    for chart in ("depenses-nature", "recettes-nature"):
        ring = _ring(page, chart)
        assert ring["slices"] > 1 and ring["legend"] and not ring["labels"], (chart, ring)
    page.set_viewport_size({"width": 1100, "height": 900})
    ready(watched, widget(site, f"siret={EPCI}"))
    for chart in ("depenses-nature", "recettes-nature"):
        ring = _ring(page, chart)
        assert ring["labels"] and ring["hideOverlap"] and ring["inside"] and not ring["legend"], (chart, ring)


# ---- the essentials in plain words -------------------------------------------------------------

def variation(value: float) -> str:
    """What Intl.NumberFormat('fr-FR', {style: 'percent', 1 decimal, signDisplay: 'exceptZero'}) writes."""
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return sign + f"{abs(value) * 100:.1f}".replace(".", ",") + "\u00a0%"


def rows_of(page, table: str) -> list[list[str]]:
    return page.evaluate("""(id) => [...document.querySelectorAll(`#${id} tbody tr`)]
        .map(tr => [...tr.children].map(c => c.textContent))""", table)


def test_the_essentials_say_where_the_money_comes_from_and_goes_per_inhabitant(site, watched):
    document = read(site, KERDIGOR, f"budget-{KERDIGOR}-2025-bp.json")
    population = document["population"]
    assert population["annee"] == 2022 and population["nombre"] > 0
    page = ready(watched, widget(site, f"siret={KERDIGOR}&annee=2025&etape=bp"))
    essentials = page.locator("#essentiel")
    expect(essentials.locator("h3")).to_have_text("L'essentiel en clair")
    expect(page.locator("[data-phrase=provenance]")).to_have_text(f"D'où vient l'argent ? {document['en_clair']['provenance']}")
    expect(page.locator("[data-phrase=destination]")).to_have_text(f"Où va l'argent ? {document['en_clair']['destination']}")
    assert document["en_clair"]["provenance"].startswith("En 2025, les recettes réelles (")
    number = f"{population['nombre']:,}".replace(",", "\u202f")
    expect(page.locator("#note-population")).to_have_text(
        f"Montants par habitant calculés avec la population légale 2022 de l'INSEE (population totale : {number} habitants).")
    headers = page.locator("#chiffres-cles thead th").all_text_contents()
    assert headers == ["Chiffre clé", "Montant", "Par habitant (population légale 2022)", "Évolution depuis 2024"]
    assert rows_of(page, "chiffres-cles") == [
        [f["libelle"], euros(f["montant"]), euros(f["par_habitant"]),
         f"{variation(f['evolution'])} ({euros(f['montant_precedent'])} en 2024)"] for f in document["chiffres_cles"]]
    expect(page.locator("#note-comparaison")).to_have_text(
        "Pas de comparaison possible : 1 commune seulement parmi les communes de 500 à 1\u202f999 habitants de la région "
        "(Région de démonstration, population légale 2022) ayant publié leur budget primitif 2025 (il en faut au moins 3).")
    page.get_by_text("Chaque chapitre en clair, avec son libellé officiel").click()
    chapters = {row[0]: row for row in rows_of(page, "chapitres-en-clair")}
    staff = next(c for c in document["par_chapitre"] if c["code"] == "012")
    assert chapters[f"012 {staff['libelle']}"][1:5] == [
        "Salaires et charges du personnel", "Dépense réelle", euros(staff["montant"]), euros(staff["par_habitant"])]


def test_a_body_without_population_says_so_and_shows_plain_function_names(site, watched):
    document, _ = latest(site, EPCI)
    page = ready(watched, widget(site, f"siret={EPCI}"))
    expect(page.locator("#note-population")).to_contain_text("Pas de montant par habitant : aucune population légale")
    headers = page.locator("#chiffres-cles thead th").all_text_contents()
    assert not any("habitant" in h for h in headers), headers
    assert page.locator("#note-comparaison").count() == 0
    page.get_by_text("Chaque grande fonction en clair, avec son libellé officiel").click()
    rows = rows_of(page, "fonctions-en-clair")
    plain = {f["rubrique_libelle_clair"] for f in document["par_fonction"]} - {None}
    assert plain and plain <= {row[1] for row in rows}
    assert all(row[0].split(" ", 1)[0].isdigit() for row in rows), "the official code and label come first"


def test_a_commune_among_enough_peers_shows_their_median(site, watched):
    document = read(site, KERDIGOR, f"budget-{KERDIGOR}-2025-bp.json")
    medians = {f["code"]: round(f["par_habitant"] * 1.1, 2) for f in document["chiffres_cles"]}
    compared = {**document, "comparaison": {**document["comparaison"], "organismes": 5},
                "chiffres_cles": [{**f, "mediane_par_habitant": medians[f["code"]]} for f in document["chiffres_cles"]]}
    watched.page.route(f"**/budget-{KERDIGOR}-2025-bp.*.json", lambda route: route.fulfill(json=compared))
    page = ready(watched, widget(site, f"siret={KERDIGOR}&annee=2025&etape=bp"))
    expect(page.locator("#note-comparaison")).to_have_text(
        f"Comparaison avec la médiane par habitant des {document['comparaison']['groupe']} (5 communes).")
    assert page.locator("#chiffres-cles thead th").last.text_content() == \
        "Médiane par habitant des communes comparables (population légale 2022)"
    assert [row[-1] for row in rows_of(page, "chiffres-cles")] == [euros(medians[f["code"]]) for f in document["chiffres_cles"]]


def test_the_essentials_at_320_px_and_with_the_keyboard(site, watched):
    page = watched.page
    page.set_viewport_size({"width": 320, "height": 640})
    ready(watched, widget(site, f"siret={KERDIGOR}&annee=2025&etape=bp"))
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.wait_for_timeout(100)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("#essentiel").evaluate("n => n.getBoundingClientRect().right") <= 320
    assert run_axe(page) == []
    page.locator("#etape").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-labelledby')") == "legende-chiffres-cles":
            break
    else:
        raise AssertionError("the key figures' table is not reachable with the keyboard")
    outline = focus_outline(page)
    assert outline["style"] != "none" and outline["width"] >= 2, outline


def test_a_single_chart_page_leaves_the_essentials_out(site, watched):
    page = ready(watched, widget(site, f"siret={KERDIGOR}&graphique=sections"))
    expect(page.locator("#essentiel")).to_be_hidden()
