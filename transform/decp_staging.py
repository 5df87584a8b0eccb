"""Raw DECP exports of one night -> one staging row per object read (valid or not).

Every object of every file becomes a row of ``staging/decp/annee=<year>/date=<night>.parquet``:
its normalised JSON, what was cleaned (``notes``) and, if it fails its format, every error.
A file that cannot be read at all becomes one row too (``position`` 0), so that the rejects
report of the year shows it; so does a file that breaks half-way (the objects read before the
break are dropped with it: a file is published whole or not at all). Files are read and
written in batches, so that memory stays flat whatever their size; consolidation happens per year.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from core.keys import RAW, staging_prefix
from core.parallel import WorkerPool
from core.store import ObjectStore, file_sha256, open_object, put_file
from transform.decp_formats import (
    CONCESSION,
    NotStreamedFast,
    RawObject,
    RawTexts,
    StreamedExport,
    UnreadableExport,
    open_export,
    parsed_objects,
)
from transform.decp_normalise import VERSION_OF_FORMAT, Normalised, happy_value, normalise_object
from validate.decp_jsonschema import object_errors

STAGING_PREFIX = staging_prefix("decp")
RAW_PREFIX = f"{RAW}/decp"
STATUS_VALID, STATUS_INVALID, STATUS_UNREADABLE = "valide", "invalide", "illisible"
BATCH_ROWS = 5000  # objects normalised, then written to the night's spool, at a time (a worker's chunk)
MERGED_BATCH_ROWS = 65_536  # rows of a file per row group of the night's staging partition
_SPOOL_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")

STAGING_SCHEMA = pa.schema(
    [
        ("night", pa.string()),
        ("source", pa.string()),
        ("file_key", pa.string()),
        ("file_name", pa.string()),
        ("position", pa.int64()),
        ("kind", pa.string()),
        ("version", pa.string()),
        ("year", pa.int64()),
        ("status", pa.string()),
        ("uid", pa.string()),
        ("id", pa.string()),
        ("buyer", pa.string()),
        ("date", pa.string()),
        ("holders", pa.string()),
        ("modifications", pa.int64()),
        ("last_publication", pa.string()),
        ("object_json", pa.string()),
        ("errors_json", pa.string()),
        ("notes_json", pa.string()),
        ("names_json", pa.string()),
    ]
)


_CANONICAL = msgspec.json.Encoder(order="sorted")
# Where msgspec may spell a float otherwise than json (an exponent, a small number written out): such a
# text is written by json (a text holding these characters in words is too: the same bytes either way).
# Found with two substring searches (a regular expression scanned a staged text ~3x slower): "0.0000", and
# a digit before an exponent's letter once every digit is read as 0 and E as e.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789E", b"0000000000e")


def _float_spelling(text: bytes) -> bool:
    return b"0.0000" in text or b"0e" in text.translate(_DIGITS_AS_ZERO)


def dumps(value) -> str:
    """Canonical JSON text: equal content, equal text (json's: keys sorted, compact, non-ASCII as is).
    msgspec writes it, four times faster, with the same bytes but for the floats ``_float_spelling``
    finds; what it cannot write (an integer past 64 bits, a lone surrogate) json does. Values are finite:
    a staged number went through the cleaning, which leaves NaN and infinities out."""
    if not value and isinstance(value, (list, dict)):  # most objects have no error, note nor name
        return "[]" if isinstance(value, list) else "{}"
    try:
        text = _CANONICAL.encode(value)
    except (TypeError, ValueError, OverflowError):
        text = None
    if text is None or _float_spelling(text):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.decode("utf-8")


def holders_of(data: dict, kind: str) -> list[dict]:
    """Titulaires (or concessionnaires) of an object, unwrapped, in either format."""
    field_name, wrapper = ("concessionnaires", "concessionnaire") if kind == CONCESSION else ("titulaires", "titulaire")
    holders = []
    for item in data.get(field_name) or []:
        if isinstance(item, dict) and isinstance(item.get(wrapper), dict):
            item = item[wrapper]
        if isinstance(item, dict):
            holders.append(item)
    return holders


def holders_key(holders: list[dict]) -> str:
    return "|".join(sorted(f"{h.get('typeIdentifiant', '')}:{h.get('id', '')}" for h in holders))


def modifications_of(data: dict) -> list[dict]:
    return [m["modification"] if isinstance(m.get("modification"), dict) else m
            for m in data.get("modifications") or [] if isinstance(m, dict)]


def identity(data: dict, kind: str) -> dict:
    """The fields consolidation keys on, taken from a normalised object (possibly invalid)."""
    party = data.get("autoriteConcedante" if kind == CONCESSION else "acheteur")
    buyer = party.get("id") if isinstance(party, dict) else None
    identifier = data.get("id")
    when = data.get("dateSignature" if kind == CONCESSION else "dateNotification")
    modifications = modifications_of(data)
    publications = [data.get("datePublicationDonnees")] + [m.get("datePublicationDonneesModification") for m in modifications]
    return {
        "uid": f"{buyer}{identifier}" if buyer and identifier else None,
        "id": identifier,
        "buyer": buyer,
        "date": when,
        "holders": holders_key(holders_of(data, kind)),
        "modifications": len(modifications),
        "last_publication": max((p for p in publications if isinstance(p, str)), default=None),
    }


def year_of(data: dict, kind: str, night: str) -> int:
    """Notification (signature) year; else first publication year; else the night's year."""
    for key in ("dateSignature" if kind == CONCESSION else "dateNotification", "datePublicationDonnees"):
        value = data.get(key)
        if isinstance(value, str) and value[:4].isdigit():
            return int(value[:4])
    return int(night[:4])


@dataclass
class FileResult:
    file_key: str
    file_name: str
    source: str
    format: str | None = None
    syntax: str | None = None
    read: int = 0
    valid: int = 0
    invalid: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "file": self.file_key, "name": self.file_name, "source": self.source, "format": self.format,
            "syntax": self.syntax, "read": self.read, "valid": self.valid, "invalid": self.invalid,
            "error": self.error, "notes": self.notes,
        }


