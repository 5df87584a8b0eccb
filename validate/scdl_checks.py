"""The SCDL custom checks ("custom_checks" of the national schemas) as frictionless checks.

data.gouv.fr validates SCDL files with Validata, which runs these checks on top of the Table
Schema constraints; digor runs the same checks before publishing so that a file it publishes is
also valid for data.gouv.fr. Empty cells are skipped by every check except cohesive-columns-value.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, List

import attrs
from frictionless import Check, errors

from core.identifiers import siret_is_valid

# Errors: one type per check, so reports carry the SCDL check name as error type.

_TEMPLATE = 'Row at position "{rowNumber}", field "{fieldName}": {note}'


class FrenchSiretValueError(errors.CellError):
    type = "french-siret-value"
    title = "Invalid SIRET"
    description = "The value is not a valid French SIRET number."
    template = _TEMPLATE


class YearIntervalValueError(errors.CellError):
    type = "year-interval-value"
    title = "Invalid year interval"
    description = "The value is not a YYYY/YYYY interval (or a YYYY year when allowed)."
    template = _TEMPLATE


class CohesiveColumnsValueError(errors.CellError):
    type = "cohesive-columns-value"
    title = "Incoherent columns"
    description = "These columns must be either all filled or all empty."
    template = _TEMPLATE


class CompareColumnsValueError(errors.CellError):
    type = "compare-columns-value"
    title = "Column comparison failed"
    description = "The value does not compare as required with another column."
    template = _TEMPLATE


class SumColumnsValueError(errors.CellError):
    type = "sum-columns-value"
    title = "Sum of columns mismatch"
    description = "The value is not the sum of the other columns."
    template = _TEMPLATE


class NomenclatureActesValueError(errors.CellError):
    type = "nomenclature-actes-value"
    title = "Unknown ACTES matter"
    description = "The value does not start with a level-1 label of the ACTES nomenclature."
    template = _TEMPLATE


SCDL_ERRORS = (
    FrenchSiretValueError,
    YearIntervalValueError,
    CohesiveColumnsValueError,
    CompareColumnsValueError,
    SumColumnsValueError,
    NomenclatureActesValueError,
)

# Helpers


def _is_empty(row: Any, column: str) -> bool:
    """True when the cell has no text, or failed its type (no value: how validata-table judges it)."""
    value = row[column]
    return value is None or (isinstance(value, str) and not value.strip())


def _filled(row: Any, column: str) -> Any:
    """The parsed value of a filled cell, else None (empty or already a type error)."""
    value = row[column]
    if isinstance(value, str) and not value.strip():
        return None
    return value


@attrs.define(kw_only=True, repr=False)
class _ScdlCheck(Check):
    """Base: report a check-error, not a crash, when a column is missing from the schema."""

    missing_columns: List[str] = attrs.field(factory=list, init=False)

    def columns(self) -> list[str]:
        raise NotImplementedError

    def check_row(self, row: Any) -> Iterable[errors.Error]:
        raise NotImplementedError

    def connect(self, resource: Any) -> None:
        super().connect(resource)
        names = set(resource.schema.field_names)
        self.missing_columns = [column for column in self.columns() if column not in names]

    def validate_start(self) -> Iterable[errors.Error]:
        if self.missing_columns:
            missing = ", ".join(self.missing_columns)
            note = f'check "{self.type}" needs the column(s) {missing}, absent from the schema'
            yield errors.CheckError(note=note)

    def validate_row(self, row: Any) -> Iterable[errors.Error]:
        if not self.missing_columns:
            yield from self.check_row(row)


# french-siret-value

@attrs.define(kw_only=True, repr=False)
class french_siret_value(_ScdlCheck):
    type = "french-siret-value"
    Errors = [FrenchSiretValueError]

    column: str

    def columns(self) -> list[str]:
        return [self.column]

    def check_row(self, row):
        value = _filled(row, self.column)
        if value is not None and not siret_is_valid(str(value)):
            note = f'"{value}" is not a valid SIRET (14 digits with a correct check digit)'
            yield FrenchSiretValueError.from_row(row, note=note, field_name=self.column)


# year-interval-value

_YEAR = re.compile(r"^\d{4}$")
_YEAR_INTERVAL = re.compile(r"^(\d{4})/(\d{4})$")


@attrs.define(kw_only=True, repr=False)
class year_interval_value(_ScdlCheck):
    type = "year-interval-value"
    Errors = [YearIntervalValueError]

    column: str
    allow_year_only: bool = False

    def columns(self) -> list[str]:
        return [self.column]

    def _problem(self, value: str) -> str | None:
        if self.allow_year_only and _YEAR.match(value):
            return None
        match = _YEAR_INTERVAL.match(value)
        if not match:
            expected = "YYYY or YYYY/YYYY" if self.allow_year_only else "YYYY/YYYY"
            return f'"{value}" is not a year interval ({expected})'
        if int(match[1]) >= int(match[2]):
            return f'"{value}": the first year must be before the second one'
        return None

    def check_row(self, row):
        value = _filled(row, self.column)
        if value is None:
            return
        problem = self._problem(str(value).strip())
        if problem:
            yield YearIntervalValueError.from_row(row, note=problem, field_name=self.column)


# cohesive-columns-value


@attrs.define(kw_only=True, repr=False)
class cohesive_columns_value(_ScdlCheck):
    type = "cohesive-columns-value"
    Errors = [CohesiveColumnsValueError]

    column: str
    othercolumns: List[str]

    def columns(self) -> list[str]:
        return [self.column, *self.othercolumns]

    def check_row(self, row):
        names = self.columns()
        empty = [name for name in names if _is_empty(row, name)]
        if empty and len(empty) < len(names):
            note = (
                f"columns {', '.join(names)} must be all filled or all empty; "
                f"empty here: {', '.join(empty)}"
            )
            yield CohesiveColumnsValueError.from_row(row, note=note, field_name=self.column)


# compare-columns-value

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return None if number.is_nan() else number


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Dates compare as dates, numbers as numbers, anything else as strings."""
    left_date, right_date = _as_date(left), _as_date(right)
    if left_date is not None and right_date is not None:
        return left_date, right_date
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return left_number, right_number
    return str(left), str(right)


