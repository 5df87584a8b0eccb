"""Versioned public files behind small manifests: a reader never sees a mix.

A new version of a file is written under a content-addressed name
(``<stem>.<16 hex of sha256>.<ext>``) that is never rewritten, and a private *pointer*
records it as the one to publish. A single later step switches the manifest that
names the current versions (one PUT, atomic on a folder and on S3), then rewrites the
stable "latest" copies. A crash before the switch leaves the old manifest naming old
files that are still there; the next run writes the same versions (same bytes, same
names) and switches.

Superseded versions stay readable for a configured number of days after the switch,
for readers (and caches) holding the previous manifest, then are deleted. But a
retained version must never show what has stopped being public (a withdrawn act, a
refused one, a corrected text): each version records privately what it holds, one
fingerprint per *record* (a table's row, a widget file's act), and at every switch of a
folder a retained version holding a record that no current version of the folder
holds is deleted at once, whatever the row counts. A version whose records are not
known (a file set's file given without them, a version older than this rule) counts
as holding something withdrawn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

import msgspec

from core.jsonio import json_bytes, spaced_json_bytes
from core.keys import PUBLIC, VERSIONS_PREFIX, public_path
from core.store import (
    COMPRESSIBLE_SUFFIXES,
    ObjectStore,
    content_size_sha256,
    gzip_bytes,
    is_gzip,
    open_object,
    plain_bytes,
    put_file,
    put_if_changed,
    sha256_hex,
)

HASH_LENGTH = 16
RETIRED_PREFIX = f"{VERSIONS_PREFIX}/retired"
RECORDS_PREFIX = f"{VERSIONS_PREFIX}/records"
VERSION_NAME = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})\.(?P<ext>[A-Za-z0-9]+)$")


def version_name(stem: str, ext: str, data: bytes | Path) -> str:
    return _named(stem, ext, content_size_sha256(data)[1])


def _named(stem: str, ext: str, digest: str) -> str:
    return f"{stem}.{digest[:HASH_LENGTH]}.{ext}"


def is_version(name: str) -> bool:
    return VERSION_NAME.match(name) is not None


def _records_key(key: str) -> str:
    return f"{RECORDS_PREFIX}/{public_path(key)}.json"


class Fingerprints(list):
    """Records already reduced to their ``fingerprints``: several versions holding the same records
    (a table's CSV and Parquet) hash them once, and the records need not be kept."""


def fingerprint(record) -> str:
    """A short hash of one record (any JSON value: a row as a list, an act as a dict)."""
    return sha256_hex(spaced_json_bytes(record))[:HASH_LENGTH]


_TEXTS = msgspec.json.Encoder()


def texts_fingerprint(cells: list[str] | tuple[str, ...]) -> str:
    """``fingerprint`` of a record made of texts (a table's row), faster: msgspec writes its JSON with
    json's escapes and spaces it as ``json.dumps`` does (a text cannot hold a float, nor anything but
    itself); a text msgspec cannot write (a lone surrogate) goes through ``fingerprint``."""
    try:
        text = _TEXTS.encode(cells)
    except (TypeError, ValueError):
        return fingerprint(cells)
    return sha256_hex(msgspec.json.format(text, indent=0))[:HASH_LENGTH]


def json_text_fingerprint(text: bytes) -> str:
    """``fingerprint`` of a record given as its canonical JSON text (keys sorted, compact, json's spelling:
    ``decp_staging.dumps``), without parsing it: msgspec spaces its separators as ``json.dumps`` does."""
    return sha256_hex(msgspec.json.format(text, indent=0))[:HASH_LENGTH]


def fingerprints(records: Iterable) -> list[str]:
    """One ``fingerprint`` per record, sorted, unique."""
    if isinstance(records, Fingerprints):
        return list(records)
    return sorted({fingerprint(record) for record in records})


def read_records(store: ObjectStore, key: str) -> set[str] | None:
    """The fingerprints of what the version at ``key`` holds; None when not known (nor those of the
    version its records are given as, ``put_version``'s ``records_of``)."""
    recorded = read_json(store, _records_key(key))
    if isinstance(recorded, dict):
        recorded = read_json(store, _records_key(recorded["comme"]))
    return None if recorded is None else set(recorded)


def put_version(
    store: ObjectStore, folder: str, stem: str, ext: str, data: bytes | Path, records: Iterable | None = None,
    sha256: str | None = None, records_of: str | None = None,
) -> tuple[str, bool]:
    """Write a version once; returns its key and whether it was new. ``data``: the bytes, or a local
    file (a year's national file), hashed and copied in chunks; ``sha256``: their digest, when the
    caller has it already (a large file is then not read once more to hash it).

    ``records`` are what the file holds (rows, acts), kept privately so that a withdrawal
    can tell which retained versions still show a withdrawn record (see ``retire_superseded``).
    ``records_of``, instead: the key of a version (of the same folder) whose records hold all this
    one holds, named rather than copied (the many small parts of one year's text index); once that
    version is gone, this one's records are not known any more, and it goes at its first retirement.
    """
    digest = sha256 or content_size_sha256(data)[1]
    key = f"{folder}/{_named(stem, ext, digest)}"
    exists = store.exists(key)
    # A version not written yet gets its records without a look at a copy: there is none, or one a
    # write stopped before its version left, of the same bytes (one request less per new version)
    put = put_if_changed if exists else lambda store, key, data: store.put_bytes(key, data)
    if records_of is not None:
        put(store, _records_key(key), json_bytes({"comme": records_of}))
    elif records is not None:
        put(store, _records_key(key), json_bytes(fingerprints(records)))
    if exists:
        return key, False
    if isinstance(data, Path):
        put_file(store, key, data, digest)
    else:
        store.put_bytes(key, data)
    return key, True


def read_json(store: ObjectStore, key: str, default=None):
    """The JSON object at ``key``, else ``default``: one request (a GET), not a look-up first. Read by
    msgspec (what ``json.loads`` gives of the JSON digor writes, faster: a switch reads the records of
    the versions it retires)."""
    try:
        return msgspec.json.decode(store.get_bytes(key))
    except FileNotFoundError:
        return default


def _stem(name: str) -> str:
    found = VERSION_NAME.match(name)
    return found["stem"] if found else name


_INVERTED = bytes(range(255, -1, -1))


def _reversed(name: str) -> bytes:
    """A sort key putting names in descending order (a name before the longer names it begins):
    each character's code point subtracted from the largest, as bytes compared in C."""
    return name.encode("utf-32-be", "surrogatepass").translate(_INVERTED)


def _retired_key(folder: str) -> str:
    return f"{RETIRED_PREFIX}/{public_path(folder)}.json"


def retire_superseded(
    store: ObjectStore,
    folder: str,
    current: Iterable[str],
    retention_days: float,
    now: datetime | None = None,
    listed: list[str] | None = None,
) -> list[str]:
    """After a switch: retire the versions of ``folder`` that the manifest no longer names.

    ``current`` are the names of the versions the manifest names now (``listed``: the folder's keys,
    when the caller has listed it since its last version was written). A retired version is
    deleted ``retention_days`` after it was superseded, or at once when it holds a record
    that no current version of the folder holds (an act withdrawn, refused or corrected,
    whether its row count moved or not, and whichever year's slot it was in). Versions
    never switched in (left by a crash) are retired the same way. Returns the deleted keys.
    """
    now = now or datetime.now(timezone.utc)
    keep = set(current)
    state_key = _retired_key(folder)
    retired: dict[str, str] = read_json(store, state_key, {})
    before = dict(retired)
    deleted = []
    shown: set[str] = set()
    stem_of = {name: _stem(name) for name in keep}
    # The versions named by a year first, newest first: they hold what the others show.
    unread = sorted(keep, key=lambda n: (not stem_of[n].isdigit(), _reversed(n)))

    def shows_withdrawn(name: str) -> bool:
        """Whether the version holds a record no current version holds. The current versions' records
        are read only until they cover the retired version's, those of its own stem first, then in
        the order of ``unread``: a folder's switch reads what changed, not every version of its
        history, unless a record really left."""
        held = read_records(store, f"{folder}/{name}")
        if held is None:
            return True
        stem = _stem(name)
        for other in [n for n in unread if stem_of[n] == stem] + [n for n in unread if stem_of[n] != stem]:
            if held <= shown:
                break
            unread.remove(other)
            shown.update(read_records(store, f"{folder}/{other}") or set())
        return not held <= shown

    def drop(name: str) -> None:
        key = f"{folder}/{name}"
        if store.exists(key):
            store.delete(key)
            deleted.append(key)
        store.delete(_records_key(key))
        retired.pop(name, None)

    for key in store.list_keys(folder + "/") if listed is None else listed:
        name = key[len(folder) + 1:]
        if "/" not in name and is_version(name) and name not in keep:
            retired.setdefault(name, now.isoformat())
    for name in list(retired):
        if name in keep:
            retired.pop(name)
        elif datetime.fromisoformat(retired[name]) + timedelta(days=retention_days) <= now or shows_withdrawn(name):
            drop(name)
    if retired != before:
        if retired:
            store.put_bytes(state_key, json_bytes(dict(sorted(retired.items()))))
        else:
            store.delete(state_key)
    return deleted


# ---- pointers: which version each slot of a folder's manifest is to name -------------
POINTERS_PREFIX = f"{VERSIONS_PREFIX}/pointers"
PENDING_PREFIX = f"{VERSIONS_PREFIX}/pending"
ALIASES_PREFIX = f"{VERSIONS_PREFIX}/aliases"


def _area(folder: str) -> str:
    return public_path(folder)


def set_pointer(store: ObjectStore, folder: str, slot: str, entry: dict | None) -> bool:
    """Record (or, with None, forget) the version a slot is to name; True if it changed.

    A change marks the folder as pending, so the next switch, in this run or a later
    one, publishes it even if the run that wrote it stopped before switching.
    """
    key = f"{POINTERS_PREFIX}/{_area(folder)}/{slot}.json"
    current = read_json(store, key)
    if current == entry:
        return False
    if entry is None:
        store.delete(key)
    else:
        store.put_bytes(key, json_bytes(entry))
    store.put_bytes(f"{PENDING_PREFIX}/{_area(folder)}", b"")
    return True


def read_pointers(store: ObjectStore, folder: str) -> dict[str, dict]:
    prefix = f"{POINTERS_PREFIX}/{_area(folder)}/"
    return {
        key[len(prefix):-len(".json")]: json.loads(store.get_bytes(key))
        for key in store.list_keys(prefix)
        if key.endswith(".json") and "/" not in key[len(prefix):]
    }


def pending_folders(store: ObjectStore, under: str) -> list[str]:
    """Folders under ``under`` whose pointers moved since their manifest was last switched."""
    prefix = f"{PENDING_PREFIX}/{_area(under).rstrip('/')}/"
    return [f"{PUBLIC}/" + key[len(PENDING_PREFIX) + 1:] for key in store.list_keys(prefix)]


def clear_pending(store: ObjectStore, folder: str) -> None:
    store.delete(f"{PENDING_PREFIX}/{_area(folder)}")


def _copy_plain(store: ObjectStore, source: str, target: str) -> None:
    """``target`` as the plain bytes of ``source``; copied in chunks where the store can and the
    version is not compressed (a year's national file is never read whole there)."""
    copy = getattr(store, "copy", None)
    if copy is not None:
        with open_object(store, source) as stream:
            compressed = is_gzip(stream.read(2))
        if not compressed:
            copy(source, target)
            return
    store.put_bytes(target, plain_bytes(store.get_bytes(source)))


def write_aliases(store: ObjectStore, folder: str, aliases: Mapping[str, str], listed: list[str] | None = None) -> list[str]:
    """Stable "latest" names (one PUT each) as copies of the versions they stand for, as plain
    text when the version is stored compressed (the name people and scripts use reads as it says).

    ``aliases`` maps alias name -> version name; an alias no longer listed is deleted. ``listed``: the
    folder's keys, when the caller has them (an alias missing is looked up there, not asked for).
    """
    state_key = f"{ALIASES_PREFIX}/{_area(folder)}.json"
    state: dict[str, str] = read_json(store, state_key, {})
    present = None if listed is None else set(listed)
    written = []
    for alias, version in sorted(aliases.items()):
        key = f"{folder}/{alias}"
        if state.get(alias) != version or not (store.exists(key) if present is None else key in present):
            _copy_plain(store, f"{folder}/{version}", key)
            written.append(key)
    for alias in sorted(set(state) - set(aliases)):
        store.delete(f"{folder}/{alias}")
    if dict(aliases) != state:
        if aliases:
            store.put_bytes(state_key, json_bytes(dict(sorted(aliases.items()))))
        else:
            store.delete(state_key)
    return written


# ---- file sets: files read through one manifest that names them (a body's widget files) --
FILESETS_PREFIX = f"{VERSIONS_PREFIX}/filesets"


def _renamed(value, names: Mapping[str, str]):
    """``value`` with every string that is a file of the set replaced by its version's name."""
    if isinstance(value, dict):
        return {key: _renamed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return names.get(value, value) if isinstance(value, str) else value


def publish_file_set(
    store: ObjectStore, folder: str, files: Mapping[str, bytes], manifest: str, retention_days: float,
    now: datetime | None = None, records: Mapping[str, Iterable] | None = None,
) -> list[str]:
    """Write ``files`` as versions, then their manifest (JSON) naming the versions, last.

    Versions of text files are stored gzip-compressed (served with ``Content-Encoding: gzip``,
    read back with ``core.store.plain_bytes``): a browser downloads a large body's files at a
    fraction of their size. The manifest, which a browser asks for on every visit, stays as it is.
    A reader holding the old manifest keeps reading the old files, retired like a dataset's
    versions (``retire_superseded``). ``records`` gives, per file, what it holds (the
    contracts of a year file, the points of a series); a file without is one record, so a
    superseded version of it goes at once. No ``files`` removes the set. Returns the keys written.
    """
    state_key = f"{FILESETS_PREFIX}/{_area(folder)}.json"
    previous: dict[str, str] = read_json(store, state_key, {})
    current: dict[str, str] = {}
    written = []
    for name, data in sorted(files.items()):
        if name == manifest:
            continue
        stem, ext = name.rsplit(".", 1)
        held = (records or {}).get(name)
        stored = gzip_bytes(data) if f".{ext.lower()}" in COMPRESSIBLE_SUFFIXES else data
        key, changed = put_version(store, folder, stem, ext, stored, [sha256_hex(data)] if held is None else held)
        current[name] = PurePosixPath(key).name
        written += [key] if changed else []
    manifest_key = f"{folder}/{manifest}"
    if manifest in files:
        if put_if_changed(store, manifest_key, json_bytes(_renamed(json.loads(files[manifest]), current))):
            written.append(manifest_key)
    else:
        store.delete(manifest_key)
    for key in store.list_keys(folder + "/"):  # files of an earlier publication in place, under their plain names
        name = key[len(folder) + 1:]
        if "/" not in name and name != manifest and not is_version(name):
            store.delete(key)
    retire_superseded(store, folder, current.values(), retention_days, now)
    if current != previous:
        if current:
            store.put_bytes(state_key, json_bytes(dict(sorted(current.items()))))
        else:
            store.delete(state_key)
    return written
