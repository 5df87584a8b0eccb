"""A body's settings page: its agents switch annexes, automatic publication and open data and choose
the widget's colours with a live preview; each change is a ledger event the next runs honour;
nobody else can change them."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from chains import actes as actes_chain
from chains.chain import get_chain
from core.ledger import settings_history
from core.registry import body_registry
from core.store import plain_bytes
from tests.portail.conftest import BODY, OTHER_BODY, TEST_AGENTS, sign_in
from tests.widgets.conftest import run_axe

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DEPARTEMENT = "222909996"


def _widget(store: Path, siren: str) -> tuple[dict, dict[int, list[dict]]]:
    """A body's widget manifest and its acts by year, as browsers read them."""
    folder = store / f"public/widgets/actes/{siren}"
    manifest = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    years = {int(year): json.loads(plain_bytes((folder / entry["fichier"]).read_bytes()))["actes"]
             for year, entry in manifest["annees"].items()}
    return manifest, years


def _history(portail, siren: str) -> list[dict]:
    return settings_history(actes_chain.CHAIN.store(portail.settings), siren)


def _save(page, motif: str) -> None:
    page.get_by_label("Motif (obligatoire, conservé dans l'historique)").fill(motif)
    page.get_by_role("button", name="Enregistrer les paramètres").click()


def test_switching_annexes_off_removes_them_from_the_public_zone_and_the_widget(deciding, page):
    acts = actes_chain.acts_of_bodies(deciding.settings, (OTHER_BODY,))
    with_annexes = acts[acts["online"] & ~acts["metadata_only"] & (acts["annexes"].map(len) > 0)]
    assert not with_annexes.empty, "the demo has online acts of Kerdigor with annexes"
    annexes = [a for list_ in with_annexes["annexes"] for a in list_]
    documents = [deciding.store / f"public/documents/{a['sha256'][:2]}/{a['sha256']}.pdf" for a in annexes]
    assert all(path.exists() for path in documents)
    _, years = _widget(deciding.store, OTHER_BODY)
    assert any(act["annexes"] for acts_ in years.values() for act in acts_)

    sign_in(page, deciding, "agent.kerdigor", "/organismes")
    assert page.get_by_role("heading", level=1).inner_text() == "Paramètres de Commune de Kerdigor"
    assert page.get_by_label("Publier les annexes des actes").is_checked()
    assert run_axe(page, {"exclude": [["#apercu"]]}) == []
    page.get_by_label("Publier les annexes des actes").uncheck()
    _save(page, "Les annexes contiennent des données à relire")
    assert page.get_by_role("heading", level=1).inner_text() == "Paramètres enregistrés"
    page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)

    assert not any(path.exists() for path in documents), "the annexes left the public zone"
    manifest, years = _widget(deciding.store, OTHER_BODY)
    assert not any(act["annexes"] for acts_ in years.values() for act in acts_), "and the widget"
    assert {a["numero"] for acts_ in years.values() for a in acts_} >= set(with_annexes["numero"]), "acts stay"
    [change] = _history(deciding, OTHER_BODY)
    assert change["settings"]["publish_annexes"] is False and change["settings"]["open_data"] is True
    assert (change["actor"], change["reason"]) == ("espace-agents:agent.kerdigor",
                                                   "Les annexes contiennent des données à relire")
    page.get_by_role("link", name="Revenir aux paramètres").click()
    assert not page.get_by_label("Publier les annexes des actes").is_checked()
    row = page.locator("table tbody tr").last.inner_text()
    assert "agent, espace agents (agent.kerdigor)" in row and "annexes : non" in row