def _unreadable_row(base: dict, night: str, reason: str) -> dict:
    return {**base, "position": 0, "kind": None, "version": None, "year": int(night[:4]),
            "status": STATUS_UNREADABLE, "uid": None, "id": None, "buyer": None, "date": None, "holders": "",
            "modifications": 0, "last_publication": None, "object_json": "null",
            "errors_json": dumps([{"champ": "(fichier)", "code": "fichier-illisible", "message": reason}]),
            "notes_json": "[]", "names_json": "{}"}


def _file_base(file_key: str, source: str, night: str) -> dict:
    return {"night": night, "source": source, "file_key": file_key, "file_name": file_key.rsplit("/", 1)[-1]}


@dataclass(frozen=True)
class Chunk:
    """Consecutive objects of one export, with what their staging rows need of the file: the unit
    of work of the staging's worker processes (``stage_chunk``), which writes its rows in ``spool``."""

    base: dict  # night, source, file_key, file_name
    format: str
    file_notes: tuple[dict, ...]
    objects: list[RawObject] | RawTexts  # texts: parsed by the worker
    spool: Path
    number: int  # its place in the file


@dataclass
class StagedChunk:
    """A chunk's staging rows as written in its file's spool, per year, and its counts."""

    parts: dict[int, Path]
    read: int
    invalid: int


def _unset_as_none(value):
    return None if value is msgspec.UNSET else value


def _struct_identity(value: msgspec.Struct, kind: str, night: str) -> dict:
    """``year_of`` and ``identity`` of a happy-path object read from its decoded value (the format's
    shape: wrapped titulaires, concessionnaires and modifications); an absent field as a missing key."""
    concession = kind == CONCESSION
    party = value.autoriteConcedante if concession else value.acheteur
    buyer = None if party is msgspec.UNSET else _unset_as_none(party.id)
    identifier = _unset_as_none(value.id)
    when = _unset_as_none(value.dateSignature if concession else value.dateNotification)
    published = _unset_as_none(value.datePublicationDonnees)
    modifications = value.modifications or ()
    holders = (value.concessionnaires if concession else value.titulaires) or ()
    keys = []
    for item in holders:
        holder = item.concessionnaire if concession else item.titulaire
        kind_of = holder.typeIdentifiant
        code = holder.id
        keys.append(f"{'' if kind_of is msgspec.UNSET else kind_of}:{'' if code is msgspec.UNSET else code}")
    if modifications:
        publications = [published] + [_unset_as_none(m.modification.datePublicationDonneesModification)
                                      for m in modifications]
        last_publication = max((p for p in publications if isinstance(p, str)), default=None)
    else:  # most objects
        last_publication = published if isinstance(published, str) else None
    if isinstance(when, str) and when[:4].isdigit():
        year = int(when[:4])
    elif isinstance(published, str) and published[:4].isdigit():
        year = int(published[:4])
    else:
        year = None
    return {
        "year": int(night[:4]) if year is None else year,
        "uid": f"{buyer}{identifier}" if buyer and identifier else None,
        "id": identifier,
        "buyer": buyer,
        "date": when,
        "holders": "|".join(sorted(keys)),
        "modifications": len(modifications),
        "last_publication": last_publication,
    }


