"""Raw DECP exports of one night -> one staging row per object read (valid or not).

Every object of every file becomes a row of ``staging/decp/annee=<year>/date=<night>.parquet``:
its normalised JSON, what was cleaned (``notes``) and, if it fails its format, every error.
A file that cannot be read at all becomes one row too (``position`` 0), so that the rejects
report of the year shows it. Nothing read is dropped here; consolidation happens per year.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from core.keys import RAW, staging_prefix
from core.store import ObjectStore, read_parquet, table_to_parquet_bytes
from transform.decp_formats import CONCESSION, UnreadableExport, read_export
from transform.decp_normalise import normalise_object
from validate.decp_jsonschema import object_errors

STAGING_PREFIX = staging_prefix("decp")
RAW_PREFIX = f"{RAW}/decp"
STATUS_VALID, STATUS_INVALID, STATUS_UNREADABLE = "valide", "invalide", "illisible"

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


def dumps(value) -> str:
    """Canonical JSON text: equal content, equal text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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


def rows_of_file(data: bytes, file_key: str, source: str, night: str) -> tuple[list[dict], FileResult]:
    """Every object of one export as a staging row, and what the file gave."""
    file_name = file_key.rsplit("/", 1)[-1]
    result = FileResult(file_key, file_name, source)
    base = {"night": night, "source": source, "file_key": file_key, "file_name": file_name}
    try:
        export = read_export(data)
    except UnreadableExport as error:
        result.error = str(error)
        row = {**base, "position": 0, "kind": None, "version": None, "year": int(night[:4]),
               "status": STATUS_UNREADABLE, "uid": None, "id": None, "buyer": None, "date": None, "holders": "",
               "modifications": 0, "last_publication": None, "object_json": "null",
               "errors_json": dumps([{"champ": "(fichier)", "code": "fichier-illisible", "message": str(error)}]),
               "notes_json": "[]", "names_json": "{}"}
        return [row], result
    result.format, result.syntax, result.notes = export.format, export.syntax, export.notes
    reference = date.fromisoformat(night)
    rows = []
    for raw in export.objects:
        normalised = normalise_object(raw.data, raw.kind, export.format, reference)
        errors = object_errors(normalised.data, raw.kind, normalised.version)
        notes = [n.to_dict() for n in normalised.notes] + [{"champ": "(fichier)", "message": n} for n in export.notes]
        rows.append(
            {
                **base,
                "position": raw.position,
                "kind": raw.kind,
                "version": normalised.version,
                "year": year_of(normalised.data, raw.kind, night),
                "status": STATUS_INVALID if errors else STATUS_VALID,
                **identity(normalised.data, raw.kind),
                "object_json": dumps(normalised.data),
                "errors_json": dumps([e.to_dict() for e in errors]),
                "notes_json": dumps(notes),
                "names_json": dumps(normalised.names),
            }
        )
    result.read = len(rows)
    result.valid = sum(r["status"] == STATUS_VALID for r in rows)
    result.invalid = result.read - result.valid
    return rows, result


def raw_keys_of_night(store: ObjectStore, night: str, sources: tuple[str, ...]) -> list[tuple[str, str]]:
    """(source, key) of every raw export received on ``night``."""
    keys = []
    for source in sources:
        keys += [(source, key) for key in store.list_keys(f"{RAW_PREFIX}/{source}/date={night}/")]
    return keys


@dataclass
class NightTransform:
    night: str
    rows: list[dict]
    files: list[FileResult]

    def years(self) -> list[int]:
        return sorted({row["year"] for row in self.rows})


def transform_night(store: ObjectStore, night: str, sources: tuple[str, ...]) -> NightTransform:
    rows, files = [], []
    for source, key in raw_keys_of_night(store, night, sources):
        file_rows, result = rows_of_file(store.get_bytes(key), key, source, night)
        rows += file_rows
        files.append(result)
    return NightTransform(night, rows, files)


def staging_key(year: int, night: str) -> str:
    return f"{STAGING_PREFIX}/annee={year}/date={night}.parquet"


def write_staging(store: ObjectStore, result: NightTransform) -> list[int]:
    """Replace the night's partitions (a rerun that lost a year removes its old partition)."""
    years = result.years()
    for key in store.list_keys(STAGING_PREFIX + "/"):
        if key.endswith(f"/date={result.night}.parquet") and key not in {staging_key(y, result.night) for y in years}:
            store.delete(key)
    by_year: dict[int, list[dict]] = {}
    for row in result.rows:
        by_year.setdefault(row["year"], []).append(row)
    for year, rows in by_year.items():
        table = pa.Table.from_pylist(rows, schema=STAGING_SCHEMA)
        store.put_bytes(staging_key(year, result.night), table_to_parquet_bytes(table))
    return years


def staged_years(store: ObjectStore) -> list[int]:
    keys = store.list_keys(STAGING_PREFIX + "/")
    return sorted({int(k.split("annee=")[1].split("/")[0]) for k in keys if "annee=" in k})


def staged_rows(store: ObjectStore, year: int) -> list[dict]:
    """Every row staged for ``year``, all nights, in arrival order."""
    rows = []
    for key in store.list_keys(f"{STAGING_PREFIX}/annee={year}/"):
        rows += read_parquet(store, key).to_pylist()
    return sorted(rows, key=lambda r: (r["night"], r["source"], r["file_key"], r["position"]))
