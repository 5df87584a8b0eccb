"""Agents' decisions: bulk publish from "À statuer", withdraw from "Toutes les publications", each
through the ledger and the decisions run to every output; and the refusals (another body's act,
forged ids, no session, missing CSRF token, rate limit), which record nothing."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd

from chains import actes as actes_chain
from core.ledger import read_events
from core.publication_rule import exposes_a_person
from core.store import plain_bytes
from tests.portail.conftest import BODY, OTHER_BODY, TEST_AGENTS, sign_in
from tests.widgets.conftest import run_axe

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _acts(portail, sirens=(BODY,)) -> pd.DataFrame:
    acts = actes_chain.acts_of_bodies(portail.settings, sirens)
    return acts[[not exposes_a_person(n, m) for n, m in zip(acts["nature_code"], acts["matiere_code"])]]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _of_body(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["COLL_SIRET"].str.startswith(BODY)]


def outputs(store: Path, numero: str, year: int) -> dict[str, bool]:
    """Where an act of BODY shows: the regional files, its widget files, and whether the data.gouv.fr
    dry run holds the regional files as they are now."""
    actes = store / f"public/actes/actes-{year}.csv"
    deliberations = store / f"public/deliberations/deliberations-{year}.csv"
    manifest = json.loads((store / f"public/widgets/actes/{BODY}/index.json").read_text(encoding="utf-8"))
    widget = json.loads(plain_bytes((store / f"public/widgets/actes/{BODY}/{manifest['annees'][str(year)]['fichier']}")
                                    .read_bytes()))

    def sent(dataset: str, path: Path) -> bool:
        record = json.loads((store / f"private/datagouv/dry-run/{dataset}/{path.name}.json").read_text())
        return record["metadata"]["checksum"]["value"] == hashlib.sha256(path.read_bytes()).hexdigest()

    return {
        "actes": numero in set(_of_body(_csv(actes))["ACTE_ID"]),
        "deliberations": numero in set(_of_body(_csv(deliberations))["DELIB_ID"]),
        "widget": numero in {a["numero"] for a in widget["actes"]},
        "datagouv_current": sent("actes", actes) and sent("deliberations", deliberations),
    }


def _csrf(page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value")


def _post(page, portail, fields: list[tuple[str, str]]):
    """A form sent by hand (what a forger would send), with the browser's cookies."""
    return page.request.post(portail.url + "/decisions", data=urlencode(fields), headers=FORM, max_redirects=0)


def _command_events(portail) -> list:
    return [e for e in read_events(actes_chain.CHAIN.store(portail.settings)) if e.decided_by == "engineer"]


def test_an_agent_publishes_from_a_statuer_and_withdraws_a_publication_and_every_output_follows(deciding, page):
    acts = _acts(deciding)
    waiting = acts[acts["decision"] == "to_decide"]
    chosen = waiting[(waiting["nature_code"] == "4") & (waiting["year"] == 2025)].sort_values("numero").head(2)
    assert len(chosen) == 2 and set(chosen["year"]) == {2025}
    online = acts[acts["online"] & (acts["nature_code"] == "1") & (acts["year"] == 2025)].iloc[0]
    for _, act in chosen.iterrows():
        assert not any(outputs(deciding.store, act["numero"], 2025)[k] for k in ("actes", "widget"))
    assert outputs(deciding.store, online["numero"], 2025) == dict.fromkeys(
        ("actes", "deliberations", "widget", "datagouv_current"), True)

    sign_in(page, deciding, "agent.eaux-aber")
    for numero in chosen["numero"]:
        page.get_by_label(f"Sélectionner l'acte n° {numero}").check()
    page.get_by_label("Publier", exact=True).check()
    page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill("Marchés publics : publication décidée")
    page.get_by_role("button", name="Enregistrer la décision").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Décision enregistrée"
    page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)
    assert "C'est fait" in page.locator("#etat").inner_text()
    assert run_axe(page) == []
    for numero in chosen["numero"]:
        assert outputs(deciding.store, numero, 2025) == {"actes": True, "deliberations": False, "widget": True,
                                                          "datagouv_current": True}

    page.get_by_role("link", name="Toutes les publications").click()
    page.get_by_label("Rechercher (numéro, objet)").fill(online["numero"])
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_label(f"Sélectionner l'acte n° {online['numero']}").check()
    page.get_by_label("Retirer (droit à l'erreur)").check()
    page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill("Erreur de délibération")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)
    assert outputs(deciding.store, online["numero"], 2025) == {"actes": False, "deliberations": False,
                                                               "widget": False, "datagouv_current": True}

    events = _command_events(deciding)
    assert sorted((e.source_id, e.decision, e.actor, e.reason) for e in events[:2]) == sorted(
        (i, "published", "espace-agents:agent.eaux-aber", "Marchés publics : publication décidée")
        for i in chosen["source_id"])
    assert [(e.source_id, e.decision, e.actor, e.reason) for e in events[2:]] == [
        (online["source_id"], "withdrawn", "espace-agents:agent.eaux-aber", "Erreur de délibération")]
    page.get_by_role("link", name=f"Acte n° {online['numero']}").click()
    last = page.locator("table tbody tr").last.inner_text()
    assert "retirer" in last and "agent, espace agents (agent.eaux-aber)" in last and "Erreur de délibération" in last
    assert page.locator("#pourquoi").inner_text() == "Hors ligne : l'acte a été retiré après publication."
    assert [r.get_attribute("value") for r in page.locator("input[name=action]").all()] == ["publier"]


