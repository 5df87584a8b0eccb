"""The Actes widget in Debian's chromium, on the store the real pipeline produced."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from playwright.sync_api import expect

from core.config import PROJECT_ROOT
from core.registry import load_registry
from core.store import plain_bytes

from .conftest import BIG_ACTS, BIG_SIREN, download_csv, focus_outline, run_axe
from .minisearch_index import search_index

REGISTRY = load_registry(PROJECT_ROOT / "config" / "registry-demo.yaml")
OPEN_BODIES = [b for b in REGISTRY.bodies if b.open_data]
CLOSED_BODY = next(b for b in REGISTRY.bodies if not b.open_data)


def manifest(site, siren: str) -> dict:
    return json.loads((site.store / "public" / "widgets" / "actes" / siren / "index.json").read_text(encoding="utf-8"))


def body_acts(site, siren: str) -> list[dict]:
    folder = site.store / "public" / "widgets" / "actes" / siren
    return [a for y in manifest(site, siren)["annees"].values()
            for a in json.loads(plain_bytes((folder / y["fichier"]).read_bytes()))["actes"]]


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def wait_param(page, name: str, value: str | None, present: bool = False, timeout: float = 5.0) -> None:
    """Wait until the page's own URL (kept with history.replaceState) holds ``name=value``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        values = query(page).get(name)
        if (present and values) or (values == [value]):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{name}={value!r} never reached the URL: {page.url}")


def shown_ids(page) -> list[str]:
    return page.locator("#liste > li.acte").evaluate_all("items => items.map(i => i.dataset.id)")


def xss_siren(site) -> str:
    return next(b.siren for b in OPEN_BODIES if any("<script>" in a["objet"] for a in body_acts(site, b.siren)))


@pytest.mark.parametrize("body", OPEN_BODIES, ids=lambda b: b.siren)
def test_demo_bodies_show_their_published_acts(site, watched, body):
    page = watched.open(site.widget(f"siren={body.siren}"))
    acts = body_acts(site, body.siren)
    expect(page.locator("h1")).to_have_text(f"Actes publiés par {body.name}")
    word = "actes" if len(acts) > 1 else "acte"
    expect(page.locator("#total")).to_contain_text(f"{len(acts)} {word}")
    first = page.locator("#liste > li.acte").first
    newest = max(acts, key=lambda a: (a["date_publication"], a["date_decision"]))
    expect(first.locator(".dates")).to_have_text(re.compile(r"^Décision du \d+(er)? \S+ \d{4}, publié le \d+(er)? \S+ \d{4}$"))
    assert first.locator(".dates").inner_text().endswith(
        {"2025-03-05": "5 mars 2025", "2025-03-04": "4 mars 2025", "2025-03-03": "3 mars 2025"}[newest["date_publication"]])
    if next(a for a in acts if a["id"] == first.get_attribute("data-id"))["document"] is None:  # e.g. a budget sent as XML: the row is published, not the file
        expect(first.locator(".documents")).to_have_text("Document non diffusé en ligne.")
    expect(page.locator("#liste .documents a", has_text="Ouvrir").first).to_have_attribute("target", "_blank")
    expect(page.locator("#a-propos-texte")).to_contain_text("Licence Ouverte / Open Licence version 2.0")
    expect(page.locator("#a-propos-texte")).to_contain_text("Syndicat numérique de démonstration")


def test_document_links_open_the_published_pdf(site, watched):
    body = OPEN_BODIES[0]
    page = watched.open(site.widget(f"siren={body.siren}"))
    link = page.locator("#liste .documents a[href$='.pdf']", has_text="Télécharger").first
    href = link.get_attribute("href")
    assert href.startswith(site.base + "/documents/")
    response = page.request.get(href)
    assert response.ok and response.body().startswith(b"%PDF")
    expect(link).to_have_attribute("download", re.compile(r"\.pdf$"))


def test_closed_or_unknown_bodies_get_a_french_message(site, watched):
    page = watched.open(site.widget(f"siren={CLOSED_BODY.siren}"))
    expect(page.locator("#total")).to_have_text(f"Aucun acte publié pour le SIREN {CLOSED_BODY.siren}.")
    watched.forget_logged(404)  # the missing manifest
    page = watched.open(site.widget("siren=abc"))
    expect(page.locator("#total")).to_contain_text("n'est pas un numéro SIREN")
    page = watched.open(site.widget())
    expect(page.locator("#total")).to_contain_text("?siren=")


def test_xss_objets_and_file_names_show_as_text(site, watched):
    page = watched.open(site.widget(f"siren={xss_siren(site)}&recherche=motion soutien"))
    expect(page.locator("#liste .objet").first).to_have_text(
        "Motion de soutien <script>alert(1)</script> aux agriculteurs du territoire")
    assert page.locator("#liste script").count() == 0
    page = watched.open(site.widget(f"siren={BIG_SIREN}&recherche=convention salle fetes"))
    expect(page.locator("#liste .objet").first).to_have_text(
        "Convention <img src=x onerror=alert(1)> de mise à disposition de la salle des fêtes")
    expect(page.locator("#liste .nom-fichier").first).to_have_text("Acte : <img src=x onerror=alert(2)>.pdf")
    assert page.locator("#liste img").count() == 0
    page.wait_for_timeout(300)
    assert watched.dialogs == []


