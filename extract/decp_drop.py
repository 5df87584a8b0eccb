"""Source ``drop``: a folder where the procurement platform's exports are written per night.

Layout: ``<drop>/<YYYY-MM-DD>/<file>`` (JSON or XML, any name: the format is read from the
content). Every file is copied byte for byte into ``raw/decp/drop/date=<night>/`` before
anything reads it, so that a file that cannot be read is still kept, reported and replayable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from core.config import MAX_DECP_FILE_BYTES
from core.keys import RAW
from core.store import ObjectStore, RawOverwriteError, file_sha256, put_raw, sha256_hex

SOURCE = "drop"
RAW_PREFIX = f"{RAW}/decp"


class DecpDropError(RuntimeError):
    pass


@dataclass(frozen=True)
class ExtractedFile:
    name: str
    key: str
    size: int
    sha256: str
    written: bool

    def to_dict(self) -> dict:
        return asdict(self)


def night_prefix(source: str, night: str) -> str:
    return f"{RAW_PREFIX}/{source}/date={night}/"


def safe_name(name: str) -> str:
    """A file name usable as the last segment of a raw key (anything else replaced by _)."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+=-]", "_", name).lstrip("._-")[:200]
    return cleaned or "export"


def store_raw(store: ObjectStore, source: str, night: str, name: str, data: bytes | Path) -> ExtractedFile:
    """Write once; a different file under a name already used that night is kept beside it.

    The raw zone never rewrites an object: a platform that re-exports a corrected file with
    the same name the same night gets the new bytes under ``<sha256 prefix>-<name>``. ``data``:
    the bytes, or a local file, hashed and copied in chunks (never read whole).
    """
    digest = file_sha256(data) if isinstance(data, Path) else sha256_hex(data)
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    key = night_prefix(source, night) + safe_name(name)
    try:
        written = put_raw(store, key, data, digest)
    except RawOverwriteError:
        key = night_prefix(source, night) + f"{digest[:12]}-{safe_name(name)}"
        written = put_raw(store, key, data, digest)
    return ExtractedFile(name, key, size, digest, written)


def extract_night(store: ObjectStore, drop_dir: Path, night: str,
                  max_bytes: int = MAX_DECP_FILE_BYTES) -> tuple[list[ExtractedFile], list[dict]]:
    """Copy ``<drop>/<night>/*`` to the raw zone; returns the files and those skipped (why: a file
    over ``max_bytes``, ``DIGOR_DECP_MAX_FILE_BYTES``, among them)."""
    if not drop_dir.is_dir():
        raise DecpDropError(f"DECP drop folder {drop_dir} does not exist")
    night_dir = drop_dir / night
    if not night_dir.is_dir():
        return [], []
    files, skipped = [], []
    for path in sorted(p for p in night_dir.rglob("*") if p.is_file() or p.is_symlink()):
        relative = path.relative_to(night_dir).as_posix()
        if path.is_symlink():
            skipped.append({"file": relative, "reason": "lien symbolique ignoré"})
        elif path.name.startswith("."):
            skipped.append({"file": relative, "reason": "fichier caché ignoré"})
        elif path.stat().st_size > max_bytes:
            skipped.append({"file": relative, "reason": f"fichier de plus de {max_bytes // 2**20} Mo "
                                                        f"(DIGOR_DECP_MAX_FILE_BYTES={max_bytes})"})
        else:
            files.append(store_raw(store, SOURCE, night, relative.replace("/", "_"), path))
    return files, skipped