def _copy_act(drop: Path, siren: str, night: str, number: str) -> str:
    """A délibération of ``siren`` from the demo, sent again as a new act in ``night``; its source id."""
    for metadata in sorted(drop.glob("2025-*/*/metadata.json")):
        document = json.loads(metadata.read_text(encoding="utf-8"))
        data = document["data"]
        if (data.get("siren"), data.get("acte_nature"), data.get("publication_open_data")) == (siren, "1", ""):
            break
    target = drop / night / f"nouveau{number}"
    shutil.copytree(metadata.parent, target)
    document["info"]["id_d"] = target.name
    document["data"]["numero_de_lacte"] = f"DEL_NOUVEAU_{number}"
    (target / "metadata.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return target.name


def test_automatic_publication_off_puts_the_bodys_new_acts_in_a_statuer(deciding, page):
    sign_in(page, deciding, "agent.kerdigor", f"/organismes/{OTHER_BODY}/parametres")
    page.get_by_label("Publication automatique des nouveaux actes").uncheck()
    _save(page, "Chaque acte sera relu avant publication")
    page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)
    assert body_registry(deciding.settings).by_siren(OTHER_BODY).automatic_publication is False

    night = date.today().isoformat()
    drop = Path(deciding.settings.drop_dir)
    mine = _copy_act(drop, OTHER_BODY, night, "1")
    theirs = _copy_act(drop, DEPARTEMENT, night, "2")
    get_chain("actes").run_night(deciding.settings, night)
    acts = actes_chain.acts_of_bodies(deciding.settings, (OTHER_BODY, DEPARTEMENT)).set_index("source_id")
    assert (acts.at[mine, "decision"], acts.at[mine, "online"]) == ("to_decide", False)
    assert "automatic publication is off" in acts.at[mine, "decision_reason"]
    assert (acts.at[theirs, "decision"], acts.at[theirs, "online"]) == ("published", True), "other bodies unchanged"
    page.goto(deciding.url + "/a-statuer")
    assert "DEL_NOUVEAU_1" in page.locator("main").inner_text()


def test_widget_colours_with_a_live_preview_and_a_contrast_check(deciding, page):
    sign_in(page, deciding, "agent.kerdigor", f"/organismes/{OTHER_BODY}/parametres")
    preview = page.locator("#apercu")
    src = urlsplit(preview.get_attribute("src"))
    assert src.path == "/widgets/actes.html" and parse_qs(src.query)["siren"] == [OTHER_BODY]
    page.get_by_label("Thème").select_option(label="Vert")
    assert parse_qs(urlsplit(preview.get_attribute("src")).query)["theme"] == ["vert"]
    page.get_by_label("Choisir mes propres couleurs").check()
    page.locator("#primary_color").fill("#8b0000")
    page.locator("#text_color").fill("#cccccc")
    query = parse_qs(urlsplit(preview.get_attribute("src")).query)
    assert (query["couleur_principale"], query["couleur_texte"]) == (["#8b0000"], ["#cccccc"]), "the preview follows"
    assert run_axe(page, {"exclude": [["#apercu"]]}) == []
    _save(page, "Couleurs de la commune")
    assert page.get_by_role("heading", level=1).inner_text() == "Paramètres non enregistrés"
    assert "contraste insuffisant entre le texte et le fond" in page.locator("main").inner_text()
    assert _history(deciding, OTHER_BODY) == []

    page.go_back()
    page.locator("#text_color").fill("#1b1b1b")
    _save(page, "Couleurs de la commune")
    page.wait_for_selector("#etat[data-etat=termine]", timeout=120_000)
    manifest, _ = _widget(deciding.store, OTHER_BODY)
    assert manifest["widget"] == {"theme": "vert", "primary_color": "#8b0000", "background_color": "#ffffff",
                                  "text_color": "#1b1b1b"}


