"""TOTEM document -> rows of the SCDL budget 0.8.3 file (and of digor's richer budget table).

Rules (the differences with Mégalis' yatotem2scdl are deliberate, see README "Budgets"):

- one row per ``LigneBudget``; lines marked ``calculated="true"`` (totals) are skipped;
- ``BGT_NATDEC`` is the stage in the schema's lowercase enumeration; the compte financier
  unique (NatDec 10) is published as "compte administratif", the richer table keeps "10";
- ``BGT_CONTNAT`` is the line's nature chapter (``ContNat``) or, when the line does not carry
  it (frequent on lines voted by function or on reported results), the chapter the plan de
  comptes gives the account for this kind of operation; its label and the account label come
  from the plan de comptes of the document's nomenclature and year;
- ``BGT_SECTION`` is the section the document states (``CaracSup Code="Section"``), else the
  section of the chapter in the plan;
- amounts are written as the document gives them, with two decimals.

A line whose chapter or a required label cannot be resolved is not guessed: it is returned as a
line problem with its reason, and never reaches a published file. An unknown function (an
optional column) keeps the line, without the function label, and is reported too.
"""

from __future__ import annotations

import csv
import io
import operator
from dataclasses import dataclass, field
from decimal import Decimal

from core.collector import collector_paused
from core.config import BUDGET_MAX_AMOUNT
from core.csv_cells import FORMULA_STARTS, neutralise
from transform.totem_plans import PlanDeComptes, PlanResolver
from transform.totem_reader import (
    AMOUNT_FIELDS,
    DEFAULT_MAX_BYTES,
    NATDEC_CODES,
    TotemDocument,
    read_totem,
)

SCDL_COLUMNS = (
    "BGT_NATDEC", "BGT_ANNEE", "BGT_SIRET", "BGT_NOM", "BGT_CONTNAT", "BGT_CONTNAT_LABEL", "BGT_NATURE",
    "BGT_NATURE_LABEL", "BGT_FONCTION", "BGT_FONCTION_LABEL", "BGT_OPERATION", "BGT_SECTION", "BGT_OPBUDG",
    "BGT_CODRD", "BGT_MTREAL", "BGT_MTBUDGPREC", "BGT_MTRARPREC", "BGT_MTPROPNOUV", "BGT_MTPREV", "BGT_CREDOUV",
    "BGT_MTRAR3112", "BGT_ARTSPE",
)  # fmt: skip
# In the order of a line's amounts (``BudgetLine.amounts``) and of their SCDL columns.
AMOUNT_COLUMNS = {name: f"BGT_{name.upper()}" for name in AMOUNT_FIELDS}
# The SCDL stage of each NatDec: the CFU is the compte administratif of the new regime.
SCDL_STAGES = {code: ("compte administratif" if code == "10" else label) for code, label in NATDEC_CODES.items()}
SECTIONS = {"F": "fonctionnement", "I": "investissement"}
OPBUDG = {"0": "réel", "1": "ordre"}
CODRD = {"R": "recette", "D": "dépense"}
ARTSPE = {"false": "non spécialisé", "true": "spécialisé"}


def amount_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


class _AmountTexts(dict):
    """``amount_text`` of each amount, formatted once per document (most amounts repeat)."""

    def __missing__(self, value: Decimal | None) -> str:
        text = self[value] = amount_text(value)
        return text


@dataclass(frozen=True)
class LineProblem:
    line: int
    nature: str
    reason: str
    kept: bool = False  # True: the line is published, only an optional label is missing

    def to_dict(self) -> dict:
        return {"line": self.line, "nature": self.nature, "reason": self.reason, "kept": self.kept}


@dataclass
class Conversion:
    """The SCDL rows of one document, the lines left out with why, and the document facts."""

    document: TotemDocument
    plan_name: str
    cells: list[tuple[str, ...]] = field(default_factory=list)  # each row's cells, in SCDL_COLUMNS order
    line_numbers: list[int] = field(default_factory=list)
    chapters_derived: int = 0
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return SCDL_STAGES[self.document.natdec]

    @property
    def rows(self) -> list[dict[str, str]]:
        """The rows by column name (made on each call: the CSV is written from ``cells``)."""
        return [dict(zip(SCDL_COLUMNS, cells)) for cells in self.cells]

    def csv_bytes(self) -> bytes:
        """The SCDL budget CSV of the rows (``scdl_csv_bytes``)."""
        return _csv_bytes(self.cells)


def _resolve(plan: PlanDeComptes, cont_nat: str, nature: str, cod_rd: str, op_budg: str, typ_op_budg: str) -> tuple:
    """What the plan gives a line's codes: (chapter or None, derived, chapter label, chapter section,
    account label, what the plan lacks, or why there is no chapter); the same for every line with them."""
    chapter, derived = cont_nat, False
    if not chapter:
        chapter, derived = plan.chapter_of(nature, cod_rd, op_budg, typ_op_budg), True
    if not chapter:
        return None, derived, "", "", "", (), (
            f"no ContNat and the plan de comptes {plan.name} gives account {nature} no chapter "
            f"for a {CODRD[cod_rd]} {OPBUDG[op_budg]}"
        )
    found = plan.chapter(chapter)
    chapter_label, chapter_section = (found.label, found.section) if found is not None else ("", "")
    account = plan.accounts.get(nature)
    missing = []
    if not chapter_label:
        missing.append(f"chapter {chapter}")
    if account is None or not account.label:
        missing.append(f"account {nature}")
    return chapter, derived, chapter_label, chapter_section, account.label if account else "", tuple(missing), None


