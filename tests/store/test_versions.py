"""Versioned publication: versions first, manifest switched last, old versions kept then cleaned."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from chains.publication import publish_table
from core.store import LocalStore, open_store
from load.public_files import manifest_files, switch_dataset_manifest
from load.versions import RETIRED_PREFIX, is_version

FOLDER = "public/actes"
SCHEMA = "actes@1.0"
NOW = datetime(2025, 3, 5, 2, tzinfo=timezone.utc)


class Crash(RuntimeError):
    pass


class CrashingStore:
    """Lets ``allowed`` writes or deletions through, then fails every later one."""

    def __init__(self, base, allowed: int):
        self.base, self.allowed, self.url = base, allowed, base.url

    def _count(self):
        if self.allowed <= 0:
            raise Crash("injected crash")
        self.allowed -= 1

    def put_bytes(self, key, data):
        self._count()
        self.base.put_bytes(key, data)

    def delete(self, key):
        self._count()
        self.base.delete(key)

    def get_bytes(self, key):
        return self.base.get_bytes(key)

    def exists(self, key):
        return self.base.exists(key)

    def list_keys(self, prefix):
        return self.base.list_keys(prefix)


def _acts(count: int) -> pd.DataFrame:
    """A valid ``actes`` table of ``count`` rows, built from the schema's own example row."""
    from tests.store.sample_rows import actes_rows

    return actes_rows(count)


def _publish(store, frame, year=2025, now=NOW, retention=2.0):
    publish_table(store, frame, f"{FOLDER}/actes-{year}", SCHEMA, versioned=True, slot=str(year))
    return switch_dataset_manifest(store, FOLDER, "actes", retention, now)


def _visible(store) -> dict:
    """What a reader following the manifest gets: slot/format -> bytes (all must exist)."""
    return {
        f"{slot}/{fmt}": store.get_bytes(f"{FOLDER}/{entry['fichier']}")
        for slot, formats in manifest_files(store, FOLDER).items()
        for fmt, entry in formats.items()
    }


def _csv_rows(data: bytes) -> int:
    return len(pd.read_csv(io.BytesIO(data), dtype=str))


def test_versions_then_manifest_then_stable_names(tmp_path):
    store = LocalStore(tmp_path)
    result = _publish(store, _acts(3))
    manifest = json.loads(store.get_bytes(f"{FOLDER}/index.json"))
    entry = manifest["fichiers"]["2025"]["csv"]
    assert is_version(entry["fichier"]) and entry["permanent"] == "actes-2025.csv" and entry["lignes"] == 3
    assert store.get_bytes(f"{FOLDER}/actes-2025.csv") == store.get_bytes(f"{FOLDER}/{entry['fichier']}")
    assert result["switched"] and not _publish(store, _acts(3))["switched"], "same bytes, nothing to switch"


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_crash_at_any_write_leaves_the_old_version_and_the_next_run_finishes(backend, tmp_path, request):
    old, new = _acts(3), _acts(5)
    writes = 0
    while True:
        if backend == "local":
            base = LocalStore(tmp_path / f"run{writes}")
        else:
            base = open_store(request.getfixturevalue("s3_store_url") + f"/run{writes}")
        _publish(base, old)
        before = _visible(base)
        try:
            _publish(CrashingStore(base, writes), new)
        except Crash:
            seen = _visible(base)
            rows = {_csv_rows(seen["2025/csv"])}
            assert seen == before or rows == {5}, f"crash after {writes} writes: a reader sees a mix"
            assert _csv_rows(base.get_bytes(f"{FOLDER}/actes-2025.csv")) in (3, 5)
            _publish(base, new)
            assert _csv_rows(_visible(base)["2025/csv"]) == 5
            assert _csv_rows(base.get_bytes(f"{FOLDER}/actes-2025.csv")) == 5
            versions = [k for k in base.list_keys(FOLDER + "/") if is_version(k.rsplit("/", 1)[1])]
            assert len(versions) == 4, "old and new version of each format, nothing duplicated"
            writes += 1
            continue
        break
    assert writes >= 5, "the publication makes several writes; each one was interrupted once"


def test_superseded_versions_are_kept_for_the_retention_then_cleaned(tmp_path):
    store = LocalStore(tmp_path)
    _publish(store, _acts(3))
    first = manifest_files(store, FOLDER)["2025"]["csv"]["fichier"]
    _publish(store, _acts(4), now=NOW + timedelta(hours=1))
    assert store.exists(f"{FOLDER}/{first}"), "a reader holding the previous manifest still finds its files"
    assert store.exists(f"{RETIRED_PREFIX}/actes.json")
    _publish(store, _acts(4), now=NOW + timedelta(days=2, hours=2))
    assert not store.exists(f"{FOLDER}/{first}")
    names = {k.rsplit("/", 1)[1] for k in store.list_keys(FOLDER + "/")}
    assert {e["fichier"] for e in manifest_files(store, FOLDER)["2025"].values()} <= names


def test_a_version_that_loses_rows_replaces_the_old_one_at_once(tmp_path):
    """Rows leave only when they must stop being public (withdrawal): no old copy lingers."""
    store = LocalStore(tmp_path)
    _publish(store, _acts(5))
    first = manifest_files(store, FOLDER)["2025"]["csv"]["fichier"]
    _publish(store, _acts(4), now=NOW + timedelta(minutes=5))
    assert not store.exists(f"{FOLDER}/{first}")
