"""The SCDL custom checks behave as Validata does, seen from frictionless reports."""

from __future__ import annotations

import pytest
from frictionless import Checklist, Resource, Schema

from core.identifiers import siret_is_valid
from validate.scdl_checks import (
    ACTES_LEVEL1_LABELS,
    checks_from_descriptor,
    cohesive_columns_value,
    compare_columns_value,
    french_siret_value,
    nomenclature_actes_value,
    nomenclature_problem,
    sum_columns_value,
    year_interval_value,
)

VALID_SIRET = "20004697700019"
WRONG_CHECK_DIGIT = "20004697700018"


def run(check, fields: dict[str, str], rows: list[list[str]]) -> list[tuple[int | None, str, str, str]]:
    """Validate inline rows with one check; (data row index, field, type, note) per error of the check.

    An always-filled ID column is prepended so that rows of empty test values are not blank rows.
    """
    descriptor = {"fields": [{"name": "ID", "type": "string"}] + [{"name": n, "type": t} for n, t in fields.items()]}
    data = [["ID", *fields], *[[str(number), *row] for number, row in enumerate(rows)]]
    report = Resource(data=data, schema=Schema.from_descriptor(descriptor)).validate(
        Checklist(checks=[check]), limit_errors=0
    )
    return [
        (getattr(error, "row_number", 2) - 2, getattr(error, "field_name", None), error.type, error.note)
        for error in report.tasks[0].errors
        if error.type in (check.type, "check-error")
    ]


# french-siret-value


def test_siret_with_wrong_check_digit_is_reported_with_its_row_and_value():
    rows = [[VALID_SIRET], [WRONG_CHECK_DIGIT], [""]]
    found = run(french_siret_value(column="SIRET"), {"SIRET": "string"}, rows)
    assert [(index, field, code) for index, field, code, _ in found] == [(1, "SIRET", "french-siret-value")]
    assert WRONG_CHECK_DIGIT in found[0][3]


@pytest.mark.parametrize(
    "value, valid",
    [
        (VALID_SIRET, True),
        (WRONG_CHECK_DIGIT, False),
        ("2000469770001", False),
        ("2000469770001A", False),
        ("35600000049837", True),
        ("35600000012345", False),
        ("35600000000048", True),
    ],
)
def test_siret_rules(value, valid):
    assert siret_is_valid(value) is valid


def test_la_poste_siret_is_accepted_although_it_fails_luhn():
    assert run(french_siret_value(column="SIRET"), {"SIRET": "string"}, [["35600000049837"]]) == []


# year-interval-value


@pytest.mark.parametrize(
    "value, allow_year_only, ok",
    [
        ("2023/2024", False, True),
        ("2024/2024", False, False),
        ("2025/2024", False, False),
        ("2024", True, True),
        ("2024", False, False),
        ("24/25", True, False),
        ("", False, True),
    ],
)
def test_year_interval(value, allow_year_only, ok):
    check = year_interval_value(column="ANNEE", allow_year_only=allow_year_only)
    found = run(check, {"ANNEE": "string"}, [[value]])
    assert (found == []) is ok
    if not ok:
        assert found[0][1:3] == ("ANNEE", "year-interval-value") and value in found[0][3]


# cohesive-columns-value


def test_cohesive_columns_all_or_nothing():
    fields = {"A": "integer", "B": "integer", "C": "integer"}
    rows = [["1", "2", "3"], ["", "", ""], ["1", "", "3"], ["", "2", ""], ["x", "2", "3"]]
    found = run(cohesive_columns_value(column="A", othercolumns=["B", "C"]), fields, rows)
    assert [(index, field, code) for index, field, code, _ in found] == [
        (2, "A", "cohesive-columns-value"),
        (3, "A", "cohesive-columns-value"),
        (4, "A", "cohesive-columns-value"),  # "x" failed its type: empty for the check, as validata-table has it
    ]
    assert "B" in found[0][3] and "empty here: A" in found[2][3]


# compare-columns-value


def test_compare_dates_as_dates():
    fields = {"PREF_DATE": "date", "DELIB_DATE": "date"}
    rows = [["2024-02-01", "2024-01-31"], ["2024-01-30", "2024-01-31"], ["", "2024-01-31"]]
    found = run(compare_columns_value(column="PREF_DATE", op=">=", column2="DELIB_DATE"), fields, rows)
    assert [(index, field, code) for index, field, code, _ in found] == [(1, "PREF_DATE", "compare-columns-value")]
    assert "2024-01-30" in found[0][3] and "2024-01-31" in found[0][3]


