"""Validated before published: every regional table goes through here, whatever the chain.

Invalid rows are left out (and returned, for the quarantine and the run report); the exact
CSV bytes are then validated again, and a file still failing is not published at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.schema_files import load_schema_descriptor
from core.store import ObjectStore
from load.public_files import PreparedTable, PublishedFile, prepare_table, write_prepared
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
