"""Validate a table (CSV, Parquet or DataFrame) against one of digor's schemas.

Every output file is validated before it is published. All inputs are turned into a stream
of string rows (dates as ISO, missing values as "") so that a CSV, a Parquet file and an
in-memory DataFrame are judged by exactly the same frictionless rules and SCDL checks.

Frictionless reads every cell in Python: on large tables it sees only the rows that
``validate.columnar`` could not clear column-wise (and the header), so the findings and
their messages are frictionless' and the SCDL checks', built for failing rows only.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import math
import numbers
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Checklist, Resource, Schema
from frictionless import errors as ferrors

from core.schema_files import load_schema_descriptor, resolve_schema
from validate.columnar import suspect_rows
from validate.scdl_checks import SCDL_ERRORS, checks_from_descriptor

DEFAULT_MAX_ERRORS = 1_000_000
_PARQUET_SUFFIXES = {".parquet", ".pq"}
CSV_BLOCK_BYTES = 1 << 24  # of a CSV file read column-wise at a time
_NOT_TABLE_SCHEMA_KEYS = {"custom_checks", "$comment", "$schema"}
_TYPE_NOTE = re.compile(r'^type is "(\w+)/([^"]+)"$')


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem found in a table, small enough to keep hundreds of thousands."""

    row_index: int | None
    field: str | None
    code: str
    message: str


@dataclass
class TableReport:
    """Outcome of validating one table; `truncated` when more than max_errors were found."""

    source: str
    schema: str
    rows: int
    errors: list[RowError]
    truncated: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors

    def invalid_rows(self) -> set[int]:
        return {error.row_index for error in self.errors if error.row_index is not None}

    def errors_by_row(self) -> dict[int, list[RowError]]:
        grouped: dict[int, list[RowError]] = {}
        for error in self.errors:
            if error.row_index is not None:
                grouped.setdefault(error.row_index, []).append(error)
        return grouped

    def to_text(self, limit: int = 50) -> str:
        status = "VALID" if self.valid else "INVALID"
        lines = [
            f"{self.source}: {status} against schema {self.schema}",
            f"{self.rows} data rows, {len(self.errors)} errors"
            f"{' (stopped counting)' if self.truncated else ''}, {len(self.invalid_rows())} invalid rows",
        ]
        if self.errors:
            lines.append("Row numbers count data rows from 1 (the header row is not counted).")
        for error in self.errors[:limit]:
            where = "file/header" if error.row_index is None else f"row {error.row_index + 1}"
            column = f", field {error.field}" if error.field else ""
            lines.append(f"  {where}{column} [{error.code}]: {error.message}")
        if len(self.errors) > limit:
            lines.append(f"  ... and {len(self.errors) - limit} more errors")
        return "\n".join(lines)


# Conversion of frictionless errors


def _message(error: ferrors.Error) -> str:
    """A message naming the value, without frictionless' physical row numbers."""
    if isinstance(error, SCDL_ERRORS):
        return error.note
    if isinstance(error, ferrors.CellError):
        if error.type == "constraint-error" and error.note.startswith('constraint "required"'):
            return "a value is required"
        typed = _TYPE_NOTE.match(error.note) if error.type == "type-error" else None
        if typed:
            kind, fmt = typed.groups()
            return f'"{error.cell}" is not a valid {kind}' + ("" if fmt == "default" else f" ({fmt})")
        detail = f": {error.note}" if error.note else ""
        return f'{error.title.lower()} for value "{error.cell}"{detail}'
    if isinstance(error, ferrors.LabelError):
        return f'{error.title.lower()} "{error.label}"{": " + error.note if error.note else ""}'
    return f"{error.title}: {error.note}" if error.note else error.title


