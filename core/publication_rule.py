"""Publication decision rules: what the source says, and what the body allows.

The télétransmission field ``publication_open_data`` carries the agent's choice, whose codes
mean different things in different flows (``core.config.PUBLICATION_OPEN_DATA_CODES``): a code
the act's flow does not map is "to be decided", never online. When it is empty the nature
decides, as in the regional chain: délibérations, actes réglementaires and budgets are public
by law, individual acts and "autres" may hold personal data, contracts need a decision. Of the
acts outside the préfecture flow, the lists of délibérations and the procès-verbaux are public
by law (CGCT L2121-25, L2121-15); arrêtés outside the flow may be individual ones, so they wait
for a decision like the others.
On top of that, the body's switches gate everything at publication time, so that
turning a switch applies to past acts too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from core.config import DEFAULT_FLOW, PUBLICATION_OPEN_DATA_CODES
from core.registry import Body

INDIVIDUAL_ACTS = "3"
# Matière 4 "Fonction publique": an act of it that is not public by law (a contract, an arrêté, a
# decision) names one agent (recruitment, career, pay), like an individual act.
STAFF_MATIERE = "4"
PUBLIC_BY_LAW = frozenset({"1", "2", "5", "71", "73"})


class Decision(str, Enum):
    PUBLISHED = "published"
    REFUSED = "refused"
    TO_DECIDE = "to_decide"
    WITHDRAWN = "withdrawn"


class DecisionSource(str, Enum):
    TELETRANSMISSION = "teletransmission"
    DEFAULT_RULE = "default-rule"
    ENGINEER = "engineer"
    # The previous system's publication, brought by ``digor import-history``: its date is the act's
    # first publication, which nothing later moves.
    HISTORY = "history"


_BY_NATURE = {
    "1": Decision.PUBLISHED,
    "2": Decision.PUBLISHED,
    "5": Decision.PUBLISHED,
    "71": Decision.PUBLISHED,
    "73": Decision.PUBLISHED,
    "3": Decision.REFUSED,
    "6": Decision.REFUSED,
    "4": Decision.TO_DECIDE,
    "7": Decision.TO_DECIDE,
    "72": Decision.TO_DECIDE,
    "74": Decision.TO_DECIDE,
}


# The last action of an act S²LOW shows as cancelled (its status 0 "Annulé", ``transform.s2low_acts``).
S2LOW_CANCELLATION = "annulation-s2low"
# Pastell actions (and S²LOW's) that mean the transmission of the act was cancelled at the préfecture.
CANCELLATION_ACTIONS = {"annulation-tdt", "verif-annulation-tdt", "annuler-tdt", S2LOW_CANCELLATION}


def open_data_codes(flow: str, codes: Mapping[str, Mapping[str, str]] = PUBLICATION_OPEN_DATA_CODES
                    ) -> tuple[str, dict[str, Decision]]:
    """(name, meaning of each code) of the mapping that applies to ``flow``: its own, else the default."""
    name = flow if flow in codes else DEFAULT_FLOW
    return name, {code: Decision(decision) for code, decision in codes.get(name, {}).items()}


def source_decision(
    nature_code: str, publication_open_data: str, last_action: str = "", flow: str = DEFAULT_FLOW,
    codes: Mapping[str, Mapping[str, str]] = PUBLICATION_OPEN_DATA_CODES,
) -> tuple[Decision, DecisionSource, str]:
    """Decision carried by the act itself, with where it comes from and why; ``flow`` picks the
    meaning of the ``publication_open_data`` codes in ``codes``."""
    if last_action in CANCELLATION_ACTIONS:
        return Decision.WITHDRAWN, DecisionSource.TELETRANSMISSION, f"transmission cancelled ({last_action})"
    choice = (publication_open_data or "").strip()
    if not choice:
        return _BY_NATURE.get(nature_code, Decision.TO_DECIDE), DecisionSource.DEFAULT_RULE, f"nature {nature_code}"
    mapping, meanings = open_data_codes(flow, codes)
    if choice in meanings:
        return meanings[choice], DecisionSource.TELETRANSMISSION, f"publication_open_data={choice} (codes of {mapping})"
    return (Decision.TO_DECIDE, DecisionSource.TELETRANSMISSION,
            f"publication_open_data={choice!r} is not a code of {mapping} ({', '.join(sorted(meanings)) or 'none'})")


def exposes_a_person(nature_code: str, matiere_code: str) -> bool:
    """Whether an act may name a person (an individual act, or a staff matter that is not public by
    law): what only agents with the HR role see before it is decided."""
    if nature_code == INDIVIDUAL_ACTS:
        return True
    return (matiere_code or "").split(".")[0] == STAFF_MATIERE and nature_code not in PUBLIC_BY_LAW


BODY_REMOVED = "body no longer in the registry"
OPEN_DATA_OFF = "open data is switched off for this body"
INDIVIDUAL_OPT_IN = "individual acts are published only when the body opts in"


def body_blocks(body: Body | None, nature_code: str) -> str | None:
    """Why the body's settings keep an act offline whatever was decided, or None (one of the
    constants above, which the agents' space words in French)."""
    if body is None:
        return BODY_REMOVED
    if not body.open_data:
        return OPEN_DATA_OFF
    if nature_code == INDIVIDUAL_ACTS and not body.publish_individual_acts:
        return INDIVIDUAL_OPT_IN
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
