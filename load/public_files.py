"""Consolidated regional files, written once validated (``chains.publication``), then swapped in.

With ``versioned=True`` a table is written as content-addressed versions plus a private
pointer, and ``switch_dataset_manifest`` later publishes the dataset's manifest
(``public/<dataset>/index.json``) and its stable "latest" names in one step (see
``load.versions``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.csv_cells import may_start_a_formula, neutralise, neutralise_columns
from core.jsonio import json_bytes
from core.schema_files import load_schema_descriptor
from core.store import ObjectStore, content_size_sha256, put_if_changed, table_to_parquet_bytes
from load.versions import (
    Fingerprints,
    clear_pending,
    put_version,
    read_json,
    read_pointers,
    retire_superseded,
    set_pointer,
    texts_fingerprint,
    write_aliases,
)


@dataclass(frozen=True)
class PublishedFile:
    key: str
    format: str
    rows: int
    size: int
    sha256: str
    schema: str
    changed: bool
    # The content-addressed version the stable ``key`` stands for (versioned publication).
    version_key: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def text_columns(columns: list[str], schema: str | None) -> list[str]:
    """The columns whose cells are text (neutralised as formulas): the schema's string fields, or all."""
    if schema is None:
        return list(columns)
    types = {f["name"]: f.get("type", "string") for f in load_schema_descriptor(schema)["fields"]}
    return [column for column in columns if types.get(column, "string") == "string"]


def csv_chunk(frame: pd.DataFrame, text: list[str], header: bool) -> bytes:
    """Rows of a published CSV (with its header or not): chunks written one after the other make the whole file.
    pandas' ``to_csv`` bytes, written a column at a time where ``_csv_text`` can (a national DECP year's table)."""
    written = _csv_text(frame, header, text)
    if written is not None:
        return written.encode("utf-8")
    frame = neutralise_columns(frame, text)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=header, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


_CSV_CELL_TYPES = frozenset({str, int, float, bool, type(None)})


def _csv_cell(text: str) -> str:
    """A text as ``csv`` writes it with minimal quoting: quoted when it holds a comma, a quote or a line feed."""
    return '"' + text.replace('"', '""') + '"' if "," in text or '"' in text or "\n" in text else text


def _csv_text(frame: pd.DataFrame, header: bool, text: list[str]) -> str | None:
    """What ``neutralise_columns(frame, text).to_csv(index=False, lineterminator="\\n")`` writes, a column at a
    time and the rows joined in C: an empty cell for None and NaN, ``str`` of a number or boolean (``csv``'s
    spelling), a text as it is unless it needs quoting, or neutralising (the cells of a text column mapped
    only when one starts like a formula, as ``neutralise_columns`` maps them, without a copy of the frame that
    would be of pandas' text type, which only pandas writes). None (pandas writes the frame) unless there are
    two columns or more, every column holds objects of those types only, every name is a text and names one
    column, and no text holds a carriage return (quoted otherwise by other Python versions)."""
    names = list(frame.columns)
    if frame.empty or len(names) < 2 or not all(type(name) is str and "\r" not in name for name in names) or \
            len(set(names)) != len(names):  # one column: an empty cell is a row ``csv`` quotes
        return None
    texts = set(text)
    columns = []
    for index, name in enumerate(names):
        series = frame.iloc[:, index]
        if series.dtype != object:
            return None
        cells = series.tolist()
        kinds = set(map(type, cells))
        if not kinds <= _CSV_CELL_TYPES:
            return None
        if name in texts and may_start_a_formula(cells):  # neutralise_columns' rule, on the cells
            cells = list(map(neutralise, cells))
        if kinds == {type(None)}:
            cells = [""] * len(cells)
        elif kinds <= {int, type(None)}:
            cells = _spelled_once(cells, "")
        elif kinds != {str}:
            cells = ["" if cell is None else cell if type(cell) is str else "" if cell != cell else str(cell)
                     for cell in cells]
        joined = "\n".join(cells)
        if "\r" in joined:
            return None
        if "," in joined or '"' in joined or joined.count("\n") != len(cells) - 1:
            cells = list(map(_csv_cell, cells))
        columns.append(cells)
    head = ",".join(map(_csv_cell, names)) + "\n" if header else ""
    return head + "\n".join(map(",".join, zip(*columns))) + "\n"