def _row_error(error: ferrors.Error, positions: np.ndarray | None = None) -> RowError:
    """``positions``: the table's row index of each row frictionless saw, when it saw a selection."""
    row_number = getattr(error, "row_number", None)
    index = row_number - 2 if isinstance(row_number, int) else None
    if index is not None and positions is not None:
        index = int(positions[index])
    return RowError(
        row_index=index,
        field=getattr(error, "field_name", None) or None,
        code=error.type,
        message=_message(error),
    )


@attrs.define(kw_only=True, repr=False)
class _CollectingChecklist(Checklist):
    """Checklist that converts each error as it is found and keeps none in frictionless.

    A frictionless report keeps a copy of the whole row in every error (about 3 KB each) and
    recomputes the checklist scope on every match; converting on the fly keeps memory and time
    reasonable on 500k-row files with many errors.
    """

    sink: Callable[[ferrors.Error], None] = attrs.field(default=lambda _: None)

    def match(self, error: ferrors.Error) -> bool:
        self.sink(error)
        return False


# Sources as streams of string rows


def cell_text(value: Any) -> str:
    """Text of a cell: missing -> "", dates ISO, integral floats without ".0"."""
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return ""
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Stream:
    """Header + rows of strings from a source; records read problems as file-level errors."""

    def __init__(self, rows: Callable[[], Iterable[list[str]]]):
        self._rows = rows
        self.count = 0
        self.problems: list[RowError] = []

    def __call__(self) -> Iterator[list[str]]:
        self.count = 0
        first = True
        try:
            for row in self._rows():
                if not first:
                    self.count += 1
                first = False
                yield row
        except UnicodeDecodeError as exc:
            self.problems.append(
                RowError(None, None, "encoding-error", f"not UTF-8 after data row {self.count}: {exc}")
            )
        except csv.Error as exc:
            self.problems.append(
                RowError(None, None, "source-error", f"unreadable CSV after data row {self.count}: {exc}")
            )


def _delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
        yield from csv.reader(itertools.chain([header], handle), delimiter=_delimiter(header))


_QUOTE, _LINE_FEED, _CARRIAGE_RETURN, _NUL = (ord(c) for c in '"\n\r\0')


def csv_record_count(path: Path) -> int | None:
    """The records (the header's too) that ``_csv_rows`` reads in a file, counted from where its quotes and
    line feeds are, a block at a time, without reading a cell: a line feed ends a record where the quotes
    before it are even in number. None unless that rule is the reader's: every quote opening a field at
    its start or doubling a quote, every other one followed by a quote, a delimiter, a line feed or the
    end; no carriage return, no NUL, no record longer than ``csv`` allows a field, no quote left open."""
    with path.open("rb") as handle:
        head = handle.readline()
        try:
            delimiter = ord(_delimiter(head.decode("utf-8-sig")))
        except UnicodeDecodeError:
            return None
        handle.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
        limit, separators = csv.field_size_limit(), (delimiter, _LINE_FEED, _QUOTE)
        records, quotes, offset = 0, 0, handle.tell()
        previous, last_end, closing_at_end = _LINE_FEED, offset - 1, False  # the start is a record's
        while block := handle.read(CSV_BLOCK_BYTES):
            data = np.frombuffer(block, dtype=np.uint8)
            if closing_at_end and data[0] not in separators:
                return None
            if (data == _CARRIAGE_RETURN).any() or (data == _NUL).any():
                return None
            at = np.flatnonzero(data == _QUOTE)
            opening = (quotes + np.arange(len(at))) % 2 == 0
            before = data[np.maximum(at - 1, 0)]
            before[at == 0] = previous
            after = data[np.minimum(at + 1, len(data) - 1)]
            after[at == len(data) - 1] = _QUOTE  # past the block: checked with the next one
            if not (np.isin(before[opening], separators).all() and np.isin(after[~opening], separators).all()):
                return None
            closing_at_end = len(at) > 0 and at[-1] == len(data) - 1 and not opening[-1]
            lines = np.flatnonzero(data == _LINE_FEED)
            ends = lines[(quotes + np.searchsorted(at, lines)) % 2 == 0]  # not inside a quoted cell
            if len(ends) and np.diff(ends, prepend=last_end - offset).max() > limit:
                return None
            records += len(ends)
            last_end = offset + int(ends[-1]) if len(ends) else last_end
            quotes += len(at)
            previous = int(data[-1])
            offset += len(data)
    if quotes % 2 or offset - last_end > limit:
        return None
    return records + (previous != _LINE_FEED)


