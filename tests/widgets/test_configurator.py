"""The embed configurator for agents: choose, preview, copy the iframe code."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from .conftest import run_axe


def configurator(site) -> str:
    return f"{site.base}/widgets/configurateur.html"


def iframe_src(code: str) -> str:
    return html.unescape(re.search(r'src="([^"]+)"', code).group(1))


def test_configure_preview_and_copy_the_code(site, context, watched):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = watched.open(configurator(site))
    options = page.locator("#organisme option").all_inner_texts()
    assert "Commune de Kerdigor (212900997)" in options and "Commune de Lanvézec (212900989)" in options
    page.select_option("#organisme", "212900989")  # open data off for its acts; its contracts are published
    expect(page.locator("#disponibilite")).to_have_text(
        "Aucun acte n'est publié pour cet organisme : le widget affichera un message.")
    expect(page.locator("#apercu")).to_have_attribute("src", "about:blank")  # no preview of a widget without data
    page.select_option("#organisme", "212900997")
    page.check("#type-1")
    page.check("#matiere-1")
    page.fill("#recherche", "restauration")
    page.select_option("#tri", "decision")
    page.select_option("#theme", "vert")
    page.fill("#hauteur", "650")
    code = page.locator("#code").input_value()
    src = iframe_src(code)
    params = parse_qs(urlsplit(src).query)
    assert src.startswith(f"{site.base}/widgets/actes.html?")
    assert params == {"siren": ["212900997"], "recherche": ["restauration"], "perimetre": ["1"],
                      "classifications": ["1"], "tri": ["decision"], "theme": ["vert"]}
    expect(page.locator("#page-actes")).to_have_value("deliberations")
    assert 'title="Actes publiés par Commune de Kerdigor"' in code and 'height="650"' in code
    preview = page.frame_locator("#apercu")
    expect(page.locator("#apercu")).to_have_attribute("src", src)
    expect(preview.locator("#recherche")).to_have_value("restauration")
    expect(preview.locator("#sous-titre")).to_have_text("Délibérations, avec leur date de publication.")
    expect(preview.locator("#total")).to_contain_text("acte")
    page.click("#copier")
    expect(page.locator("#copie-statut")).to_have_text("Code copié : collez-le dans votre site.")
    assert page.evaluate("navigator.clipboard.readText()") == code


def test_custom_colours_show_their_contrast_and_a_refusal(site, watched):
    page = watched.open(configurator(site) + "?siren=200099992")
    expect(page.locator("#organisme")).to_have_value("200099992")
    page.check("#personnaliser")
    page.locator("#couleur-principale").fill("#8b0000")
    page.locator("#couleur-fond").fill("#fffdf5")
    expect(page.locator("#contraste")).to_contain_text("Contraste suffisant")
    src = iframe_src(page.locator("#code").input_value())
    assert parse_qs(urlsplit(src).query)["couleur_principale"] == ["#8b0000"]
    expect(page.frame_locator("#apercu").locator("#avertissements")).to_be_empty()
    page.locator("#couleur-texte").fill("#cccccc")
    expect(page.locator("#contraste")).to_contain_text("Contraste insuffisant (minimum 4,5:1)")
    expect(page.locator("#contraste")).to_contain_text("Contraste texte / fond : 1,5:1")
    expect(page.frame_locator("#apercu").locator("#avertissements")).to_contain_text("Couleurs refusées")


def test_configurator_state_comes_back_from_its_url(site, watched):
    page = watched.open(configurator(site))
    page.fill("#siren", "222909996")
    page.check("#type-72")
    page.fill("#date-debut", "2025-01-01")
    url = page.url
    page.goto("about:blank")
    page = watched.open(url)
    expect(page.locator("#organisme")).to_have_value("222909996")
    expect(page.locator("#type-72")).to_be_checked()
    expect(page.locator("#date-debut")).to_have_value("2025-01-01")
    assert "date_debut=2025-01-01" in iframe_src(page.locator("#code").input_value())


def test_configurator_refuses_a_bad_siren_and_has_no_axe_violation(site, watched):
    page = watched.open(configurator(site))
    page.fill("#siren", "12345")
    expect(page.locator("#code")).to_have_value("Indiquez un organisme (SIREN à 9 chiffres) pour obtenir le code.")
    expect(page.locator("#copier")).to_be_disabled()
    page.fill("#siren", "212900997")
    page.check("#personnaliser")
    assert run_axe(page, {"exclude": [["#apercu"]]}) == []


KERDIGOR_SIRET = "21290099700017"


def test_configure_a_budgets_iframe_from_what_the_body_published(site, watched):
    page = watched.open(configurator(site))
    page.check("#widget-budgets")
    expect(page.locator("#types")).to_be_hidden()
    page.select_option("#organisme", "212900997")
    expect(page.locator("#siret")).to_have_value(KERDIGOR_SIRET)
    budgets = page.locator("#budget option")
    expect(budgets).to_have_count(2)
    expect(budgets.nth(1)).to_contain_text("budget annexe : ASSAINISSEMENT")
    assert page.locator("#annee option").all_inner_texts() == ["le plus récent", "2025", "2024", "2023"]
    page.select_option("#annee", "2024")
    assert page.locator("#etape option").all_inner_texts() == [
        "la plus avancée de l'exercice", "budget primitif", "compte administratif"]
    page.select_option("#etape", "ca")
    page.select_option("#graphique", "depenses-fonction")
    page.select_option("#theme", "sombre")
    code = page.locator("#code").input_value()
    src = iframe_src(code)
    assert src.startswith(f"{site.base}/widgets/budgets.html?")
    assert parse_qs(urlsplit(src).query) == {"siret": [KERDIGOR_SIRET], "annee": ["2024"], "etape": ["ca"],
                                             "graphique": ["depenses-fonction"], "theme": ["sombre"]}
    assert 'title="Budgets de Commune de Kerdigor"' in code
    expect(page.locator("#apercu")).to_have_attribute("src", src)
    preview = page.frame_locator("#apercu")
    expect(preview.locator("body")).to_have_attribute("data-etat", "pret")
    expect(preview.locator("#graphiques section")).to_have_count(1)
    expect(preview.locator("#annee")).to_have_value("2024")
    page.select_option("#budget", KERDIGOR_SIRET[:9] + "00025")
    assert page.locator("#annee option").all_inner_texts() == ["le plus récent", "2025"]
    assert parse_qs(urlsplit(iframe_src(page.locator("#code").input_value())).query)["budget"] == [
        KERDIGOR_SIRET[:9] + "00025"]
    url = page.url
    page.goto("about:blank")
    page = watched.open(url)
    expect(page.locator("#widget-budgets")).to_be_checked()
    expect(page.locator("#budget")).to_have_value(KERDIGOR_SIRET[:9] + "00025")
    expect(page.locator("#graphique")).to_have_value("depenses-fonction")


def test_configure_a_focus_marches_iframe_and_warn_for_a_siret_without_data(site, watched):
    page = watched.open(configurator(site) + "?widget=marches")
    expect(page.locator("#widget-marches")).to_be_checked()
    page.select_option("#organisme", "212900997")
    page.fill("#annee-debut", "2024")
    src = iframe_src(page.locator("#code").input_value())
    assert src.startswith(f"{site.base}/widgets/marches.html?")
    assert parse_qs(urlsplit(src).query) == {"siret": [KERDIGOR_SIRET], "annee_debut": ["2024"]}
    expect(page.locator("#disponibilite")).to_be_empty()
    preview = page.frame_locator("#apercu")
    expect(preview.locator("body")).to_have_attribute("data-etat", "pret")
    page.fill("#siret", "1234")
    expect(page.locator("#code")).to_have_value("Indiquez un organisme (SIRET à 14 chiffres) pour obtenir le code.")
    page.fill("#siret", "21290099700099")
    expect(page.locator("#organisme")).to_have_value("")
    expect(page.locator("#disponibilite")).to_contain_text("Aucune donnée de marchés publics n'est publiée pour ce SIRET")
    expect(page.locator("#apercu")).to_have_attribute("src", "about:blank")  # the preview waited for the probe
    watched.forget_logged(404)  # the missing manifest, probed by the configurator: the error expected here
    assert run_axe(page, {"exclude": [["#apercu"]]}) == []


def test_the_catalogue_says_which_widgets_a_body_has(site, watched):
    page = watched.open(configurator(site) + "?widget=budgets")
    page.select_option("#organisme", "222909996")  # the département publishes acts and contracts, no budget
    expect(page.locator("#disponibilite")).to_have_text(
        "Aucune donnée budgétaire n'est publiée pour cet organisme : le widget affichera un message.")
    fetched = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
    assert not [url for url in fetched if "/budgets/22290999600019/" in url], "the catalogue answers, no probe"
    expect(page.locator("#apercu")).to_have_attribute("src", "about:blank")  # nor a preview that would only 404
    page.check("#widget-marches")
    expect(page.locator("#disponibilite")).to_be_empty()
    assert parse_qs(urlsplit(iframe_src(page.locator("#code").input_value())).query) == {"siret": ["22290999600019"]}
    page.select_option("#organisme", "212900989")
    expect(page.locator("#siret")).to_have_value("21290098900014")
    expect(page.locator("#disponibilite")).to_be_empty()


def test_the_usual_pages_of_acts_by_name(site, watched):
    page = watched.open(configurator(site) + "?siren=213500010")
    names = page.locator("#page-actes option").all_inner_texts()
    assert names[:4] == ["Tous les actes", "Délibérations", "Arrêtés réglementaires et individuels",
                         "Procès-verbaux et listes des délibérations"]
    assert "Documents budgétaires et financiers" in names
    page.select_option("#page-actes", "arretes")
    checked = page.locator('#types input:checked').evaluate_all("boxes => boxes.map(b => b.value)")
    assert checked == ["2", "3", "72", "74"]
    src = iframe_src(page.locator("#code").input_value())
    assert parse_qs(urlsplit(src).query)["perimetre"] == ["2,3,72,74"]
    preview = page.frame_locator("#apercu")
    expect(preview.locator("#sous-titre")).to_have_text("Arrêtés réglementaires et individuels, avec leur date de publication.")
    page.uncheck("#type-72")
    expect(page.locator("#page-actes")).to_have_value("autre")
    page.select_option("#page-actes", "")
    assert page.locator('#types input:checked').count() == 0
    assert "perimetre" not in parse_qs(urlsplit(iframe_src(page.locator("#code").input_value())).query)
    page.goto(configurator(site) + "?siren=213500010&perimetre=71,73")
    page.wait_for_selector("body[data-etat=pret]", state="attached")
    expect(page.locator("#page-actes")).to_have_value("proces-verbaux")
