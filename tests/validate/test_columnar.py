"""The column-wise pre-selection never changes a finding: a table judged with it gives the very errors
(rows, fields, codes, messages) of frictionless reading every row, for CSV, Parquet and DataFrames."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pandas as pd
import pytest

import validate.table_validator as table_validator
from core.schema_files import load_schema_descriptor
from tests.validate.test_table_validator import HEADER, deliberation
from validate.table_validator import validate_table

TRICKY = ["", " ", "x", "0", "-0", "007", "+5", "1e3", "1.5", "-1.50", "12345678901234567", "٣", "2024-02-30", "2023-02-29", "2024-02-29", "0000-01-01", "9999-12-31", "1900-02-29",
          "2024-2-3", "2024-03-14", "2024-03-14 ", "2023/2024", "2024/2023", " 2024", "2024", "true", "yes",
          "20004697700019", "20004697700018", "2000469770001", "200 046 977 00019", "35600000000048",
          "35600000012345", "Urbanisme/PLU", "urbanisme /plu", "Finances locales", "=SUM(A1)", "https://a.b/c d",
          "https://data.example.bzh/x.pdf", "ftp://x", "réel", "Réel", "investissement", "é" * 10, "45"]
BUDGET = {"BGT_NATDEC": "budget primitif", "BGT_ANNEE": "2024", "BGT_SIRET": "20004697700019", "BGT_NOM": "Commune",
          "BGT_CONTNAT": "011", "BGT_CONTNAT_LABEL": "Charges", "BGT_NATURE": "6068", "BGT_NATURE_LABEL": "Autres",
          "BGT_FONCTION": "", "BGT_FONCTION_LABEL": "", "BGT_OPERATION": "", "BGT_SECTION": "fonctionnement",
          "BGT_OPBUDG": "réel", "BGT_CODRD": "dépense", "BGT_MTREAL": "", "BGT_MTBUDGPREC": "",
          "BGT_MTRARPREC": "", "BGT_MTPROPNOUV": "1200.50", "BGT_MTPREV": "1200.50", "BGT_CREDOUV": "",
          "BGT_MTRAR3112": "", "BGT_ARTSPE": ""}


def fuzzed(base: list[str], count: int, seed: int) -> list[list[str]]:
    """``count`` copies of a valid row, most with one to three cells replaced by a tricky value."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        row = list(base)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            row[rng.randrange(len(row))] = rng.choice(TRICKY)
        rows.append(row)
    rows.append([""] * len(base))  # a blank row
    return rows


def findings(report) -> list[tuple]:
    return [(e.row_index, e.field, e.code, e.message) for e in report.errors] + [report.rows]


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def judged(monkeypatch):
    """validate_table with the pre-selection, then without it (every row to frictionless); asserts
    the pre-selection did leave rows out, so that the comparison means something."""
    selection = table_validator.suspect_rows

    def both(source, schema):
        left_out = []

        def recording(table, descriptor):
            suspects = selection(table, descriptor)
            left_out.append(0 if suspects is None else int((~suspects).sum()))
            return suspects

        monkeypatch.setattr(table_validator, "suspect_rows", recording)
        fast = validate_table(source, schema)
        monkeypatch.setattr(table_validator, "suspect_rows", lambda table, descriptor: None)
        full = validate_table(source, schema)
        monkeypatch.setattr(table_validator, "suspect_rows", selection)
        assert left_out and left_out[0] > 0
        return findings(fast), findings(full)

    return both


@pytest.mark.parametrize("seed", [1, 2])
def test_deliberations_csv_same_findings(judged, tmp_path, seed):
    path = write(tmp_path / "d.csv", HEADER, fuzzed(deliberation(), 300, seed))
    fast, full = judged(path, "scdl-deliberations")
    assert fast == full and len(fast) > 50


def test_a_csv_read_in_blocks_gives_the_findings_of_every_row_read(judged, tmp_path, monkeypatch):
    """A large CSV (a national DECP year's table) is pre-selected a block at a time, never whole: the
    same findings, a cell with a line break and rows on a block's edge included."""
    rows = fuzzed(deliberation(), 300, 4)
    rows[150][3] = "deux\nlignes"
    path = write(tmp_path / "d.csv", HEADER, rows)
    fast, full = judged(path, "scdl-deliberations")
    assert fast == full and len(fast) > 50
    monkeypatch.setattr(table_validator, "CSV_BLOCK_BYTES", 2048)
    blocks = []
    selection = table_validator.suspect_rows
    monkeypatch.setattr(table_validator, "suspect_rows", lambda table, descriptor: (
        blocks.append(table.num_rows), selection(table, descriptor))[1])
    assert findings(validate_table(path, "scdl-deliberations")) == full
    assert len(blocks) > 10 and sum(blocks) == len(rows)


def test_budget_csv_dataframe_and_parquet_same_findings(judged, tmp_path):
    header = list(BUDGET)
    rows = fuzzed(list(BUDGET.values()), 300, 3)
    path = write(tmp_path / "b.csv", header, rows)
    fast, full = judged(path, "scdl-budget")
    assert fast == full and len(fast) > 50
    frame = pd.DataFrame(rows, columns=header)
    assert judged(frame, "scdl-budget") == (fast, full)
    frame.to_parquet(tmp_path / "b.parquet")
    assert judged(tmp_path / "b.parquet", "scdl-budget") == (fast, full)


def test_typed_dataframe_cells_same_findings(judged):
    """Ints, floats (integral or not, NaN), None and text in one object column, as chains build frames."""
    descriptor = load_schema_descriptor("scdl-budget")
    rows = [dict(BUDGET) for _ in range(60)]
    values = [1200.5, 1200.0, float("nan"), None, 7, "1200.50", "abc", -0.0, 1e16, 12345.678]
    for index, row in enumerate(rows):
        row["BGT_MTPREV"] = values[index % len(values)]
        row["BGT_ANNEE"] = 2024 if index % 3 else "2024"
    frame = pd.DataFrame(rows, columns=[f["name"] for f in descriptor["fields"]], dtype=object)
    fast, full = judged(frame, "scdl-budget")
    assert fast == full and any(code == "type-error" for _, _, code, _ in fast[:-1])


def test_a_cohesive_group_whose_vote_failed_its_type_is_flagged_as_validata_does(tmp_path):
    row = deliberation(VOTE_EFFECTIF="dix-neuf")
    report = validate_table(write(tmp_path / "d.csv", HEADER, [row]), "scdl-deliberations")
    codes = {(e.field, e.code) for e in report.errors}
    assert codes == {("VOTE_EFFECTIF", "type-error"), ("VOTE_EFFECTIF", "cohesive-columns-value")}


def test_every_error_past_a_thousand_is_reported(tmp_path):
    rows = [deliberation(DELIB_ID=f"d{i}", COLL_SIRET="20004697700018") for i in range(2500)]
    report = validate_table(write(tmp_path / "d.csv", HEADER, rows), "scdl-deliberations")
    assert len(report.errors) == 2500 and not report.truncated
    assert report.errors[-1].row_index == 2499