def csv_bytes(frame: pd.DataFrame, schema: str | None = None) -> bytes:
    """The CSV every chain publishes: text cells that a spreadsheet would run as a formula are
    neutralised (``core.csv_cells``); with ``schema``, only its string fields are text."""
    return csv_chunk(frame, text_columns(list(frame.columns), schema), True)


_ARROW_TYPES = {"date": pa.date32(), "integer": pa.int64(), "year": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


_ALREADY_TYPED = {"integer": {int}, "year": {int}, "number": {float}, "boolean": {bool}}


_NO_TEXT = pa.scalar(None, pa.string())


def _typed_column(values: pd.Series, field_type: str) -> pa.Array:
    cells = values.tolist()
    kinds = set(map(type, cells)) - {type(None)}
    if kinds <= _ALREADY_TYPED.get(field_type, set()):  # nothing to convert (a DECP table's numbers)
        return pa.array(cells, type=_ARROW_TYPES.get(field_type, pa.string()))
    if kinds <= {str} and _ARROW_TYPES.get(field_type, pa.string()) == pa.string():  # an empty text is nothing
        texts = pa.array(cells, type=pa.string())
        return pc.if_else(pc.equal(texts, ""), _NO_TEXT, texts)
    if kinds <= {str}:  # an empty text is nothing, in one pass
        cells = [v or None for v in cells]
    else:
        cells = [None if v is None or v == "" else v for v in cells]
    if field_type == "date":  # each date read once, in order (a year's table has a few hundred)
        read = {v: date.fromisoformat(v) for v in dict.fromkeys(cells) if v is not None}
        cells = [None if v is None else read[v] for v in cells]
    elif field_type in ("integer", "year"):
        cells = [None if v is None else int(v) for v in cells]
    elif field_type == "number":
        cells = [None if v is None else float(v) for v in cells]
    return pa.array(cells, type=_ARROW_TYPES.get(field_type, pa.string()))


def typed_batch(frame: pd.DataFrame, types: dict[str, str]) -> pa.RecordBatch:
    """Rows as the Parquet file types them (the schema's dates, integers, numbers, booleans)."""
    arrays = [_typed_column(frame[column], types.get(column, "string")) for column in frame.columns]
    return pa.RecordBatch.from_arrays(arrays, names=list(frame.columns))


def _parquet_of(batches: list[pa.RecordBatch]) -> bytes:
    """One table of the batches, contiguous: the same bytes as the whole frame's, however it was cut."""
    return table_to_parquet_bytes(pa.Table.from_batches(batches).combine_chunks())


class _TypedSpool:
    """A large table's typed batches kept on disk (Arrow IPC) rather than in memory until its Parquet is
    made; then put together a column at a time from the file mapped in memory, so that the batches and
    their contiguous copy are never both held (a national DECP year: ~300 MB each)."""

    def __init__(self, path: Path):
        self.path, self.writer = path, None

    def append(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.writer = pa.ipc.new_file(self.path, batch.schema)
        self.writer.write_batch(batch)

    def __bool__(self) -> bool:
        return self.writer is not None

    def parquet(self) -> bytes:
        """``_parquet_of`` the batches: the same bytes."""
        self.writer.close()
        with pa.memory_map(str(self.path)) as source:
            reader = pa.ipc.open_file(source)
            schema, count = reader.schema, reader.num_record_batches
        columns = []
        for index in range(len(schema)):
            with pa.memory_map(str(self.path)) as source:  # only this column's pages mapped, and let go
                reader = pa.ipc.open_file(source)
                columns.append(pa.chunked_array([reader.get_batch(number).column(index) for number in range(count)],
                                                schema.field(index).type).combine_chunks())
        return table_to_parquet_bytes(pa.Table.from_arrays(columns, schema=schema))

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.path.unlink(missing_ok=True)


def parquet_bytes(frame: pd.DataFrame, schema: str) -> bytes:
    """Parquet with the schema's types, so readers get dates and numbers, not text."""
    types = {f["name"]: f.get("type", "string") for f in load_schema_descriptor(schema)["fields"]}
    return _parquet_of([typed_batch(frame, types)])


def table_records(frame: pd.DataFrame) -> Iterator[tuple[str, ...]]:
    """A table's rows as the records of its versions: a row that changes or leaves is a record gone
    (one row at a time: only their fingerprints are kept)."""
    return zip(*(_texts(frame[column].tolist()) for column in frame.columns))  # each column's texts made in one go


def _texts(values: list) -> list:
    """``str`` of each value, without a call per cell where a column holds texts, nothing, or integers (a
    national DECP year's table: about a third less than ``map(str, ...)``)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return values
    if kinds == {type(None)}:
        return ["None"] * len(values)
    if kinds == {str, type(None)}:
        return ["None" if value is None else value for value in values]
    if kinds <= {int, type(None)}:
        return _spelled_once(values, "None")
    return list(map(str, values))


def _spelled_once(values: list, nothing: str) -> list[str]:
    """Integers (or None, as ``nothing``) as texts, each distinct value spelled once: equal integers have
    one spelling (unlike floats, -0.0, or True and 1, which callers keep out)."""
    spelled = {value: nothing if value is None else str(value) for value in set(values)}
    return list(map(spelled.__getitem__, values))


@dataclass
class PreparedTable:
    """A table's published forms made from its frames in one pass, a frame at a time (``prepare_table``):
    its CSV, its Parquet (from typed Arrow batches, made before the CSV is validated so that the two
    never sit in memory together) and its records' fingerprints. A table not yet validated may hold
    cells its types refuse: ``untyped`` is then why, and it cannot be written."""

    csv: bytes | Path  # a file under the folder ``prepare_table`` was given
    parquet: bytes
    records: set[str]
    rows: int
    untyped: Exception | None = None


def prepare_table(frames: Iterable[pd.DataFrame], schema: str, csv_file: Path | None = None) -> PreparedTable:
    """``csv_file``: where the CSV goes (a year's national table), else it is kept in memory."""
    types = {f["name"]: f.get("type", "string") for f in load_schema_descriptor(schema)["fields"]}
    with (csv_file.open("w+b") if csv_file is not None else io.BytesIO()) as csv:
        table = _prepare(frames, types, schema, csv, None if csv_file is None else _TypedSpool(
            csv_file.with_name(csv_file.name + ".typed.arrow")))
        return table if csv_file is None else replace(table, csv=csv_file)


def _prepare(frames: Iterable[pd.DataFrame], types: dict[str, str], schema: str, csv: BinaryIO,
             spool: _TypedSpool | None) -> PreparedTable:
    """``spool``: where the typed batches wait for the Parquet (a table written to a file), else in memory."""
    batches, records, rows, text, untyped = [], set(), 0, None, None
    for frame in frames:
        text = text_columns(list(frame.columns), schema) if text is None else text
        csv.write(csv_chunk(frame, text, not csv.tell()))  # the header with the first frame
        if untyped is None:
            try:
                (batches if spool is None else spool).append(typed_batch(frame, types))
            except (ValueError, TypeError) as error:
                untyped, batches = error, []
        records.update(map(texts_fingerprint, table_records(frame)))
        rows += len(frame)
    if spool is not None:
        parquet = spool.parquet() if spool and untyped is None else b""
        spool.discard()
    else:
        parquet = _parquet_of(batches) if batches else b""
    del batches
    return PreparedTable(csv.getvalue() if isinstance(csv, io.BytesIO) else b"", parquet, records, rows, untyped)


def write_table(
    store: ObjectStore, frame: pd.DataFrame, base_key: str, schema: str, *,
    versioned: bool = False, slot: str | None = None,
) -> list[PublishedFile]:
    """Write an already validated table as CSV and Parquet (see ``write_prepared``)."""
    return write_prepared(store, prepare_table([frame], schema), base_key, schema, versioned=versioned, slot=slot)


def write_prepared(
    store: ObjectStore, table: PreparedTable, base_key: str, schema: str, *,
    versioned: bool = False, slot: str | None = None,
) -> list[PublishedFile]:
    """Write an already validated table as CSV and Parquet.

    With ``versioned``, the files are written as versions (their rows recorded, see
    ``load.versions``) and pointed to under ``slot`` (default: the file stem);
    ``switch_dataset_manifest`` publishes them.
    """
    if table.untyped is not None:
        raise table.untyped
    records = Fingerprints(sorted(table.records)) if versioned else None
    files = []
    folder, stem = base_key.rsplit("/", 1)
    for fmt in ("csv", "parquet"):
        data = table.csv if fmt == "csv" else table.parquet
        key = f"{base_key}.{fmt}"
        size, digest = content_size_sha256(data)
        if versioned:
            version_key, changed = put_version(store, folder, stem, fmt, data, records, digest)
        else:
            version_key, changed = None, _put_if_changed(store, key, data)
        files.append(PublishedFile(key, fmt, table.rows, size, digest, schema, changed, version_key))
        del data
    if versioned:
        set_pointer(store, folder, slot or stem, {f.format: _manifest_entry(f) for f in files})
    return files


def publish_document(
    store: ObjectStore, key: str, fmt: str, data: bytes | Path, rows: int, schema: str, slot: str,
    records: Iterable | None = None,
) -> PublishedFile:
    """One already validated file (a JSON document) as a version pointed to under ``slot``;
    ``switch_dataset_manifest`` publishes it with the dataset's tables. ``records``: what it
    holds (its contracts); without them the whole file is one record."""
    folder, name = key.rsplit("/", 1)
    size, digest = content_size_sha256(data)
    version_key, changed = put_version(store, folder, name.rsplit(".", 1)[0], fmt, data,
                                       [digest] if records is None else records, digest)
    file = PublishedFile(key, fmt, rows, size, digest, schema, changed, version_key)
    set_pointer(store, folder, slot, {fmt: _manifest_entry(file)})
    return file


def _put_if_changed(store: ObjectStore, key: str, data: bytes | Path) -> bool:
    return put_if_changed(store, key, data.read_bytes() if isinstance(data, Path) else data)


def withdraw_slot(store: ObjectStore, folder: str, slot: str) -> None:
    """A file that has nothing left to publish (an empty year): its stable name goes at the next switch."""
    set_pointer(store, folder, slot, None)


MANIFEST_NAME = "index.json"
MANIFEST_FORMAT = 1


def _manifest_entry(file: PublishedFile) -> dict:
    return {
        "fichier": file.version_key.rsplit("/", 1)[1],
        "permanent": file.key.rsplit("/", 1)[1],
        "lignes": file.rows,
        "octets": file.size,
        "sha256": file.sha256,
        "schema": file.schema,
    }


def switch_dataset_manifest(
    store: ObjectStore, folder: str, dataset: str, retention_days: float, now=None
) -> dict:
    """Publish the versions the pointers name: manifest first, then the stable names.

    Idempotent: a rerun after a crash at any point finishes the job.
    """
    manifest_key = f"{folder}/{MANIFEST_NAME}"
    files = {slot: dict(sorted(formats.items())) for slot, formats in sorted(read_pointers(store, folder).items())}
    document = {"format": MANIFEST_FORMAT, "jeu_de_donnees": dataset, "fichiers": files}
    switched = put_if_changed(store, manifest_key, json_bytes(document))
    aliases = {entry["permanent"]: entry["fichier"] for formats in files.values() for entry in formats.values()}
    written = write_aliases(store, folder, aliases)
    current = [entry["fichier"] for formats in files.values() for entry in formats.values()]
    deleted = retire_superseded(store, folder, current, retention_days, now)
    clear_pending(store, folder)
    return {"manifest": manifest_key, "switched": switched, "aliases_written": written, "deleted": deleted}


def manifest_files(store: ObjectStore, folder: str) -> dict[str, dict]:
    """``slot -> format -> entry`` of a dataset's current manifest (empty if none yet)."""
    return (read_json(store, f"{folder}/{MANIFEST_NAME}", {}) or {}).get("fichiers", {})