def test_compare_numbers_as_numbers_even_in_string_columns():
    fields = {"A": "string", "B": "string"}
    found = run(compare_columns_value(column="A", op=">", column2="B"), fields, [["10", "9"], ["9", "10"]])
    assert [index for index, *_ in found] == [1]


@pytest.mark.parametrize("op, ok", [("<", False), ("<=", True), ("==", True), (">", False), (">=", True)])
def test_compare_operators(op, ok):
    found = run(compare_columns_value(column="A", op=op, column2="B"), {"A": "integer", "B": "integer"}, [["5", "5"]])
    assert (found == []) is ok


def test_compare_rejects_an_unknown_operator():
    spec = {"name": "compare-columns-value", "params": {"column": "A", "op": "!=", "column2": "B"}}
    with pytest.raises(ValueError, match="compare-columns-value"):
        checks_from_descriptor({"custom_checks": [spec]})


# sum-columns-value


def test_sum_columns():
    fields = {"REEL": "integer", "POUR": "integer", "CONTRE": "integer"}
    rows = [["5", "3", "2"], ["6", "3", "2"], ["6", "", "2"]]
    found = run(sum_columns_value(column="REEL", columns_to_sum=["POUR", "CONTRE"]), fields, rows)
    assert [(index, field, code) for index, field, code, _ in found] == [(1, "REEL", "sum-columns-value")]
    assert "6" in found[0][3]


# nomenclature-actes-value


def test_every_level1_label_is_accepted_with_case_accents_and_spaces_ignored():
    for label in ACTES_LEVEL1_LABELS:
        assert nomenclature_problem(f"{label}/x") is None
        assert nomenclature_problem(f"  {label.upper()}  /x") is None
    assert nomenclature_problem("domaines de competences par themes/amenagement du territoire") is None
    assert nomenclature_problem("Libertés publiques et pouvoirs de police/police") is None


def test_prefecture_spelling_pourvoirs_is_rejected():
    rows = [["Libertes publiques et pourvoirs de police/police municipale"], ["urbanisme/documents d urbanisme"]]
    found = run(nomenclature_actes_value(column="M"), {"M": "string"}, rows)
    assert [(index, field, code) for index, field, code, _ in found] == [(0, "M", "nomenclature-actes-value")]
    assert "pourvoirs" in found[0][3]


@pytest.mark.parametrize("value", ["urbanisme", "Voirie/chemins", "/urbanisme"])
def test_missing_slash_or_unknown_level1_is_rejected(value):
    assert nomenclature_problem(value) is not None


# factory


def test_checks_from_descriptor_builds_each_check_with_its_params():
    descriptor = {
        "custom_checks": [
            {"name": "french-siret-value", "params": {"column": "S"}},
            {"name": "year-interval-value", "params": {"column": "Y", "allow-year-only": "yes"}},
            {"name": "cohesive-columns-value", "params": {"column": "A", "othercolumns": ["B"]}},
            {"name": "compare-columns-value", "params": {"column": "A", "op": ">=", "column2": "B"}},
            {"name": "sum-columns-value", "params": {"column": "A", "columns": ["B", "C"]}},
            {"name": "nomenclature-actes-value", "params": {"column": "M"}},
        ]
    }
    checks = checks_from_descriptor(descriptor)
    assert [check.type for check in checks] == [spec["name"] for spec in descriptor["custom_checks"]]
    assert checks[1].allow_year_only is True
    assert checks[4].columns_to_sum == ["B", "C"]
    assert checks_from_descriptor({"fields": []}) == []


def test_unknown_check_name_is_a_value_error():
    with pytest.raises(ValueError, match="no-such-check"):
        checks_from_descriptor({"custom_checks": [{"name": "no-such-check", "params": {}}]})


def test_a_check_on_a_missing_column_reports_a_check_error_instead_of_crashing():
    found = run(french_siret_value(column="ABSENT"), {"SIRET": "string"}, [[WRONG_CHECK_DIGIT]])
    assert [code for _, _, code, _ in found] == ["check-error"]
