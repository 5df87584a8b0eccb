"""Each body's widget switch on its own: one body's files that cannot be read (a year file garbled by
hand, a draft cut short) never keep the other bodies, the regional files or the report back.

A body whose switch fails keeps its previous widget (its manifest is written last, so a widget reads
the old set of files whole); the failure is logged with its traceback, recorded per chain (the run's
report lists it, and every run tries the body again until it switches) and the next body goes on. A
failure that is not the body's own (the store refusing or unreachable, a full disk, memory) stops
the step at once, as it would fail every body.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TypeVar

from core.failures import ExpectedFailure, is_disk_full, one_line
from core.jsonio import json_bytes
from core.keys import WIDGET_SWITCH_FAILURES_PREFIX
from core.store import ObjectStore, StoreError, put_if_changed
from load.versions import read_json

log = logging.getLogger(__name__)

Body = TypeVar("Body")


def failures_key(chain: str) -> str:
    return f"{WIDGET_SWITCH_FAILURES_PREFIX}/{chain}.json"


def failed_switches(store: ObjectStore, chain: str) -> list[dict]:
    """The bodies whose last switch failed: ``body`` (its SIREN, or a buyer's SIRET), ``error`` (one line
    naming the file), ``since``."""
    return read_json(store, failures_key(chain), [])


def failed_bodies(store: ObjectStore, chain: str) -> set[str]:
    """The bodies to try again: those whose last switch failed."""
    return {failure["body"] for failure in failed_switches(store, chain)}


def _the_body_s_own(error: Exception) -> bool:
    """Whether ``error`` comes from what one body's files hold, not from the store or the machine."""
    if isinstance(error, (StoreError, ExpectedFailure, MemoryError)) or is_disk_full(error):
        return False
    return not isinstance(error, OSError) or isinstance(error, (FileNotFoundError, gzip.BadGzipFile))


def switch_each(store: ObjectStore, chain: str, bodies: Iterable[Body], switch: Callable[[Body], list[str]],
                identify: Callable[[Body], str]) -> list[str]:
    """``switch`` each body in turn; the keys written. ``bodies`` include those of ``failed_bodies``
    still in the registry: the record is this run's failures (a body switched, or gone, leaves it)."""
    keys: list[str] = []
    failed: dict[str, str] = {}
    for body in bodies:
        try:
            keys += switch(body)
        except Exception as error:
            if not _the_body_s_own(error):
                raise
            ident = identify(body)
            log.exception("%s: widget switch of body %s failed, its previous widget stays online", chain, ident)
            failed[ident] = one_line(error)
    _record(store, chain, failed)
    return keys


def _record(store: ObjectStore, chain: str, failed: dict[str, str]) -> None:
    since = {failure["body"]: failure["since"] for failure in failed_switches(store, chain)}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if failed:
        put_if_changed(store, failures_key(chain), json_bytes(
            [{"body": ident, "error": failed[ident], "since": since.get(ident, now)} for ident in sorted(failed)]))
    elif since:
        store.delete(failures_key(chain))


def failure_lines(failures: list[dict]) -> list[str]:
    """The report's lines: what failed, and what to do."""
    return [f"  widget not switched for body {f['body']} (since {f['since']}): {f['error']}; its previous widget "
            "stays online and every run tries again; a rebuild (force_rebuild) writes its files again"
            for f in failures]