def _happy_fields(value: msgspec.Struct, kind: str, night: str) -> dict | None:
    """The staging fields of an object of the happy path (``decp_normalise.happy_value``, valid) made from
    its decoded value: its canonical text encoded from it (its fields sorted as ``dumps`` sorts the keys),
    ``identity`` and ``year_of`` read from it (``_struct_identity``), without the object as a dict. None
    when ``dumps`` would spell it otherwise (a float ``_float_spelling`` finds), ``_type`` is set or the
    types lack a field ``_struct_identity`` reads: the caller then takes the object as a dict."""
    if getattr(value, "_type", msgspec.UNSET) is not msgspec.UNSET:
        return None
    try:
        text = _CANONICAL.encode(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if _float_spelling(text):
        return None
    try:
        fields = _struct_identity(value, kind, night)
    except AttributeError:  # a format whose types lack a field read here
        return None
    fields["object_json"] = text.decode("utf-8")
    return fields


def _normalised(chunk: Chunk, reference: date) -> Iterator[tuple[int, str, Normalised | dict]]:
    """(position, kind, normalised object) of each object of the chunk; a text the cleaning would leave as
    it is skips the parsing and the walk of ``normalise_object`` (``decp_normalise.happy_value``), and comes
    as its staging fields when valid (``_happy_fields``)."""
    if not isinstance(chunk.objects, RawTexts):
        for raw in chunk.objects:
            yield raw.position, raw.kind, normalise_object(raw.data, raw.kind, chunk.format, reference, owned=True)
        return
    piece = chunk.objects
    night = chunk.base["night"]
    for offset, text in enumerate(piece.texts):
        happy = happy_value(text, piece.kind, chunk.format, reference) if piece.kind else None
        if happy is not None:
            value, valid = happy
            fields = _happy_fields(value, piece.kind, night) if valid else None
            if fields is not None:
                yield piece.position + offset, piece.kind, fields
                continue
            data = msgspec.to_builtins(value)
            data.pop("_type", None)
            normalised = Normalised(piece.kind, VERSION_OF_FORMAT[chunk.format], data, [], valid=valid)
        else:
            raw = parsed_objects(RawTexts(piece.position + offset, piece.kind, [text]))[0]
            normalised = normalise_object(raw.data, raw.kind, chunk.format, reference, owned=True)
        yield piece.position + offset, normalised.kind, normalised


def _staged_rows(chunk: Chunk) -> list[dict]:
    night = chunk.base["night"]
    reference = date.fromisoformat(night)
    notes = list(chunk.file_notes)
    happy = {"version": VERSION_OF_FORMAT[chunk.format], "status": STATUS_VALID, "errors_json": "[]",
             "notes_json": dumps(notes), "names_json": "{}"}
    rows = []
    for position, kind, normalised in _normalised(chunk, reference):
        if isinstance(normalised, dict):  # a valid object of the happy path: its fields made already
            rows.append({**chunk.base, "position": position, "kind": kind, **happy, **normalised})
            continue
        errors = [] if normalised.valid else object_errors(normalised.data, kind, normalised.version)
        rows.append(
            {
                **chunk.base,
                "position": position,
                "kind": kind,
                "version": normalised.version,
                "year": year_of(normalised.data, kind, night),
                "status": STATUS_INVALID if errors else STATUS_VALID,
                **identity(normalised.data, kind),
                "object_json": dumps(normalised.data),
                "errors_json": dumps([e.to_dict() for e in errors]),
                "notes_json": dumps([n.to_dict() for n in normalised.notes] + notes),
                "names_json": dumps(normalised.names),
            }
        )
    return rows


def _table_of(rows: list[dict]) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema=STAGING_SCHEMA)``, a column at a time (twice as fast)."""
    return pa.Table.from_arrays([pa.array([row.get(name) for row in rows], type=field.type)
                                 for name, field in zip(STAGING_SCHEMA.names, STAGING_SCHEMA)], schema=STAGING_SCHEMA)


def _write_parts(rows: list[dict], spool: Path, number: int) -> dict[int, Path]:
    """The rows per year, each year's in an Arrow file of the spool (lz4: written and read back fast)."""
    by_year: dict[int, list[dict]] = {}
    for row in rows:
        by_year.setdefault(row["year"], []).append(row)
    parts = {}
    for year, year_rows in by_year.items():
        parts[year] = spool / f"{number:07d}-{year}.arrow"
        with pa.ipc.new_file(parts[year], STAGING_SCHEMA, options=_SPOOL_OPTIONS) as writer:
            writer.write_table(_table_of(year_rows))
    return parts


