"""Chain leases on both stores: compare-and-swap, one holder among racing processes, takeover of a
dead holder's lease, and a holder that finds out it lost its lease before switching."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from core.keys import lock_key
from core.lease import LeaseLost, LockBusy, acquire, holding
from core.store import open_store

RACERS = 4


@pytest.fixture(params=["local", "s3"])
def store_url(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return request.getfixturevalue("s3_store_url")


def test_put_if_creates_once_and_replaces_only_the_version_read(store_url):
    store = open_store(store_url)
    key = "private/locks/test.json"
    first = store.put_if(key, b"one", None)
    assert first is not None
    assert store.put_if(key, b"two", None) is None, "created twice"
    data, tag = store.read_tagged(key)
    assert (data, tag) == (b"one", first)
    second = store.put_if(key, b"three", tag)
    assert second is not None and store.get_bytes(key) == b"three"
    assert store.put_if(key, b"four", first) is None, "replaced a version it did not read"
    assert store.get_bytes(key) == b"three"


_RACER = """
import os, sys, time
from pathlib import Path
from core.lease import LockBusy, acquire
from core.store import open_store
store, gate = open_store(sys.argv[1]), Path(sys.argv[2])
Path(f"{gate}.ready-{os.getpid()}").touch()
while gate.exists():
    time.sleep(0.001)
try:
    acquire(store, "actes", f"racer {os.getpid()}", ttl=600, wait=0)
    print("held", flush=True)
except LockBusy:
    print("busy", flush=True)
"""


def test_of_processes_racing_for_a_lease_exactly_one_holds_it(store_url, tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, store_url, str(gate)], env=env, cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, text=True) for _ in range(RACERS)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("gate.ready-*"))) < RACERS:  # every racer started, waiting at the gate
        assert time.monotonic() < deadline, "the racers did not start"
        time.sleep(0.05)
    gate.unlink()
    outcomes = sorted(racer.communicate(timeout=120)[0].strip() for racer in racers)
    assert outcomes == ["busy"] * (RACERS - 1) + ["held"]
    lease = json.loads(open_store(store_url).get_bytes(lock_key("actes")))
    assert lease["owner"].startswith("racer ") and "released" not in lease


def test_a_dead_holders_lease_is_taken_over_once_expired_and_released_leases_are_free(store_url):
    store = open_store(store_url)
    dead = {"owner": "digor run actes --date 2025-03-03", "host": "elsewhere", "pid": 1, "token": "dead",
            "since": "2025-03-03T02:00:00+00:00", "expires": "2025-03-03T02:02:00+00:00"}
    store.put_bytes(lock_key("actes"), json.dumps(dead).encode())
    said: list[str] = []
    with holding(store, "actes", "a later run", ttl=60, wait=0, on_wait=said.append) as held:
        assert held.lease["owner"] == "a later run"
        with holding(store, "actes", "the same process again", ttl=60, wait=0) as nested:
            assert nested is held, "a process holding a lease does not wait for itself"
        with pytest.raises(LockBusy, match="actes is being written by a later run"):
            acquire(open_store(store_url), "actes", "another writer", ttl=60, wait=0)
    assert said == [f"took over an expired lease: actes is being written by {dead['owner']} (pid 1 on elsewhere) "
                    f"since {dead['since']}, lease until {dead['expires']}"]
    assert json.loads(store.get_bytes(lock_key("actes")))["released"]
    acquire(store, "actes", "next", ttl=60, wait=0).release()


def test_a_holder_that_lost_its_lease_finds_out_before_switching(store_url):
    store = open_store(store_url)
    held = acquire(store, "actes", "slow run", ttl=1, wait=0)
    held._stop.set()  # frozen: no renewal any more (as a process suspended longer than its lease)
    held._thread.join()
    taker = acquire(store, "actes", "next run", ttl=60, wait=5)
    with pytest.raises(LeaseLost, match="expired while this run was writing"):
        held.check()
    held.renew()
    assert held.lost
    held.release()
    assert json.loads(store.get_bytes(lock_key("actes")))["owner"] == "next run", "the loser released another's lease"
    taker.release()


def test_the_local_guard_file_is_never_an_object(tmp_path):
    store = open_store(str(tmp_path / "store"))
    store.put_if("private/locks/x.json", b"1", None)
    assert store.list_keys("private/") == ["private/locks/x.json"]
    assert Path(store.root, ".compare-and-swap.lock").exists()
