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
import re
from dataclasses import dataclass, field
from decimal import Decimal

from core.config import BUDGET_MAX_AMOUNT
from core.csv_cells import FORMULA_STARTS, neutralise
from transform.totem_plans import PlanDeComptes, PlanResolver
from transform.totem_reader import (
    DEFAULT_MAX_BYTES,
    NATDEC_CODES,
    BudgetLine,
    TotemDocument,
    read_totem,
)

SCDL_COLUMNS = (
    "BGT_NATDEC", "BGT_ANNEE", "BGT_SIRET", "BGT_NOM", "BGT_CONTNAT", "BGT_CONTNAT_LABEL", "BGT_NATURE",
    "BGT_NATURE_LABEL", "BGT_FONCTION", "BGT_FONCTION_LABEL", "BGT_OPERATION", "BGT_SECTION", "BGT_OPBUDG",
    "BGT_CODRD", "BGT_MTREAL", "BGT_MTBUDGPREC", "BGT_MTRARPREC", "BGT_MTPROPNOUV", "BGT_MTPREV", "BGT_CREDOUV",
    "BGT_MTRAR3112", "BGT_ARTSPE",
)  # fmt: skip
AMOUNT_COLUMNS = {
    "MtReal": "BGT_MTREAL",
    "MtBudgPrec": "BGT_MTBUDGPREC",
    "MtRARPrec": "BGT_MTRARPREC",
    "MtPropNouv": "BGT_MTPROPNOUV",
    "MtPrev": "BGT_MTPREV",
    "CredOuv": "BGT_CREDOUV",
    "MtRAR3112": "BGT_MTRAR3112",
}
# The SCDL stage of each NatDec: the CFU is the compte administratif of the new regime.
SCDL_STAGES = {code: ("compte administratif" if code == "10" else label) for code, label in NATDEC_CODES.items()}
SECTIONS = {"F": "fonctionnement", "I": "investissement"}
OPBUDG = {"0": "réel", "1": "ordre"}
CODRD = {"R": "recette", "D": "dépense"}
ARTSPE = {"false": "non spécialisé", "true": "spécialisé"}


def amount_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


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
    rows: list[dict[str, str]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    chapters_derived: int = 0
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return SCDL_STAGES[self.document.natdec]


def _chapter(line: BudgetLine, plan: PlanDeComptes) -> tuple[str, bool]:
    if line.cont_nat:
        return line.cont_nat, False
    return plan.chapter_of(line.nature, line.cod_rd, line.op_budg, line.typ_op_budg), True


def _chapter_label(code: str, plan: PlanDeComptes) -> tuple[str, str]:
    chapter = plan.chapter(code)
    return (chapter.label, chapter.section) if chapter is not None else ("", "")


def convert_document(document: TotemDocument, plan: PlanDeComptes) -> Conversion:
    """Map every line of ``document`` with ``plan`` (the plan of its nomenclature and year)."""
    result = Conversion(document=document, plan_name=plan.name)
    header = document.header
    common = {
        "BGT_NATDEC": SCDL_STAGES[document.natdec],
        "BGT_ANNEE": header["Exer"],
        "BGT_SIRET": document.siret,
        "BGT_NOM": header.get("LibelleColl") or header.get("LibelleEtab", ""),
    }
    for line in document.lines:
        chapter, derived = _chapter(line, plan)
        if not chapter:
            result.problems.append(LineProblem(line.number, line.nature, (
                f"no ContNat and the plan de comptes {plan.name} gives account {line.nature} no chapter "
                f"for a {CODRD[line.cod_rd]} {OPBUDG[line.op_budg]}"
            )))
            continue
        chapter_label, chapter_section = _chapter_label(chapter, plan)
        account = plan.accounts.get(line.nature)
        missing = []
        if not chapter_label:
            missing.append(f"chapter {chapter}")
        if account is None or not account.label:
            missing.append(f"account {line.nature}")
        function_label = plan.function_label(line.fonction) if line.fonction else ""
        section = line.section or chapter_section
        if not section:
            missing.append(f"the section of chapter {chapter}")
        if missing:
            result.problems.append(LineProblem(
                line.number, line.nature, f"{' and '.join(missing)} not in the plan de comptes {plan.name}"
            ))
            continue
        if line.fonction and not function_label:
            result.problems.append(LineProblem(line.number, line.nature, (
                f"function {line.fonction} not in the plan de comptes {plan.name}: published without its label"
            ), kept=True))
        amounts = line.amounts
        result.rows.append({  # in SCDL_COLUMNS order
            **common,
            "BGT_CONTNAT": chapter,
            "BGT_CONTNAT_LABEL": chapter_label,
            "BGT_NATURE": line.nature,
            "BGT_NATURE_LABEL": account.label,
            "BGT_FONCTION": line.fonction,
            "BGT_FONCTION_LABEL": function_label,
            "BGT_OPERATION": line.operation,
            "BGT_SECTION": SECTIONS[section],
            "BGT_OPBUDG": OPBUDG[line.op_budg],
            "BGT_CODRD": CODRD[line.cod_rd],
            **{column: amount_text(amounts[source]) for source, column in AMOUNT_COLUMNS.items()},
            "BGT_ARTSPE": ARTSPE.get(line.art_spe, ""),
        })
        result.line_numbers.append(line.number)
        result.chapters_derived += derived
    return result


def convert_totem(data: bytes, plans: PlanResolver, max_bytes: int = DEFAULT_MAX_BYTES,
                  max_amount: Decimal | None = BUDGET_MAX_AMOUNT) -> Conversion:
    """TOTEM bytes -> SCDL conversion (raises TotemError or PlanError with the reason)."""
    document = read_totem(data, max_bytes, max_amount)
    plan = plans.get(*document.nomenclature, document.year)
    return convert_document(document, plan)


def scdl_csv_bytes(rows: list[dict[str, str]]) -> bytes:
    """The SCDL budget CSV of ``rows``, as ``load.public_files.csv_bytes`` writes it (every column is
    text, neutralised), with the standard ``csv`` module: the conversion path needs no pandas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SCDL_COLUMNS)
    writer.writerows(map(_csv_cells, rows))
    return buffer.getvalue().encode("utf-8")


_CELLS = operator.itemgetter(*SCDL_COLUMNS)
# A cell that could read as a formula follows a separator in the row's text (NUL is never in a cell
# read from XML; a false alarm only costs the cell-by-cell path).
_MAY_BE_FORMULA = re.compile("\x00[" + re.escape("".join(FORMULA_STARTS)) + "]")


def _csv_cells(row: dict[str, str]) -> tuple | list:
    """A row's cells in SCDL order, neutralised (``core.csv_cells.neutralise``) when one may need it."""
    try:
        cells = _CELLS(row)
    except KeyError:  # a row without some column: an empty cell there
        return [neutralise(row.get(column)) for column in SCDL_COLUMNS]
    try:
        if not _MAY_BE_FORMULA.search("\x00" + "\x00".join(cells)):
            return cells
    except TypeError:  # a cell that is not text: the cell-by-cell path
        pass
    return [neutralise(cell) for cell in cells]