def stage_chunk(chunk: Chunk) -> StagedChunk:
    """Normalise, validate and stage a chunk's objects (in a worker process, or in the caller's)."""
    rows = _staged_rows(chunk)
    return StagedChunk(_write_parts(rows, chunk.spool, chunk.number), len(rows),
                       sum(row["status"] == STATUS_INVALID for row in rows))


def _chunks(export: StreamedExport, base: dict, batch_rows: int, spool: Path) -> Iterator[Chunk]:
    """The export's objects, ``batch_rows`` at a time (a run of texts in chunks of its own); ``UnreadableExport``
    (at once or half-way) when the file cannot be read to its end."""
    file_notes = tuple({"champ": "(fichier)", "message": n} for n in export.notes)
    batch: list[RawObject] = []
    number = 0
    for raw in export.objects:
        if isinstance(raw, RawTexts):
            if batch:
                yield Chunk(base, export.format, file_notes, batch, spool, number)
                batch, number = [], number + 1
            for start in range(0, len(raw.texts), batch_rows):
                texts = RawTexts(raw.position + start, raw.kind, raw.texts[start:start + batch_rows])
                yield Chunk(base, export.format, file_notes, texts, spool, number)
                number += 1
            continue
        batch.append(raw)
        if len(batch) >= batch_rows:
            yield Chunk(base, export.format, file_notes, batch, spool, number)
            batch, number = [], number + 1
    if batch:
        yield Chunk(base, export.format, file_notes, batch, spool, number)


def _opened(data: bytes | BinaryIO, result: FileResult, fast: bool = False) -> StreamedExport:
    export = open_export(data, fast)
    result.format, result.syntax, result.notes = export.format, export.syntax, export.notes
    return export


def _refused(result: FileResult, error: UnreadableExport, night: str) -> list[dict]:
    """The file as one unreadable row: whatever was read before it broke is dropped with it."""
    result.format = result.syntax = None
    result.notes, result.read, result.valid, result.invalid = [], 0, 0, 0
    result.error = str(error)
    return [_unreadable_row(_file_base(result.file_key, result.source, night), night, str(error))]


def rows_of_file(data: bytes, file_key: str, source: str, night: str) -> tuple[list[dict], FileResult]:
    """Every object of one (small) export as a staging row, and what the file gave."""
    result = FileResult(file_key, file_key.rsplit("/", 1)[-1], source)
    try:
        export = _opened(data, result)
        rows = [row for chunk in _chunks(export, _file_base(file_key, source, night), BATCH_ROWS, Path())
                for row in _staged_rows(chunk)]
    except UnreadableExport as error:
        return _refused(result, error, night), result
    result.read = len(rows)
    result.invalid = sum(row["status"] == STATUS_INVALID for row in rows)
    result.valid = result.read - result.invalid
    return rows, result


def raw_keys_of_night(store: ObjectStore, night: str, sources: tuple[str, ...]) -> list[tuple[str, str]]:
    """(source, key) of every raw export received on ``night``."""
    keys = []
    for source in sources:
        keys += [(source, key) for key in store.list_keys(f"{RAW_PREFIX}/{source}/date={night}/")]
    return keys


