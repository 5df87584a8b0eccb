"""A copy-on-write view of a store, for backfills that must be seen before they publish.

Reads fall through to the base store; writes and deletions land under a private prefix
of the base store itself, so an interrupted backfill resumes where it stopped (on S3
as on a local folder) and nothing public changes until ``promote`` copies the result.
"""

from __future__ import annotations

from pathlib import Path

from core.keys import is_public
from core.store import ObjectStore, content_sha256, open_store, put_file, put_if_changed


class OverlayStore:
    def __init__(self, base: ObjectStore, prefix: str):
        self.base = base
        self.prefix = prefix.rstrip("/")
        self.url = f"{base.url}#overlay={self.prefix}"

    def _object(self, key: str) -> str:
        return f"{self.prefix}/objects/{key}"

    def _tombstone(self, key: str) -> str:
        return f"{self.prefix}/deleted/{key}"

    def put_bytes(self, key: str, data: bytes) -> None:
        self.base.put_bytes(self._object(key), data)
        self.base.delete(self._tombstone(key))

    def put_file(self, key: str, source: Path, sha256: str) -> None:
        put_file(self.base, self._object(key), source, sha256)
        self.base.delete(self._tombstone(key))

    def get_bytes(self, key: str) -> bytes:
        if self.base.exists(self._object(key)):
            return self.base.get_bytes(self._object(key))
        if self.base.exists(self._tombstone(key)):
            raise FileNotFoundError(f"{key} deleted in {self.url}")
        return self.base.get_bytes(key)

    def exists(self, key: str) -> bool:
        if self.base.exists(self._object(key)):
            return True
        return not self.base.exists(self._tombstone(key)) and self.base.exists(key)

    def content_sha256(self, key: str) -> str | None:
        own = content_sha256(self.base, self._object(key))
        if own is not None:
            return own
        return None if self.base.exists(self._tombstone(key)) else content_sha256(self.base, key)

    def delete(self, key: str) -> None:
        self.base.delete(self._object(key))
        if self.base.exists(key):
            self.base.put_bytes(self._tombstone(key), b"")

    def _overlay_keys(self, area: str, prefix: str) -> set[str]:
        root = f"{self.prefix}/{area}/"
        return {k[len(root):] for k in self.base.list_keys(root + prefix)}

    def list_keys(self, prefix: str) -> list[str]:
        deleted = self._overlay_keys("deleted", prefix)
        own = self._overlay_keys("objects", prefix)
        base = {k for k in self.base.list_keys(prefix) if not k.startswith(self.prefix + "/")}
        return sorted((base - deleted) | own)

    def changes(self) -> tuple[list[str], list[str]]:
        """Keys written and keys deleted in the overlay."""
        return sorted(self._overlay_keys("objects", "")), sorted(self._overlay_keys("deleted", ""))

    def promote(self) -> dict:
        """Apply the overlay to the base store, then forget it. Safe to repeat if interrupted."""
        written, deleted = self.changes()
        changed = 0
        # Public files last: readers see new public files only once what they point to exists.
        for key in sorted(written, key=lambda k: (is_public(k), k)):
            changed += put_if_changed(self.base, key, self.base.get_bytes(self._object(key)))
        for key in deleted:
            self.base.delete(key)
        self.discard()
        return {"written": len(written), "changed": changed, "deleted": len(deleted)}

    def discard(self) -> None:
        for key in self.base.list_keys(self.prefix + "/"):
            self.base.delete(key)


def chain_store(settings) -> ObjectStore:
    """The store a chain step reads and writes: the configured one, or a backfill's overlay over it."""
    store = open_store(settings.store_url)
    return OverlayStore(store, settings.overlay_prefix) if settings.overlay_prefix else store
