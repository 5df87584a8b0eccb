"""Which rows of a table might break its schema, judged column by column (pyarrow compute, numpy).

``validate.table_validator`` hands frictionless and the SCDL checks only the rows found here
(and the header), so that the messages are theirs and are built for failing rows only. The
rule is one-sided: a row is left out only when every cell is *surely* valid (a strict form of
its type that frictionless accepts, every constraint and custom check met); anything unsure
(an unusual number or date spelling, a regular expression RE2 cannot run, a custom check on
types it does not know) marks the row, or the whole column, for frictionless to judge. So the
findings are those of a full frictionless run, whatever this module misses or over-flags.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from validate.scdl_checks import ACTES_LEVEL1_LABELS, _fold

# Strict spellings of each type that frictionless reads as valid (anything else goes to it).
_INTEGER = r"^-?[0-9]{1,18}$"
_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_YEAR = r"^[0-9]{4}$"
_URI = r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
_BOOLEANS = ["true", "True", "TRUE", "1", "false", "False", "FALSE", "0"]
_SIGNIFICANT = 15  # digits a float compares exactly with


class Unsure(Exception):
    """A column or check this module cannot judge: every row goes to frictionless."""


def _matches(column: pa.Array, pattern: str) -> np.ndarray:
    try:
        return pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False).astype(bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Unsure(pattern) from None


def _empty(column: pa.Array) -> np.ndarray:
    return pc.equal(column, "").to_numpy(zero_copy_only=False).astype(bool)


def _blank(column: pa.Array) -> np.ndarray:
    """No text at all once stripped (how the SCDL checks see an empty string cell)."""
    return pc.equal(pc.utf8_trim_whitespace(column), "").to_numpy(zero_copy_only=False).astype(bool)


def _short_numbers(column: pa.Array) -> np.ndarray:
    digits = pc.utf8_length(pc.replace_substring_regex(column, r"[^0-9]", ""))
    return pc.less_equal(digits, _SIGNIFICANT).to_numpy(zero_copy_only=False).astype(bool)


class _Field:
    """One column's text, what frictionless would read from it, and whether each cell surely passes."""

    def __init__(self, spec: dict, column: pa.Array):
        self.name = spec["name"]
        self.type = spec.get("type", "string")
        self.text = column
        self.empty = _empty(column)
        self.ok = self._typed(spec.get("format", "default"))
        self._constrained(spec.get("constraints") or {})

    def _typed(self, fmt: str) -> np.ndarray:
        filled = ~self.empty
        text = pc.if_else(pa.array(self.empty), "0", self.text) if self.type in ("integer", "number", "year") else self.text
        if self.type == "string":
            if fmt == "uri":
                return self.empty | _matches(self.text, _URI)
            if fmt != "default":
                raise Unsure(fmt)
            return np.ones(len(self.text), dtype=bool)
        if self.type == "integer":
            ok = _matches(text, _INTEGER)
            self.value = np.where(ok, pc.cast(pc.if_else(pa.array(ok), text, "0"), pa.int64()).to_numpy(), 0)
        elif self.type == "number":
            ok = _matches(text, _NUMBER)
            self.value = np.where(ok, pc.cast(pc.if_else(pa.array(ok), text, "0"), pa.float64()).to_numpy(), 0.0)
        elif self.type == "year":
            ok = _matches(text, _YEAR)
            self.value = np.where(ok, pc.cast(pc.if_else(pa.array(ok), text, "0"), pa.int64()).to_numpy(), 0)
        elif self.type == "date" and fmt in ("default", "%Y-%m-%d"):
            shaped = _matches(self.text, _DATE)
            parsed = pc.strptime(pc.if_else(pa.array(shaped), self.text, "2000-01-01"), format="%Y-%m-%d",
                                 unit="s", error_is_null=True)
            real = pc.is_valid(parsed).to_numpy(zero_copy_only=False).astype(bool)
            self.value = pc.cast(parsed, pa.date32())
            # strptime is lenient about some impossible days: the date must print back as written (a date's
            # cast to text is strftime's "%Y-%m-%d" for every four-digit year, some 25 times faster)
            printed = pc.cast(self.value, pa.string())
            same = pc.fill_null(pc.equal(printed, self.text), False).to_numpy(zero_copy_only=False).astype(bool)
            ok = shaped & real & same
        elif self.type == "boolean":
            ok = pc.is_in(self.text, value_set=pa.array(_BOOLEANS)).to_numpy(zero_copy_only=False).astype(bool)
        else:
            raise Unsure(self.type)
        return self.empty | (filled & ok)

    def _constrained(self, constraints: dict) -> None:
        filled = ~self.empty
        for name, expected in constraints.items():
            if name == "required":
                if expected:
                    self.ok &= filled
            elif name == "pattern" and self.type == "string":
                self.ok &= self.empty | _matches(self.text, f"^(?:{expected})$")
            elif name == "enum" and self.type == "string":
                member = pc.is_in(self.text, value_set=pa.array([str(v) for v in expected])).to_numpy(
                    zero_copy_only=False).astype(bool)
                self.ok &= self.empty | member
            elif name in ("minLength", "maxLength") and self.type == "string":
                length = pc.utf8_length(self.text).to_numpy(zero_copy_only=False)
                self.ok &= self.empty | (length >= expected if name == "minLength" else length <= expected)
            elif name in ("minimum", "maximum") and self.type in ("integer", "number", "year"):
                bound = float(expected)
                within = self.value >= bound if name == "minimum" else self.value <= bound
                if self.type == "number":
                    within &= _short_numbers(self.text)
                self.ok &= self.empty | within
            else:
                raise Unsure(name)


