"""Publication of the regional files on data.gouv.fr, behind one interface.

Two modes share the guards and the state, and differ only in how a resource is sent:

- ``dry-run`` (the default, no service needed): writes exactly what would be sent
  (metadata, checksum, size) in ``private/datagouv/dry-run/``;
- ``api``: talks to the udata API v1 at the base URL of the Airflow connection
  ``digor_datagouv`` (production, demo, or the loopback emulator of the tests).

One resource per dataset x year x format, named by its stable file name
(``deliberations/deliberations-2025.csv``). Its udata id comes from configuration
(``DIGOR_DATAGOUV_RESOURCES``) or from the private state once digor created it; it is
never looked up by title. Guards, in order: a file that failed validation is never sent;
a file that would lose more than ``max_shrink_ratio`` of the rows of the last version
published is held back (reported) unless the run allows it; a file whose checksum has
not changed is not sent again. The shrink guard is for accidents (a lost partition, a
broken source): rows that decisions took out (a withdrawal, a refusal) are expected, down
to an empty file, so each upload says how many rows decisions have taken out of its file
so far (``left_by_decision``) and the guard counts only the rows that left otherwise.
The state in the private zone records the last version published of each resource, so
the next run finishes what a failed one left.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from core.jsonio import json_bytes as _dumps
from core.keys import DATAGOUV_PREFIX
from core.store import ObjectStore, sha256_hex
from core.test_hook import hold
from load.datagouv_client import DataGouvAmbiguous, DataGouvError, DataGouvRejected, UdataClient

log = logging.getLogger(__name__)

STATE_PREFIX = f"{DATAGOUV_PREFIX}/state"
DRY_RUN_PREFIX = f"{DATAGOUV_PREFIX}/dry-run"
MIME_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}
# Set in each resource's extras: lets a run that lost its state recognise its resources.
RESOURCE_EXTRA = "digor:resource"
MODES = ("dry-run", "api")


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
    rows: int | None = None
    # Stable file name of the resource when ``key`` is a versioned name.
    name: str | None = None
    validated: bool = True
    # Rows the decisions (ledger) have taken out of this file so far: expected to be missing.
    left_by_decision: int = 0

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.format]

    @property
    def filename(self) -> str:
        return self.name or PurePosixPath(self.key).name

    @property
    def resource(self) -> str:
        return f"{self.dataset}/{self.filename}"

    def metadata(self) -> dict:
        """The resource metadata digor sets (and keeps: the platform renames on upload)."""
        metadata = {
            "title": self.title,
            "description": self.description,
            "format": self.format,
            "mime": self.mime,
            "filesize": self.filesize,
            "checksum": {"type": "sha256", "value": self.sha256},
            "type": "main",
        }
        if self.schema:
            metadata["schema"] = self.schema
        return metadata


class Publisher(Protocol):
    def publish(self, upload: ResourceUpload, data: bytes) -> dict: ...


class _GuardedPublisher:
    """Guards and state shared by every mode; ``_send`` is the mode's own part."""

    state_key: str

    def __init__(self, store: ObjectStore, *, allow_shrink: bool = False, max_shrink_ratio: float = 0.2):
        self.store = store
        self.allow_shrink = allow_shrink
        self.max_shrink_ratio = max_shrink_ratio

    def _state(self) -> dict:
        """The state, one read (on S3 a look-up first would be a request of its own)."""
        try:
            return json.loads(self.store.get_bytes(self.state_key))
        except FileNotFoundError:
            return {}

    def _remember(self, resource: str, entry: dict) -> None:
        """One resource's entry written into the state shared by every chain (two chains may publish at
        once, each under its own lease): compare-and-swap, read again when another writer got there first."""
        while True:
            try:
                data, tag = self.store.read_tagged(self.state_key)
                state = json.loads(data)
            except FileNotFoundError:
                state, tag = {}, None
            state[resource] = entry
            hold("datagouv-state-write")
            if self.store.put_if(self.state_key, _dumps(state), tag) is not None:
                return

    def _held_back(self, upload: ResourceUpload, previous: dict) -> str | None:
        if not upload.validated:
            return "the file failed validation: it is never sent"
        last = previous.get("rows")
        if self.allow_shrink or upload.rows is None or not last:
            return None
        decided = upload.left_by_decision - previous.get("left_by_decision", 0)
        expected = last - decided
        if upload.rows < expected * (1 - self.max_shrink_ratio):
            taken = f", {decided} of them taken out by decisions" if decided > 0 else ""
            return (
                f"would shrink from {last} to {upload.rows} rows{taken} (more than {self.max_shrink_ratio:.0%} "
                f"of the last version published otherwise); rerun with allow_shrink to publish it"
            )
        return None

    def publish(self, upload: ResourceUpload, data: bytes) -> dict:
        if sha256_hex(data) != upload.sha256:
            raise ValueError(f"{upload.key}: the bytes do not match the checksum announced for {upload.resource}")
        previous = self._state().get(upload.resource, {})
        reason = self._held_back(upload, previous)
        if reason:
            log.warning("data.gouv.fr: %s held back: %s", upload.resource, reason)
            return {"resource": upload.resource, "status": "held-back", "reason": reason,
                    "resource_id": previous.get("resource_id"), "rows": upload.rows}
        if previous.get("sha256") == upload.sha256 and previous.get("complete", True):
            return {"resource": upload.resource, "status": "unchanged", "resource_id": previous.get("resource_id")}
        outcome = self._send(upload, data, previous)
        self._remember(upload.resource, {
            "sha256": upload.sha256, "rows": upload.rows, "filesize": upload.filesize,
            "left_by_decision": upload.left_by_decision,
            "resource_id": outcome["resource_id"], **({"dataset_id": outcome["dataset_id"]} if "dataset_id" in outcome else {}),
        })
        return outcome

    def _send(self, upload: ResourceUpload, data: bytes, previous: dict) -> dict:
        raise NotImplementedError


