"""The cleaning rules, one by one, on the values real DECP files carry."""

from __future__ import annotations

from datetime import date

import pytest

from transform.decp_clean import (
    clean_amount,
    clean_boolean,
    clean_cpv,
    clean_date,
    clean_integer,
    clean_number,
    clean_share,
    clean_siret,
    clean_text,
    is_placeholder,
    match_enum,
    repair_year,
)

NIGHT = date(2025, 3, 4)


@pytest.mark.parametrize("value", ["NC", "nc", " N/C ", "Non communiqué", "", "null", "NaN", float("nan"), None, "-"])
def test_placeholders_are_not_values(value):
    assert is_placeholder(value)
    assert clean_text(value)[0] is None


def test_placeholder_removal_is_noted_but_empty_is_silent():
    assert clean_text("NC") == (None, "valeur de remplissage « NC » retirée")
    assert clean_text("  ") == (None, None)
    assert clean_text("Objet\x07 du marché ") == ("Objet du marché", "caractères de contrôle retirés")
    assert clean_text(12.0) == ("12", None)


@pytest.mark.parametrize(
    "raw,expected,noted",
    [
        ("21290099700017", "21290099700017", False),
        ("212 900 997 00017", "21290099700017", False),
        ("2129009970001", None, True),  # 13 digits whose padding fails the check
        ("5570000900107", "05570000900107", True),  # lost leading zero
        ("2129009970001X", None, True),
        ("12345678901234", "12345678901234", True),  # 14 digits, kept, check digit noted
        ("NC", None, True),
    ],
)
def test_siret(raw, expected, noted):
    value, note = clean_siret(raw)
    assert value == expected
    assert bool(note) == noted


@pytest.mark.parametrize(
    "raw,expected",
    [("45000000-7", "45000000"), ("45000000", "45000000"), ("9310000", "09310000"), (" 7231 1000 ", "72311000"),
     ("450000007", "45000000"), ("abc", None), ("NC", None), (45000000, "45000000")],
)
def test_cpv_on_8_digits(raw, expected):
    assert clean_cpv(raw)[0] == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2024-05-15", "2024-05-15"),
        ("2018-12-17+01:00", "2018-12-17"),
        ("2024-01-02T00:00:00Z", "2024-01-02"),
        ("15/05/2024", "2024-05-15"),
        ("0222-04-29", "2022-04-29"),  # first two digits swapped
        ("5021-02-18", "2021-02-18"),  # first digit wrong
        ("0002-11-30", None),  # no plausible one-keystroke repair
        ("2025-03-05", None),  # the day after the night: future
        ("2026-04-01", None),
        ("2024-02-30", None),
        ("2007-08-13", "2007-08-13"),  # old but real (history, concessions)
        ("NC", None),
        ("hier", None),
    ],
)
def test_dates(raw, expected):
    assert clean_date(raw, NIGHT)[0] == expected


def test_date_notes_say_what_happened():
    assert clean_date("0222-04-29", NIGHT)[1] == "année 222 corrigée en 2022"
    assert "futur" in clean_date("2026-04-01", NIGHT)[1]
    assert clean_date("2018-12-17+01:00", NIGHT)[1] is None
    assert repair_year(2102, NIGHT) is None


@pytest.mark.parametrize(
    "raw,expected",
    [(575000, 575000.0), ("14 700,00", 14700.0), ("14\u00a0700,50 €", 14700.5), ("1.234.567", 1234567.0),
     (1.0e17, None), (99999999.0, None), (123456789.0, None), (3_500_000_000, None), (0.0, 0.0), ("NC", None)],
)
def test_amounts(raw, expected):
    assert clean_amount(raw)[0] == expected


def test_absurd_amount_is_noted():
    assert "aberrant" in clean_amount(1.0e17)[1]


def test_numbers_integers_shares_booleans():
    assert clean_number("0,5") == (0.5, None)
    assert clean_integer("12") == (12, None)
    assert clean_integer(12.0) == (12, None)
    assert clean_integer("NC")[0] is None
    assert clean_integer(1.5)[0] is None
    assert clean_share("30 %")[0] == pytest.approx(0.3)
    assert clean_share(30)[0] == pytest.approx(0.3)
    assert clean_share(0.3)[0] == 0.3
    assert [clean_boolean(v)[0] for v in ("oui", "non", "true", "0", True, "NC", "peut-être")] == [
        True, False, True, False, True, None, None]


def test_enums_ignore_case_accents_and_know_former_names():
    allowed = ["Ferme", "Actualisable", "Révisable"]
    assert match_enum("ferme", allowed) == ("Ferme", None)
    assert match_enum("REVISABLE", allowed) == ("Révisable", None)
    assert match_enum("Semi-ferme", allowed) == ("Semi-ferme", None)  # left for the schema to reject
    procedures = ["Procédure adaptée", "Marché passé sans publicité ni mise en concurrence préalable"]
    value, note = match_enum("Marché négocié sans publicité ni mise en concurrence préalable", procedures)
    assert value == procedures[1] and "ancienne dénomination" in note
    assert match_enum("TVA_INTRACOMMUNAUTAIRE", ["SIRET", "TVA"])[0] == "TVA"
    assert match_enum("Appel d’offres ouvert", ["Appel d'offres ouvert"])[0] == "Appel d'offres ouvert"
