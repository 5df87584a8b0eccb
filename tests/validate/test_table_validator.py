"""validate_table: CSV, Parquet and DataFrame inputs judged by the same rules."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.environment import reference_path
from validate.table_validator import RowError, TableReport, cell_text, validate_table

HEADER = [
    "COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_MATIERE_NOM",
    "DELIB_OBJET", "BUDGET_ANNEE", "BUDGET_NOM", "PREF_ID", "PREF_DATE", "VOTE_EFFECTIF", "VOTE_REEL",
    "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION", "DELIB_URL",
]  # fmt: skip
VALID_SIRET = "20004697700019"


def deliberation(**values: str) -> list[str]:
    row = {
        "COLL_NOM": "Commune de Kerbrat",
        "COLL_SIRET": VALID_SIRET,
        "DELIB_ID": "2024-017",
        "DELIB_DATE": "2024-03-14",
        "DELIB_MATIERE_CODE": "7.1",
        "DELIB_MATIERE_NOM": "finances locales/décisions budgétaires",
        "DELIB_OBJET": "Vote du budget primitif, exercice 2024",
        "BUDGET_ANNEE": "2024",
        "BUDGET_NOM": "Budget principal",
        "PREF_ID": "PREF029",
        "PREF_DATE": "2024-03-18",
        "VOTE_EFFECTIF": "19",
        "VOTE_REEL": "17",
        "VOTE_POUR": "15",
        "VOTE_CONTRE": "1",
        "VOTE_ABSTENTION": "1",
        "DELIB_URL": "https://data.example.bzh/actes/2024-017.pdf",
    }
    row.update(values)
    return [row[name] for name in HEADER]


VALID_ROWS = [
    deliberation(),
    deliberation(DELIB_ID="2024-018", BUDGET_ANNEE="", BUDGET_NOM="", VOTE_EFFECTIF="", VOTE_REEL="",
                 VOTE_POUR="", VOTE_CONTRE="", VOTE_ABSTENTION="", PREF_ID="", PREF_DATE="", DELIB_URL=""),
    deliberation(DELIB_ID="2024-019", DELIB_MATIERE_CODE="2.1", DELIB_MATIERE_NOM="Urbanisme/documents d'urbanisme",
                 COLL_NOM="Commune de Kerbrat, Finistère", BUDGET_ANNEE="2023/2024"),
]  # fmt: skip

INVALID_ROWS = [
    deliberation(DELIB_ID="ok-0"),
    deliberation(DELIB_ID="bad-date", DELIB_DATE="2024-02-30", PREF_DATE=""),
    deliberation(DELIB_ID="ok-2"),
    deliberation(DELIB_ID="bad-siret", COLL_SIRET="20004697700018"),
    deliberation(DELIB_ID="no-object", DELIB_OBJET=""),
    deliberation(DELIB_ID="bad-matter", DELIB_MATIERE_NOM="Libertes publiques et pourvoirs de police/police"),
    deliberation(DELIB_ID="ok-6"),
]
EXPECTED = {
    (1, "DELIB_DATE", "type-error"),
    (3, "COLL_SIRET", "french-siret-value"),
    (4, "DELIB_OBJET", "constraint-error"),
    (5, "DELIB_MATIERE_NOM", "nomenclature-actes-value"),
}


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def official_schema() -> Path:
    return reference_path("schemas/scdl-deliberations-2.1.5/schema.json")


def triples(report: TableReport) -> set[tuple[int | None, str | None, str]]:
    return {(error.row_index, error.field, error.code) for error in report.errors}


# Valid files


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_valid_csv_passes_our_schema(tmp_path, delimiter):
    report = validate_table(write_csv(tmp_path / "deliberations.csv", VALID_ROWS, delimiter), "scdl-deliberations")
    assert report.valid, report.to_text()
    assert report.rows == 3
    assert report.schema == "scdl-deliberations@2.1.5"
    assert "VALID" in report.to_text()


def test_valid_csv_passes_the_official_schema(tmp_path):
    path = write_csv(tmp_path / "deliberations.csv", VALID_ROWS)
    report = validate_table(path, official_schema())
    assert report.valid, report.to_text()


# Invalid files


def test_invalid_csv_reports_each_bad_row_with_field_and_code(tmp_path):
    path = write_csv(tmp_path / "deliberations.csv", INVALID_ROWS)
    report = validate_table(path, "scdl-deliberations")
    assert not report.valid
    assert report.rows == len(INVALID_ROWS)
    assert triples(report) == EXPECTED
    assert report.invalid_rows() == {1, 3, 4, 5}
    assert set(report.errors_by_row()) == {1, 3, 4, 5}
    assert "20004697700018" in report.errors_by_row()[3][0].message
    assert "2024-02-30" in report.errors_by_row()[1][0].message


def test_official_schema_finds_the_same_errors(tmp_path):
    path = write_csv(tmp_path / "deliberations.csv", INVALID_ROWS)
    assert triples(validate_table(path, official_schema())) == EXPECTED


def test_to_text_names_the_file_the_row_and_the_field(tmp_path):
    path = write_csv(tmp_path / "deliberations.csv", INVALID_ROWS)
    text = validate_table(path, "scdl-deliberations").to_text()
    assert str(path) in text and "INVALID" in text
    assert "header row is not counted" in text
    assert "row 4, field COLL_SIRET [french-siret-value]" in text
    assert "row 2, field DELIB_DATE [type-error]" in text
    assert "pourvoirs" in text
    assert validate_table(path, "scdl-deliberations").to_text(limit=1).endswith("... and 3 more errors")


def test_header_problems_are_file_level_errors(tmp_path):
    path = tmp_path / "renamed.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["COLL_NAME", *HEADER[1:]])
        writer.writerow(deliberation())
    report = validate_table(path, "scdl-deliberations")
    assert (None, "COLL_NOM", "incorrect-label") in triples(report)
    assert report.invalid_rows() == set()
    assert "file/header" in report.to_text()


def test_every_error_is_reported_beyond_the_frictionless_default_limit(tmp_path):
    rows = [deliberation(DELIB_ID=str(n), COLL_SIRET="20004697700018") for n in range(1500)]
    report = validate_table(write_csv(tmp_path / "many.csv", rows), "scdl-deliberations")
    assert len(report.invalid_rows()) == 1500 and not report.truncated


def test_max_errors_caps_memory_and_says_so(tmp_path):
    rows = [deliberation(DELIB_ID=str(n), COLL_SIRET="20004697700018") for n in range(20)]
    report = validate_table(write_csv(tmp_path / "many.csv", rows), "scdl-deliberations", max_errors=5)
    assert len(report.errors) == 5 and report.truncated
    assert "stopped counting" in report.to_text()


def test_a_file_that_is_not_utf8_is_reported_not_crashed(tmp_path):
    path = write_csv(tmp_path / "latin1.csv", VALID_ROWS)
    path.write_bytes(path.read_bytes() + "Commune d'Île-Tudy".encode("latin-1") + b"\n")
    report = validate_table(path, "scdl-deliberations")
    assert "encoding-error" in {error.code for error in report.errors}


def test_missing_file_and_unknown_schema_raise(tmp_path):
    with pytest.raises(FileNotFoundError):
        validate_table(tmp_path / "absent.csv", "scdl-deliberations")
    with pytest.raises(ValueError):
        validate_table(write_csv(tmp_path / "d.csv", VALID_ROWS), "no-such-schema")


# DataFrame and Parquet


def typed_frame(rows: list[list[str]]) -> pd.DataFrame:
    """The rows as an ETL would hold them: dates as date objects, counts as nullable ints, None."""
    frame = pd.DataFrame(rows, columns=HEADER).replace({"": None})
    for column in ("DELIB_DATE", "PREF_DATE"):
        frame[column] = [date.fromisoformat(v) if v and v[5:7] <= "12" and v[8:] <= "28" else v
                         for v in frame[column]]  # fmt: skip
    for column in HEADER[11:16]:
        frame[column] = pd.array([int(v) if v else None for v in frame[column]], dtype="Int64")
    return frame


def test_dataframe_input(tmp_path):
    assert validate_table(typed_frame(VALID_ROWS), "scdl-deliberations").valid
    report = validate_table(typed_frame(INVALID_ROWS), "scdl-deliberations")
    assert report.source == "<dataframe>"
    assert triples(report) == EXPECTED


def test_dataframe_with_nan_and_float_counts():
    frame = pd.DataFrame([deliberation(), deliberation(VOTE_EFFECTIF="", VOTE_REEL="", VOTE_POUR="",
                                                      VOTE_CONTRE="", VOTE_ABSTENTION="")], columns=HEADER)  # fmt: skip
    for column in HEADER[11:16]:
        frame[column] = pd.to_numeric(frame[column])
    frame["PREF_DATE"] = pd.to_datetime(frame["PREF_DATE"])
    assert frame["VOTE_REEL"].dtype == "float64"
    report = validate_table(frame, "scdl-deliberations")
    assert report.valid, report.to_text()


def test_parquet_input(tmp_path):
    typed = tmp_path / "typed.parquet"
    typed_frame(VALID_ROWS).to_parquet(typed, index=False)
    assert validate_table(typed, "scdl-deliberations").valid
    as_text = tmp_path / "text.parquet"
    pd.DataFrame(INVALID_ROWS, columns=HEADER).to_parquet(as_text, index=False)
    report = validate_table(as_text, "scdl-deliberations")
    assert report.source == str(as_text) and report.rows == len(INVALID_ROWS)
    assert triples(report) == EXPECTED


def test_actes_schema_validates_a_table(tmp_path):
    row = {
        "COLL_NOM": "Commune de Kerbrat", "COLL_SIRET": VALID_SIRET, "ACTE_ID": "AR-2024-03",
        "ACTE_NATURE_CODE": "2", "ACTE_NATURE_NOM": "Actes réglementaires", "ACTE_DATE": date(2024, 3, 1),
        "ACTE_MATIERE_CODE": "6.1", "ACTE_MATIERE_NOM": "libertés publiques et pouvoirs de police/police municipale",
        "ACTE_OBJET": "Arrêté de circulation", "TRANSMISSION_DATE": date(2024, 3, 2), "PREF_ID": "SPREF0292",
        "PREF_DATE": date(2024, 3, 2), "PUBLICATION_DATE": date(2024, 3, 3),
        "ACTE_URL": "https://data.example.bzh/actes/AR-2024-03.pdf", "ANNEXES_URL": None, "SOURCE_ID": "x7Yh2kQ",
    }  # fmt: skip
    late = dict(row, ACTE_ID="AR-2024-04", PUBLICATION_DATE=date(2024, 2, 1), ACTE_NATURE_CODE="8")
    report = validate_table(pd.DataFrame([row, late]), "actes")
    assert triples(report) == {
        (1, "PUBLICATION_DATE", "compare-columns-value"),
        (1, "ACTE_NATURE_CODE", "constraint-error"),
    }


def test_row_error_is_small_and_immutable():
    error = RowError(row_index=0, field="F", code="type-error", message="m")
    with pytest.raises(AttributeError):
        error.code = "other"  # type: ignore[misc]
    assert not hasattr(error, "__dict__")


@pytest.mark.parametrize(
    "value, text",
    [
        (None, ""), (float("nan"), ""), (pd.NA, ""), (pd.NaT, ""), ("x", "x"), (3, "3"), (3.0, "3"),
        (2.5, "2.5"), (True, "true"), (date(2024, 1, 2), "2024-01-02"),
        (pd.Timestamp("2024-01-02"), "2024-01-02"), (pd.Timestamp("2024-01-02 10:30"), "2024-01-02T10:30:00"),
    ],
)  # fmt: skip
def test_cell_text(value, text):
    assert cell_text(value) == text
