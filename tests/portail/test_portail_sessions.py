"""Sessions kept by the portail, not by the cookie: signing out ends a session wherever its cookie
was copied; sessions and the progress of a decision survive a restart of ``digor portail``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chains import actes as actes_chain
from core.publication_rule import exposes_a_person
from tests.portail.conftest import BODY, serving, sign_in


def test_a_copied_cookie_stops_working_after_sign_out(reading, page, browser):
    sign_in(page, reading, "agent.eaux-aber")
    cookie = next(c for c in page.context.cookies() if c["name"] == "digor_portail")
    state = Path(reading.portail.state_url)
    kept = [path.read_text() for path in state.rglob("*.json")]
    assert kept and not any(cookie["value"] in text for text in kept), "the store never holds a usable id"
    assert "agent.eaux-aber" not in cookie["value"] and len(cookie["value"]) < 60, "the cookie holds an id only"

    thief = browser.new_context()
    thief.add_cookies([cookie])
    stolen = thief.new_page()
    stolen.goto(reading.url + "/a-statuer")
    assert stolen.get_by_role("heading", level=1).inner_text() == "À statuer", "the same session, until…"
    page.get_by_role("button", name="Se déconnecter").click()
    assert "Vous êtes déconnecté." in page.locator("main").inner_text()
    stolen.goto(reading.url + "/a-statuer")
    assert stolen.url.startswith(reading.url + "/connexion"), "…the agent signs out: the copy is worthless"
    thief.close()


def test_a_decisions_done_page_and_the_session_survive_a_restart(replayed, provider, tmp_path, page):
    replay = replayed.copy(tmp_path / "replay")
    state = tmp_path / "portail-state"
    with serving(replay, state=state) as portail:
        acts = actes_chain.acts_of_bodies(portail.settings, (BODY,))
        public = pd.Series([not exposes_a_person(n, m) for n, m in zip(acts["nature_code"], acts["matiere_code"])],
                           index=acts.index)
        act = acts[(acts["decision"] == "to_decide") & public].iloc[0]
        sign_in(page, portail, "agent.eaux-aber")
        page.get_by_label(f"Sélectionner l'acte n° {act['numero']}").check()
        page.get_by_label("Ne pas publier").check()
        page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill("Contrat sans intérêt public")
        page.get_by_role("button", name="Enregistrer la décision").click()
        page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)
        path = page.url[len(portail.url):]
    assert path.startswith("/operations/")

    with serving(replay, state=state) as again:
        page.goto(again.url + path)  # the same browser: its cookie names a session the new process knows
        assert page.get_by_role("heading", level=1).inner_text() == "Décision enregistrée"
        assert "C'est fait" in page.locator("#etat").inner_text()
        assert page.get_by_role("link", name=f"Acte n° {act['numero']}").is_visible()
        page.context.clear_cookies()
        sign_in(page, again, "agent.kerdigor", path)
        assert page.goto(again.url + path).status == 404, "another agent cannot follow it"
