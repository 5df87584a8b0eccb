"""Source: a drop folder where the télétransmission exporter writes one folder per act.

Layout: ``<drop>/<YYYY-MM-DD>/<id_d>/metadata.json`` plus the act's files, the date being
the night the exporter wrote it. Extraction copies every file, byte for byte and whatever its
size or kind, into the raw zone before anything reads it, so that a broken act is still kept
and can be replayed; the transform judges what may be published.

Raw is write-once: an act folder that changed after its night was stored (a corrected
re-export into the same night) is kept again, whole, as the night's next revision
(``core.keys.raw_revision_prefix``), and the transform reads the latest one. A rerun on an
unchanged folder writes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from core.failures import ExpectedFailure
from core.jsonio import JsonTooDeep, load_json
from core.keys import raw_act_folder, raw_night_prefix, raw_prefix, raw_revision_prefix
from core.registry import DROP_SOURCE
from core.store import ObjectStore, put_raw, sha256_hex

log = logging.getLogger(__name__)

SOURCE = DROP_SOURCE
RAW_PREFIX = raw_prefix("actes", SOURCE)
UNKNOWN_BODY = "inconnu"
_SAFE_SEGMENT = re.compile(r"^[^/\\\x00]+$")


class DropFolderError(RuntimeError, ExpectedFailure):
    hint = "check DIGOR_DROP_DIR (is the export's share mounted?) and rerun the night; nothing was unpublished"


@dataclass(frozen=True)
class ExtractedAct:
    folder: str
    body_key: str
    raw_prefix: str
    files: tuple[str, ...]
    skipped: tuple[str, ...]
    revision: int = 1


@dataclass
class NightExtract:
    acts: list[ExtractedAct] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


def stored_revisions(store: ObjectStore, night: str, source: str = SOURCE) -> dict[str, dict[int, str]]:
    """Act folder name -> revision -> its raw prefix (``.../<body>/<id_d>/``), for one night."""
    revisions: dict[str, dict[int, str]] = defaultdict(dict)
    for key in store.list_keys(night_prefix(night, source)):
        found = raw_act_folder("actes", source, night, key)
        if found:
            name, revision, prefix = found
            revisions[name][revision] = prefix
    return revisions


def _holds(store: ObjectStore, prefix: str, files: dict[str, bytes]) -> bool:
    """Whether the raw folder at ``prefix`` is this folder: the same files, or a part of them
    whose write stopped before ``metadata.json`` (written last), which the caller completes."""
    stored = {key[len(prefix):] for key in store.list_keys(prefix)}
    if not stored <= set(files) or (stored != set(files) and "metadata.json" in stored):
        return False
    return all(sha256_hex(store.get_bytes(prefix + name)) == sha256_hex(files[name]) for name in stored)


def extract_night(store: ObjectStore, drop_dir: Path, night: str) -> NightExtract:
    """Copy the night's act folders to ``raw/actes/drop/date=<night>/<body>/<id_d>/`` (a changed
    folder to the night's next revision); a night without its folder is a warning."""
    if not drop_dir.is_dir():
        raise DropFolderError(f"drop folder {drop_dir} does not exist")
    night_dir = drop_dir / night
    result = NightExtract()
    if not night_dir.is_dir():
        warning = (f"drop folder {night_dir} does not exist: no act read for night {night} "
                   "(if the exporter wrote acts that night, check the export and rerun the night)")
        log.warning(warning)
        result.warnings.append(warning)
        return result
    revisions = stored_revisions(store, night)
    for folder in sorted(p for p in night_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        files, skipped = {}, []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink() or not all(_SAFE_SEGMENT.match(part) for part in relative.split("/")):
                skipped.append(relative)
                continue
            files[relative] = path.read_bytes()
        body_key = body_key_from_metadata(files.get("metadata.json"))
        stored = revisions.get(folder.name, {})
        revision = max(stored, default=1)
        if stored and not _holds(store, stored[revision], files):
            revision += 1
            log.warning("drop folder %s changed since night %s was stored: kept as revision %d",
                        folder, night, revision)
        prefix = stored.get(revision) or (
            f"{raw_revision_prefix('actes', SOURCE, night, revision)}{body_key}/{folder.name}/")
        for relative in sorted(files, key=lambda name: (name == "metadata.json", name)):
            put_raw(store, prefix + relative, files[relative])
        result.acts.append(ExtractedAct(folder.name, body_key, prefix, tuple(files), tuple(skipped), revision))
    return result