def test_type_matiere_and_date_filters_live_in_the_url(site, watched):
    body = OPEN_BODIES[0]
    acts = body_acts(site, body.siren)
    page = watched.open(site.widget(f"siren={body.siren}"))
    page.get_by_label(re.compile(r"^Délibérations \(\d+\)$")).check()
    expected = [a for a in acts if a["nature_code"] == "1"]
    expect(page.locator("#total")).to_contain_text(f"{len(expected)} acte")
    assert query(page)["types_actes"] == ["1"]
    assert set(page.locator("#liste .nature").all_inner_texts()) == {"Délibérations"}
    page.get_by_label(re.compile(r"^Commande publique \(\d+\)$")).check()
    expected = [a for a in expected if a["matiere_code"].startswith("1.")]
    expect(page.locator("#total")).to_contain_text(f"{len(expected)} acte")
    assert query(page)["classifications"] == ["1"]
    page.fill("#date-debut", "2025-01-01")
    expected = [a for a in expected if a["date_decision"] >= "2025-01-01"]
    expect(page.locator("#total")).to_contain_text(f"{len(expected)} acte")
    assert query(page)["date_debut"] == ["2025-01-01"]
    ids = shown_ids(page)
    assert sorted(ids) == sorted(a["id"] for a in expected)
    page.reload()
    page.wait_for_selector("body[data-etat=pret]")
    assert shown_ids(page) == ids, "the same URL shows the same list"
    expect(page.get_by_label(re.compile(r"^Délibérations"))).to_be_checked()
    expect(page.locator("#date-debut")).to_have_value("2025-01-01")
    page.click("#effacer")
    expect(page.locator("#total")).to_contain_text(f"{len(acts)} actes")
    assert "types_actes" not in query(page)


def test_non_transmitted_kinds_and_totals_per_type(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}&types_actes=71,73"))
    acts = body_acts(site, BIG_SIREN)
    expected = [a for a in acts if a["nature_code"] in ("71", "73")]
    expect(page.locator("#total")).to_contain_text(f"{len(expected):,} actes".replace(",", "\u202f"))
    for code, label in (("71", "Listes des délibérations"), ("72", "Arrêtés temporaires"),
                        ("73", "Procès-verbaux de séance"), ("74", "Arrêtés permanents"), ("1", "Délibérations")):
        count = sum(a["nature_code"] == code for a in acts)
        expect(page.locator(f"label[for=type-{code}]")).to_have_text(f"{label} ({count:,})".replace(",", "") if count < 1000
                                                                     else f"{label} ({count})")
    page.check("#type-7")
    everything_outside = [a for a in acts if a["nature_code"].startswith("7")]
    expect(page.locator("#total")).to_contain_text(f"{len(everything_outside):,} actes".replace(",", "\u202f"))


def test_search_runs_in_the_browser_over_objet_numero_and_matiere(site, watched):
    body = OPEN_BODIES[0]
    acts = body_acts(site, body.siren)
    page = watched.open(site.widget(f"siren={body.siren}"))
    page.fill("#recherche", "restauration scolaire")
    wait_param(page, "recherche", "restauration scolaire")
    expected = {a["id"] for a in acts if "restauration scolaire" in a["objet"]}
    assert expected and set(shown_ids(page)) == expected
    expect(page.locator("#tri")).to_have_value("pertinence")
    numero = acts[3]["numero"]
    page.fill("#recherche", numero.lower())
    wait_param(page, "recherche", numero.lower())
    assert shown_ids(page)[0] == acts[3]["id"]
    page.fill("#recherche", "commande publiq")  # matière, unfinished word
    page.press("#recherche", "Enter")
    wait_param(page, "recherche", "commande publiq")
    assert set(shown_ids(page)) == {a["id"] for a in acts if a["matiere_code"].startswith("1.")}
    page.fill("#recherche", "zzzzqqq")
    page.press("#recherche", "Enter")
    expect(page.locator("#total")).to_have_text("Aucun acte ne correspond à ces critères.")


def test_search_ignores_accents_and_forgives_a_typo(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}&recherche=proces-verbal conseil"))
    expect(page.locator("#liste .objet").first).to_contain_text("Procès-verbal du conseil")
    page = watched.open(site.widget(f"siren={BIG_SIREN}&recherche=restaurration"))
    expect(page.locator("#liste .objet").first).to_contain_text("restauration scolaire")
    page = watched.open(site.widget(f"siren={BIG_SIREN}&recherche=restorration"))  # two typos: one only is forgiven
    expect(page.locator("#total")).to_have_text("Aucun acte ne correspond à ces critères.")


