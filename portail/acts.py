"""The acts an agent may see, as the pages show them: state, why (not) online, history, documents.

Everything comes from each body's index through ``chains.actes.body_acts`` (the same current state the
night builds the public files from); this module only filters by the agent's rights and words it
in French. An act that may name a person is left out, not blurred, for an agent without the HR role.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import pandas as pd

from chains import actes as actes_chain
from core.config import Settings
from core.ledger import AGENT_ACTOR_PREFIX
from core.nomenclature_actes import ALL_NATURES
from core.publication_rule import (
    BODY_REMOVED,
    INDIVIDUAL_OPT_IN,
    OPEN_DATA_OFF,
    Decision,
    DecisionSource,
    exposes_a_person,
)
from core.registry import body_registry
from portail.auth import Agent

# State of an act as agents see it: (URL value, label).
ONLINE, OFFLINE_PUBLISHED, TO_DECIDE, REFUSED, WITHDRAWN = (
    "en-ligne", "publie-hors-ligne", "a-statuer", "non-publie", "retire",
)
STATES = {
    ONLINE: "En ligne",
    OFFLINE_PUBLISHED: "Publié, hors ligne",
    TO_DECIDE: "À statuer",
    REFUSED: "Non publié",
    WITHDRAWN: "Retiré",
}
_BY_DECISION = {Decision.TO_DECIDE.value: TO_DECIDE, Decision.REFUSED.value: REFUSED,
                Decision.WITHDRAWN.value: WITHDRAWN, Decision.PUBLISHED.value: OFFLINE_PUBLISHED}
DECISIONS = {
    Decision.PUBLISHED.value: "publier",
    Decision.REFUSED.value: "ne pas publier",
    Decision.TO_DECIDE.value: "à statuer",
    Decision.WITHDRAWN.value: "retirer",
}
BLOCKS = {
    BODY_REMOVED: "l'organisme n'est plus dans le registre de la région",
    OPEN_DATA_OFF: "l'organisme n'a pas activé la publication en open data",
    INDIVIDUAL_OPT_IN: "l'organisme n'a pas choisi de publier ses actes individuels",
}


@dataclass(frozen=True)
class Action:
    """A decision an agent may take, and the decisions it applies to."""

    slug: str
    label: str
    decision: Decision
    applies_to: frozenset[str]


ACTIONS = {
    action.slug: action
    for action in (
        Action("publier", "Publier", Decision.PUBLISHED,
               frozenset({Decision.TO_DECIDE.value, Decision.REFUSED.value, Decision.WITHDRAWN.value})),
        Action("ne-pas-publier", "Ne pas publier", Decision.REFUSED, frozenset({Decision.TO_DECIDE.value})),
        Action("retirer", "Retirer (droit à l'erreur)", Decision.WITHDRAWN, frozenset({Decision.PUBLISHED.value})),
    )
}


def state_of(act) -> str:
    return ONLINE if act["online"] else _BY_DECISION.get(act["decision"], TO_DECIDE)


def act_id(act) -> str:
    """How forms and URLs name an act: ``<siren>/<source id>``."""
    return f"{act['siren']}/{act['source_id']}"


def _folded(text: str) -> str:
    """Lower case without accents, for a search that forgives both."""
    decomposed = unicodedata.normalize("NFKD", str(text or "")).casefold()
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Acts:
    """The acts of an agent's bodies that the agent may see, read once per request."""

    def __init__(self, settings: Settings, agent: Agent):
        self.settings = settings
        self.agent = agent
        sirens = [b.siren for b in body_registry(settings).bodies] if agent.admin else agent.sirens
        frames = [f for f in (actes_chain.body_acts(settings, siren) for siren in sirens) if not f.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if frame.empty:
            self.frame, self.hidden = frame, 0
            return
        personal = [exposes_a_person(n, m) for n, m in zip(frame["nature_code"], frame["matiere_code"])]
        visible = pd.Series([agent.hr or not p for p in personal], index=frame.index)
        self.hidden = int((~visible).sum())
        frame = frame[visible].copy()
        frame["state"] = [state_of(a) for _, a in frame.iterrows()]
        frame["id"] = frame["siren"] + "/" + frame["source_id"]
        self.frame = frame.reset_index(drop=True)

    def bodies(self) -> list[tuple[str, str]]:
        """(SIREN, name) of the bodies the agent acts for, as the registry names them."""
        registry = body_registry(self.settings)
        return [(b.siren, b.name) for b in registry.bodies if self.agent.acts_for(b.siren)]

    def to_decide(self) -> pd.DataFrame:
        """Acts waiting for a decision, the longest waiting first."""
        if self.frame.empty:
            return self.frame
        waiting = self.frame[self.frame["decision"] == Decision.TO_DECIDE.value]
        return waiting.sort_values(["night", "date_decision", "numero"], kind="stable")

    def search(self, text: str = "", state: str = "", nature: str = "", year: str = "", siren: str = "") -> pd.DataFrame:
        """Acts matching every filter given, the most recent decision first."""
        frame = self.frame
        if frame.empty:
            return frame
        if state in STATES:
            frame = frame[frame["state"] == state]
        if nature in ALL_NATURES:
            frame = frame[frame["nature_code"] == nature]
        if year.isdigit():
            frame = frame[frame["year"] == int(year)]
        if siren:
            frame = frame[frame["siren"] == siren]
        words = _folded(text).split()
        if words:
            haystack = [_folded(f"{n} {o}") for n, o in zip(frame["numero"], frame["objet"])]
            frame = frame[[all(w in h for w in words) for h in haystack]]
        return frame.sort_values(["date_decision", "numero"], ascending=[False, True], kind="stable")

    def years(self) -> list[int]:
        return sorted(set(self.frame["year"]), reverse=True) if not self.frame.empty else []

    def find(self, identifier: str):
        """The act named ``<siren>/<source id>``, or None when the agent may not see it (or it is unknown)."""
        if self.frame.empty:
            return None
        found = self.frame[self.frame["id"] == identifier]
        return None if found.empty else found.iloc[0]

    def history(self, act) -> list[dict]:
        """The act's ledger events, oldest first, with who decided in words."""
        return [
            {"at": e["at"].replace("T", " ")[:19], "decision": DECISIONS.get(e["decision"], e["decision"]),
             "by": decided_by(e["decided_by"], e["actor"]), "reason": e["reason"]}
            for e in act["history"]
        ]


def decided_by(source: str, actor: str) -> str:
    if source == DecisionSource.ENGINEER.value:
        if actor.startswith(AGENT_ACTOR_PREFIX):
            return f"agent, espace agents ({actor[len(AGENT_ACTOR_PREFIX):]})"
        return f"équipe technique, ligne de commande ({actor})"
    if source == DecisionSource.TELETRANSMISSION.value:
        return "choix transmis avec l'acte (télétransmission)"
    if source == DecisionSource.HISTORY.value:
        return "publication par le système précédent (historique importé)"
    return "règle par défaut selon la nature de l'acte"


def why(act) -> str:
    """Why the act is or is not online, in one sentence."""
    if act["online"]:
        since = act["publication_date"]
        return "En ligne" + (f" depuis le {since:%d/%m/%Y}" if since is not None and pd.notna(since) else "") + "."
    reason = act["offline_reason"] or ""
    if reason in BLOCKS:
        return f"Hors ligne : {BLOCKS[reason]}, quelle que soit la décision (« {DECISIONS.get(act['decision'], act['decision'])} »)."
    return {
        Decision.TO_DECIDE.value: "Hors ligne : l'acte attend une décision.",
        Decision.REFUSED.value: "Hors ligne : la décision est de ne pas le publier.",
        Decision.WITHDRAWN.value: "Hors ligne : l'acte a été retiré après publication.",
    }.get(act["decision"], "Hors ligne.")


def documents(act) -> list[dict]:
    """The act's document and annexes (what the agent may open from the private zone), and whether
    each one is public now."""
    public_main = bool(act["online"]) and not act["metadata_only"]
    items = [{"index": 0, "name": act["main_file_name"], "key": act["main_file_key"], "kind": "Acte",
              "public": public_main}]
    for number, annex in enumerate(act["annexes"], start=1):
        items.append({"index": number, "name": annex["name"], "key": annex["raw_key"], "kind": f"Annexe {number}",
                      "public": public_main and bool(act["publish_annexes"])})
    return items
