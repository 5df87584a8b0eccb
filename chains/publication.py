"""Validated before published: every regional table goes through here, whatever the chain.

Invalid rows are left out (and returned, for the quarantine and the run report); the exact
CSV bytes are then validated again, and a file still failing is not published at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.config import Settings
from core.schema_files import load_schema_descriptor
from core.store import ObjectStore, table_to_parquet_bytes
from load.public_files import (
    PreparedTable,
    PublishedFile,
    csv_bytes,
    csv_chunk,
    prepare_table,
    table_records,
    text_columns,
    typed_batch,
    write_prepared,
)
from load.versions import texts_fingerprint
from load.year_parts import BodyRows, row_keys
from transform.schema_shape import shape_for_schema
from validate.table_validator import TableReport, validate_table


class PublicationRefused(RuntimeError):
    """A file that fails validation after row quarantine: nothing is swapped in."""


def _validate_bytes(data: bytes | Path, schema: str, key: str) -> TableReport:
    if isinstance(data, Path):  # a table prepared on disk: validated where it is
        return validate_table(data, schema)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(key).name
        path.write_bytes(data)
        return validate_table(path, schema)


def publish_table(
    store: ObjectStore, frame: pd.DataFrame, base_key: str, schema: str, *,
    versioned: bool = False, slot: str | None = None,
) -> tuple[list[PublishedFile], TableReport]:
    """Quarantine invalid rows, check the exact CSV bytes, then write CSV and Parquet.

    The CSV as published is what is validated: once when every row is valid (the usual night),
    again after the invalid rows are left out.

    Returns the files and the row-level report, whose invalid rows were left out.
    """
    files, report, _ = publish_prepared(store, prepare_table([frame], schema), lambda: [frame], base_key, schema,
                                        versioned=versioned, slot=slot)
    return files, report


def publish_prepared(
    store: ObjectStore, table: PreparedTable, frames: Callable[[], Iterable[pd.DataFrame]], base_key: str,
    schema: str, *, versioned: bool = False, slot: str | None = None,
) -> tuple[list[PublishedFile], TableReport, pd.DataFrame | None]:
    """``publish_table`` of a table made a frame at a time: ``table`` is ``prepare_table(frames())``;
    ``frames`` (their index: the rows' numbers in the whole table) is read again only to leave
    invalid rows out. Also returns those rows (indexed by their numbers), None when all are valid."""
    report = _validate_bytes(table.csv, schema, base_key + ".csv")
    if report.valid:  # the bytes validated are the bytes written: validated once
        return write_prepared(store, table, base_key, schema, versioned=versioned, slot=slot), report, None
    if any(error.row_index is None for error in report.errors):  # the file itself: no row to leave out
        raise PublicationRefused(f"{base_key}.csv fails {schema}:\n{report.to_text()}")
    invalid, left_out = sorted(report.invalid_rows()), []

    def kept() -> Iterator[pd.DataFrame]:
        for frame in frames():
            out = frame.index.isin(invalid)
            left_out.append(frame[out])
            yield frame[~out]

    csv_file = table.csv if isinstance(table.csv, Path) else None
    del table
    table = prepare_table(kept(), schema, csv_file)
    final = _validate_bytes(table.csv, schema, base_key + ".csv")
    if not final.valid:
        raise PublicationRefused(f"{base_key}.csv still fails {schema} after quarantine:\n{final.to_text()}")
    files = write_prepared(store, table, base_key, schema, versioned=versioned, slot=slot)
    return files, report, pd.concat(left_out)


def publish_shaped(
    settings: Settings, store: ObjectStore, frame: pd.DataFrame, base_key: str, schema_name: str, slot: str
) -> tuple[list[PublishedFile], TableReport]:
    """A year's table in the run's target version of its schema (columns renamed or added by a new
    version are shaped here), validated and written as the slot's next versions."""
    schema = settings.schema(schema_name)
    shaped = shape_for_schema(frame, load_schema_descriptor(schema))
    return publish_table(store, shaped, base_key, schema, versioned=True, slot=slot)


def publish_by_body(
    settings: Settings, store: ObjectStore, frame: pd.DataFrame, kept: dict[str, BodyRows], base_key: str,
    schema_name: str, slot: str, before: dict[str, BodyRows] | None = None,
) -> tuple[list[PublishedFile], TableReport, dict[str, BodyRows], pa.Schema]:
    """``publish_shaped`` of a year's table ordered by body, whose rows are ``frame``'s (the bodies made
    again, its ``siren`` column naming each row's body) and ``kept``'s (every other body's, as published):
    only ``frame``'s rows are shaped, and of those only the rows no part of ``before`` (the previous
    rows of the bodies made again) holds under the same key are validated and written out; the files
    are the bytes the whole table would give. Also returns every body's rows (the parts to keep) and the
    typed rows' schema. The report's row numbers are ``frame``'s."""
    schema = settings.schema(schema_name)
    descriptor = load_schema_descriptor(schema)
    types = {f["name"]: f.get("type", "string") for f in descriptor["fields"]}
    shaped = shape_for_schema(frame.reset_index(drop=True), descriptor)
    sirens = frame["siren"].tolist() if "siren" in frame.columns else []
    keys = row_keys(shaped)
    known = _known_rows(before or {})
    report = _validate_new(shaped, keys, known, schema, base_key)
    if not report.valid:
        if any(error.row_index is None for error in report.errors):
            raise PublicationRefused(f"{base_key}.csv fails {schema}:\n{report.to_text()}")
        keep = ~shaped.index.isin(sorted(report.invalid_rows()))
        shaped, sirens = shaped[keep].reset_index(drop=True), [s for s, k in zip(sirens, keep) if k]
        keys = [key for key, k in zip(keys, keep) if k]
        final = _validate_new(shaped, keys, known, schema, base_key)
        if not final.valid:
            raise PublicationRefused(f"{base_key}.csv still fails {schema} after quarantine:\n{final.to_text()}")
    text = text_columns(list(shaped.columns), schema)
    new = [at for at, key in enumerate(keys) if key not in known]
    made = shaped.iloc[new]
    typed_new = pa.Table.from_batches([typed_batch(made, types)])
    records_new = list(map(texts_fingerprint, table_records(made)))
    lines_new = _row_lines(csv_chunk(made, text, False))
    if len(lines_new) != len(made):
        raise ValueError(f"{base_key}.csv: {len(lines_new)} rows found in the CSV of {len(made)}")
    sources, offsets, lines, records, taken = [typed_new], {}, [], [], []
    made_at = dict(zip(new, range(len(new))))
    for at, key in enumerate(keys):
        if at in made_at:
            j = made_at[at]
            lines.append(lines_new[j])
            records.append(records_new[j])
            taken.append(j)
            continue
        rows, row, line = known[key]
        if id(rows) not in offsets:
            offsets[id(rows)] = sum(source.num_rows for source in sources)
            sources.append(rows.rows)
        lines.append(line)
        records.append(rows.records[row])
        taken.append(offsets[id(rows)] + row)
    typed = pa.concat_tables(sources).take(pa.array(taken, pa.int64())) if sources[1:] else typed_new
    parts = dict(kept)
    first = 0
    for siren, count in _runs(sirens):
        parts[siren] = BodyRows(b"".join(lines[first:first + count]), typed.slice(first, count),
                                records[first:first + count], keys[first:first + count])
        first += count
    order = sorted(parts)
    csv = csv_chunk(shaped.iloc[:0], text, True) + b"".join(parts[siren].csv for siren in order)
    whole = pa.concat_tables([typed_new.slice(0, 0)] + [parts[siren].rows for siren in order]).combine_chunks()
    table = PreparedTable(csv, table_to_parquet_bytes(whole), {r for s in order for r in parts[s].records},
                          whole.num_rows)
    files = write_prepared(store, table, base_key, schema, versioned=True, slot=slot)
    return files, report, parts, typed_new.schema


def _known_rows(before: dict[str, BodyRows]) -> dict[str, tuple[BodyRows, int, bytes]]:
    """Each previous row by its key: its body's rows, its place among them and its CSV line."""
    known = {}
    for rows in before.values():
        lines = _row_lines(rows.csv)
        if len(lines) != len(rows.keys):
            continue  # rows that do not cut as they should: made again
        for row, key in enumerate(rows.keys):
            known.setdefault(key, (rows, row, lines[row]))
    return known


def _validate_new(shaped: pd.DataFrame, keys: list[str], known: dict, schema: str, base_key: str) -> TableReport:
    """The rows not known (validated already, as published) validated as the CSV they make; the
    report's row numbers are ``shaped``'s."""
    new = [at for at, key in enumerate(keys) if key not in known]
    if not new:
        return TableReport(base_key + ".csv", schema, len(shaped), [])
    report = _validate_bytes(csv_bytes(shaped.iloc[new], schema), schema, base_key + ".csv")
    errors = [replace(error, row_index=None if error.row_index is None else new[error.row_index])
              for error in report.errors]
    return TableReport(report.source, report.schema, len(shaped), errors, report.truncated)


def _row_lines(csv: bytes) -> list[bytes]:
    """Each row of CSV whose quotes inside cells are doubled (as written), with its line break: a line
    break ends a row when the quotes before it are even, else it is inside a quoted cell. One CSV
    written for the bodies' rows together, then cut, costs a fraction of one written per body."""
    rows, quotes, start, at = [], 0, 0, 0
    for line in csv.split(b"\n")[:-1]:
        at += len(line) + 1
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            rows.append(csv[start:at])
            start = at
    return rows


def _runs(sirens: list[str]) -> list[tuple[str, int]]:
    """Each body's rows, in order: (siren, how many); a body's rows are together."""
    runs: list[tuple[str, int]] = []
    seen: set[str] = set()
    for siren in sirens:
        if runs and runs[-1][0] == siren:
            runs[-1] = (siren, runs[-1][1] + 1)
        else:
            if siren in seen:
                raise ValueError(f"the rows of body {siren} are not together")
            seen.add(siren)
            runs.append((siren, 1))
    return runs
