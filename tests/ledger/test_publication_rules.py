"""The rules table of the télétransmission, case by case, and the body's gates."""

import pytest

from core.config import Settings, parse_open_data_codes
from core.publication_rule import Decision, DecisionSource, body_blocks, source_decision
from core.registry import Body

P, R, D = Decision.PUBLISHED, Decision.REFUSED, Decision.TO_DECIDE


@pytest.mark.parametrize(
    "nature, flag, expected, source",
    [
        # publication_open_data set by the agent wins whatever the nature
        ("1", "3", P, DecisionSource.TELETRANSMISSION),
        ("3", "3", P, DecisionSource.TELETRANSMISSION),
        # 0 is the pipeline's historic "oui" but the form's "ne sais pas": not a code of the default flow
        ("1", "0", D, DecisionSource.TELETRANSMISSION),
        ("1", "7", D, DecisionSource.TELETRANSMISSION),
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
        # outside the préfecture flow: lists of délibérations and procès-verbaux are public by law
        ("71", "", P, DecisionSource.DEFAULT_RULE),
        ("73", "", P, DecisionSource.DEFAULT_RULE),
        ("72", "", D, DecisionSource.DEFAULT_RULE),
        ("74", "", D, DecisionSource.DEFAULT_RULE),
        ("7", "", D, DecisionSource.DEFAULT_RULE),
    ],
)
def test_source_decision(nature, flag, expected, source):
    decision, decided_by, reason = source_decision(nature, flag)
    assert (decision, decided_by) == (expected, source)
    assert reason


@pytest.mark.parametrize(
    "flow, flag, expected",
    [
        # the GED form: 0 ne sais pas, 1 oui, 2 non
        ("super-ged-megalis", "1", P),
        ("super-ged-megalis", "2", R),
        ("super-ged-megalis", "0", D),
        ("super-ged-megalis", "3", D),  # no such code in that form
        # a flow without a mapping of its own reads the default one
        ("actes-generique", "3", P),
        ("actes-generique", "1", R),
    ],
)
def test_codes_mean_what_the_flow_says(flow, flag, expected):
    decision, decided_by, reason = source_decision("3", flag, flow=flow)
    assert (decision, decided_by) == (expected, DecisionSource.TELETRANSMISSION)
    assert flag in reason


def test_a_configured_flow_replaces_the_default_and_other_codes_wait_for_a_decision():
    codes = parse_open_data_codes('{"deliberations-studio": {"1": "published", "2": "refused"}}')
    assert source_decision("1", "1", flow="deliberations-studio", codes=codes)[0] == P
    decision, _, reason = source_decision("1", "3", flow="deliberations-studio", codes=codes)
    assert decision == D and "'3' is not a code of deliberations-studio" in reason
    assert source_decision("1", "3", flow="actes-generique", codes=codes)[0] == P


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not valid JSON"),
        ('{"x": "published"}', "must be a JSON object"),
        ('{"x": {"1": "withdrawn"}}', "flow 'x' maps a code to 'withdrawn'"),
    ],
)
def test_a_wrong_mapping_fails_with_the_variable_named(text, message, monkeypatch):
    monkeypatch.setenv("DIGOR_PUBLICATION_OPEN_DATA_CODES", text)
    with pytest.raises(ValueError, match="DIGOR_PUBLICATION_OPEN_DATA_CODES") as error:
        Settings.from_env()
    assert message in str(error.value)


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
