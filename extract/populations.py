"""Read INSEE's legal populations file (the archive, or its communes CSV) into digor's cache table.

The archive is opened in memory (a few MB); a file that is not one (no ``donnees_communes.csv``,
a missing column, a population that is not a number) is refused with a message naming the file
and the line, and nothing is cached.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pyarrow as pa

from core.populations import (
    CACHE_SCHEMA,
    COMMUNES_FILE,
    REQUIRED_COLUMNS,
    PopulationFormatError,
    commune_code,
)


def _communes_csv(data: bytes, name: str) -> tuple[str, str]:
    """The communes CSV's text and where it was found, from the archive or the CSV itself."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                inside = [n for n in archive.namelist() if n.rsplit("/", 1)[-1].lower() == COMMUNES_FILE]
                if not inside:
                    raise PopulationFormatError(f"{name}: no {COMMUNES_FILE} in the archive")
                raw, where = archive.read(inside[0]), f"{name}/{inside[0]}"
        except zipfile.BadZipFile as error:
            raise PopulationFormatError(f"{name}: not a readable archive ({error})") from None
    else:
        raw, where = data, name
    try:
        return raw.decode("utf-8-sig"), where
    except UnicodeDecodeError as error:
        raise PopulationFormatError(f"{where}: not UTF-8 text (byte {error.start})") from None


def _count(text: str, where: str, line: int, column: str) -> int:
    digits = text.replace(" ", "").replace("\u202f", "").replace("\u00a0", "")
    if not digits.isdigit():
        raise PopulationFormatError(f"{where}, line {line}: {column} {text!r} is not a number of inhabitants")
    return int(digits)


def read_populations(data: bytes, name: str) -> pa.Table:
    """The communes of the file, one row each (``core.populations.CACHE_SCHEMA``), sorted by code."""
    text, where = _communes_csv(data, name)
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise PopulationFormatError(f"{where}: column(s) {missing} absent (found {reader.fieldnames})")
    rows: dict[str, dict] = {}
    for line, row in enumerate(reader, start=2):
        code = commune_code(row["DEP"] or "", row["CODCOM"] or "")
        if len(code) != 5:
            raise PopulationFormatError(f"{where}, line {line}: commune code {code!r} is not 5 characters")
        if code in rows:
            raise PopulationFormatError(f"{where}, line {line}: commune {code} appears twice")
        rows[code] = {
            "code_commune": code, "commune": (row["COM"] or "").strip(), "region": (row.get("REG") or "").strip(),
            "population_municipale": _count(row["PMUN"] or "", where, line, "PMUN"),
            "population_totale": _count(row["PTOT"] or "", where, line, "PTOT"),
        }
    if not rows:
        raise PopulationFormatError(f"{where}: no commune in the file")
    return pa.Table.from_pylist([rows[c] for c in sorted(rows)], schema=CACHE_SCHEMA)