def test_only_the_bodys_agents_change_its_settings(reading, page, browser, caplog):
    fields = [("open_data", "oui"), ("publish_annexes", "oui"), ("theme", "clair"), ("motif", "tentative")]
    anonymous = browser.new_context()
    answer = anonymous.request.post(f"{reading.url}/organismes/{BODY}/parametres",
                                    data=urlencode([("csrf", ""), *fields]), headers=FORM, max_redirects=0)
    assert answer.status == 401
    anonymous.close()

    sign_in(page, reading, "agent.kerdigor", "/organismes")
    assert page.url == f"{reading.url}/organismes/{OTHER_BODY}/parametres", "one body: its page at once"
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    with caplog.at_level(logging.WARNING, logger="digor.portail"):
        assert page.goto(f"{reading.url}/organismes/{BODY}/parametres").status == 404
        for siren in (BODY, "000000000", "../x"):
            answer = page.request.post(f"{reading.url}/organismes/{siren}/parametres",
                                       data=urlencode([("csrf", csrf), *fields]), headers=FORM, max_redirects=0)
            assert answer.status == 404
        answer = page.request.post(f"{reading.url}/organismes/{BODY}/recapitulatif",
                                   data=urlencode([("csrf", csrf), ("recevoir", "oui")]), headers=FORM,
                                   max_redirects=0)
        assert answer.status == 404
        for token in ("", csrf[:-2] + "xx"):
            answer = page.request.post(f"{reading.url}/organismes/{OTHER_BODY}/parametres",
                                       data=urlencode([("csrf", token), *fields]), headers=FORM, max_redirects=0)
            assert answer.status == 403 and "Action refusée" in answer.text()
    assert _history(reading, BODY) == [] and _history(reading, OTHER_BODY) == []
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(refusals) == 7  # no session, 4 of another body ("../x" is no route), 2 without the token
    assert sum("not the agent's" in r for r in refusals) == 4 and sum("CSRF" in r for r in refusals) == 2
    for text in ("agent.kerdigor", TEST_AGENTS["agent.kerdigor"]["name"], "@demo.invalid"):
        assert not any(text in r for r in refusals), "refusals are logged without personal data"

    admin = browser.new_context()
    admin_page = sign_in(admin.new_page(), reading, "admin.region", "/organismes")
    links = admin_page.get_by_role("main").get_by_role("link").all_inner_texts()
    assert "Commune de Kerdigor (212900997)" in links and len(links) == len(body_registry(reading.settings).bodies)
    assert run_axe(admin_page) == []
    admin_page.get_by_role("link", name="Commune de Kerdigor (212900997)").click()
    assert admin_page.get_by_role("heading", level=1).inner_text() == "Paramètres de Commune de Kerdigor"
    admin.close()


def test_the_themes_checked_here_are_the_widgets_themes():
    import re

    from core.config import PROJECT_ROOT
    from core.registry import WIDGET_THEMES

    source = (PROJECT_ROOT / "widgets/commun/theme.js").read_text(encoding="utf-8")
    block = source[source.index("export const THEMES"):source.index("};")]
    assert tuple(re.findall(r'^\s*"?([a-z-]+)"?: \{', block, re.MULTILINE)) == WIDGET_THEMES


def test_settings_in_the_ledger_override_the_registry_file_and_bad_ones_are_ignored(tmp_path):
    from datetime import datetime, timezone

    from core.ledger import registry_with_settings, write_settings_event
    from core.registry import load_registry
    from core.store import LocalStore
    from tests.replay import REGISTRY

    store = LocalStore(tmp_path)
    registry = load_registry(REGISTRY)
    assert registry.by_siren(OTHER_BODY).publish_annexes is True
    write_settings_event(store, OTHER_BODY, {"publish_annexes": False, "metadata_only": True,
                                             "widget": {"theme": "vert", "primary_color": "#ffffff"}},
                         "espace-agents:a", "essai", now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    write_settings_event(store, BODY, {"automatic_publication": False}, "espace-agents:b", "essai",
                         now=datetime(2026, 12, 3, tzinfo=timezone.utc))
    body = registry_with_settings(registry, store).by_siren(OTHER_BODY)
    assert (body.publish_annexes, body.metadata_only, body.widget) == (False, False, registry.by_siren(OTHER_BODY).widget)
    assert registry_with_settings(registry, store).by_siren(BODY).automatic_publication is False
    assert registry_with_settings(registry, store, until="2026-12-02").by_siren(BODY).automatic_publication is True
    assert registry_with_settings(registry, store).by_siren(DEPARTEMENT) == registry.by_siren(DEPARTEMENT)
