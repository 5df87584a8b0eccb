"""Leases: one writer at a time for a chain's public outputs, across processes and machines.

A lease is one JSON object in the private zone (``core.keys.lock_key``) naming its holder and
when it expires. It is taken and handed over only by compare-and-swap on the store
(``put_if``): an atomic create, or a replace of the exact version read. The holder renews it
from a background thread; a holder killed with ``kill -9`` stops renewing, so its lease
expires after ``ttl`` seconds and the next writer takes it over: nobody waits for ever.

Limits: expiry compares wall clocks, so the machines must keep their clocks in step (NTP),
well within ``ttl``. A holder frozen longer than ``ttl`` (suspended, swapping) loses its
lease; it finds out at its next renewal or ``check()`` and must stop before switching.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from core.failures import ExpectedFailure
from core.keys import lock_key
from core.store import ObjectStore, StoreError

log = logging.getLogger(__name__)


class LockBusy(ExpectedFailure):
    """Another writer held the lease for longer than this one would wait."""

    hint = ("nothing was written; run it again once that writer is done (a killed writer's lease expires "
            "by itself; DIGOR_LOCK_WAIT_SECONDS sets how long to wait)")


class LeaseLost(ExpectedFailure):
    """The lease expired and was taken over while its holder was still working."""

    hint = "nothing was switched in by this run; run it again"


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")


def _expires_at(lease: dict) -> float:
    return datetime.fromisoformat(lease["expires"]).timestamp()


def describe(name: str, lease: dict) -> str:
    """Who holds a lease, in one line."""
    return (f"{name} is being written by {lease.get('owner', '?')} (pid {lease.get('pid', '?')} on "
            f"{lease.get('host', '?')}) since {lease.get('since', '?')}, lease until {lease.get('expires', '?')}")


class Held:
    """A lease this process holds, renewed in the background until released."""

    def __init__(self, store: ObjectStore, name: str, lease: dict, tag: str, ttl: float):
        self.store, self.name, self.lease, self.tag, self.ttl = store, name, lease, tag, ttl
        self.lost = False
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease-{name}", daemon=True)
        self._thread.start()

    def _write(self, lease: dict) -> bool:
        new_tag = self.store.put_if(lock_key(self.name), json.dumps(lease).encode(), self.tag)
        if new_tag is None:
            return False
        self.lease, self.tag = lease, new_tag
        return True

    def renew(self) -> None:
        with self._mutex:
            if self.lost:
                return
            if not self._write({**self.lease, "expires": _iso(time.time() + self.ttl)}):
                self.lost = True
                log.error("lost the lease %s: %s", self.name, "it expired and was taken over")

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.renew()
            except StoreError as error:  # a hiccup of the store: the next renewal may get through
                log.warning("could not renew the lease %s: %s", self.name, error)
            if self.lost:
                return

    def check(self) -> None:
        """Raise unless the lease is still this process's: call before a switch."""
        if self.lost or time.time() >= _expires_at(self.lease):
            raise LeaseLost(f"the lease on {self.name} expired while this run was writing (held longer than "
                            f"{self.ttl:.0f} s without renewal)")

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._mutex:
            if not self.lost and not self._write({**self.lease, "released": _iso(time.time())}):
                log.error("the lease %s had been taken over before its release", self.name)


def acquire(store: ObjectStore, name: str, owner: str, ttl: float, wait: float,
            on_wait: Callable[[str], None] = log.warning, poll: float = 0.5) -> Held:
    """Take the lease ``name``, waiting up to ``wait`` seconds while another live holder has it."""
    key = lock_key(name)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    announced = False
    while True:
        try:
            data, tag = store.read_tagged(key)
            current = json.loads(data)
        except FileNotFoundError:
            current, tag = None, None
        now = time.time()
        if current is None or current.get("released") or _expires_at(current) <= now:
            lease = {"owner": owner, "host": socket.gethostname(), "pid": os.getpid(), "token": token,
                     "since": _iso(now), "expires": _iso(now + ttl)}
            new_tag = store.put_if(key, json.dumps(lease).encode(), tag)
            if new_tag is None:  # another writer won, unless our write landed and only its answer was lost
                try:
                    data, again = store.read_tagged(key)
                    new_tag = again if json.loads(data).get("token") == token else None
                except FileNotFoundError:
                    pass
            if new_tag is not None:
                if current is not None and not current.get("released"):
                    on_wait(f"took over an expired lease: {describe(name, current)}")
                return Held(store, name, lease, new_tag, ttl)
            continue
        if time.monotonic() >= deadline:
            raise LockBusy(f"{describe(name, current)}; waited {wait:.0f} s")
        if not announced:
            on_wait(f"waiting: {describe(name, current)}")
            announced = True
        time.sleep(max(0.0, min(poll, deadline - time.monotonic())))


_held: dict[tuple[str, str], Held] = {}


@contextmanager
def holding(store: ObjectStore, name: str, owner: str, ttl: float, wait: float,
            on_wait: Callable[[str], None] = log.warning) -> Iterator[Held]:
    """The lease for the block; nested blocks of this process for the same lease share it."""
    slot = (store.url, name)
    if slot in _held:
        yield _held[slot]
        return
    held = acquire(store, name, owner, ttl, wait, on_wait)
    _held[slot] = held
    try:
        yield held
    finally:
        del _held[slot]
        held.release()
