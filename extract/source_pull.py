"""What the nightly pulls of acts from the télétransmission platforms (Pastell, S²LOW) share.

Each source lists a body's changed documents its own way and fetches one document its own
way (``fetch``: an ``Outcome``); this module fetches a body's documents in parallel, stops
the body at once on a refusal, sorts the outcomes into the night's ``PullResult`` (written,
deleted, waiting, failed and kept pending for the next night), and keeps the bodies' state
between nights.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from core.jsonio import json_bytes
from core.store import ObjectStore
from extract.drop_folder import night_prefix
from extract.source_client import SourceErrors

log = logging.getLogger(__name__)


def load_state(store: ObjectStore, key: str, state_class: type) -> dict:
    """The bodies' states of a source, by SIREN (none before its first night)."""
    if not store.exists(key):
        return {}
    document = json.loads(store.get_bytes(key).decode("utf-8"))
    return {siren: state_class(**entry) for siren, entry in document.get("bodies", {}).items()}


def save_state(store: ObjectStore, key: str, states: dict) -> None:
    document = {"bodies": {siren: asdict(state) for siren, state in sorted(states.items())}}
    store.put_bytes(key, json_bytes(document))


@dataclass(frozen=True)
class Problem:
    siren: str
    id_d: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Outcome:
    """What became of one document of a body."""

    id_d: str
    kind: str  # written, failed, deleted, waiting
    reason: str = ""
    written: dict | None = None
    skipped: list[dict] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # files the platform lists but no longer has


@dataclass
class PullResult:
    source: str
    night: str
    cutoff: str | None = None
    written: list[dict] = field(default_factory=list)
    skipped_files: list[dict] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    deleted: list[Problem] = field(default_factory=list)
    waiting: list[Problem] = field(default_factory=list)
    incomplete: list[Problem] = field(default_factory=list)
    cancelled: list[Problem] = field(default_factory=list)  # acts stored before, cancelled on the platform since
    # Acts whose ACTES identifier names another SIREN (``core.act_identity``): stored as received, refused by the
    # transform; ``alerts``: one line per connection that brought only such acts.
    foreign: list[Problem] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    body_errors: list[dict] = field(default_factory=list)
    unlisted: list[dict] = field(default_factory=list)
    pending: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0
    listing: dict = field(default_factory=dict)  # how the changed documents were found, when it varies

    def summary(self, store: ObjectStore, only: Callable[[str], bool] = lambda body: True) -> dict:
        """What the extract step hands on; counts describe the night's raw folder (the folders of the
        bodies ``only`` keeps: a shard's), so reruns agree."""
        prefix = night_prefix(self.night, self.source)
        folders = {"/".join(k[len(prefix):].split("/")[:2]) for k in store.list_keys(prefix)}
        folders = {f for f in folders if "/" in f and only(f.split("/")[0])}
        return {
            "night": self.night,
            "source": self.source,
            **({"cutoff": self.cutoff} if self.cutoff is not None else {}),
            "acts": len(folders),
            "by_body": dict(sorted(Counter(f.split("/")[0] for f in folders).items())),
            "pulled": len(self.written),
            "budgets": sorted(w["raw_prefix"] for w in self.written if w["nature"] == "5"),
            "skipped_files": self.skipped_files,
            "failed": [p.to_dict() for p in self.failed],
            "deleted": [p.to_dict() for p in self.deleted],
            "waiting": len(self.waiting),
            "incomplete": [p.to_dict() for p in self.incomplete],
            "cancelled": [p.to_dict() for p in self.cancelled],
            "foreign": [p.to_dict() for p in self.foreign],
            "alerts": self.alerts,
            "body_errors": self.body_errors,
            "unlisted": self.unlisted,
            "pending": self.pending,
            "requests": self.requests,
            **({"listing": self.listing} if self.listing else {}),
        }

    def unsettled(self, label: str, siren: str, reason: str) -> None:
        """A body whose list never settled: reported, its range listed again next night."""
        self.unlisted.append({"siren": siren, "reason": reason})
        log.warning("%s body %s: %s", label, siren, reason)


def fetch_all(todo: list, fetch: Callable[[object], Outcome], id_of: Callable[[object], str], errors: SourceErrors,
              max_workers: int, thread_name: str) -> list[Outcome]:
    """``fetch`` of every item of ``todo`` in parallel; a platform error fails that item only, a refusal
    (``errors.auth``) stops the body at once."""
    outcomes: list[Outcome] = []
    if not todo:
        return outcomes
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix=thread_name) as pool:
        futures = [pool.submit(fetch, item) for item in todo]
        try:
            for item, future in zip(todo, futures):
                try:
                    outcomes.append(future.result())
                except errors.auth:
                    raise
                except errors.error as error:
                    outcomes.append(Outcome(id_of(item), "failed", str(error)))
        except errors.auth:
            for other in futures:
                other.cancel()
            raise
    return outcomes


def record_outcomes(result: PullResult, label: str, siren: str, outcomes: list[Outcome], pending_before: dict,
                    night: str, pending_extra: Callable[[str], dict] = lambda id_d: {}) -> dict[str, dict]:
    """Sort a body's outcomes into the night's result; the documents to fetch again next night (failed
    ones: since when, how many attempts, and ``pending_extra`` of each)."""
    pending = {}
    for outcome in sorted(outcomes, key=lambda o: o.id_d):
        result.skipped_files += outcome.skipped
        problem = Problem(siren, outcome.id_d, outcome.reason)
        if outcome.kind == "written":
            result.written.append(outcome.written)
            if outcome.lost:
                result.incomplete.append(Problem(siren, outcome.id_d, "; ".join(outcome.lost)))
                log.warning("%s %s/%s stored without a file %s lost: %s", label, siren, outcome.id_d, label,
                            "; ".join(outcome.lost))
        elif outcome.kind == "deleted":
            result.deleted.append(problem)
            log.warning("%s %s/%s: %s", label, siren, outcome.id_d, outcome.reason)
        elif outcome.kind == "waiting":
            result.waiting.append(problem)
        else:
            before = pending_before.get(outcome.id_d, {})
            pending[outcome.id_d] = {"reason": outcome.reason, "since": before.get("since", night),
                                     "attempts": int(before.get("attempts", 0)) + 1, **pending_extra(outcome.id_d)}
            result.failed.append(problem)
            log.warning("%s %s/%s failed, retried next night: %s", label, siren, outcome.id_d, outcome.reason)
    return pending


def report_foreign(result: PullResult, body_siren: str, through: str, written: list[dict], fix: str) -> bool:
    """Record the acts of a body whose identifier names another SIREN (``written[i]["foreign"]``); when every
    act the body's connection brought tonight is so, one alert line saying what to do. True in that case."""
    foreign = [w for w in written if w.get("foreign")]
    for item in foreign:
        reason = (f"{through} brought act {item['id_d']} of SIREN {item['foreign']} (identifier "
                  f"{item.get('id_acte')!r}) for body {body_siren}: stored as received, refused, never published")
        result.foreign.append(Problem(body_siren, item["id_d"], reason))
        log.warning("%s", reason)
    if not foreign or len(foreign) < len(written):
        return False
    others = ", ".join(sorted({w["foreign"] for w in foreign}))
    alert = (f"{through} of body {body_siren} brought only acts of another authority (SIREN {others}; "
             f"{len(foreign)} acts refused): it likely holds the wrong {fix}")
    result.alerts.append(alert)
    log.error("%s", alert)
    return True
