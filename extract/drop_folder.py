"""Source: a drop folder where the télétransmission exporter writes one folder per act.

Layout: ``<drop>/<YYYY-MM-DD>/<id_d>/metadata.json`` plus the act's files, the date being
the night the exporter wrote it. Extraction copies every file, byte for byte and whatever its
size or kind, into the raw zone before anything reads it, so that a broken act is still kept
and can be replayed; the transform judges what may be published.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from core.jsonio import JsonTooDeep, load_json
from core.keys import raw_night_prefix, raw_prefix
from core.store import ObjectStore, put_raw

SOURCE = "drop"
RAW_PREFIX = raw_prefix("actes", SOURCE)
UNKNOWN_BODY = "inconnu"
_SAFE_SEGMENT = re.compile(r"^[^/\\\x00]+$")


class DropFolderError(RuntimeError):
    pass


@dataclass(frozen=True)
class ExtractedAct:
    folder: str
    body_key: str
    raw_prefix: str
    files: tuple[str, ...]
    skipped: tuple[str, ...]


def night_prefix(night: str, source: str = SOURCE) -> str:
    """Raw folder of one night of one source of acts (``drop``, ``pastell``)."""
    return raw_night_prefix("actes", source, night)


def body_key_from_metadata(metadata_bytes: bytes | None) -> str:
    """The body part of a raw address, taken from the payload alone so reruns agree."""
    if metadata_bytes is None:
        return UNKNOWN_BODY
    try:
        document = load_json(metadata_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, JsonTooDeep):
        return UNKNOWN_BODY
    if not isinstance(document, dict):
        return UNKNOWN_BODY
    data = document.get("data") if isinstance(document.get("data"), dict) else document
    siren = str(data.get("siren") or "").strip()
    if re.fullmatch(r"\d{9}", siren):
        return f"siren={siren}"
    id_e = str(document.get("id_e") or data.get("id_e") or "").strip()
    if re.fullmatch(r"[0-9A-Za-z_-]{1,32}", id_e):
        return f"id_e={id_e}"
    return UNKNOWN_BODY


def extract_night(store: ObjectStore, drop_dir: Path, night: str) -> list[ExtractedAct]:
    """Copy the night's act folders to ``raw/actes/drop/date=<night>/<body>/<id_d>/``."""
    if not drop_dir.is_dir():
        raise DropFolderError(f"drop folder {drop_dir} does not exist")
    night_dir = drop_dir / night
    if not night_dir.is_dir():
        return []
    acts = []
    for folder in sorted(p for p in night_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        metadata_path = folder / "metadata.json"
        metadata = metadata_path.read_bytes() if metadata_path.is_file() else None
        body_key = body_key_from_metadata(metadata)
        prefix = f"{night_prefix(night)}{body_key}/{folder.name}/"
        written, skipped = [], []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                skipped.append(relative)
                continue
            if not all(_SAFE_SEGMENT.match(part) for part in relative.split("/")):
                skipped.append(relative)
                continue
            put_raw(store, prefix + relative, path.read_bytes())
            written.append(relative)
        acts.append(ExtractedAct(folder.name, body_key, prefix, tuple(written), tuple(skipped)))
    return acts