def _number_pair(left: _Field, right: _Field) -> tuple[np.ndarray, np.ndarray]:
    if left.type != "integer" or right.type != "integer":
        raise Unsure("comparison of other types than integers or dates")
    return left.value, right.value


def _custom(check: dict, fields: dict[str, _Field], rows: int) -> np.ndarray:
    """Rows that surely pass one custom check (given their cells passed their types)."""
    name, params = check.get("name"), check.get("params") or {}
    if name == "french-siret-value":
        field = fields[params["column"]]
        return _blank(field.text) | _siret_ok(field.text)
    if name == "year-interval-value":
        field = fields[params["column"]]
        interval = _matches(field.text, r"^[0-9]{4}/[0-9]{4}$")
        starts = pc.cast(pc.utf8_slice_codeunits(pc.if_else(pa.array(interval), field.text, "0000/0001"), 0, 4),
                         pa.int64()).to_numpy()
        ends = pc.cast(pc.utf8_slice_codeunits(pc.if_else(pa.array(interval), field.text, "0000/0001"), 5, 9),
                       pa.int64()).to_numpy()
        ok = interval & (starts < ends)
        if str(params.get("allow-year-only", "no")).strip().lower() in {"yes", "oui", "true", "1"}:
            ok |= _matches(field.text, _YEAR)
        return _blank(field.text) | ok
    if name == "cohesive-columns-value":
        names = [params["column"], *([params["othercolumns"]] if isinstance(params["othercolumns"], str)
                                     else params["othercolumns"])]
        empties = np.stack([_blank(fields[n].text) if fields[n].type == "string" else fields[n].empty for n in names])
        return empties.all(axis=0) | ~empties.any(axis=0)
    if name == "compare-columns-value":
        left, right = fields[params["column"]], fields[params["column2"]]
        either_empty = _blank(left.text) | _blank(right.text)
        if left.type == "date" and right.type == "date":
            compared = {"<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal,
                        "==": pc.equal}[params["op"]](left.value, right.value)
            return either_empty | pc.fill_null(compared, False).to_numpy(zero_copy_only=False).astype(bool)
        a, b = _number_pair(left, right)
        compared = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                    "==": np.equal}[params["op"]](a, b)
        return either_empty | compared
    if name == "sum-columns-value":
        names = [params["column"], *([params["columns"]] if isinstance(params["columns"], str) else params["columns"])]
        if any(fields[n].type != "integer" for n in names):
            raise Unsure("sum of other types than integers")
        any_empty = np.stack([_blank(fields[n].text) for n in names]).any(axis=0)
        total = fields[names[0]].value
        parts = sum(fields[n].value for n in names[1:])
        return any_empty | (total == parts)
    if name == "nomenclature-actes-value":
        field = fields[params["column"]]
        unique = pc.unique(field.text).to_pylist()
        good = [value for value in unique if value.strip() and "/" in value
                and _fold(value.split("/", 1)[0]) in _FOLDED_LEVEL1]
        member = pc.is_in(field.text, value_set=pa.array(good, type=pa.string())).to_numpy(zero_copy_only=False)
        return _blank(field.text) | member.astype(bool)
    raise Unsure(str(name))


_FOLDED_LEVEL1 = frozenset(_fold(label) for label in ACTES_LEVEL1_LABELS)
_LA_POSTE = re.escape("356000000")


def _luhn(digits: np.ndarray) -> np.ndarray:
    """Luhn check of each row of a (rows, n) array of digits."""
    weights = np.where(np.arange(digits.shape[1])[::-1] % 2 == 1, 2, 1)
    doubled = digits * weights
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    return doubled.sum(axis=1) % 10 == 0


def _siret_ok(column: pa.Array) -> np.ndarray:
    """14 ASCII digits passing Luhn, their SIREN too; La Poste's offices (another rule) go to frictionless."""
    shaped = _matches(column, r"^[0-9]{14}$") & ~_matches(column, f"^{_LA_POSTE}")
    text = pc.if_else(pa.array(shaped), column, "00000000000000")
    raw = np.frombuffer("".join(text.to_pylist()).encode("ascii"), dtype=np.uint8)
    digits = (raw - ord("0")).reshape(-1, 14).astype(np.int64)
    return shaped & _luhn(digits) & _luhn(digits[:, :9])


def suspect_rows(table: pa.Table, descriptor: dict) -> np.ndarray | None:
    """True for each row frictionless must see; None when the whole table must go to it
    (header not the schema's fields in order, a type or check this module does not know)."""
    specs = descriptor.get("fields") or []
    if table.column_names != [spec["name"] for spec in specs]:
        return None
    rows = table.num_rows
    try:
        fields = {spec["name"]: _Field(spec, table.column(spec["name"]).combine_chunks()) for spec in specs}
        ok = np.ones(rows, dtype=bool)
        for field in fields.values():
            ok &= field.ok
        ok &= ~np.stack([field.empty for field in fields.values()]).all(axis=0) if fields else ok
        for check in descriptor.get("custom_checks") or []:
            ok &= _custom(check, fields, rows)
    except (Unsure, KeyError, TypeError, ValueError, pa.ArrowInvalid):
        return None
    return ~ok