def test_pipeline_index_gives_the_results_of_a_browser_built_index(site, watched):
    """The index the widget puts together from the ten years' search parts is the one MiniSearch
    holds of all the acts (the tests' oracle, made from the acts), and it gives the results and
    scores of an index the browser builds itself from the year files."""
    page = watched.open(site.widget(f"siren={BIG_SIREN}"))
    page.focus("#recherche")  # the index and MiniSearch load when a visitor is about to search
    page.wait_for_selector("body[data-index=pret]", state="attached")
    assert len(manifest(site, BIG_SIREN)["recherche"]["annees"]) == 10
    loaded = page.evaluate("window.digorActes.index()")
    expected = search_index(body_acts_by_year(site, BIG_SIREN))
    assert {**loaded, "index": dict(loaded["index"])} == {**expected, "index": dict(expected["index"])}
    comparison = page.evaluate("""async () => {
        const manifest = await (await fetch('actes/213500010/index.json')).json();
        const years = await Promise.all(Object.keys(manifest.annees).sort().map(
            y => fetch('actes/213500010/' + manifest.annees[y].fichier).then(r => r.json())));
        const acts = years.flatMap(y => y.actes);
        const yearOf = new Map(acts.map(a => [a.id, a.date_decision.slice(0, 4)]));
        const part = await (await fetch('actes/213500010/' + Object.values(manifest.recherche.annees)[0].fichier)).json();
        const stop = new Set(part.mots_vides);
        const tokenize = t => String(t || '').normalize('NFD').replace(/\\p{M}/gu, '').toLowerCase()
            .replace(/œ/g, 'oe').replace(/æ/g, 'ae').split(/[^\\p{L}\\p{N}]+/u).filter(w => w && !stop.has(w));
        const options = {fields: part.champs, tokenize, processTerm: t => t};
        const built = new MiniSearch(options);
        const seen = new Set();
        built.addAll(acts.filter(a => !seen.has(a.id) && seen.add(a.id))
            .map(a => ({id: a.id, numero: a.numero, objet: a.objet, matiere: a.matiere})));
        const loaded = MiniSearch.loadJS(window.digorActes.index(), options);
        const queries = ['voirie', 'budget primitif 2019', 'eglise', 'police municipale', '01_2020', 'plan local',
                         'restauration scolaire', 'voeu'];
        return queries.map(q => {
            const a = built.search(q, {prefix: true, fuzzy: 0.2, combineWith: 'AND'});
            const b = loaded.search(q, {prefix: true, fuzzy: 0.2, combineWith: 'AND'});
            const scores = new Map(b.map(r => [r.id, r.score]));  // ties may come in another order
            return {q, same: a.length === b.length && a.every(r => Math.abs(r.score - scores.get(r.id)) < 1e-9), n: a.length,
                    years: new Set(b.map(r => yearOf.get(r.id))).size};
        });
    }""")
    assert all(c["same"] for c in comparison), comparison
    assert all(c["n"] > 0 for c in comparison), comparison
    assert max(c["years"] for c in comparison) >= 5, "the searches find acts of several years"


def body_acts_by_year(site, siren: str) -> list[dict]:
    """The body's acts as the widget reads its year files: the years in order, each file's acts in order."""
    folder = site.store / "public" / "widgets" / "actes" / siren
    years = manifest(site, siren)["annees"]
    return [a for year in sorted(years) for a in json.loads(plain_bytes((folder / years[year]["fichier"]).read_bytes()))["actes"]]


