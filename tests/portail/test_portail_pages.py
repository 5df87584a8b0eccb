"""The agents' space as an agent uses it: sign-in, each page, the HR role; axe on every page."""

from __future__ import annotations

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.publication_rule import exposes_a_person
from tests.portail.conftest import BODY, sign_in
from tests.widgets.conftest import run_axe


def _acts(portail, sirens=(BODY,)) -> pd.DataFrame:
    """What the chain says about the bodies' acts: what the pages must show."""
    return actes_chain.acts_of_bodies(portail.settings, sirens)


def _personal(acts: pd.DataFrame, personal: bool = True) -> pd.DataFrame:
    """The acts that may name a person (``personal=False``: the others)."""
    return acts[[exposes_a_person(n, m) is personal for n, m in zip(acts["nature_code"], acts["matiere_code"])]]


def _column(page, header: str) -> list[str]:
    """The cells of one column of the page's table of acts, by its header."""
    headers = [h.strip() for h in page.locator("table thead th").all_inner_texts()]
    if not headers:
        return []
    index = headers.index(header) + 1
    return [c.strip() for c in page.locator(f"table tbody tr td:nth-child({index})").all_inner_texts()]


def test_sign_in_goes_through_the_provider_and_opens_a_session_cookie_scripts_cannot_read(reading, page):
    page.goto(reading.url + "/publications?etat=a-statuer")
    assert page.url.startswith(reading.url + "/connexion"), "no session: the sign-in page first"
    page.get_by_role("link", name="Se connecter avec le compte de la région").click()
    assert page.url.startswith("http://localhost:"), "the browser is sent to the provider"
    assert "client_id=" in page.url and "nonce=" in page.url and "state=" in page.url
    page.locator("button[name='sub'][value='agent.eaux-aber']").click()
    page.wait_for_url(f"{reading.url}/publications?etat=a-statuer")
    assert page.get_by_role("heading", level=1).inner_text() == "Toutes les publications"
    cookie = next(c for c in page.context.cookies() if c["name"] == "digor_portail")
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    assert page.evaluate("document.cookie") == "", "the session cookie is not readable by scripts"
    assert "Agent du Syndicat des eaux de l'Aber" in page.locator("header").inner_text()


def test_a_statuer_lists_the_bodys_acts_waiting_for_a_decision_oldest_first(reading, page):
    sign_in(page, reading, "agent.eaux-aber")
    acts = _acts(reading)
    waiting = acts[(acts["decision"] == "to_decide")]
    shown = _personal(waiting, False).sort_values(["night", "date_decision", "numero"])
    assert page.get_by_role("heading", level=1).inner_text() == "À statuer"
    assert _column(page, "Numéro") == list(shown["numero"])
    assert len(_personal(waiting)) >= 1, "the demo has an individual act waiting (for the HR test)"
    assert f"{len(_personal(acts))} acte(s) pouvant concerner une personne" in page.locator("main").inner_text()
    objet = "Convention <img src=x onerror=alert(1)> de mise à disposition de la salle des fêtes"
    assert objet in _column(page, "Objet"), "an act's text is shown as text, never run"
    link = page.get_by_role("link", name=f"Ouvrir le document de l'acte n° {shown.iloc[0]['numero']}")
    answer = page.request.get(reading.url + link.get_attribute("href"))
    assert answer.ok and answer.headers["content-type"] == "application/pdf" and answer.body().startswith(b"%PDF-")
    assert run_axe(page) == []


def test_publications_filter_by_state_nature_year_search_and_pages(reading, page):
    sign_in(page, reading, "admin.region", "/publications")
    everything = _acts(reading, None)
    visible = _personal(everything, False)
    assert f"{len(visible)} acte(s), page 1 sur {-(-len(visible) // 25)}" in page.locator("main").inner_text()
    assert len(_column(page, "Numéro")) == 25
    assert run_axe(page) == []
    page.get_by_role("link", name="Page suivante").click()
    assert "page 2 sur" in page.locator("main").inner_text()
    second = _column(page, "Numéro")
    assert len(second) == min(25, len(visible) - 25)

    page.get_by_label("État").select_option(label="En ligne")
    page.get_by_label("Nature").select_option(label="Délibérations")
    page.get_by_label("Année").select_option("2025")
    page.get_by_role("button", name="Filtrer").click()
    expected = visible[visible["online"] & (visible["nature_code"] == "1") & (visible["year"] == 2025)]
    assert sorted(_column(page, "Numéro")) == sorted(expected["numero"])
    assert set(_column(page, "État")) == {"En ligne"}
    assert "page=" not in page.url, "a new filter starts at its first page"

    page.get_by_label("Rechercher (numéro, objet)").fill("redevance occupation")
    page.get_by_label("État").select_option(label="Tous")
    page.get_by_label("Nature").select_option(label="Toutes")
    page.get_by_label("Année").select_option(label="Toutes")
    page.get_by_role("button", name="Filtrer").click()
    wanted = visible[visible["objet"].str.contains("redevance d'occupation", case=False)]
    assert len(wanted) >= 1 and sorted(_column(page, "Numéro")) == sorted(wanted["numero"])
    assert run_axe(page) == []


