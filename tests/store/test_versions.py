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
from load.versions import RETIRED_PREFIX, fingerprint, is_version, texts_fingerprint

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


def _versions(store, folder=FOLDER) -> set[str]:
    return {k.rsplit("/", 1)[1] for k in store.list_keys(folder + "/") if is_version(k.rsplit("/", 1)[1])}


def test_a_withdrawal_with_a_new_act_in_the_same_switch_leaves_no_copy_whatever_the_row_count(tmp_path):
    """Act 0 withdrawn and act 3 arrived: as many rows as before, yet no retained version shows act 0."""
    store = LocalStore(tmp_path)
    _publish(store, _acts(3))
    first = _versions(store)
    _publish(store, _acts(4).iloc[1:], now=NOW + timedelta(minutes=5))
    assert _csv_rows(_visible(store)["2025/csv"]) == 3
    assert not first & _versions(store), "the versions that showed the withdrawn act are gone at the switch"


def test_every_retained_version_that_shows_a_withdrawn_act_goes_at_the_switch(tmp_path):
    """A version retained from an earlier night goes too, not only the one the switch supersedes."""
    store = LocalStore(tmp_path)
    _publish(store, _acts(3))
    first = _versions(store)
    _publish(store, _acts(4), now=NOW + timedelta(hours=1))
    second = _versions(store) - first
    assert first <= _versions(store), "new acts only: the first night's versions are kept for the retention"
    _publish(store, _acts(5).iloc[1:], now=NOW + timedelta(hours=2))
    assert not (first | second) & _versions(store)
    _publish(store, _acts(6).iloc[1:], now=NOW + timedelta(hours=3))
    assert len(_versions(store)) == 4, "new acts again: the previous version is retained"


def test_a_retained_version_moved_to_another_slot_goes_when_its_act_leaves_the_folder(tmp_path):
    """An act whose year moved is still public in the other year's file; once withdrawn from it, no
    retained version of either year shows it."""
    store = LocalStore(tmp_path)
    from tests.store.sample_rows import actes_rows

    _publish(store, _acts(3))
    _publish(store, _acts(4), now=NOW + timedelta(hours=1))
    retained = _versions(store)
    _publish(store, actes_rows(1, year=2024), year=2024, now=NOW + timedelta(hours=2))
    _publish(store, _acts(4).iloc[1:], now=NOW + timedelta(hours=3))
    _publish(store, _acts(1).iloc[0:0], year=2024, now=NOW + timedelta(hours=4))
    left = {name: store.get_bytes(f"{FOLDER}/{name}") for name in _versions(store) if name.endswith(".csv")}
    assert retained - _versions(store) == retained
    assert not [name for name, data in left.items() if b",src-0\n" in data]


def test_a_file_set_member_that_held_a_withdrawn_item_goes_at_once(tmp_path):
    """Widget file sets (budgets, DECP) share the rule: a series file that still counts a withdrawn
    budget is not kept for the retention, one that only gained a budget is."""
    from load.versions import publish_file_set

    store = LocalStore(tmp_path)
    folder = "public/widgets/budgets/21290099700017"

    def publish(points: list[str], hours: int) -> None:
        serie = json.dumps({"points": points}).encode()
        index = json.dumps({"serie": "serie.json"}).encode()
        publish_file_set(store, folder, {"serie.json": serie, "index.json": index}, "index.json", 2.0,
                         NOW + timedelta(hours=hours), records={"serie.json": points})

    publish(["2024-bp", "2025-bp"], 0)
    first = _versions(store, folder)
    publish(["2024-bp", "2025-bp", "2025-ca"], 1)
    assert first <= _versions(store, folder), "a budget added: the old series is kept for the retention"
    publish(["2024-bp", "2025-ca"], 2)
    assert len(_versions(store, folder)) == 1, "2025-bp withdrawn: no retained series still shows it"
    publish(["2024-bp", "2025-ca", "2026-bp"], 3)
    assert len(_versions(store, folder)) == 2


def test_a_file_set_file_without_records_is_not_kept_once_superseded(tmp_path):
    """What a file holds unknown, a superseded version of it may hold a withdrawn item: it goes at once."""
    from load.versions import publish_file_set

    store = LocalStore(tmp_path)
    folder = "public/widgets/budgets/21290099700017"
    for hours, text in enumerate((b"{\"a\": 1}", b"{\"a\": 2}")):
        publish_file_set(store, folder, {"budget.json": text, "index.json": b"{\"f\": \"budget.json\"}"},
                         "index.json", 2.0, NOW + timedelta(hours=hours))
    assert len(_versions(store, folder)) == 1


@pytest.mark.parametrize("cells", [
    [], ["seul"], ["a", "b"], ['x","y', "\\", 'a\\","', "", "None", "1.5"],
    ["contrôle \x01\x1f\x7f \u2028 \U0001F600 « » \" / ; \n", "é" * 3], ["lone \ud800"],
    ['a",', "b"], ['",', '"', ',"', '","'],
])
def test_a_row_of_texts_has_the_fingerprint_of_any_record(cells):
    """A table's rows are fingerprinted by msgspec's writing; a version's records stay those it recorded."""
    if any("\ud800" in cell for cell in cells):
        with pytest.raises(UnicodeEncodeError):
            fingerprint(cells)
        with pytest.raises(UnicodeEncodeError):
            texts_fingerprint(cells)
        return
    assert texts_fingerprint(cells) == fingerprint(cells)


@pytest.mark.parametrize("record", [
    {}, [], {"b": 1, "a": [1, 2.5, None, True, False]}, {"x": {"y": {}}, "z": []},
    {"montant": 1e-07, "taux": 0.00001, "grand": 1e22, "entier": 2**63 + 1, "négatif": -0.0},
    {"texte": "contrôle \x01\x1f\x7f \u2028 \U0001F600 « » \" / \\ ; \n\t", "é": "É", "A": ["a,b", "c:d", "{[]}"]},
])
def test_a_record_given_as_its_canonical_text_has_the_fingerprint_of_the_record(record):
    """A year's regulatory objects are fingerprinted from their staged texts, never parsed: same records."""
    from load.versions import json_text_fingerprint
    from transform.decp_staging import dumps

    assert json_text_fingerprint(dumps(record).encode("utf-8")) == fingerprint(record)


def test_the_retirement_order_of_names_is_descending_code_points_a_name_before_those_it_begins():
    """``_reversed`` (bytes compared in C) orders names as the negated code points did: descending, a
    name before the longer names it begins, astral characters and lone surrogates included."""
    import random

    from load.versions import _reversed

    rng = random.Random(3)
    alphabet = "ab.9-_é\u0300\U0001F600z\ud800"
    for _ in range(2000):
        names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(20)]
        assert sorted(names, key=_reversed) == sorted(names, key=lambda n: tuple(-ord(c) for c in n))