def test_the_hr_agent_decides_an_individual_act_which_the_body_settings_keep_offline(deciding, page):
    acts = actes_chain.acts_of_bodies(deciding.settings, (BODY,))
    act = acts[(acts["nature_code"] == "3") & (acts["decision"] == "to_decide")].iloc[0]
    sign_in(page, deciding, "rh.eaux-aber", f"/actes/{BODY}/{act['source_id']}")
    page.get_by_label("Publier", exact=True).check()
    page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill("Publication demandée par l'agent")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)
    page.get_by_role("link", name=f"Acte n° {act['numero']}").click()
    assert page.locator("#pourquoi").inner_text() == (
        "Hors ligne : l'organisme n'a pas choisi de publier ses actes individuels, quelle que soit la décision "
        "(« publier »).")
    assert not outputs(deciding.store, act["numero"], int(act["year"]))["widget"]


def test_another_bodys_act_can_be_neither_seen_nor_decided_even_with_forged_ids(reading, page, caplog):
    theirs = _acts(reading).iloc[0]
    mine = _acts(reading, (OTHER_BODY,)).iloc[0]
    before = _command_events(reading)
    sign_in(page, reading, "agent.kerdigor", "/publications")
    assert set(_acts(reading, (OTHER_BODY,))["numero"]) >= {
        c.strip() for c in page.locator("table tbody tr td:nth-child(2)").all_inner_texts()}
    assert page.goto(f"{reading.url}/actes/{BODY}/{theirs['source_id']}").status == 404
    assert theirs["objet"] not in page.content()
    assert page.request.get(f"{reading.url}/actes/{BODY}/{theirs['source_id']}/documents/0").status == 404
    # the same act under the agent's own SIREN is not another way in
    assert page.goto(f"{reading.url}/actes/{OTHER_BODY}/{theirs['source_id']}").status == 404

    # a forged checkbox in the real form
    page.goto(f"{reading.url}/actes/{OTHER_BODY}/{mine['source_id']}")
    page.eval_on_selector("input[name=actes]", f"e => e.value = '{BODY}/{theirs['source_id']}'")
    page.locator("input[name=action]").first.check()
    page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill("tentative")
    with caplog.at_level(logging.WARNING, logger="digor.portail"):
        page.get_by_role("button", name="Enregistrer la décision").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Acte introuvable"
        # forged ids by hand: another body's act beside one's own, an unknown one, a bad shape
        page.goto(f"{reading.url}/publications")
        csrf = _csrf(page)
        for forged in ([f"{OTHER_BODY}/{mine['source_id']}", f"{BODY}/{theirs['source_id']}"],
                       [f"{OTHER_BODY}/inconnu"], ["../../etc/passwd"]):
            answer = _post(page, reading, [("csrf", csrf), ("action", "publier"), ("motif", "tentative"),
                                           *[("actes", a) for a in forged]])
            assert answer.status == 404
    assert _command_events(reading) == before, "nothing recorded"
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(refusals) == 7 and all("not the agent's" in r for r in refusals)  # 3 pages, 4 forms
    assert sum(f"body {BODY}" in r for r in refusals) == 4  # the other body named, never its act
    for text in ("agent.kerdigor", TEST_AGENTS["agent.kerdigor"]["name"], theirs["objet"], mine["objet"]):
        assert not any(text in r for r in refusals), "refusals are logged without personal data"


