"""The daily digest by e-mail, through a loopback SMTP server: per body, for the agents who asked
for it, its acts only; personal acts counted, never described; SMTP failures in one line."""

from __future__ import annotations

import json
import socket
from datetime import date
from email import message_from_bytes, policy

import pandas as pd
import pytest

from chains import actes as actes_chain
from chains.digest import send_digests
from core.ledger import agent_actor, write_digest_choice
from core.publication_rule import Decision, exposes_a_person
from load.mail import MailFailed
from tests.portail.conftest import BODY, OTHER_BODY


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port,
        "extra": {"from": "Publication open data <ne-pas-repondre@region.invalid>"}}))
    yield inbox
    controller.stop()


@pytest.fixture
def settings(replayed, tmp_path, monkeypatch):
    return replayed.copy(tmp_path / "replay").apply(monkeypatch)


def _personal(acts: pd.DataFrame) -> pd.Series:
    return pd.Series([exposes_a_person(n, m) for n, m in zip(acts["nature_code"], acts["matiere_code"])],
                     index=acts.index)


def test_each_agent_receives_their_bodys_digest_and_nothing_of_another_body(settings, smtp):
    store = actes_chain.CHAIN.store(settings)
    write_digest_choice(store, BODY, "a1", "agent1@demo.invalid", "Agent Un", True)
    write_digest_choice(store, BODY, "a2", "agent2@demo.invalid", "Agent Deux", True)
    write_digest_choice(store, BODY, "a3", "agent3@demo.invalid", "Agent Trois", True)
    write_digest_choice(store, BODY, "a3", "agent3@demo.invalid", "Agent Trois", False)  # changed their mind
    write_digest_choice(store, OTHER_BODY, "k1", "kerdigor@demo.invalid", "Agent Kerdigor", True)
    acts = actes_chain.acts_of_bodies(settings, (BODY,))
    personal = _personal(acts)
    waiting = acts[(acts["decision"] == "to_decide") & ~personal].sort_values(["night", "date_decision", "numero"])
    chosen, online = waiting.iloc[0], acts[acts["online"] & ~personal].iloc[0]
    actor = agent_actor("agent.eaux-aber")
    actes_chain.record_decision(settings, int(chosen["year"]), chosen, Decision.PUBLISHED, "à publier", actor)
    actes_chain.record_decision(settings, int(online["year"]), online, Decision.WITHDRAWN, "erreur", actor)
    theirs = actes_chain.acts_of_bodies(settings, (OTHER_BODY,))
    today = date.today().isoformat()

    result = send_digests(settings, today)
    assert (result["sent"], result["bodies"]) == (3, [OTHER_BODY, BODY])
    by_recipient = {tuple(to): message for to, message in smtp.messages}
    assert set(by_recipient) == {("agent1@demo.invalid",), ("agent2@demo.invalid",), ("kerdigor@demo.invalid",)}
    mine = by_recipient[("agent1@demo.invalid",)]
    assert mine["To"] == "Agent Un <agent1@demo.invalid>", "each message names its one recipient"
    assert mine["From"] == "Publication open data <ne-pas-repondre@region.invalid>"
    still = waiting.iloc[1:]
    assert mine["Subject"] == (f"Syndicat intercommunal des eaux de l'Aber : récapitulatif du {today} "
                               f"({len(still) + int((personal & (acts['decision'] == 'to_decide')).sum())} acte(s) à statuer)")
    text = mine.get_content()
    published_part = text.split(f"Actes publiés le {today}")[1].split(f"Actes retirés le {today}")[0]
    withdrawn_part = text.split(f"Actes retirés le {today}")[1]
    assert f"n° {chosen['numero']} " in published_part and f"n° {online['numero']} " in withdrawn_part
    for _, act in still.iterrows():
        assert f"n° {act['numero']} du {act['date_decision']:%d/%m/%Y} : {act['objet']}" in text
    for _, act in acts[personal].iterrows():
        assert act["objet"] not in text, "an act that may name a person is never described"
    assert "pouvant concerner une personne : voir l'espace agents" in text
    assert f"/organismes/{BODY}/parametres" in text
    assert by_recipient[("agent2@demo.invalid",)].get_content() == text

    kerdigor = by_recipient[("kerdigor@demo.invalid",)].get_content()
    assert "Commune de Kerdigor" in kerdigor
    for _, act in acts.iterrows():
        assert f"n° {act['numero']} " not in kerdigor and act["objet"] not in kerdigor, "nothing of another body"
    for _, act in theirs.iterrows():
        assert f"n° {act['numero']} " not in text and act["objet"] not in text


def test_no_recipient_sends_nothing_and_needs_no_server(settings, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DIGOR_SMTP", raising=False)
    assert send_digests(settings, "2025-03-05")["sent"] == 0


def test_an_unreachable_smtp_server_fails_in_one_line_without_the_password(settings, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "digor", "password": "mot-de-passe-secret"}))
    write_digest_choice(actes_chain.CHAIN.store(settings), BODY, "a1", "agent1@demo.invalid", "Agent Un", True)
    with pytest.raises(MailFailed) as failure:
        send_digests(settings, "2025-03-05")
    assert f"SMTP server 127.0.0.1:{port}" in str(failure.value) and "mot-de-passe-secret" not in str(failure.value)


def test_a_body_s_digest_reads_its_own_acts_not_the_region_s_ledger(settings, smtp, monkeypatch):
    """A digest per body and day: replaying every body's ledger for each (10 s a body at 300,000 acts
    of history) made the day's digests cost hours for a region whose bodies all asked for one."""
    import core.ledger as ledger

    store = actes_chain.CHAIN.store(settings)
    write_digest_choice(store, BODY, "a1", "agent1@demo.invalid", "Agent Un", True)
    acts = actes_chain.acts_of_bodies(settings, (BODY,))
    online = acts[acts["online"] & ~_personal(acts)].iloc[0]
    actes_chain.record_decision(settings, int(online["year"]), online, Decision.WITHDRAWN, "erreur",
                                agent_actor("agent.eaux-aber"))
    parsed, parse = [], ledger._parsed
    monkeypatch.setattr(ledger, "_parsed", lambda lines, sirens: parsed.extend(
        event.siren for event in parse(lines, sirens)) or parse(lines, sirens))

    assert send_digests(settings, date.today().isoformat())["sent"] == 1
    (_, message), = smtp.messages
    withdrawn = message.get_content().split(f"Actes retirés le {date.today().isoformat()}")[1]
    assert f"n° {online['numero']} " in withdrawn
    assert set(parsed) <= {BODY}, "no other body's ledger events read"
