"""Object store: one interface, a local-folder implementation for the demo.

Keys are POSIX-like paths whose first segment is the zone (see ``Zone``). Writes are
atomic per object: a reader sees the old bytes or the new ones, never a mix. The raw
zone is write-once: rewriting a raw object with other bytes is refused, because
backfills replay raw and must find it exactly as received.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq


class Zone(str, Enum):
    RAW = "raw"
    STAGING = "staging"
    PUBLIC = "public"
    PRIVATE = "private"


class StoreError(RuntimeError):
    pass


class RawOverwriteError(StoreError):
    """Raised when a raw object would be rewritten with different bytes."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"invalid object key {key!r}")
    if parts[0] not in {z.value for z in Zone}:
        raise StoreError(f"object key {key!r} is outside the zones {[z.value for z in Zone]}")
    return key


class ObjectStore(Protocol):
    """What every backend (local folder, S3) provides."""

    url: str

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...


class LocalStore:
    """Object store backed by a local folder (the embedded default)."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-" + path.name[:40])
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{key} not found in {self.url}")
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        start = base if prefix.endswith("/") else base.parent
        if not start.exists():
            return []
        keys = []
        for path in start.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def open_store(url: str) -> ObjectStore:
    """Open the store named by configuration: a folder path or ``file://`` URL."""
    if url.startswith("file://"):
        return LocalStore(url[len("file://"):])
    if "://" in url:
        raise StoreError(f"unsupported object store URL {url!r} (this build knows local folders)")
    return LocalStore(url)


def put_raw(store: ObjectStore, key: str, data: bytes) -> bool:
    """Write once into the raw zone; True if written, False if already there unchanged."""
    if not key.startswith(Zone.RAW.value + "/"):
        raise StoreError(f"{key!r} is not a raw key")
    if store.exists(key):
        if sha256_hex(store.get_bytes(key)) != sha256_hex(data):
            raise RawOverwriteError(f"raw object {key} exists with other content; raw is immutable")
        return False
    store.put_bytes(key, data)
    return True


def put_if_changed(store: ObjectStore, key: str, data: bytes) -> bool:
    """Write only when the bytes differ, so reruns leave files (and their mtimes) alone."""
    if store.exists(key) and store.get_bytes(key) == data:
        return False
    store.put_bytes(key, data)
    return True


def table_to_parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_parquet(store: ObjectStore, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.get_bytes(key)))
