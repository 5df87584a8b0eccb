"""Publication decision rules: what the source says, and what the body allows.

The télétransmission field ``publication_open_data`` carries the agent's choice
(3 or 0 yes, 1 no, 2 "don't know"); when it is empty the nature decides, as in the
regional chain: délibérations, actes réglementaires and budgets are public by law,
individual acts and "autres" may hold personal data, contracts need a decision.
On top of that, the body's switches gate everything at publication time, so that
turning a switch applies to past acts too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from core.registry import Body

INDIVIDUAL_ACTS = "3"


class Decision(str, Enum):
    PUBLISHED = "published"
    REFUSED = "refused"
    TO_DECIDE = "to_decide"
    WITHDRAWN = "withdrawn"


class DecisionSource(str, Enum):
    TELETRANSMISSION = "teletransmission"
    DEFAULT_RULE = "default-rule"
    ENGINEER = "engineer"


_AGENT_CHOICE = {"3": Decision.PUBLISHED, "0": Decision.PUBLISHED, "1": Decision.REFUSED, "2": Decision.TO_DECIDE}
_BY_NATURE = {
    "1": Decision.PUBLISHED,
    "2": Decision.PUBLISHED,
    "5": Decision.PUBLISHED,
    "3": Decision.REFUSED,
    "6": Decision.REFUSED,
    "4": Decision.TO_DECIDE,
}


# Pastell actions that mean the transmission of the act was cancelled at the préfecture.
CANCELLATION_ACTIONS = {"annulation-tdt", "verif-annulation-tdt", "annuler-tdt"}


def source_decision(
    nature_code: str, publication_open_data: str, last_action: str = ""
) -> tuple[Decision, DecisionSource, str]:
    """Decision carried by the act itself, with where it comes from and why."""
    if last_action in CANCELLATION_ACTIONS:
        return Decision.WITHDRAWN, DecisionSource.TELETRANSMISSION, f"transmission cancelled ({last_action})"
    choice = (publication_open_data or "").strip()
    if choice in _AGENT_CHOICE:
        return _AGENT_CHOICE[choice], DecisionSource.TELETRANSMISSION, f"publication_open_data={choice}"
    return _BY_NATURE.get(nature_code, Decision.TO_DECIDE), DecisionSource.DEFAULT_RULE, f"nature {nature_code}"


def body_blocks(body: Body | None, nature_code: str) -> str | None:
    """Why the body's settings keep an act offline whatever was decided, or None."""
    if body is None:
        return "body no longer in the registry"
    if not body.open_data:
        return "open data is switched off for this body"
    if nature_code == INDIVIDUAL_ACTS and not body.publish_individual_acts:
        return "individual acts are published only when the body opts in"
    return None


# Which documents of an online act are public: a metadata-only body publishes none, annexes
# only where the body publishes them.

UrlOf = Callable[[str, str], str]
"""(sha256, file name) -> public URL of a document."""


def document_url(act: Mapping, url_of: UrlOf) -> str:
    """Empty for a body that publishes metadata only."""
    return "" if act["metadata_only"] else url_of(act["main_file_sha256"], act["main_file_name"])


def annex_urls(act: Mapping, url_of: UrlOf) -> list[str]:
    if act["metadata_only"] or not act["publish_annexes"]:
        return []
    return [url_of(annex["sha256"], annex["name"]) for annex in act["annexes"]]