def _read_part(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


@dataclass
class NightTransform:
    """The night's staging rows, spooled per file, chunk and year in ``folder`` (see ``transform_night``)."""

    night: str
    files: list[FileResult]
    parts: list[dict[int, list[Path]]]  # per file read, its chunks' rows per year, in the file's order

    def years(self) -> list[int]:
        return sorted({year for part in self.parts for year in part})

    def rows(self) -> list[dict]:
        return [row for part in self.parts for paths in part.values() for path in paths
                for row in _read_part(path).to_pylist()]


def _file_parts(pool: WorkerPool, store: ObjectStore, key: str, result: FileResult, night: str, spool: Path,
                batch_rows: int) -> dict[int, list[Path]]:
    """One export staged, chunk by chunk (in the pool's workers, which then parse the objects themselves:
    ``decp_formats.RawTexts``, and take the happy path of those the cleaning leaves as they are), its parts
    in the file's order; read again the exact way when the fast reading says so."""
    try:
        return _staged_file(pool, store, key, result, night, spool, batch_rows, fast=True)
    except NotStreamedFast:
        shutil.rmtree(spool)
        spool.mkdir()
        result.read = result.invalid = 0
    return _staged_file(pool, store, key, result, night, spool, batch_rows)


def _staged_file(pool: WorkerPool, store: ObjectStore, key: str, result: FileResult, night: str, spool: Path,
                 batch_rows: int, fast: bool = False) -> dict[int, list[Path]]:
    parts: dict[int, list[Path]] = {}
    try:
        with open_object(store, key) as stream:
            chunks = _chunks(_opened(stream, result, fast), _file_base(key, result.source, night), batch_rows, spool)
            for staged in pool.map(stage_chunk, chunks, "staging the DECP exports"):
                for year, path in staged.parts.items():
                    parts.setdefault(year, []).append(path)
                result.read += staged.read
                result.invalid += staged.invalid
    except UnreadableExport as error:
        shutil.rmtree(spool)
        spool.mkdir()
        return {year: [path] for year, path in _write_parts(_refused(result, error, night), spool, 0).items()}
    result.valid = result.read - result.invalid
    return parts


def transform_night(store: ObjectStore, night: str, sources: tuple[str, ...], folder: Path,
                    batch_rows: int | None = None, pool: WorkerPool | None = None) -> NightTransform:
    """Every raw export of the night to staging rows, ``batch_rows`` objects at a time, spooled in
    ``folder``: memory stays flat whatever the size of a file. The chunks are staged by ``pool``'s
    worker processes (``core.parallel``; none: in this one), and taken in the file's order: the same
    rows whatever their number. A file that breaks half-way keeps nothing but its unreadable row (as
    a file that cannot be read at all). A worker that dies fails the night (``WorkerLost``) before
    anything is written to the store."""
    files, parts = [], []
    pool = pool or WorkerPool(1, hint="")
    for index, (source, key) in enumerate(raw_keys_of_night(store, night, sources)):
        result = FileResult(key, key.rsplit("/", 1)[-1], source)
        spool = folder / f"file-{index}"
        spool.mkdir(parents=True)
        parts.append(_file_parts(pool, store, key, result, night, spool, batch_rows or BATCH_ROWS))
        files.append(result)
    return NightTransform(night, files, parts)


def staging_key(year: int, night: str) -> str:
    return f"{STAGING_PREFIX}/annee={year}/date={night}.parquet"


def _merged_batches(paths: list[Path], rows: int = MERGED_BATCH_ROWS) -> Iterator[pa.Table]:
    """A file's rows of a year, from its chunks' parts, ``rows`` at a time whatever the chunks, each in
    one piece (a table in pieces is encoded otherwise in Parquet: the partition's bytes would vary)."""
    held: list[pa.Table] = []
    count = 0
    for path in paths:
        table = _read_part(path)
        while count + len(table) >= rows:
            cut = rows - count
            yield pa.concat_tables(held + [table.slice(0, cut)]).combine_chunks()
            held, count, table = [], 0, table.slice(cut)
        if len(table):
            held.append(table)
            count += len(table)
    if count:
        yield pa.concat_tables(held).combine_chunks()


def write_staging(store: ObjectStore, result: NightTransform, years: bool = True) -> list[int]:
    """Replace the night's partitions (a rerun that lost a year removes its old partition); each
    year's partition is the files' parts put together batch by batch (``write_year_staging``), unless
    ``years`` is False: the caller writes each (``digor convert decp``: in the process publishing it)."""
    staged = result.years()
    for key in store.list_keys(STAGING_PREFIX + "/"):
        if key.endswith(f"/date={result.night}.parquet") and key not in {staging_key(y, result.night) for y in staged}:
            store.delete(key)
    for year in staged if years else ():
        write_year_staging(store, result, year)
    return staged


def write_year_staging(store: ObjectStore, result: NightTransform, year: int) -> None:
    """The night's partition of ``year``: the files' parts of that year put together batch by batch."""
    target = next(part[year][0] for part in result.parts if year in part).parent.parent / f"annee-{year}.parquet"
    with pq.ParquetWriter(target, STAGING_SCHEMA) as writer:
        for part in result.parts:
            for table in _merged_batches(part.get(year, [])):
                writer.write_table(table)
    put_file(store, staging_key(year, result.night), target, file_sha256(target))
    target.unlink()


def staged_years(store: ObjectStore) -> list[int]:
    keys = store.list_keys(STAGING_PREFIX + "/")
    return sorted({int(k.split("annee=")[1].split("/")[0]) for k in keys if "annee=" in k})


def staged_rows(store: ObjectStore, year: int) -> list[dict]:
    """Every row staged for ``year``, all nights, in arrival order."""
    rows = []
    for key in store.list_keys(f"{STAGING_PREFIX}/annee={year}/"):
        with open_object(store, key) as stream:  # a batch at a time: never the night's table and its rows at once
            for batch in pq.ParquetFile(stream).iter_batches():
                rows += batch.to_pylist()
    return sorted(rows, key=lambda r: (r["night"], r["source"], r["file_key"], r["position"]))