def test_paging_and_sorting_of_a_big_body(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}"))
    pages = -(-BIG_ACTS // 10)
    expect(page.locator("#total")).to_have_text(f"20\u202f000 actes — page 1 sur {pages:,}".replace(",", "\u202f"))
    assert len(shown_ids(page)) == 10
    first_page = shown_ids(page)
    page.get_by_role("button", name="Page suivante").click()
    expect(page.locator("#total")).to_contain_text("page 2 sur")
    assert query(page)["page"] == ["2"] and not set(shown_ids(page)) & set(first_page)
    assert page.evaluate("document.activeElement.id") == "total", "focus goes back to the top of the list"
    page.get_by_role("button", name=f"Page {pages}").click()
    expect(page.locator("#total")).to_contain_text(f"page {pages:,} sur".replace(",", "\u202f"))
    published = page.locator("#liste .dates").all_inner_texts()
    assert len(published) == BIG_ACTS - (pages - 1) * 10
    page.select_option("#tri", "decision")
    assert query(page)["tri"] == ["decision"] and "page" not in query(page)
    by_id = {a["id"]: a for a in body_acts(site, BIG_SIREN)}
    decisions = [by_id[i]["date_decision"] for i in shown_ids(page)]
    assert decisions == sorted(decisions, reverse=True)
    assert decisions[0] == max(a["date_decision"] for a in by_id.values())
    page.select_option("#tri", "publication")
    publications = [by_id[i]["date_publication"] for i in shown_ids(page)]
    assert publications[0] == max(a["date_publication"] for a in by_id.values())


def test_permalink_of_an_act(site, watched):
    body = OPEN_BODIES[1]
    page = watched.open(site.widget(f"siren={body.siren}&theme=sombre"))
    target = page.locator("#liste > li.acte").nth(2)
    act_id = target.get_attribute("data-id")
    numero = target.locator(".numero").inner_text().removeprefix("N° ")
    target.get_by_role("link", name=re.compile("Lien permanent")).click()
    assert query(page)["acte"] == [act_id] and query(page)["theme"] == ["sombre"]
    expect(page.locator("#total")).to_have_text(f"Acte n° {numero}")
    assert shown_ids(page) == [act_id]
    page.reload()
    page.wait_for_selector("body[data-etat=pret]")
    assert shown_ids(page) == [act_id]
    page.get_by_role("link", name="Voir tous les actes").click()
    expect(page.locator("#total")).to_contain_text("actes")
    assert "acte" not in query(page)
    page = watched.open(site.widget(f"siren={body.siren}&acte=retire-ou-inconnu"))
    expect(page.locator("#total")).to_have_text("Cet acte n'est pas publié, ou ne l'est plus.")


def _colours(page) -> dict:
    return page.evaluate("""() => ({
        fond: getComputedStyle(document.body).backgroundColor,
        texte: getComputedStyle(document.body).color,
        bouton: getComputedStyle(document.querySelector('#formulaire-recherche button')).backgroundColor,
        lien: getComputedStyle(document.querySelector('#liste a')).color,
    })""")


def test_colours_themes_and_contrast_refusal(site, watched):
    siren = OPEN_BODIES[0].siren
    page = watched.open(site.widget(f"siren={siren}&couleur_principale=%238b0000&couleur_fond=fffdf5&couleur_texte=%23222"))
    assert _colours(page) == {"fond": "rgb(255, 253, 245)", "texte": "rgb(34, 34, 34)", "bouton": "rgb(139, 0, 0)",
                              "lien": "rgb(139, 0, 0)"}
    expect(page.locator("#avertissements")).to_be_empty()
    page = watched.open(site.widget(f"siren={siren}&theme=sombre"))
    assert _colours(page)["fond"] == "rgb(22, 26, 29)"
    page = watched.open(site.widget(f"siren={siren}&couleur_texte=%23777777&couleur_fond=%23888888"))
    expect(page.locator("#avertissements")).to_contain_text("Couleurs refusées : contraste insuffisant")
    expect(page.locator("#avertissements")).to_contain_text("il faut au moins 4,5:1")
    assert _colours(page) == {"fond": "rgb(255, 255, 255)", "texte": "rgb(30, 30, 30)", "bouton": "rgb(0, 90, 156)",
                              "lien": "rgb(0, 90, 156)"}
    page = watched.open(site.widget(f"siren={siren}&couleur_principale=red;background:url(//evil)"))
    expect(page.locator("#avertissements")).to_contain_text("n'est pas une couleur")
    # The body's own settings from the registry apply when the URL names no theme.
    green = next(b for b in OPEN_BODIES if b.widget.get("primary_color") == "#2e7d32")
    page = watched.open(site.widget(f"siren={green.siren}"))
    assert _colours(page)["bouton"] == "rgb(46, 125, 50)"


def test_keyboard_only_use(site, watched):
    body = OPEN_BODIES[0]
    page = watched.open(site.widget(f"siren={body.siren}"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "recherche"
    page.keyboard.type("restauration")
    page.keyboard.press("Enter")
    wait_param(page, "recherche", "restauration")
    outline = focus_outline(page)
    assert outline["style"] != "none" and outline["width"] >= 2, outline
    for _ in range(3):  # the button, the "Filtres" summary, the first type
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.groupe") == "type"
    page.keyboard.press("Space")
    wait_param(page, "types_actes", None, present=True)
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim().slice(0, 30)"))
    assert {"tri", "Lien permanent vers l'acte n°"} <= {r[:29] if r.startswith("Lien") else r for r in reached}
    assert any(r.startswith("Ouvrir") for r in reached) and any(r.startswith("Télécharger") for r in reached)
    assert "À propos de ces données" in reached


def test_keyboard_paging(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}"))
    page.get_by_role("button", name="Page suivante").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#total")).to_contain_text("page 2 sur")


@pytest.mark.parametrize("variant", ["", "&theme=sombre", "&theme=contraste-eleve", "&acte=FIRST", "&recherche=zzzz",
                                     "&couleur_texte=%23777777&couleur_fond=%23888888"])
def test_axe_reports_no_violation(site, watched, variant):
    siren = OPEN_BODIES[0].siren
    if variant == "&acte=FIRST":
        variant = f"&acte={body_acts(site, siren)[0]['id']}"
    page = watched.open(site.widget(f"siren={siren}{variant}"))
    page.evaluate("document.querySelector('#a-propos').open = true")
    assert run_axe(page) == []


def test_axe_at_320px_with_filters_open(site, context, watched):
    page = watched.page
    page.set_viewport_size({"width": 320, "height": 640})
    watched.open(site.widget(f"siren={BIG_SIREN}"))
    page.evaluate("document.querySelector('#filtres').open = true")
    assert run_axe(page) == []


@pytest.mark.parametrize("siren", [OPEN_BODIES[0].siren, BIG_SIREN])
def test_layout_at_320_px_has_no_horizontal_scroll(site, watched, siren):
    page = watched.page
    page.set_viewport_size({"width": 320, "height": 640})
    watched.open(site.widget(f"siren={siren}"))
    page.evaluate("document.querySelector('#filtres').open = true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    widths = page.locator("#liste > li.acte, #recherche, #tri, #export-csv").evaluate_all(
        "nodes => nodes.map(n => n.getBoundingClientRect().right)")
    assert max(widths) <= 320
    expect(page.locator("#filtres")).to_be_visible()


def test_csv_export_of_the_filtered_list(site, watched):
    siren = xss_siren(site)
    acts = body_acts(site, siren)
    page = watched.open(site.widget(f"siren={siren}&types_actes=1"))
    name, rows = download_csv(page, "#export-csv")
    assert name == f"actes-{siren}.csv"
    expected = [a for a in acts if a["nature_code"] == "1"]
    assert len(rows) == len(expected)
    assert {r["numero"] for r in rows} == {a["numero"] for a in expected}
    assert any(r["objet"] == "Motion de soutien <script>alert(1)</script> aux agriculteurs du territoire" for r in rows)
    assert all(r["date_publication"] >= r["date_decision"] for r in rows)
    assert all(r["document"].startswith(site.base + "/documents/") for r in rows)
    first = rows[0]
    assert parse_qs(urlsplit(first["lien_permanent"]).query)["acte"][0] in {a["id"] for a in expected}


def test_atom_feed_of_the_body_is_valid_and_linked(site, watched):
    body = OPEN_BODIES[0]
    page = watched.open(site.widget(f"siren={body.siren}"))
    href = page.locator("#flux").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("application/atom+xml")
    atom = "{http://www.w3.org/2005/Atom}"
    feed = etree.fromstring(response.body())
    assert feed.tag == f"{atom}feed" and feed.findtext(f"{atom}id")
    assert feed.findtext(f"{atom}title") == f"Actes publiés par {body.name}"
    entries = feed.findall(f"{atom}entry")
    assert len(entries) == len(body_acts(site, body.siren))
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{atom}{required}"), required
        permalink = entry.find(f"{atom}link[@rel='alternate']").get("href")
        assert permalink.startswith(site.base + "/widgets/actes.html?siren=")
        for enclosure in entry.findall(f"{atom}link[@rel='enclosure']"):
            assert page.request.head(enclosure.get("href")).ok
    page.goto(entries[0].find(f"{atom}link[@rel='alternate']").get("href"))
    page.wait_for_selector("body[data-etat=pret]")
    assert len(shown_ids(page)) == 1


def test_the_feed_opens_in_a_new_tab_with_a_line_saying_what_a_feed_is(site, context, watched):
    """A citizen clicking "Flux Atom" never gets raw XML in place of the widget (in the site's iframe)."""
    page = watched.open(site.widget(f"siren={OPEN_BODIES[0].siren}"), "body[data-etat=pret]")
    widget_url = page.url
    expect(page.locator("#suivre")).to_be_visible()
    expect(page.locator("#suivre")).to_contain_text("lecteur de flux")
    for link in (page.locator("#flux"), page.locator("#a-propos-texte a", has_text="flux Atom")):
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    with context.expect_page() as opened:
        page.locator("#flux").click()
    feed = opened.value
    feed.wait_for_load_state()
    assert feed.url.endswith("/actes.atom") and page.url == widget_url
    expect(page.locator("#liste > li.acte").first).to_be_visible()
    feed.close()




def test_an_old_acts_permalink_loads_only_its_years_file(site, watched):
    """The page citizens share: the act's year file, not the body's ten years of acts."""
    oldest = min(manifest(site, BIG_SIREN)["annees"])
    folder = site.store / "public/widgets/actes" / BIG_SIREN
    act = json.loads(plain_bytes((folder / manifest(site, BIG_SIREN)["annees"][oldest]["fichier"]).read_bytes()))["actes"][-1]
    page = watched.open(site.widget(f"siren={BIG_SIREN}&acte={act['id']}&annee={oldest}"), "body[data-etat=pret]")
    assert shown_ids(page) == [act["id"]]
    expect(page.locator("#total")).to_have_text(f"Acte n° {act['numero']}")
    assert [url.rsplit("/", 1)[1][:4] for url in watched.requests if YEAR_FILE.search(url)] == [oldest]
    page.click("#tous-les-actes")
    expect(page.locator("#liste > li.acte")).to_have_count(10)
    assert "annee" not in query(page) and "acte" not in query(page)


def test_permalinks_name_the_year_of_the_act(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}"), "body[data-etat=pret]")
    first = page.locator("#liste > li.acte").first
    decided = first.get_attribute("data-id")
    href = first.locator(".lien-permanent a").get_attribute("href")
    acts = {a["id"]: a for y in manifest(site, BIG_SIREN)["annees"].values()
            for a in json.loads(plain_bytes((site.store / "public/widgets/actes" / BIG_SIREN / y["fichier"]).read_bytes()))["actes"]}
    assert parse_qs(urlsplit(href).query)["annee"] == [acts[decided]["date_decision"][:4]]
    feed = etree.fromstring((site.store / "public/widgets/actes" / BIG_SIREN / "actes.atom").read_bytes())
    permalink = feed.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link[@rel='alternate']").get("href")
    in_feed = parse_qs(urlsplit(permalink).query)
    assert in_feed["annee"] == [acts[in_feed["acte"][0]]["date_decision"][:4]]


def test_everything_comes_from_the_store(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}&recherche=voirie"))
    page.click("#liste .lien-permanent a")
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert watched.requests and not watched.outside_requests()
    assert any(re.search(r"/recherche-\d{4}\.[0-9a-f]{16}\.json$", url) for url in watched.requests)


YEAR_FILE = re.compile(r"/\d{4}\.[0-9a-f]{16}\.json$")


class Wire:
    """Bytes received per request as the browser's DevTools count them (compressed bodies and
    headers), and the server's own status (a 304 shows as 200 once merged with the cache)."""

    def __init__(self, context, page):
        self.received: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self.status: dict[str, int] = {}
        self.cached: set[str] = set()
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.responseReceivedExtraInfo", lambda e: self.status.__setitem__(e["requestId"], e["statusCode"]))
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        cdp.on("Network.loadingFinished", lambda e: self.received.__setitem__(e["requestId"], e["encodedDataLength"]))
        cdp.send("Network.enable")

    def total(self) -> int:
        return sum(n for request, n in self.received.items() if request not in self.cached)

    def with_a_body(self) -> list[str]:
        """Names of the files that came over the wire whole (neither from the cache nor a 304)."""
        return sorted(urlsplit(url).path.rsplit("/", 1)[-1] for request, url in self.urls.items()
                      if request not in self.cached and self.status.get(request) == 200)


def test_first_render_of_a_20000_act_body_needs_neither_year_files_nor_the_search_index(site, context):
    page = context.new_page()
    wire = Wire(context, page)
    page.goto(site.widget(f"siren={BIG_SIREN}"))
    page.wait_for_selector("body[data-etat=pret]", state="attached")
    expect(page.locator("#total")).to_have_text("20\u202f000 actes — page 1 sur 2\u202f000")
    assert len(shown_ids(page)) == 10
    page.wait_for_timeout(300)  # the last network events
    assert not [url for url in wire.urls.values() if YEAR_FILE.search(url) or "recherche" in url or "minisearch" in url]
    assert wire.total() < 300 * 1024, f"{wire.total()} bytes before the first act shows"
    newest = max(body_acts(site, BIG_SIREN), key=lambda a: (a["date_publication"], a["date_decision"]))
    assert shown_ids(page)[0] == newest["id"]
    page.focus("#recherche")  # about to search: the index and the year files come now
    page.wait_for_selector("body[data-index=pret]", state="attached")
    assert len([url for url in wire.urls.values() if "/recherche-" in url]) == len(manifest(site, BIG_SIREN)["annees"])
    assert len([url for url in wire.urls.values() if YEAR_FILE.search(url)]) == len(manifest(site, BIG_SIREN)["annees"])


def test_pages_of_a_configured_kind_come_from_the_first_page_file_then_from_the_year_files(site, watched):
    acts = body_acts(site, BIG_SIREN)
    arretes = sorted((a for a in acts if a["nature_code"] == "74"),
                     key=lambda a: (a["date_publication"], a["date_decision"], int(a["numero"].rsplit("_", 1)[1])), reverse=True)
    page = watched.open(site.widget(f"siren={BIG_SIREN}&types_actes=74&page=2"), ready="body[data-etat=pret]")
    expect(page.locator("#total")).to_contain_text(f"{len(arretes):,} actes — page 2 sur".replace(",", "\u202f"))
    assert shown_ids(page) == [a["id"] for a in arretes[10:20]]
    assert not [url for url in watched.requests if YEAR_FILE.search(url)]
    page.get_by_role("button", name="Page suivante").click()
    expect(page.locator("#total")).to_contain_text("page 3 sur")
    assert shown_ids(page) == [a["id"] for a in arretes[20:30]]
    assert [url for url in watched.requests if YEAR_FILE.search(url)]


def _small_body(site, siren: str, acts: list[dict]) -> None:
    from core.registry import Body
    from core.store import LocalStore
    from load.widget_files import publish_index

    from .conftest import write_year

    store = LocalStore(site.store)
    for year in (2024, 2025):
        write_year(store, siren, year, [a for a in acts if a["date_decision"].startswith(str(year))] or None)
    publish_index(store, Body(siren=siren, siret=siren + "00011", name="Commune de Revisite", kind="commune"),
                  "Syndicat numérique de démonstration", site.settings.public_url)


def _act(n: int, year: int) -> dict:
    day = f"{year}-03-{1 + n % 27:02d}"
    return {"id": f"rev{year}{n:03d}", "numero": f"DEL_{year}_{n:03d}", "objet": f"Délibération {n} de {year}",
            "nature_code": "1", "nature": "Délibérations", "matiere_code": "5.2",
            "matiere": "Institutions et vie politique / Fonctionnement des assemblées", "date_decision": day,
            "date_transmission": day, "date_ar": day, "date_publication": day, "document": None, "annexes": []}


def test_a_revisit_transfers_only_what_changed(site, context):
    siren = "219999990"
    acts = [_act(n, year) for year in (2024, 2025) for n in range(30)]
    _small_body(site, siren, acts)
    url = site.widget(f"siren={siren}&tri=decision")  # a view that reads every year file

    def visit() -> Wire:
        page = context.new_page()
        wire = Wire(context, page)
        page.goto(url)
        page.wait_for_selector("body[data-etat=pret]", state="attached")
        page.wait_for_timeout(300)
        page.close()
        return wire

    first = visit()
    assert {"2024", "2025"} <= {name.split(".")[0] for name in first.with_a_body()}
    assert visit().with_a_body() == [], "an unchanged body: everything from the cache or confirmed unchanged (304)"
    _small_body(site, siren, acts + [_act(99, 2025)])
    changed = [name.split(".")[0] for name in visit().with_a_body()]
    assert sorted(changed) == ["2025", "index", "recents"], "the manifest, the first page and the year that changed"
    year_bytes = sum(n for request, n in first.received.items() if YEAR_FILE.search(first.urls[request]))
    assert year_bytes < sum(len(json.dumps(a, ensure_ascii=False)) for a in acts) / 3, "year files come compressed"


def test_one_year_file_that_fails_leaves_the_others_listed(site, watched):
    page = watched.page
    years = manifest(site, BIG_SIREN)["annees"]
    broken = years["2019"]["fichier"]
    page.route(f"**/{broken}", lambda route: route.fulfill(status=503, body="indisponible"))
    watched.open(site.widget(f"siren={BIG_SIREN}&tri=decision"), ready="body[data-etat=pret]")
    watched.forget_logged(503)
    expected = sum(y["actes"] for year, y in years.items() if year != "2019")
    expect(page.locator("#total")).to_contain_text(f"{expected:,} actes".replace(",", "\u202f"))
    expect(page.locator("#incomplet")).to_have_text(
        "Les actes de 2019 n'ont pas pu être chargés : la liste est incomplète. Réessayez dans quelques instants.")
    assert len(shown_ids(page)) == 10


def test_every_named_theme_keeps_the_contrast(site, watched):
    page = watched.open(site.widget(f"siren={OPEN_BODIES[0].siren}"))
    ratios = page.evaluate("""async () => {
        const { THEMES, contrastRatio } = await import(new URL("commun/theme.js", location.href).href);
        return Object.entries(THEMES).map(([name, t]) => [name, contrastRatio(t.texte, t.fond), contrastRatio(t.principale, t.fond)]);
    }""")
    assert len(ratios) >= 6
    assert all(text >= 4.5 and main >= 4.5 for _, text, main in ratios), ratios


def test_header_shows_what_the_register_says_of_the_body_as_text(site, watched):
    key = site.store / "public/widgets/actes/212900997/index.json"
    original = key.read_bytes()
    index = json.loads(original)
    index["identite"] = {"categorie_juridique_libelle": "Commune et commune nouvelle",
                         "adresse": "1 PLACE DE LA MAIRIE <img src=x onerror=alert(1)>, 29800 KERDIGOR"}
    key.write_text(json.dumps(index), encoding="utf-8")
    try:
        page = watched.open(site.widget("siren=212900997"), "body[data-etat=pret]")
        expect(page.locator("#identite")).to_have_text(
            "Commune et commune nouvelle · 1 PLACE DE LA MAIRIE <img src=x onerror=alert(1)>, 29800 KERDIGOR · SIREN 212900997")
        assert page.locator("header img").count() == 0
    finally:
        key.write_bytes(original)


def register_header(siren: str, categorie: int) -> dict:
    """What ``chains.sirene.body_headers`` puts in a manifest, from a register unit of ``categorie``."""
    import pandas as pd

    from extract.sirene_sample import establishment_record, unit_record
    from transform.sirene_lookup import SireneLookup

    units = pd.DataFrame([unit_record(siren, "ORGANISME", categorie_juridique=categorie, nic_siege="00017")])
    places = pd.DataFrame([establishment_record(siren + "00017", code_commune="29102", code_postal="29800",
                                                commune="KERDIGOR", voie=("1", "PL", "DE LA MAIRIE"))])
    entity = SireneLookup(units, places).lookup(siren).to_json()
    return {key: entity[key] for key in ("categorie_juridique", "categorie_juridique_libelle", "adresse")}


@pytest.mark.parametrize(("categorie", "shown"), [
    (7210, "Commune et commune nouvelle"), (7346, "Communauté de communes"), (7355, "Syndicat mixte ouvert"),
    (7220, "Département"), (7361, "Centre communal d'action sociale"),
])
def test_header_names_the_legal_category_of_each_kind_of_body(site, watched, categorie, shown):
    """The register's four-digit code through the nomenclature, not its generic first level."""
    key = site.store / "public/widgets/actes/212900997/index.json"
    original = key.read_bytes()
    index = json.loads(original)
    index["identite"] = register_header("212900997", categorie)
    key.write_text(json.dumps(index), encoding="utf-8")
    try:
        page = watched.open(site.widget("siren=212900997"), "body[data-etat=pret]")
        expect(page.locator("#identite")).to_have_text(f"{shown} · 1 PLACE DE LA MAIRIE, 29800 KERDIGOR · SIREN 212900997")
        expect(page.locator("#identite")).not_to_contain_text("Personne morale")
    finally:
        key.write_bytes(original)


def test_back_returns_to_the_list_after_a_filter_a_page_and_a_permalink(site, watched):
    """What a visitor takes for another page (a filter, a page of the list, one act) is a history
    entry: Back returns to the previous view, not to the town hall's previous page."""
    body = OPEN_BODIES[0]
    acts = body_acts(site, body.siren)
    page = watched.open(site.widget(f"siren={body.siren}"), ready="body[data-etat=pret]")
    first_list = shown_ids(page)
    page.get_by_label(re.compile(r"^Délibérations \(\d+\)$")).check()
    expect(page.locator("#total")).to_contain_text(f"{sum(a['nature_code'] == '1' for a in acts)} acte")
    page.go_back()
    expect(page.locator("#total")).to_contain_text(f"{len(acts)} actes")
    expect(page.get_by_label(re.compile(r"^Délibérations"))).not_to_be_checked()
    assert "types_actes" not in query(page) and shown_ids(page) == first_list
    page.get_by_role("button", name="Page suivante").click()
    expect(page.locator("#total")).to_contain_text("page 2 sur")
    page.locator("#liste .lien-permanent a").first.click()
    expect(page.locator("#total")).to_have_text(re.compile(r"^Acte n° "))
    page.go_back()
    expect(page.locator("#total")).to_contain_text("page 2 sur")
    assert query(page)["page"] == ["2"] and "acte" not in query(page)
    page.go_back()
    expect(page.locator("#total")).to_contain_text(f"{len(acts)} actes — page 1 sur")
    assert shown_ids(page) == first_list
    page.go_forward()
    expect(page.locator("#total")).to_contain_text("page 2 sur")


def test_a_single_act_takes_the_whole_width_on_desktop(site, watched):
    act = body_acts(site, OPEN_BODIES[0].siren)[0]
    page = watched.open(site.widget(f"siren={OPEN_BODIES[0].siren}&acte={act['id']}"), ready="body[data-etat=pret]")
    widths = page.evaluate("""() => ({page: document.querySelector('.corps').getBoundingClientRect().width,
        act: document.querySelector('#liste > li.acte').getBoundingClientRect().width})""")
    assert widths["act"] >= widths["page"] - 2, widths


def test_search_folds_ligatures_and_stop_words_never_empty_the_list(site, watched):
    page = watched.open(site.widget(f"siren={BIG_SIREN}&recherche=voeu"), ready="body[data-etat=pret]")
    expect(page.locator("#liste .objet").first).to_have_text("Vœu du conseil municipal pour le maintien du bureau de poste")
    page.fill("#recherche", "maitrise d'oeuvre")
    page.press("#recherche", "Enter")
    wait_param(page, "recherche", "maitrise d'oeuvre")
    expect(page.locator("#liste .objet").first).to_have_text("Avenant n°2 au marché de maîtrise d'œuvre de la médiathèque")
    page.fill("#recherche", "ex aequo")
    page.press("#recherche", "Enter")
    expect(page.locator("#liste .objet").first).to_have_text("Ex æquo : attribution des prix du concours des maisons fleuries")
    page.fill("#recherche", "de la")
    page.press("#recherche", "Enter")
    wait_param(page, "recherche", "de la")
    expect(page.locator("#total")).to_have_text("20\u202f000 actes — page 1 sur 2\u202f000")


def test_a_page_for_arretes_shows_only_arretes(site, watched):
    """A site makes one page per kind of act: the page's kinds hold through the filters and "Effacer"."""
    kinds = ("2", "3", "72", "74")
    acts = body_acts(site, BIG_SIREN)
    arretes = [a for a in acts if a["nature_code"] in kinds]
    page = watched.open(site.widget(f"siren={BIG_SIREN}&perimetre=2,3,72,74"), ready="body[data-etat=pret]")
    expect(page.locator("#sous-titre")).to_have_text("Arrêtés réglementaires et individuels, avec leur date de publication.")
    expect(page.locator("#total")).to_contain_text(f"{len(arretes):,} actes".replace(",", "\u202f"))
    assert set(page.locator("#liste .nature").all_inner_texts()) <= {"Actes réglementaires", "Actes individuels",
                                                                      "Arrêtés temporaires", "Arrêtés permanents"}
    offered = page.locator('input[data-groupe="type"]').evaluate_all("boxes => boxes.map(b => b.value)")
    assert offered == list(kinds), "only the page's kinds are offered"
    expect(page.locator("label[for=matiere-6]")).to_have_text(
        f"Libertés publiques et pouvoirs de police ({sum(a['matiere_code'].startswith('6.') for a in arretes)})")
    page.check("#type-74")
    expect(page.locator("#total")).to_contain_text(f"{sum(a['nature_code'] == '74' for a in acts):,} actes".replace(",", "\u202f"))
    page.check("#matiere-6")
    page.click("#effacer")
    expect(page.locator("#total")).to_contain_text(f"{len(arretes):,} actes".replace(",", "\u202f"))
    assert query(page)["perimetre"] == ["2,3,72,74"] and "types_actes" not in query(page)
    page.locator("#liste .lien-permanent a").first.click()
    page.get_by_role("link", name="Voir tous les actes").click()
    expect(page.locator("#total")).to_contain_text(f"{len(arretes):,} actes".replace(",", "\u202f"))


def test_a_siret_in_place_of_the_siren_shows_its_body(site, watched):
    body = OPEN_BODIES[0]
    page = watched.open(site.widget(f"siren={body.siret}"), ready="body[data-etat=pret]")
    expect(page.locator("h1")).to_have_text(f"Actes publiés par {body.name}")
    assert query(page)["siren"] == [body.siren]
