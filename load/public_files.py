"""Consolidated regional files: validated, then swapped in, or not published at all."""

from __future__ import annotations

import io
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from digor.store import ObjectStore, put_if_changed, sha256_hex, table_to_parquet_bytes
from validate.schema_files import load_schema_descriptor
from validate.table_validator import TableReport, validate_table


class PublicationRefused(RuntimeError):
    """A file that fails validation after row quarantine: nothing is swapped in."""


@dataclass(frozen=True)
class PublishedFile:
    key: str
    format: str
    rows: int
    size: int
    sha256: str
    schema: str
    changed: bool

    def to_dict(self) -> dict:
        return asdict(self)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


_ARROW_TYPES = {"date": pa.date32(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


def _typed_column(values: pd.Series, field_type: str) -> pa.Array:
    cells = [None if v is None or v == "" else v for v in values.tolist()]
    if field_type == "date":
        cells = [None if v is None else date.fromisoformat(v) for v in cells]
    elif field_type == "integer":
        cells = [None if v is None else int(v) for v in cells]
    elif field_type == "number":
        cells = [None if v is None else float(v) for v in cells]
    return pa.array(cells, type=_ARROW_TYPES.get(field_type, pa.string()))


def parquet_bytes(frame: pd.DataFrame, schema: str) -> bytes:
    """Parquet with the schema's types, so readers get dates and numbers, not text."""
    types = {f["name"]: f.get("type", "string") for f in load_schema_descriptor(schema)["fields"]}
    arrays = [_typed_column(frame[column], types.get(column, "string")) for column in frame.columns]
    return table_to_parquet_bytes(pa.Table.from_arrays(arrays, names=list(frame.columns)))


def _validate_bytes(data: bytes, schema: str, key: str) -> TableReport:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(key).name
        path.write_bytes(data)
        return validate_table(path, schema)


def publish_table(
    store: ObjectStore, frame: pd.DataFrame, base_key: str, schema: str
) -> tuple[list[PublishedFile], TableReport]:
    """Quarantine invalid rows, check the exact CSV bytes, then write CSV and Parquet.

    Returns the files and the row-level report, whose invalid rows were left out.
    """
    report = validate_table(frame, schema)
    kept = frame.drop(index=sorted(report.invalid_rows())).reset_index(drop=True)
    outputs = {"csv": csv_bytes(kept), "parquet": parquet_bytes(kept, schema)}
    final = _validate_bytes(outputs["csv"], schema, base_key + ".csv")
    if not final.valid:
        raise PublicationRefused(f"{base_key}.csv still fails {schema} after quarantine:\n{final.to_text()}")
    files = []
    for fmt, data in outputs.items():
        key = f"{base_key}.{fmt}"
        changed = put_if_changed(store, key, data)
        files.append(PublishedFile(key, fmt, len(kept), len(data), sha256_hex(data), schema, changed))
    return files, report
