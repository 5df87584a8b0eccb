"""Default publication decision for an act, before any agent rules on it.

The télétransmission field ``publication_open_data`` carries the agent's choice
(3 or 0 yes, 1 no, 2 "don't know"); when it is empty the nature decides, as in the
regional chain: délibérations, actes réglementaires and budgets are public by law,
individual acts and "autres" may hold personal data, contracts need a decision.
"""

from __future__ import annotations

from enum import Enum


class Decision(str, Enum):
    PUBLISHED = "published"
    REFUSED = "refused"
    TO_DECIDE = "to_decide"


_AGENT_CHOICE = {"3": Decision.PUBLISHED, "0": Decision.PUBLISHED, "1": Decision.REFUSED, "2": Decision.TO_DECIDE}
_BY_NATURE = {
    "1": Decision.PUBLISHED,
    "2": Decision.PUBLISHED,
    "5": Decision.PUBLISHED,
    "3": Decision.REFUSED,
    "6": Decision.REFUSED,
    "4": Decision.TO_DECIDE,
}


def default_decision(nature_code: str, publication_open_data: str, body_open_data: bool) -> tuple[Decision, str]:
    """Decision and the reason a data engineer reads in the run report."""
    if not body_open_data:
        return Decision.REFUSED, "open data is switched off for this body"
    choice = (publication_open_data or "").strip()
    if choice in _AGENT_CHOICE:
        return _AGENT_CHOICE[choice], f"agent's choice publication_open_data={choice}"
    decision = _BY_NATURE.get(nature_code, Decision.TO_DECIDE)
    return decision, f"default for nature {nature_code}"