@attrs.define(kw_only=True, repr=False)
class compare_columns_value(_ScdlCheck):
    type = "compare-columns-value"
    Errors = [CompareColumnsValueError]

    column: str
    op: str = attrs.field(validator=attrs.validators.in_(list(_OPERATORS)))
    column2: str

    def columns(self) -> list[str]:
        return [self.column, self.column2]

    def check_row(self, row):
        left, right = _filled(row, self.column), _filled(row, self.column2)
        if left is None or right is None:
            return
        if not _OPERATORS[self.op](*comparable(left, right)):
            note = f'{self.column} "{left}" must be {self.op} {self.column2} "{right}"'
            yield CompareColumnsValueError.from_row(row, note=note, field_name=self.column)


# sum-columns-value


@attrs.define(kw_only=True, repr=False)
class sum_columns_value(_ScdlCheck):
    type = "sum-columns-value"
    Errors = [SumColumnsValueError]

    column: str
    columns_to_sum: List[str]

    def columns(self) -> list[str]:
        return [self.column, *self.columns_to_sum]

    def check_row(self, row):
        numbers = [_as_number(_filled(row, name)) for name in self.columns()]
        if any(_filled(row, name) is None for name in self.columns()) or None in numbers:
            return
        total, parts = numbers[0], numbers[1:]
        if total != sum(parts):
            terms = " + ".join(f"{name} ({number})" for name, number in zip(self.columns_to_sum, parts))
            note = f'{self.column} "{total}" is not the sum {terms} = {sum(parts)}'
            yield SumColumnsValueError.from_row(row, note=note, field_name=self.column)


# nomenclature-actes-value

ACTES_LEVEL1_LABELS = (
    "Commande publique",
    "Urbanisme",
    "Domaine et patrimoine",
    "Fonction publique",
    "Institutions et vie politique",
    "Libertés publiques et pouvoirs de police",
    "Finances locales",
    "Domaines de compétences par thèmes",
    "Autres domaines de compétences",
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


_FOLDED_LEVEL1 = frozenset(_fold(label) for label in ACTES_LEVEL1_LABELS)


def nomenclature_problem(value: str) -> str | None:
    """Why `value` is not "<ACTES level-1 label>/<level 2>", or None when it is."""
    if "/" not in value:
        return f'"{value}" has no "/" between the ACTES level-1 and level-2 labels'
    level1 = value.split("/", 1)[0]
    if _fold(level1) not in _FOLDED_LEVEL1:
        return f'"{level1.strip()}" (in "{value}") is not an ACTES level-1 matter label'
    return None


@attrs.define(kw_only=True, repr=False)
class nomenclature_actes_value(_ScdlCheck):
    type = "nomenclature-actes-value"
    Errors = [NomenclatureActesValueError]

    column: str

    def columns(self) -> list[str]:
        return [self.column]

    def check_row(self, row):
        value = _filled(row, self.column)
        if value is None:
            return
        problem = nomenclature_problem(str(value))
        if problem:
            yield NomenclatureActesValueError.from_row(row, note=problem, field_name=self.column)


# Factory


def _yes(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"yes", "oui", "true", "1"}


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


_FACTORIES: dict[str, Callable[[dict], Check]] = {
    "french-siret-value": lambda p: french_siret_value(column=p["column"]),
    "year-interval-value": lambda p: year_interval_value(
        column=p["column"], allow_year_only=_yes(p.get("allow-year-only", "no"))
    ),
    "cohesive-columns-value": lambda p: cohesive_columns_value(
        column=p["column"], othercolumns=_list(p["othercolumns"])
    ),
    "compare-columns-value": lambda p: compare_columns_value(
        column=p["column"], op=p["op"], column2=p["column2"]
    ),
    "sum-columns-value": lambda p: sum_columns_value(
        column=p["column"], columns_to_sum=_list(p["columns"])
    ),
    "nomenclature-actes-value": lambda p: nomenclature_actes_value(column=p["column"]),
}

CHECK_NAMES = tuple(_FACTORIES)


def checks_from_descriptor(descriptor: dict) -> list[Check]:
    """Instantiate the `custom_checks` of a schema descriptor (none when absent)."""
    checks: list[Check] = []
    for position, spec in enumerate(descriptor.get("custom_checks") or [], start=1):
        name = spec.get("name")
        if name not in _FACTORIES:
            raise ValueError(
                f"custom check #{position} {name!r} is unknown; known checks: {', '.join(CHECK_NAMES)}"
            )
        try:
            checks.append(_FACTORIES[name](spec.get("params") or {}))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"custom check #{position} {name!r} has bad params: {exc}") from exc
    return checks
