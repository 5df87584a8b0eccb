"""Validated before published: every regional table goes through here, whatever the chain.

Invalid rows are left out (and returned, for the quarantine and the run report); the exact
CSV bytes are then validated again, and a file still failing is not published at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.schema_files import load_schema_descriptor
from core.store import ObjectStore
from load.public_files import PublishedFile, csv_bytes, write_table
from transform.schema_shape import shape_for_schema
from validate.table_validator import TableReport, validate_table


class PublicationRefused(RuntimeError):
    """A file that fails validation after row quarantine: nothing is swapped in."""


def _validate_bytes(data: bytes, schema: str, key: str) -> TableReport:
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
    data = csv_bytes(frame, schema)
    report = _validate_bytes(data, schema, base_key + ".csv")
    if report.valid:  # the bytes validated are the bytes written: validated once
        return write_table(store, frame, base_key, schema, versioned=versioned, slot=slot, csv=data), report
    if any(error.row_index is None for error in report.errors):  # the file itself: no row to leave out
        raise PublicationRefused(f"{base_key}.csv fails {schema}:\n{report.to_text()}")
    kept = frame.drop(index=sorted(report.invalid_rows())).reset_index(drop=True)
    data = csv_bytes(kept, schema)
    final = _validate_bytes(data, schema, base_key + ".csv")
    if not final.valid:
        raise PublicationRefused(f"{base_key}.csv still fails {schema} after quarantine:\n{final.to_text()}")
    return write_table(store, kept, base_key, schema, versioned=versioned, slot=slot, csv=data), report


def publish_shaped(
    settings: Settings, store: ObjectStore, frame: pd.DataFrame, base_key: str, schema_name: str, slot: str
) -> tuple[list[PublishedFile], TableReport]:
    """A year's table in the run's target version of its schema (columns renamed or added by a new
    version are shaped here), validated and written as the slot's next versions."""
    schema = settings.schema(schema_name)
    shaped = shape_for_schema(frame, load_schema_descriptor(schema))
    return publish_table(store, shaped, base_key, schema, versioned=True, slot=slot)
