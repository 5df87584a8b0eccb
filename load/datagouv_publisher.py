"""Publication of the regional files on data.gouv.fr, behind one interface.

The demo uses ``DryRunPublisher``: it records exactly what would be sent (metadata,
checksum, size) in the private zone and skips files whose checksum has not changed
since the last publication, as the real client must.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Protocol

from digor.store import ObjectStore

STATE_KEY = "private/datagouv/resources.json"
DRY_RUN_PREFIX = "private/datagouv/dry-run"
MIME_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}


@dataclass(frozen=True)
class ResourceUpload:
    dataset: str
    key: str
    title: str
    description: str
    format: str
    schema: dict | None
    filesize: int
    sha256: str

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.format]

    @property
    def filename(self) -> str:
        return PurePosixPath(self.key).name


class Publisher(Protocol):
    def publish(self, upload: ResourceUpload, data: bytes) -> dict: ...


def _dumps(document) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


class DryRunPublisher:
    """Writes the request it would make instead of making it."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def _state(self) -> dict:
        return json.loads(self.store.get_bytes(STATE_KEY)) if self.store.exists(STATE_KEY) else {}

    def publish(self, upload: ResourceUpload, data: bytes) -> dict:
        state = self._state()
        resource = f"{upload.dataset}/{upload.filename}"
        previous = state.get(resource, {})
        if previous.get("sha256") == upload.sha256:
            return {"resource": resource, "status": "unchanged", "resource_id": previous.get("resource_id")}
        resource_id = previous.get("resource_id") or f"dry-run:{resource}"
        request = {
            "dataset": upload.dataset,
            "resource_id": resource_id,
            "file": upload.filename,
            "metadata": {
                "title": upload.title,
                "description": upload.description,
                "format": upload.format,
                "mime": upload.mime,
                "filesize": upload.filesize,
                "checksum": {"type": "sha256", "value": upload.sha256},
                "schema": upload.schema,
            },
        }
        self.store.put_bytes(f"{DRY_RUN_PREFIX}/{resource}.json", _dumps(request))
        state[resource] = {"sha256": upload.sha256, "resource_id": resource_id}
        self.store.put_bytes(STATE_KEY, _dumps(state))
        return {"resource": resource, "status": "would-upload", "resource_id": resource_id}


def make_publisher(mode: str, store: ObjectStore) -> Publisher:
    if mode == "dry-run":
        return DryRunPublisher(store)
    raise ValueError(f"data.gouv.fr mode {mode!r} is not available in this build (use 'dry-run')")