def _parquet_rows(path: Path) -> Iterator[list[str]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    yield list(parquet.schema_arrow.names)
    for batch in parquet.iter_batches(batch_size=10_000):
        columns = [column.to_pylist() for column in batch.columns]
        for values in zip(*columns):
            yield [cell_text(value) for value in values]


def _dataframe_rows(frame: pd.DataFrame) -> Iterator[list[str]]:
    yield [str(name) for name in frame.columns]
    for values in frame.itertuples(index=False, name=None):
        yield [cell_text(value) for value in values]


def _text_column(values: list) -> pa.Array:
    """A column as ``cell_text`` writes it, without a Python call per cell for plain columns."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        return pc.fill_null(pa.array(values, pa.string()), "")
    if kinds <= {int, type(None)}:
        return pc.fill_null(pc.cast(pa.array(values, pa.int64()), pa.string()), "")
    return pa.array([value if type(value) is str else cell_text(value) for value in values], pa.string())


def _text_table(source: Path | str | pd.DataFrame) -> pa.Table | None:
    """A frame or Parquet file as a table of the very strings its row stream yields; None when it cannot
    be read column-wise (a CSV file: ``_csv_suspects``)."""
    try:
        if isinstance(source, pd.DataFrame):
            names = [str(name) for name in source.columns]
            if len(set(names)) != len(names):
                return None
            return pa.table([_text_column(source.iloc[:, i].tolist()) for i in range(source.shape[1])], names=names)
        import pyarrow.parquet as pq

        table = pq.read_table(Path(source))
        return pa.table([_text_column(column.to_pylist()) for column in table.columns], names=table.column_names)
    except (pa.ArrowException, OSError, ValueError, TypeError, OverflowError):
        return None


def _csv_options(path: Path) -> dict | None:
    """pyarrow's CSV options reading every cell as the text the row reader yields; None: duplicate names."""
    import pyarrow.csv as pacsv

    with path.open("rb") as handle:
        head = handle.readline().decode("utf-8-sig")
    delimiter = _delimiter(head)
    names = next(csv.reader([head], delimiter=delimiter), [])
    if len(set(names)) != len(names):
        return None
    return {
        "read_options": pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
        "parse_options": pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
        "convert_options": pacsv.ConvertOptions(column_types={name: pa.string() for name in names},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
    }


def _csv_suspects(path: Path, descriptor: dict) -> np.ndarray | None:
    """``suspect_rows`` of a CSV file read a block at a time: each check judges a row by its own cells, so
    the memory follows the block, not the file (a national DECP year's table); None as ``suspect_rows``,
    or when the file cannot be read column-wise (the row reader then reports what is wrong)."""
    import pyarrow.csv as pacsv

    try:
        options = _csv_options(path)
        if options is None:
            return None
        parts = []
        with pacsv.open_csv(path, **options) as reader:
            for batch in reader:
                part = suspect_rows(pa.Table.from_batches([batch]), descriptor)
                if part is None:
                    return None
                parts.append(part)
            if not parts:
                return suspect_rows(reader.schema.empty_table(), descriptor)
        return np.concatenate(parts)
    except (pa.ArrowException, OSError, ValueError, TypeError, OverflowError):
        return None


class _Mismatch(Exception):
    """The row reader saw another number of rows than the column reader: judge every row."""


def _selected_rows(rows: Callable[[], Iterable[list[str]]], positions: np.ndarray, expected: int,
                   counted: bool = False) -> Callable[[], Iterator[list[str]]]:
    """The header and the rows at ``positions`` of a row stream (checking it has ``expected`` rows, unless
    ``counted``: they were, by ``csv_record_count``; the stream is then read up to the last row wanted)."""
    def selected() -> Iterator[list[str]]:
        wanted = iter(positions.tolist())
        target = next(wanted, None)
        count = -1
        for count, row in enumerate(rows(), start=-1):
            if count == -1 or count == target:
                yield row
                if count == target:
                    target = next(wanted, None)
            if counted and target is None:
                return
        if count + 1 != expected:
            raise _Mismatch
    return selected


def _table_rows(table: pa.Table, positions: np.ndarray) -> Callable[[], Iterator[list[str]]]:
    def selected() -> Iterator[list[str]]:
        yield list(table.column_names)
        chosen = table.take(pa.array(positions, pa.int64()))
        yield from (list(values) for values in zip(*(column.to_pylist() for column in chosen.columns)))
    return selected


def _open_source(source: Path | str | pd.DataFrame) -> tuple[str, Callable[[], Iterable[list[str]]]]:
    if isinstance(source, pd.DataFrame):
        return "<dataframe>", lambda: _dataframe_rows(source)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no table to validate at {path}")
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return str(path), lambda: _parquet_rows(path)
    return str(path), lambda: _csv_rows(path)


# Entry point


def table_schema(descriptor: dict) -> Schema:
    """frictionless Schema of a descriptor, without digor/SCDL extension keys."""
    return Schema.from_descriptor({k: v for k, v in descriptor.items() if k not in _NOT_TABLE_SCHEMA_KEYS})


def validate_table(
    source: Path | str | pd.DataFrame,
    schema: str | Path,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> TableReport:
    """Validate every row of `source` against `schema` (name[@version] or path) and its custom checks."""
    descriptor = load_schema_descriptor(schema)
    _, schema_label = resolve_schema(schema)
    label, rows = _open_source(source)
    csv_file = not isinstance(source, pd.DataFrame) and Path(source).suffix.lower() not in _PARQUET_SUFFIXES
    if csv_file:
        suspects = _csv_suspects(Path(source), descriptor)
    else:
        text = _text_table(source)
        suspects = suspect_rows(text, descriptor) if text is not None else None
    if suspects is None:
        return _frictionless(label, schema_label, descriptor, rows, None, None, max_errors)
    positions = np.flatnonzero(suspects)
    if csv_file:  # counted without reading every row again when it can: a national DECP year's are 500,000
        selected = _selected_rows(rows, positions, len(suspects),
                                  csv_record_count(Path(source)) == len(suspects) + 1)
    else:
        selected = _table_rows(text, positions)
    try:
        return _frictionless(label, schema_label, descriptor, selected, positions, len(suspects), max_errors)
    except _Mismatch:
        return _frictionless(label, schema_label, descriptor, rows, None, None, max_errors)


def _frictionless(label: str, schema_label: str, descriptor: dict, rows: Callable[[], Iterable[list[str]]],
                  positions: np.ndarray | None, total: int | None, max_errors: int) -> TableReport:
    """Run frictionless and the SCDL checks over ``rows`` (all of them, or the rows at ``positions``
    of a table of ``total`` rows)."""
    stream = _Stream(rows)
    found: list[RowError] = []
    dropped = 0

    def sink(error: ferrors.Error) -> None:
        nonlocal dropped
        if len(found) < max_errors:
            found.append(_row_error(error, positions))
        else:
            dropped += 1

    checklist = _CollectingChecklist(checks=checks_from_descriptor(descriptor), sink=sink)
    resource = Resource(data=stream, schema=table_schema(descriptor), format="inline")
    report = resource.validate(checklist, limit_errors=0)
    for task in report.tasks:
        for error in task.errors:
            sink(error)
    found.extend(stream.problems)
    return TableReport(
        source=label,
        schema=schema_label,
        rows=stream.count if total is None else total,
        errors=found,
        truncated=dropped > 0,
    )