class _FunctionLabels(dict):
    """Each function code's label in a plan ("" when unknown), looked up once per document."""

    def __init__(self, plan: PlanDeComptes):
        super().__init__()
        self.plan = plan

    def __missing__(self, code: str) -> str:
        label = self[code] = self.plan.function_label(code)
        return label


def convert_document(document: TotemDocument, plan: PlanDeComptes) -> Conversion:
    """Map every line of ``document`` with ``plan`` (the plan of its nomenclature and year)."""
    result = Conversion(document=document, plan_name=plan.name)
    header = document.header
    common = (SCDL_STAGES[document.natdec], header["Exer"], document.siret,
              header.get("LibelleColl") or header.get("LibelleEtab", ""))
    cells, numbers, problems = result.cells, result.line_numbers, result.problems
    resolved: dict[tuple, tuple] = {}  # what the plan gives, by the codes it depends on
    function_labels = _FunctionLabels(plan)
    amounts_text = _AmountTexts()
    derived_lines = 0
    for line in document.lines:
        number, nature, cont_nat, fonction, _, operation, cod_rd, op_budg, typ_op_budg, art_spe, _, section, amounts = line
        key = (cont_nat, nature, cod_rd, op_budg, typ_op_budg)
        found = resolved.get(key)
        if found is None:
            found = resolved[key] = _resolve(plan, *key)
        chapter, derived, chapter_label, chapter_section, account_label, missing, reason = found
        if chapter is None:
            problems.append(LineProblem(number, nature, reason, False))
            continue
        section = section or chapter_section
        if missing or not section:
            if not section:
                missing = (*missing, f"the section of chapter {chapter}")
            problems.append(LineProblem(
                number, nature, f"{' and '.join(missing)} not in the plan de comptes {plan.name}", False))
            continue
        function_label = function_labels[fonction] if fonction else ""
        if fonction and not function_label:
            problems.append(LineProblem(
                number, nature, f"function {fonction} not in the plan de comptes {plan.name}: published without its label",
                True))
        cells.append((
            *common, chapter, chapter_label, nature, account_label, fonction, function_label,
            operation, SECTIONS[section], OPBUDG[op_budg], CODRD[cod_rd],
            *map(amounts_text.__getitem__, amounts.values()), ARTSPE.get(art_spe, ""),
        ))
        numbers.append(number)
        derived_lines += derived
    result.chapters_derived = derived_lines
    return result


def convert_totem(data: bytes, plans: PlanResolver, max_bytes: int = DEFAULT_MAX_BYTES,
                  max_amount: Decimal | None = BUDGET_MAX_AMOUNT) -> Conversion:
    """TOTEM bytes -> SCDL conversion (raises TotemError or PlanError with the reason). The cyclic
    collector is paused meanwhile: the lines, rows and a plan's accounts make no cycle."""
    with collector_paused():
        document = read_totem(data, max_bytes, max_amount)
        plan = plans.get(*document.nomenclature, document.year)
        return convert_document(document, plan)


def scdl_csv_bytes(rows: list[dict[str, str]]) -> bytes:
    """The SCDL budget CSV of ``rows``, as ``load.public_files.csv_bytes`` writes it (every column is
    text, neutralised), with the standard ``csv`` module: the conversion path needs no pandas."""
    return _csv_bytes(list(map(_row_cells, rows)))


def _row_cells(row: dict[str, str]) -> tuple | list:
    try:
        return _CELLS(row)
    except KeyError:  # a row without some column: an empty cell there
        return [row.get(column) for column in SCDL_COLUMNS]


_CELLS = operator.itemgetter(*SCDL_COLUMNS)
_HEADER = ",".join(SCDL_COLUMNS) + "\n"


class _CsvCell(dict):
    """Each distinct cell as ``csv`` writes it, neutralised: quoted when it holds a comma, a quote or a
    line feed, its quotes doubled (a carriage return, which Python versions quote differently, never
    comes here: its document is written by ``csv`` itself)."""

    def __missing__(self, cell: str) -> str:
        text = neutralise(cell)
        if "," in text or '"' in text or "\n" in text:
            text = '"' + text.replace('"', '""') + '"'
        self[cell] = text
        return text


def _column_kind(column: tuple) -> str:
    """How a column's cells are written (checked on its cells joined by line feeds, in C): "plain" as they
    are, nothing to quote nor neutralise (most columns); "cells" through each distinct cell's written
    form; "csv" by ``csv`` itself (a carriage return, which Python versions quote differently). A formula's
    first character is looked for alone before at a cell's start: most columns hold none of them."""
    joined = "\n".join(column)  # TypeError: a cell that is not text
    if "\r" in joined:
        return "csv"
    if (joined.count("\n") == len(column) - 1 and "," not in joined and '"' not in joined
            and not joined.startswith(FORMULA_STARTS)
            and not any(start in joined and f"\n{start}" in joined for start in FORMULA_STARTS)):
        return "plain"
    return "cells"


def _csv_bytes(cells: list) -> bytes:
    """The CSV of rows of cells, column by column: a plain column is taken as it is, the others through
    each distinct cell's written form, and the rows are joined in C; a cell that is not text, or a
    carriage return, leaves the document to ``csv`` itself."""
    columns = list(zip(*cells))
    try:
        kinds = [_column_kind(column) for column in columns]
    except TypeError:
        kinds = ["csv"]
    if "csv" in kinds:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(SCDL_COLUMNS)
        writer.writerows([neutralise(cell) for cell in row] for row in cells)
        return buffer.getvalue().encode("utf-8")
    written = _CsvCell()
    columns = [column if kind == "plain" else list(map(written.__getitem__, column)) for column, kind in zip(columns, kinds)]
    rows = "\n".join(map(",".join, zip(*columns)))
    return (_HEADER + rows + "\n" if rows else _HEADER).encode("utf-8")
