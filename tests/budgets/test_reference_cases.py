"""The real TOTEM cases against the CSVs of Mégalis' yatotem2scdl: same rows, except where the
reference breaks SCDL budget 0.8.3, and every such difference is of a known, justified kind.

Known differences (each one is a place where the reference CSV is invalid, except the last):

- ``lowercase-stage``: the schema's enumeration is lowercase ("budget primitif"); the
  reference writes "Budget primitif", which fails the enum constraint.
- ``chapter-from-plan``: lines without ``ContNat`` get an empty chapter, chapter label and
  section in the reference (all three required); digor takes the chapter the plan de comptes
  gives the account for this kind of operation, its label, and the section the document
  states (``CaracSup Section``) or the chapter's.
- ``third-party-chapter``: chapters of operations for third parties (4581001, 45411…) are not
  in the plan's chapter list; the reference leaves label and section empty, digor names them
  after their class-45 account and puts them in the investment section.
- ``left-out-line``: a line whose account is not in the plan de comptes has an empty required
  account label in the reference; digor leaves it out and reports it.
- ``cleaned-label``: some official plans hold a Windows-1252 dash stored as the C1 control
  U+0096 and a trailing space; digor publishes "–" and no trailing space (not a schema break).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from decimal import Decimal

import pandas as pd
import pytest

from chains.totem_files import convert_files
from load.public_files import csv_bytes
from transform.totem_budgets import convert_totem
from transform.totem_plans import clean_label
from transform.totem_scdl import SCDL_COLUMNS
from validate.table_validator import validate_table

CASES = (
    "BP2022_TRANSPORT",
    "DOCBUDG-21560046100010-056025-CA-2021-01032022000000",
    "DOCBUDG-21560046100010-056025-DM2-2021-25112021000000",
    "DOCBUDG-21560046100085-056025-BP-2022-07042022000000",
    "DOCBUDG-21560046100085-056025-CA-2021-01032022000000",
    "DOCBUDG-21560134500014-CFU-BP-2023",
    "budget-crach-001",
)
AMOUNTS = {c for c in SCDL_COLUMNS if c.startswith("BGT_MT") or c == "BGT_CREDOUV"}
# Every difference per case, by kind: what the test proves, and what the README lists.
EXPECTED_DIFFERENCES = {
    "BP2022_TRANSPORT": {"lowercase-stage": 122, "chapter-from-plan": 25, "third-party-chapter": 2, "left-out-line": 1},
    "DOCBUDG-21560046100010-056025-CA-2021-01032022000000": {"lowercase-stage": 196, "chapter-from-plan": 49, "cleaned-label": 2},
    "DOCBUDG-21560046100010-056025-DM2-2021-25112021000000": {"lowercase-stage": 185, "chapter-from-plan": 48, "cleaned-label": 2},
    "DOCBUDG-21560046100085-056025-BP-2022-07042022000000": {"lowercase-stage": 21, "chapter-from-plan": 7},
    "DOCBUDG-21560046100085-056025-CA-2021-01032022000000": {"lowercase-stage": 20, "chapter-from-plan": 6},
    "DOCBUDG-21560134500014-CFU-BP-2023": {"lowercase-stage": 163, "chapter-from-plan": 36, "third-party-chapter": 4, "cleaned-label": 2},
    "budget-crach-001": {"lowercase-stage": 201, "chapter-from-plan": 53, "cleaned-label": 2},
}


def _same_amount(ours: str, theirs: str) -> bool:
    return ours == theirs or (bool(ours) and bool(theirs) and Decimal(ours) == Decimal(theirs))


def classify(ours: dict | None, theirs: dict) -> set[str]:
    """The kinds of difference between our row and the reference row; raises on any other."""
    if ours is None:
        assert theirs["BGT_NATURE_LABEL"] == "", f"a valid reference row is missing: {theirs}"
        return {"left-out-line"}
    kinds = set()
    for column in SCDL_COLUMNS:
        mine, reference = ours[column], theirs[column]
        if column in AMOUNTS:
            assert _same_amount(mine, reference), (column, mine, reference)
        elif mine == reference:
            continue
        elif column == "BGT_NATDEC" and mine == reference.lower():
            kinds.add("lowercase-stage")
        elif column in ("BGT_CONTNAT", "BGT_CONTNAT_LABEL", "BGT_SECTION") and reference == "" and mine:
            third_party = ours["BGT_CONTNAT"].startswith("45") and theirs["BGT_CONTNAT"] == ours["BGT_CONTNAT"]
            kinds.add("third-party-chapter" if third_party else "chapter-from-plan")
        elif column.endswith("_LABEL") and mine == clean_label(reference):
            kinds.add("cleaned-label")
        else:
            raise AssertionError(f"unexplained difference in {column}: ours {mine!r}, reference {reference!r}")
    return kinds


@pytest.mark.parametrize("case", CASES)
def test_same_rows_as_the_reference_except_its_schema_breaks(case, totem_cases, expected_dir, official_plans):
    conversion = convert_totem((totem_cases / case / "totem.xml").read_bytes(), official_plans)
    with (expected_dir / case / "expected.csv").open(encoding="utf-8", newline="") as handle:
        reference = list(csv.DictReader(handle))
    ours = dict(zip(conversion.line_numbers, conversion.rows))
    numbers = [line.number for line in conversion.document.lines]
    assert len(numbers) == len(reference), "one reference row per line that is not calculated"
    found = Counter()
    for number, theirs in zip(numbers, reference):
        found.update(classify(ours.get(number), theirs))
    assert dict(found) == EXPECTED_DIFFERENCES[case]
    assert len(conversion.problems) == found["left-out-line"]


@pytest.mark.parametrize("case", CASES)
def test_ours_is_valid_and_the_reference_is_not(case, totem_cases, expected_dir, official_plans, reference_dir, tmp_path):
    official = reference_dir / "schemas" / "scdl-budget-0.8.3" / "schema.json"
    conversion = convert_totem((totem_cases / case / "totem.xml").read_bytes(), official_plans)
    path = tmp_path / "ours.csv"
    path.write_bytes(csv_bytes(pd.DataFrame(conversion.rows, columns=list(SCDL_COLUMNS))))
    report = validate_table(path, official)
    assert report.valid, report.to_text()
    assert validate_table(path, "scdl-budget").valid
    assert not validate_table(expected_dir / case / "expected.csv", official).valid


def test_the_other_real_files_convert_to_valid_files(reference_dir, official_plans, tmp_path):
    samples = reference_dir / "samples" / "totem"
    for path in (samples / "dataviz-finances-montpellier" / "CA_2018.xml", samples / "opendata-extraction" / "budget.xml"):
        conversion = convert_totem(path.read_bytes(), official_plans)
        assert len(conversion.rows) == len(conversion.document.lines)
        assert all(p.kept for p in conversion.problems)
        frame = pd.DataFrame(conversion.rows, columns=list(SCDL_COLUMNS))
        report = validate_table(frame, reference_dir / "schemas" / "scdl-budget-0.8.3" / "schema.json")
        assert report.valid, report.to_text()


def _reference_files(reference_dir):
    samples = reference_dir / "samples" / "totem"
    return sorted(samples.glob("yatotem2scdl/*/totem.xml")) + sorted(samples.glob("*/*.xml"))


# SHA-256 of what ``digor convert totem`` gives for each real file (the benchmark's files): its CSV
# and the line problems it reports. Checked against the other tests above when pinned; a change of
# the conversion's speed must leave every byte as it is (a deliberate change of output updates them).
PINNED_OUTPUTS = {
    "BP2022_TRANSPORT": ("9ce5bfbc5a25cab96b97f667e532a6daa57d5d7a78ad97106d882fd52717fe85", "50653a06bf870e55ec68f243d8a450a1dc0ad4e4966bd9c019dbdca684baf9ac"),
    "DOCBUDG-21560046100010-056025-CA-2021-01032022000000": ("2e74098d22e445971a54cffb8a5c3b3e577ddfa317818dd20b832c15a8dbf688", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    "DOCBUDG-21560046100010-056025-DM2-2021-25112021000000": ("15f74d5fc0a2878e1802a036538ad0a45c1a6f3d18d9f1111450cfbd875eda46", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    "DOCBUDG-21560046100085-056025-BP-2022-07042022000000": ("c79b4c6620eb0061e0517e6e2a1b20d6e3822bc144777719f94b8f326310f367", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    "DOCBUDG-21560046100085-056025-CA-2021-01032022000000": ("2c6616b2f3eaf29e092db6d6171a01de268ba98d97e9fb97d146644e9c707f13", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    "DOCBUDG-21560134500014-CFU-BP-2023": ("c9c3ecb8b131cbf02b2692e605d3979bfbe5ce0965808e47e7a9641125b5cdaa", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    "budget-crach-001": ("e8be116147d02f71ef47ff9b2081ab51cd68fbc2b89ce5b5a62c37d8dc46dfe6", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    "CA_2018": ("b29647a02c33f93555ebd77672e0bff05594f865852c4e4aead6f4ad185bcd42", "9d805184ddca317d14d75db494025266eb0ebf21a2fdc4216b3dc49ef00300d2"),
    "budget": ("50495ed458a3ce70767a61dffe9241f7c09d45f5b7a11905aa0a2eaa6fbced39", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
}


def test_every_real_file_converts_to_the_same_bytes(reference_dir, official_plans, tmp_path, reading_path):
    """``digor convert totem`` on the real files: every CSV byte and every reported problem as pinned,
    whether the TOTEM reader's C walk reads the lines or Python does."""
    files = _reference_files(reference_dir)
    results = convert_files(files, tmp_path, official_plans)
    got = {}
    for result in results:
        assert "error" not in result, result
        csv_digest = hashlib.sha256((tmp_path / f"{result['csv'].rsplit('/', 1)[-1]}").read_bytes()).hexdigest()
        problems = json.dumps(result["problems"], ensure_ascii=False, sort_keys=True).encode()
        got[result["csv"].rsplit("/", 1)[-1].removesuffix(".csv")] = (csv_digest, hashlib.sha256(problems).hexdigest())
    assert got == PINNED_OUTPUTS
