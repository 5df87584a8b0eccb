"""The rules table of the télétransmission, case by case, and the body's gates."""

import pytest

from core.publication_rule import Decision, DecisionSource, body_blocks, source_decision
from core.registry import Body

P, R, D = Decision.PUBLISHED, Decision.REFUSED, Decision.TO_DECIDE


@pytest.mark.parametrize(
    "nature, flag, expected, source",
    [
        # publication_open_data set by the agent wins whatever the nature
        ("1", "3", P, DecisionSource.TELETRANSMISSION),
        ("3", "3", P, DecisionSource.TELETRANSMISSION),
        ("1", "0", P, DecisionSource.TELETRANSMISSION),  # legacy "oui"
        ("1", "1", R, DecisionSource.TELETRANSMISSION),
        ("5", "1", R, DecisionSource.TELETRANSMISSION),
        ("1", "2", D, DecisionSource.TELETRANSMISSION),
        # empty: default by nature
        ("1", "", P, DecisionSource.DEFAULT_RULE),
        ("2", "", P, DecisionSource.DEFAULT_RULE),
        ("5", "", P, DecisionSource.DEFAULT_RULE),
        ("3", "", R, DecisionSource.DEFAULT_RULE),
        ("6", "", R, DecisionSource.DEFAULT_RULE),
        ("4", "", D, DecisionSource.DEFAULT_RULE),
        ("4", " ", D, DecisionSource.DEFAULT_RULE),
    ],
)
def test_source_decision(nature, flag, expected, source):
    decision, decided_by, reason = source_decision(nature, flag)
    assert (decision, decided_by) == (expected, source)
    assert reason


def _body(**switches) -> Body:
    return Body(siren="212900997", siret="21290099700017", name="X", kind="commune", **switches)


def test_body_gates():
    assert body_blocks(_body(), "1") is None
    assert "switched off" in body_blocks(_body(open_data=False), "1")
    assert "opts in" in body_blocks(_body(), "3")
    assert body_blocks(_body(publish_individual_acts=True), "3") is None
    assert "no longer in the registry" in body_blocks(None, "1")


def test_a_cancelled_transmission_withdraws_the_act():
    decision, decided_by, reason = source_decision("1", "3", "annuler-tdt")
    assert decision == Decision.WITHDRAWN and decided_by == DecisionSource.TELETRANSMISSION
    assert "annuler-tdt" in reason