def test_no_action_without_a_session_nor_without_the_forms_csrf_token(reading, page, browser):
    act = _acts(reading)
    act = act[act["decision"] == "to_decide"].iloc[0]
    fields = [("action", "publier"), ("motif", "sans session"), ("actes", f"{BODY}/{act['source_id']}")]
    before = _command_events(reading)
    anonymous = browser.new_context()
    answer = anonymous.request.post(reading.url + "/decisions", data=urlencode([("csrf", ""), *fields]),
                                    headers=FORM, max_redirects=0)
    assert answer.status == 401 and "Connexion requise" in answer.text()
    anonymous.close()

    sign_in(page, reading, "agent.eaux-aber")
    csrf = _csrf(page)
    assert _post(page, reading, fields).status == 403
    wrong = _post(page, reading, [("csrf", csrf[:-2] + "xx"), *fields])
    assert wrong.status == 403 and "Action refusée" in wrong.text()
    # the real form with its token removed
    page.eval_on_selector_all("form[action='/decisions'] input[name=csrf]", "all => all.forEach(e => e.remove())")
    page.get_by_label(f"Sélectionner l'acte n° {act['numero']}").check()
    page.get_by_label("Publier", exact=True).check()
    page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill("sans jeton")
    page.get_by_role("button", name="Enregistrer la décision").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Action refusée"
    assert run_axe(page) == []
    # a token from another session is not this session's
    other = browser.new_context()
    other_page = sign_in(other.new_page(), reading, "agent.eaux-aber")
    assert _post(other_page, reading, [("csrf", csrf), *fields]).status == 403
    other.close()
    assert _command_events(reading) == before


def test_a_decision_needs_a_reason_and_must_apply_to_every_act_chosen(reading, page):
    acts = _acts(reading)
    waiting = acts[acts["decision"] == "to_decide"].iloc[0]
    published = acts[acts["decision"] == "published"].iloc[0]
    before = _command_events(reading)
    sign_in(page, reading, "agent.eaux-aber")
    csrf = _csrf(page)
    blank = _post(page, reading, [("csrf", csrf), ("action", "publier"), ("motif", "   "),
                                  ("actes", f"{BODY}/{waiting['source_id']}")])
    assert blank.status == 400 and "Le motif est obligatoire" in blank.text()
    mixed = _post(page, reading, [("csrf", csrf), ("action", "retirer"), ("motif", "erreur"),
                                  ("actes", f"{BODY}/{published['source_id']}"), ("actes", f"{BODY}/{waiting['source_id']}")])
    assert mixed.status == 400 and f"n° {waiting['numero']} (à statuer)" in mixed.text()
    assert _command_events(reading) == before


def test_actions_are_rate_limited_per_agent(reading, page):
    sign_in(page, reading, "agent.quota")
    csrf = _csrf(page)
    fields = [("csrf", csrf), ("action", "publier"), ("motif", ""), ("actes", f"{BODY}/x")]
    statuses = [_post(page, reading, fields).status for _ in range(reading.portail.actions_per_minute + 1)]
    assert statuses == [400] * reading.portail.actions_per_minute + [429]
    # another agent is not held back by this one
    page.context.clear_cookies()
    sign_in(page, reading, "agent.eaux-aber")
    assert _post(page, reading, [("csrf", _csrf(page)), *fields[1:]]).status == 400