class DryRunPublisher(_GuardedPublisher):
    """Writes the request it would make instead of making it."""

    state_key = f"{STATE_PREFIX}/dry-run.json"

    def _send(self, upload: ResourceUpload, data: bytes, previous: dict) -> dict:
        resource_id = previous.get("resource_id") or f"dry-run:{upload.resource}"
        request = {
            "dataset": upload.dataset,
            "resource_id": resource_id,
            "file": upload.filename,
            "metadata": upload.metadata() | {"schema": upload.schema},
        }
        self.store.put_bytes(f"{DRY_RUN_PREFIX}/{upload.resource}.json", _dumps(request))
        return {"resource": upload.resource, "status": "would-upload", "resource_id": resource_id}


def _same_file(resource: dict, upload: ResourceUpload, data: bytes) -> bool:
    checksum = resource.get("checksum") or {}
    value = checksum.get("value")
    if checksum.get("type") == "sha256":
        return value == upload.sha256
    if checksum.get("type", "sha1") == "sha1":
        return value == hashlib.sha1(data).hexdigest()
    return False


def _metadata_differs(resource: dict, wanted: dict, marker: str) -> bool:
    if (resource.get("extras") or {}).get(RESOURCE_EXTRA) != marker:
        return True
    return any((resource.get(name) or None) != (value or None) for name, value in wanted.items() if name != "extras")


