"""A year's regional tables kept per body (private), so that a night's publication costs the bodies
it touched, not the year: their rows are made, validated and written again, every other body's rows
are taken as the previous publication left them (its CSV bytes, its typed Arrow rows, its records'
fingerprints), and the files are put together in the bodies' order: the bytes a whole rebuild writes.

Per year, one object per table holds every body's rows, named by the sha256 of its bytes (checked
when read), and an index names them with, per body, what the rows were made from (its registry
entry) and what its rows left out. Written after the files they make, before the ledger files are
marked applied: a run stopped in between leaves the previous index, whose bodies the next run
rebuilds again. An index or object missing, corrupt, made for other settings or by other code (an
upgrade may change how rows are made: a new rule taking a name out must reach every body, not only
those a night touches): every body's rows are made from the source, never a wrong file.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.keys import YEAR_PARTS_PREFIX
from core.schema_files import load_schema_descriptor
from core.store import ObjectStore

PARTS_FORMAT = 3  # 2: each body's report lines and documents in the index; 3: each row's key (``row_keys``)
# The packages whose code and data make a year's rows (staging, ledger, rules, shaping, writing).
ROW_MAKERS = ("core", "transform", "chains", "load", "validate")


@dataclass
class BodyRows:
    """One body's rows of one table, as published: CSV (no header), typed rows, records' fingerprints,
    and each row's key (``row_keys``: what it was made from), so that a night takes the rows of its
    body's unchanged acts as they are."""

    csv: bytes
    rows: pa.Table
    records: list[str]
    keys: list[str]


@dataclass
class YearParts:
    """What the previous publication of a year left: per table, per body, its rows; per body, its index entry."""

    tables: dict[str, dict[str, BodyRows]]
    bodies: dict[str, dict]


def index_key(year: int) -> str:
    return f"{YEAR_PARTS_PREFIX}/annee={year}.json"


def _object_prefix(year: int) -> str:
    return f"{YEAR_PARTS_PREFIX}/annee={year}/"


@cache
def code_fingerprint(root: Path = Path(__file__).resolve().parents[1]) -> str:
    """The sha256 of the row makers' sources and data files under ``root``: another release, another fingerprint."""
    digest = hashlib.sha256()
    for package in ROW_MAKERS:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in {".py", ".csv", ".yaml", ".c"}:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def context_of(schemas: dict[str, str], public_urls: str) -> str:
    """What every body's rows also depend on: the schemas published (and their text), the public URLs and
    the code that made them."""
    described = {table: [schema, load_schema_descriptor(schema)] for table, schema in sorted(schemas.items())}
    text = json.dumps([PARTS_FORMAT, described, public_urls, code_fingerprint()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def body_fingerprint(body) -> str:
    """A body's registry entry (its switches decide its rows), or its absence. Its fields as they are
    (an entry nests no dataclass): ``asdict``'s deep copy cost twice the hash, for each body of the year."""
    text = json.dumps(None if body is None else {f.name: getattr(body, f.name) for f in fields(body)},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def row_keys(frame: pd.DataFrame) -> list[str]:
    """Each row's key: a hash of its cells' ``repr`` (which tells None, NaN, ``"None"`` and 1 from
    ``"1"`` apart), so that two rows of one key are written, typed and validated alike."""
    return [hashlib.blake2b(repr(row).encode(), digest_size=12).hexdigest()
            for row in zip(*(frame[column].tolist() for column in frame.columns))]


def _encode(parts: dict[str, BodyRows], empty: pa.Schema) -> bytes:
    order = sorted(parts)
    header = json.dumps([[siren, parts[siren].rows.num_rows, len(parts[siren].csv), parts[siren].records,
                          parts[siren].keys] for siren in order]).encode()
    rows = pa.concat_tables([empty.empty_table()] + [parts[siren].rows for siren in order]).combine_chunks()
    arrow = io.BytesIO()
    with pa.ipc.new_stream(arrow, rows.schema) as writer:
        writer.write_table(rows)
    return struct.pack(">Q", len(header)) + header + b"".join(parts[s].csv for s in order) + arrow.getvalue()


def _decode(data: bytes) -> dict[str, BodyRows]:
    (length,) = struct.unpack(">Q", data[:8])
    header = json.loads(data[8:8 + length])
    at = 8 + length
    csv_end = at + sum(entry[2] for entry in header)
    rows = pa.ipc.open_stream(data[csv_end:]).read_all()
    parts, first = {}, 0
    for siren, count, size, records, keys in header:
        if len(records) != count or len(keys) != count:
            raise ValueError("parts do not add up")
        parts[siren] = BodyRows(data[at:at + size], rows.slice(first, count), records, keys)
        at, first = at + size, first + count
    if first != rows.num_rows or at != csv_end:
        raise ValueError("parts do not add up")
    return parts


def read_year_parts(store: ObjectStore, year: int, context: str) -> YearParts | None:
    """The year's parts as its last publication left them; None when they cannot be trusted (missing,
    corrupt, made for other schemas or URLs): every body is then made again from the source."""
    try:
        index = json.loads(store.get_bytes(index_key(year)))
        if index.get("format") != PARTS_FORMAT or index.get("context") != context:
            return None
        tables = {}
        for table, key in index["tables"].items():
            data = store.get_bytes(key)
            if hashlib.sha256(data).hexdigest() != key.rsplit("-", 1)[1].removesuffix(".parts"):
                return None
            tables[table] = _decode(data)
        return YearParts(tables, index["bodies"])
    except (FileNotFoundError, ValueError, KeyError, TypeError, IndexError, struct.error, pa.ArrowException):
        return None


def write_year_parts(store: ObjectStore, year: int, context: str, parts: YearParts,
                     schemas: dict[str, pa.Schema]) -> None:
    """Each table's object (once, by content), then the index naming them, then the objects it no longer names."""
    keys = {}
    for table, bodies in sorted(parts.tables.items()):
        data = _encode(bodies, schemas[table])
        key = f"{_object_prefix(year)}{table}-{hashlib.sha256(data).hexdigest()}.parts"
        if not store.exists(key):
            store.put_bytes(key, data)
        keys[table] = key
    index = {"format": PARTS_FORMAT, "context": context, "tables": keys, "bodies": parts.bodies}
    store.put_bytes(index_key(year), json.dumps(index, sort_keys=True, default=str).encode())
    for key in store.list_keys(_object_prefix(year)):
        if key not in keys.values():
            store.delete(key)
