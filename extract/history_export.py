"""Source: an export of the previous publication system, read by ``digor import-history``.

The export is a folder (its format is in the README, "Importing the history"):
``actes/<record>/metadata.json`` plus the act's files, one folder per act as the regional
pipelines keep them, with the act's original publication date; ``scdl/*.csv``, the regional
SCDL délibérations files already on data.gouv.fr (``DELIBERATION-<year>.csv``), optionally with
the ``PUBLICATION_DATE`` column of the all-natures exports. This module only reads: files are
returned as bytes, CSV rows as text, each named by its file and record; nothing is judged here.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.failures import ExpectedFailure

ACTS_FOLDER = "actes"
SCDL_FOLDER = "scdl"
_SAFE_SEGMENT = re.compile(r"^[^/\\\x00]+$")
# A record folder's name becomes part of raw keys and of the act's id.
_RECORD_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")
# What one export file may weigh before it is refused unread (a PDF of an act is far smaller).
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_CSV_BYTES = 512 * 1024 * 1024
csv.field_size_limit(1024 * 1024)


class ExportError(RuntimeError, ExpectedFailure):
    hint = "check the path of the export folder (it holds actes/ and/or scdl/); nothing was imported"


@dataclass(frozen=True)
class ExportAct:
    """One act folder: its files (relative name -> bytes) and what could not be read."""

    record: str
    path: str
    files: dict[str, bytes]
    problem: str = ""


@dataclass(frozen=True)
class ScdlRow:
    file: str
    line: int
    values: dict[str, str]
    problem: str = ""


@dataclass
class Export:
    acts: list[ExportAct] = field(default_factory=list)
    scdl_rows: list[ScdlRow] = field(default_factory=list)
    scdl_files: dict[str, bytes] = field(default_factory=dict)
    # (file, reason) of what could not be read at all.
    refused_files: list[tuple[str, str]] = field(default_factory=list)


def _act(folder: Path, root: Path) -> ExportAct:
    name = folder.relative_to(root).as_posix()
    if not _RECORD_NAME.match(folder.name):
        return ExportAct(folder.name, name, {}, "the folder's name is not a record id (letters, digits, . _ -, at most 64)")
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            return ExportAct(folder.name, name, {}, f"{relative} is a symbolic link: refused (an export holds files)")
        if not path.is_file():
            continue
        if not all(_SAFE_SEGMENT.match(part) for part in relative.split("/")):
            return ExportAct(folder.name, name, {}, f"{relative!r} is not a safe file name")
        if path.stat().st_size > MAX_FILE_BYTES:
            return ExportAct(folder.name, name, {}, f"{relative} is larger than {MAX_FILE_BYTES} bytes")
        files[relative] = path.read_bytes()
    return ExportAct(folder.name, name, files)


def _scdl_rows(name: str, data: bytes) -> list[ScdlRow]:
    """The rows of one SCDL délibérations file (``;`` or ``,``, UTF-8 with or without BOM)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 (byte {error.start})") from None
    head = text.split("\n", 1)[0]
    delimiter = ";" if head.count(";") > head.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise ValueError("empty file") from None
    missing = [column for column in ("COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_OBJET") if column not in header]
    if missing:
        raise ValueError(f"no column {', '.join(missing)} in its header: not an SCDL délibérations file")
    rows = []
    try:
        while True:
            start = reader.line_num + 1  # a quoted cell may span lines: the row is named by its first
            cells = next(reader, None)
            if cells is None:
                return rows
            if not any(cell.strip() for cell in cells):
                continue
            problem = "" if len(cells) == len(header) else f"{len(cells)} cells where the header has {len(header)}"
            rows.append(ScdlRow(name, start, dict(zip(header, cells)), problem))
    except csv.Error as error:
        raise ValueError(f"line {reader.line_num}: {error}") from None


def read_export(root: Path) -> Export:
    """Every act folder and SCDL row of the export; a file that cannot be read is listed, not fatal."""
    if not root.is_dir():
        raise ExportError(f"export folder {root} does not exist")
    acts_dir, scdl_dir = root / ACTS_FOLDER, root / SCDL_FOLDER
    if not acts_dir.is_dir() and not scdl_dir.is_dir():
        raise ExportError(f"export folder {root} has neither {ACTS_FOLDER}/ nor {SCDL_FOLDER}/")
    export = Export()
    if acts_dir.is_dir():
        for folder in sorted(acts_dir.iterdir()):
            relative = folder.relative_to(root).as_posix()
            if folder.is_symlink() or not folder.is_dir():
                export.refused_files.append((relative, "not an act folder (a file or a symbolic link)"))
                continue
            export.acts.append(_act(folder, root))
    if scdl_dir.is_dir():
        for path in sorted(scdl_dir.iterdir()):
            relative = path.relative_to(root).as_posix()
            if path.is_symlink() or not path.is_file() or path.suffix.lower() != ".csv":
                export.refused_files.append((relative, "not a CSV file"))
                continue
            if path.stat().st_size > MAX_CSV_BYTES:
                export.refused_files.append((relative, f"larger than {MAX_CSV_BYTES} bytes"))
                continue
            data = path.read_bytes()
            try:
                export.scdl_rows += _scdl_rows(relative, data)
            except ValueError as error:
                export.refused_files.append((relative, str(error)))
                continue
            export.scdl_files[path.name] = data
    return export
