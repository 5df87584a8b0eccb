"""The daily digest of each body, for its agents who asked for it in the agents' space: the acts
waiting for a decision, and the acts published and withdrawn on the day.

One message per agent and body, addressed to that agent alone, built from that body's acts only.
Acts that may name a person are counted, never described (an e-mail leaves the agents' space,
and the HR role is not known here). Sent through the SMTP server of ``digor_smtp``.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formataddr

from chains import actes as actes_chain
from core.config import DIGEST_SMTP_CONN_ID, PortailSettings, Settings
from core.ledger import digest_recipients, read_events
from core.publication_rule import Decision, exposes_a_person
from core.registry import body_registry
from load.mail import send_messages, sender

log = logging.getLogger(__name__)
LISTED = 50  # acts named per section; the rest are counted


def body_digest(settings: Settings, siren: str, day: str) -> dict:
    """What a body's digest of ``day`` says: acts to decide (oldest first), published, withdrawn."""
    acts = actes_chain.acts_of_bodies(settings, (siren,))
    if acts.empty:
        return {"to_decide": [], "published": [], "withdrawn": [], "personal": {}}
    personal = {(s, i) for s, i, n, m in zip(acts["siren"], acts["source_id"], acts["nature_code"], acts["matiere_code"])
                if exposes_a_person(n, m)}
    by_id = {(a["siren"], a["source_id"]): a for _, a in acts.iterrows()}
    events = [e for e in read_events(actes_chain.CHAIN.store(settings), years=sorted(set(acts["year"])))
              if e.siren == siren and e.effective == day]
    latest: dict[tuple[str, str], str] = {}
    for event in events:
        latest[(event.siren, event.source_id)] = event.decision
    waiting = acts[acts["decision"] == Decision.TO_DECIDE.value].sort_values(["night", "date_decision", "numero"])
    sections = {
        "to_decide": [(a["siren"], a["source_id"]) for _, a in waiting.iterrows()],
        "published": [k for k, d in latest.items() if d == Decision.PUBLISHED.value and k in by_id and by_id[k]["online"]],
        "withdrawn": [k for k, d in latest.items() if d == Decision.WITHDRAWN.value and k in by_id],
    }
    shown = {name: [_line(by_id[k]) for k in keys if k not in personal] for name, keys in sections.items()}
    shown["personal"] = {name: sum(k in personal for k in keys) for name, keys in sections.items()}
    return shown


def _line(act) -> str:
    return f"n° {act['numero']} du {act['date_decision']:%d/%m/%Y} : {act['objet']}"


def _text(body, day: str, digest: dict, portail_url: str) -> str:
    titles = {"to_decide": "Actes à statuer", "published": f"Actes publiés le {day}",
              "withdrawn": f"Actes retirés le {day}"}
    lines = [f"Récapitulatif de {body.name} pour le {day}.", ""]
    for name, title in titles.items():
        items, hidden = digest[name], digest["personal"].get(name, 0)
        lines.append(f"{title} : {len(items) + hidden}")
        lines += [f"  - {item}" for item in items[:LISTED]]
        if len(items) > LISTED:
            lines.append(f"  … et {len(items) - LISTED} autre(s)")
        if hidden:
            lines.append(f"  {hidden} acte(s) pouvant concerner une personne : voir l'espace agents.")
        lines.append("")
    lines += [f"Décider, retirer, régler la publication : {portail_url}/a-statuer",
              f"Ne plus recevoir ce récapitulatif : {portail_url}/organismes/{body.siren}/parametres"]
    return "\n".join(lines) + "\n"


def digest_messages(settings: Settings, day: str, portail_url: str, from_address: str) -> list[EmailMessage]:
    """Every message of ``day``: one per body and agent who asked for the body's digest."""
    registry = body_registry(settings)
    messages = []
    for siren, recipients in sorted(digest_recipients(actes_chain.CHAIN.store(settings)).items()):
        body = registry.by_siren(siren)
        if body is None:
            continue
        digest = body_digest(settings, siren, day)
        text = _text(body, day, digest, portail_url)
        waiting = len(digest["to_decide"]) + digest["personal"].get("to_decide", 0)
        for recipient in recipients:
            message = EmailMessage()
            message["Subject"] = f"{body.name} : récapitulatif du {day} ({waiting} acte(s) à statuer)"
            message["From"] = from_address
            message["To"] = formataddr((recipient["name"], recipient["email"]))
            message.set_content(text)
            messages.append(message)
    return messages


def send_digests(settings: Settings, day: str, portail: PortailSettings | None = None,
                 conn_id: str = DIGEST_SMTP_CONN_ID) -> dict:
    """Build and send the day's digests; no recipient: nothing sent, no connection needed."""
    portail = portail or PortailSettings.from_env()
    store = actes_chain.CHAIN.store(settings)
    if not digest_recipients(store):
        return {"day": day, "sent": 0, "bodies": []}
    messages = digest_messages(settings, day, portail.url, sender(conn_id))
    sent = send_messages(conn_id, messages)
    bodies = sorted(digest_recipients(store))
    log.info("digest of %s: %d message(s) for %d body(ies)", day, sent, len(bodies))
    return {"day": day, "sent": sent, "bodies": bodies}