def test_the_act_page_says_why_it_is_online_with_its_history_and_documents(reading, page):
    acts = _acts(reading)
    act = acts[acts["online"] & (acts["nature_code"] == "1")].iloc[0]
    sign_in(page, reading, "agent.eaux-aber", f"/actes/{BODY}/{act['source_id']}")
    assert page.get_by_role("heading", level=1).inner_text() == f"Acte n° {act['numero']}"
    assert page.locator("#pourquoi").inner_text() == f"En ligne depuis le {act['publication_date']:%d/%m/%Y}."
    history = page.locator("table tbody tr").all_inner_texts()
    assert history and "publier" in history[0] and "règle par défaut selon la nature de l'acte" in history[0]
    documents = page.locator(".documents li")
    assert documents.count() == 1 + len(act["annexes"])
    assert documents.first.inner_text().startswith(f"Acte : {act['main_file_name']}")
    assert [r.get_attribute("value") for r in page.locator("input[name=action]").all()] == ["retirer"]
    assert page.locator("legend").inner_text() == "Décision pour cet acte"
    assert run_axe(page) == []

    offline = _personal(acts[~acts["online"] & (acts["decision"] == "refused")], False).iloc[0]
    page.goto(f"{reading.url}/actes/{BODY}/{offline['source_id']}")
    assert page.locator("#pourquoi").inner_text() == "Hors ligne : la décision est de ne pas le publier."


def test_a_body_without_open_data_shows_why_its_acts_stay_offline(reading, page):
    acts = _acts(reading, ("212900989",))
    act = acts[acts["decision"] == "published"].iloc[0]
    sign_in(page, reading, "admin.region", f"/actes/212900989/{act['source_id']}")
    assert page.locator("#pourquoi").inner_text() == (
        "Hors ligne : l'organisme n'a pas activé la publication en open data, quelle que soit la décision (« publier »).")


def test_individual_acts_are_shown_only_to_agents_with_the_hr_role(reading, browser):
    acts = _acts(reading)
    personal = _personal(acts)
    assert not personal.empty
    act = personal.iloc[0]
    for sub, sees in (("agent.eaux-aber", False), ("rh.eaux-aber", True)):
        context = browser.new_context(locale="fr-FR")
        page = sign_in(context.new_page(), reading, sub, "/publications")
        numbers = set(_column(page, "Numéro"))
        assert (act["numero"] in numbers) is sees
        assert set(personal["numero"]) <= numbers if sees else not (set(personal["numero"]) & numbers)
        page.goto(f"{reading.url}/publications?q={act['numero']}")
        assert (act["numero"] in _column(page, "Numéro")) is sees
        answer = page.goto(f"{reading.url}/actes/{BODY}/{act['source_id']}")
        assert answer.status == (200 if sees else 404)
        if sees:
            assert act["objet"] in page.locator("main").inner_text()
            assert run_axe(page) == []
        else:
            assert act["objet"] not in page.content()
        document = page.request.get(f"{reading.url}/actes/{BODY}/{act['source_id']}/documents/0")
        assert document.status == (200 if sees else 404)
        context.close()


def test_signing_out_ends_the_session(reading, page):
    sign_in(page, reading, "agent.eaux-aber")
    page.get_by_role("button", name="Se déconnecter").click()
    assert "Vous êtes déconnecté." in page.locator("main").inner_text()
    page.goto(reading.url + "/a-statuer")
    assert page.url.startswith(reading.url + "/connexion")
    assert run_axe(page) == []


def test_an_account_without_any_body_is_refused(reading, page):
    sign_in(page, reading, "agent.sans-organisme")
    assert page.get_by_role("heading", level=1).inner_text() == "Aucun organisme"
    page.goto(reading.url + "/a-statuer")
    assert page.url.startswith(reading.url + "/connexion"), "no session was opened"


@pytest.mark.parametrize("claims, sirens, hr, admin", [
    ({"sub": "a", "digor_organismes": ["252909999", "12", "x"], "digor_roles": ["rh"]}, ("252909999",), True, False),
    ({"sub": "b", "digor_organismes": "212900997, 252909999", "digor_roles": "admin-regional"},
     ("212900997", "252909999"), False, True),
    ({"sub": "c"}, (), False, False),
])
def test_rights_come_from_the_claims_only(claims, sirens, hr, admin):
    from core.config import PortailSettings
    from portail.auth import agent_from_claims

    agent = agent_from_claims(claims, PortailSettings())
    assert (agent.sirens, agent.hr, agent.admin) == (sirens, hr, admin)


def test_claims_may_sit_deeper_in_the_token_as_keycloak_puts_roles():
    from core.config import PortailSettings
    from portail.auth import agent_from_claims

    settings = PortailSettings(roles_claim="realm_access.roles", bodies_claim="organismes")
    agent = agent_from_claims({"sub": "k", "organismes": ["212900997"], "realm_access": {"roles": ["rh", "x"]}},
                              settings)
    assert agent.hr and agent.acts_for("212900997") and not agent.acts_for("252909999")


@pytest.mark.parametrize("nature, matiere, personal", [
    ("3", "8.3", True),  # an individual act, whatever its matter
    ("4", "4.2", True),  # a contract of a contractual agent
    ("6", "4.1", True),  # a decision on a civil servant's career
    ("1", "4.1", False),  # a délibération on staff (tableau des effectifs) is public by law
    ("4", "1.1", False),  # a public contract
    ("72", "6.1", False),
])
def test_which_acts_may_name_a_person(nature, matiere, personal):
    assert exposes_a_person(nature, matiere) is personal