class ApiPublisher(_GuardedPublisher):
    """Publishes through the udata API v1; every resource ends at its old version or its new one."""

    def __init__(
        self,
        store: ObjectStore,
        client: UdataClient,
        datasets: dict[str, str],
        resources: dict[str, str] | None = None,
        **guards,
    ):
        super().__init__(store, **guards)
        self.client = client
        self.datasets = datasets
        self.resources = resources or {}
        target = urlsplit(client.base_url)
        self.state_key = f"{STATE_PREFIX}/{(target.netloc or 'udata').replace(':', '-')}.json"
        self._remote: dict[str, dict[str, dict]] = {}

    def _dataset_resources(self, dataset_id: str, refresh: bool = False) -> dict[str, dict]:
        if refresh or dataset_id not in self._remote:
            dataset = self.client.get_dataset(dataset_id)
            self._remote[dataset_id] = {r["id"]: r for r in dataset.get("resources", [])}
        return self._remote[dataset_id]

    def _adopt(self, dataset_id: str, upload: ResourceUpload, data: bytes) -> dict | None:
        """A resource of ours the state lost: marked as ours, or created by an interrupted upload.

        An unmarked resource is taken only when it holds exactly this file and no other
        resource of the state claims it; never by its title.
        """
        remote = self._dataset_resources(dataset_id)
        for resource in remote.values():
            if (resource.get("extras") or {}).get(RESOURCE_EXTRA) == upload.resource:
                return resource
        claimed = {entry.get("resource_id") for entry in self._state().values()} | set(self.resources.values())
        for resource in remote.values():
            unmarked = RESOURCE_EXTRA not in (resource.get("extras") or {})
            if unmarked and resource["id"] not in claimed and _same_file(resource, upload, data):
                return resource
        return None

    def _create(self, dataset_id: str, upload: ResourceUpload, data: bytes) -> dict:
        """Upload a new resource; after an ambiguous failure, look before trying again."""
        last: DataGouvAmbiguous | None = None
        for _ in range(self.client.options.max_attempts):
            try:
                return self.client.upload_new_resource(dataset_id, upload.filename, data, upload.mime, upload.resource)
            except DataGouvAmbiguous as error:
                last = error
                self._dataset_resources(dataset_id, refresh=True)
                found = self._adopt(dataset_id, upload, data)
                if found is not None:
                    return found
        raise last  # type: ignore[misc]

    def _send(self, upload: ResourceUpload, data: bytes, previous: dict) -> dict:
        dataset_id = self.datasets.get(upload.dataset)
        if not dataset_id:
            raise DataGouvError(
                f"no data.gouv.fr dataset configured for {upload.dataset!r} "
                f"(DIGOR_DATAGOUV_DATASETS maps digor datasets to udata dataset ids)"
            )
        configured = self.resources.get(upload.resource)
        resource_id = configured or (previous.get("resource_id") if previous.get("dataset_id") == dataset_id else None)
        remote = self._dataset_resources(dataset_id)
        current = remote.get(resource_id) if resource_id else None
        if resource_id and current is None:
            if resource_id == configured:
                raise DataGouvRejected(
                    f"resource {resource_id} configured for {upload.resource} is not in dataset {dataset_id}"
                )
            log.warning("data.gouv.fr: resource %s of %s is gone from dataset %s; creating it again",
                        resource_id, upload.resource, dataset_id)
        if current is None:
            current = self._adopt(dataset_id, upload, data)
        if current is None:
            current = self._create(dataset_id, upload, data)
            status = "created"
            # Known from now on, so a failure before the metadata update cannot lead to a duplicate.
            self._remember(upload.resource, {"resource_id": current["id"], "dataset_id": dataset_id,
                                             "rows": previous.get("rows"), "complete": False})
        elif not _same_file(current, upload, data):
            current = self.client.upload_resource_file(
                dataset_id, current["id"], upload.filename, data, upload.mime, upload.resource
            )
            status = "uploaded"
        else:
            status = "unchanged"
        wanted = upload.metadata()
        if _metadata_differs(current, wanted, upload.resource):
            wanted["extras"] = {**(current.get("extras") or {}), RESOURCE_EXTRA: upload.resource}
            current = self.client.update_resource(dataset_id, current["id"], wanted, upload.resource)
            status = "metadata-updated" if status == "unchanged" else status
        remote[current["id"]] = current
        return {"resource": upload.resource, "status": status, "resource_id": current["id"], "dataset_id": dataset_id}


def make_publisher(mode: str, store: ObjectStore, *, settings=None, allow_shrink: bool = False) -> Publisher:
    """The publisher of ``mode`` (``DIGOR_DATAGOUV_MODE``): ``dry-run`` or ``api``."""
    from core.config import Settings

    settings = settings or Settings.from_env()
    guards = {"allow_shrink": allow_shrink, "max_shrink_ratio": settings.max_shrink_ratio}
    if mode == "dry-run":
        return DryRunPublisher(store, **guards)
    if mode == "api":
        client = UdataClient.from_connection(settings.datagouv_conn_id)
        return ApiPublisher(store, client, settings.datagouv_datasets, settings.datagouv_resources, **guards)
    raise ValueError(f"data.gouv.fr mode {mode!r} is unknown (use one of {', '.join(MODES)})")
