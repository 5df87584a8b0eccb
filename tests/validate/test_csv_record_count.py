"""csv_record_count: the records the row reader reads, counted from the quotes and line feeds alone, or None."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from validate import table_validator
from validate.table_validator import _csv_rows, csv_record_count, validate_table

HEADER = "a,b,c\n"


def read_count(path: Path) -> int | None:
    """What the row reader reads, None where it fails."""
    try:
        return sum(1 for _ in _csv_rows(path))
    except (csv.Error, UnicodeDecodeError):
        return None


@pytest.mark.parametrize("body, expected", [
    ("1,2,3\n4,5,6\n", 3),
    ("1,2,3\n4,5,6", 3),  # no line feed at the end
    ('"x, y","a ""quoted"" word","two\nlines"\n', 2),
    ('"","""",""""""\n\n1,2,3\n', 4),  # empty and quote-only cells, an empty line
    ('1,"2\n3\n4",5\n"\n",,\n', 3),
])
def test_plainly_quoted_files_are_counted_as_the_reader_reads_them(tmp_path, body, expected):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    assert csv_record_count(path) == expected == read_count(path)


@pytest.mark.parametrize("body", [
    '1,a"b,3\n',  # a quote inside an unquoted cell: the reader keeps it, the rule does not hold
    '1,"a"b,3\n',  # text after a closing quote
    '1,"open,3\n',  # a quote left open
    "1,2,3\r\n",  # a carriage return
    "1,\x00,3\n",  # a NUL
])
def test_a_file_the_rule_does_not_fit_is_not_counted(tmp_path, body):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    assert csv_record_count(path) is None


def test_a_record_longer_than_a_field_may_be_is_not_counted(tmp_path):
    """The reader refuses a field past ``csv.field_size_limit``: such a file goes to it."""
    path = tmp_path / "t.csv"
    path.write_text(HEADER + '1,"' + "x," * csv.field_size_limit() + '",3\n', encoding="utf-8")
    assert read_count(path) is None and csv_record_count(path) is None


def test_a_bom_and_semicolons(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'\xef\xbb\xbf"a";"b"\n"1;2";3\n')
    assert csv_record_count(path) == 2 == read_count(path)


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 24])
def test_random_files_counted_as_read_whatever_the_blocks(tmp_path, monkeypatch, block):
    """Quotes, delimiters and line feeds in any order, read a few bytes at a time or whole: counted as the
    reader counts, or not at all."""
    monkeypatch.setattr(table_validator, "CSV_BLOCK_BYTES", block)
    rng = random.Random(block)
    counted = 0
    for number in range(400):
        cells = ['"' + "".join(rng.choice(['""', ",", "\n", "x"]) for _ in range(rng.randint(0, 4))) + '"'
                 for _ in range(rng.randint(0, 6))]
        tokens = [*cells, *(rng.choice([",", "\n", "x", "é"]) for _ in range(rng.randint(0, 30)))]
        tokens += ['"'] * (rng.random() < 0.3)  # a stray quote somewhere
        rng.shuffle(tokens)
        path = tmp_path / f"{number}.csv"
        path.write_text(HEADER + "".join(tokens), encoding="utf-8")
        found = csv_record_count(path)
        if found is not None:
            assert found == read_count(path), path.read_text(encoding="utf-8")
            counted += 1
    assert counted > 40  # the rule held in that many files (their counts compared)


def test_a_valid_table_is_not_read_again_row_by_row(tmp_path, monkeypatch):
    """Every row cleared column-wise and the records counted: frictionless reads the header only."""
    path = tmp_path / "deliberations.csv"
    from tests.validate.test_table_validator import HEADER as COLUMNS, VALID_ROWS

    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([COLUMNS, *VALID_ROWS])
    read = []

    def rows(source):
        for row in _csv_rows(source):
            read.append(row)
            yield row

    monkeypatch.setattr(table_validator, "_csv_rows", rows)
    report = validate_table(path, "scdl-deliberations")
    assert report.valid and report.rows == len(VALID_ROWS)
    assert read == [COLUMNS]
