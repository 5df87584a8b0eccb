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
from core.ledger import digest_recipients
from core.publication_rule import Decision, exposes_a_person
from core.registry import body_registry
from load.mail import send_messages, sender

log = logging.getLogger(__name__)
LISTED = 50  # acts named per section; the rest are counted


def body_digest(settings: Settings, siren: str, day: str) -> dict:
    """What a body's digest of ``day`` says: acts to decide (oldest first), published, withdrawn. Read
    from the body's acts as the agents' space shows them (its index and the decisions since, each act
    with its ledger history): the body's acts, not the region's history replayed for every body."""
    acts = actes_chain.body_acts(settings, siren)
    if acts.empty:
        return {"to_decide": [], "published": [], "withdrawn": [], "personal": {}}
    personal = {i for i, (n, m) in enumerate(zip(acts["nature_code"].tolist(), acts["matiere_code"].tolist()))
                if exposes_a_person(n, m)}
    latest: dict[int, str] = {}  # row -> the act's last decision taking effect that day (history oldest first)
    for i, history in enumerate(acts["history"].tolist()):
        for event in history:
            if event["effective"] == day:
                latest[i] = event["decision"]
    online = acts["online"].tolist()
    waiting = acts.assign(row=range(len(acts)))[acts["decision"] == Decision.TO_DECIDE.value]
    sections = {
        "to_decide": waiting.sort_values(["night", "date_decision", "numero"], kind="stable")["row"].tolist(),
        "published": [i for i, d in latest.items() if d == Decision.PUBLISHED.value and online[i]],
        "withdrawn": [i for i, d in latest.items() if d == Decision.WITHDRAWN.value],
    }
    shown = {name: [_line(acts.iloc[i]) for i in rows if i not in personal] for name, rows in sections.items()}
    shown["personal"] = {name: sum(i in personal for i in rows) for name, rows in sections.items()}
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
