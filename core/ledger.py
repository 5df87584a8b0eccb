"""Publication ledger: every decision on every act, appended, never overwritten.

Events are JSON lines in the private zone, partitioned by the act's decision year:
``night=<D>.jsonl`` holds what the source said in night D (rewritten identically by a
rerun, since raw never changes), ``command=<time>-<act>.jsonl`` an engineer's decision
(written once). Replaying the events in time order gives each act's current decision
and its first publication date, which reruns and backfills cannot move.
"""

from __future__ import annotations

import getpass
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from core.keys import (
    LEDGER_APPLIED_PREFIX,
    LEDGER_CACHE_PREFIX,
    LEDGER_DIGEST_PREFIX,
    LEDGER_PREFIX,
    LEDGER_SETTINGS_PREFIX,
    digest_event_key,
    partition_day,
    settings_event_key,
)
from core.publication_rule import Decision, DecisionSource
from core.registry import Registry, with_settings
from core.store import ObjectStore


@dataclass(frozen=True)
class LedgerEvent:
    siren: str
    source: str
    source_id: str
    numero: str
    decision: str
    decided_by: str
    reason: str
    at: str
    effective: str
    document_sha256: str = ""
    actor: str = "pipeline"

    @property
    def act(self) -> tuple[str, str, str]:
        return (self.siren, self.source, self.source_id)

    def to_dict(self) -> dict:
        """Its fields (``dataclasses.asdict`` copies deeply: ten times slower on these flat events)."""
        return dict(self.__dict__)


@dataclass
class ActState:
    decision: str
    decided_by: str
    reason: str
    at: str
    publication_date: date | None
    history: list[LedgerEvent] = field(default_factory=list)


def _timestamp(value: str, fallback: str) -> str:
    """Normalise source times so that string order is time order."""
    text = (value or "").strip().replace(" ", "T")
    return text[:19] if len(text) >= 19 else f"{fallback}T00:00:00"


def night_events(rows: list[dict], night: str) -> list[LedgerEvent]:
    """What the source said in partition ``night``, effective on its day (a short run's: the day it ran)."""
    day = partition_day(night).isoformat()
    return [
        LedgerEvent(
            siren=row["siren"],
            source=row["source"],
            source_id=row["source_id"],
            numero=row["numero"],
            decision=row["decision"],
            decided_by=row["decision_source"],
            reason=row["decision_reason"],
            at=_timestamp(row["version"], day),
            effective=day,
            document_sha256=row["main_file_sha256"],
        )
        for row in sorted(rows, key=lambda r: (r["siren"], r["source"], r["source_id"]))
    ]


def _jsonl(events: list[LedgerEvent]) -> bytes:
    return "".join(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for e in events).encode()


def write_night_events(store: ObjectStore, night: str, rows: list[dict]) -> list[str]:
    """Record what the source said in ``night``; a rerun rewrites the same lines."""
    by_year: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_year[row["date_decision"].year].append(row)
    name = f"night={night}.jsonl"
    listed = store.list_keys(LEDGER_PREFIX + "/")
    for key in listed:
        if key.endswith("/" + name) and _year_of(key) not in by_year:
            store.delete(_cache_key(_year_of(key)))
            store.delete(key)
    keys = []
    for year, year_rows in sorted(by_year.items()):
        key = f"{LEDGER_PREFIX}/annee={year}/{name}"
        events = night_events(year_rows, night)
        _write_event_file(store, year, key, events, [k for k in listed if _year_of(k) == year])
        keys.append(key)
    return keys


def engineer_event(
    siren: str, source: str, source_id: str, numero: str, decision: Decision, reason: str, now: datetime | None = None,
    actor: str | None = None,
) -> LedgerEvent:
    """A person's decision: an engineer's command (``actor``: the system user) or an agent's, from
    the agents' space (``actor``: ``agent_actor``)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return LedgerEvent(
        siren=siren,
        source=source,
        source_id=source_id,
        numero=numero,
        decision=decision.value,
        decided_by=DecisionSource.ENGINEER.value,
        reason=reason,
        at=moment.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        effective=moment.date().isoformat(),
        actor=actor or getpass.getuser(),
    )


AGENT_ACTOR_PREFIX = "espace-agents:"


def agent_actor(identity: str) -> str:
    """The ``actor`` of a decision taken in the agents' space by the agent ``identity``."""
    return AGENT_ACTOR_PREFIX + identity


def write_command_event(store: ObjectStore, year: int, event: LedgerEvent) -> str:
    stamp = event.at.replace(":", "").replace(".", "")
    key = f"{LEDGER_PREFIX}/annee={year}/command={stamp}-{event.siren}-{event.source_id}-{event.decision}.jsonl"
    if store.exists(key):
        raise FileExistsError(f"ledger event {key} already recorded")
    _write_event_file(store, year, key, [event], ledger_files(store, year))
    return key


def history_event(siren: str, source: str, source_id: str, numero: str, published_on: date, reason: str,
                  document_sha256: str = "") -> LedgerEvent:
    """The previous system's publication of an act on ``published_on``: a "published" event dated that
    day, so that replay orders it before anything digor saw and keeps its date as the first publication."""
    day = published_on.isoformat()
    return LedgerEvent(siren=siren, source=source, source_id=source_id, numero=numero,
                       decision=Decision.PUBLISHED.value, decided_by=DecisionSource.HISTORY.value, reason=reason,
                       at=f"{day}T00:00:00", effective=day, document_sha256=document_sha256, actor="import-history")


HISTORY_FILE = "import="


def write_history_events(store: ObjectStore, stamp: str, events: list[LedgerEvent],
                         year_of: dict[tuple[str, str, str], int]) -> list[str]:
    """One file per decision year (``year_of``: each act's) of an import run ``stamp``, written once."""
    by_year: dict[int, list[LedgerEvent]] = defaultdict(list)
    for event in events:
        by_year[year_of[event.act]].append(event)
    keys = []
    for year, year_events in sorted(by_year.items()):
        key = f"{LEDGER_PREFIX}/annee={year}/{HISTORY_FILE}{stamp}.jsonl"
        if store.exists(key):
            raise FileExistsError(f"ledger import file {key} already recorded")
        _write_event_file(store, year, key, sorted(year_events, key=lambda e: e.act), ledger_files(store, year))
        keys.append(key)
    return keys


def imported_acts(store: ObjectStore) -> dict[tuple[str, str, str], LedgerEvent]:
    """Every act a history import recorded, with its event (the earliest when imported twice)."""
    found: dict[tuple[str, str, str], LedgerEvent] = {}
    for event in read_events(store):
        if event.decided_by == DecisionSource.HISTORY.value:
            found.setdefault(event.act, event)
    return found


def read_events(store: ObjectStore, year: int | None = None, years: Iterable[int] | None = None,
                sirens: Iterable[str] | None = None) -> list[LedgerEvent]:
    """The events of acts decided in ``year`` (or in ``years``) or, without, of every year: an act
    re-sent with a decision date in another year has events in both, and its decisions follow it.
    ``sirens``: only those bodies' events (the others' lines are not parsed)."""
    prefixes = [f"{LEDGER_PREFIX}/annee={y}/" for y in sorted(set(years))] if years is not None else \
        [f"{LEDGER_PREFIX}/" + ("" if year is None else f"annee={year}/")]
    by_year: dict[int, list[str]] = defaultdict(list)
    for key in [key for prefix in prefixes for key in store.list_keys(prefix)]:
        by_year[_year_of(key)].append(key)
    wanted = None if sirens is None else set(sirens)
    events = [event for y, keys in sorted(by_year.items()) for event in _year_events(store, y, keys, wanted)]
    # Source events before an engineer's at the same second: the engineer answers the source.
    return sorted(events, key=lambda e: (e.at, e.decided_by == DecisionSource.ENGINEER.value, e.effective))


# ---- one object per year holding its events --------------------------------------------------
# A year's ledger is one small file per night and per decision: reading them all is a request
# each on S3. Every writer of the ledger also keeps, per year, one object with every event of
# the year and the list of files it holds; a reader uses it when that list is the year's files
# (a writer that died between the two writes, or two writers racing, leave it different: the
# files are then read, and the next writer rebuilds it).


def _year_of(key: str) -> int:
    return int(key.split("annee=")[1].split("/")[0])


def _cache_key(year: int) -> str:
    return f"{LEDGER_CACHE_PREFIX}/annee={year}.jsonl"


_SIREN_FIELD = '"siren": "'


def _of_bodies(lines: list[str], sirens: set[str] | None) -> list[str]:
    """The lines of these bodies' events, found without parsing the others: the key is written with its
    quotes as they are only as a key (a text holding it has them escaped); parsed lines are checked again."""
    if sirens is None:
        return lines
    kept = []
    for line in lines:
        at = line.find(_SIREN_FIELD)
        if at < 0 or line[at + len(_SIREN_FIELD):line.find('"', at + len(_SIREN_FIELD))] in sirens:
            kept.append(line)
    return kept


def _parsed(lines: list[str], sirens: set[str] | None) -> list[LedgerEvent]:
    events = [LedgerEvent(**json.loads(line)) for line in _of_bodies(lines, sirens) if line.strip()]
    return events if sirens is None else [event for event in events if event.siren in sirens]


def _file_events(store: ObjectStore, key: str, sirens: set[str] | None = None) -> list[LedgerEvent]:
    return _parsed(store.get_bytes(key).decode("utf-8").splitlines(), sirens)


def _cached_bytes(store: ObjectStore, year: int) -> tuple[list[str], bytes] | None:
    """The year's object: the files it holds and their events' lines, as written."""
    try:
        head, _, lines = store.get_bytes(_cache_key(year)).partition(b"\n")
    except FileNotFoundError:
        return None
    return json.loads(head)["files"], lines


def _cached(store: ObjectStore, year: int, sirens: set[str] | None = None) -> tuple[list[str], list[LedgerEvent]] | None:
    cached = _cached_bytes(store, year)
    return None if cached is None else (cached[0], _parsed(cached[1].decode("utf-8").splitlines(), sirens))


def _files_lines(store: ObjectStore, files: list[str]) -> bytes:
    return _jsonl([event for name in sorted(files) for event in _file_events(store, name)])


def _write_cache(store: ObjectStore, year: int, files: list[str], lines: bytes) -> None:
    store.put_bytes(_cache_key(year), (json.dumps({"files": sorted(files)}) + "\n").encode() + lines)


def _year_events(store: ObjectStore, year: int, files: list[str], sirens: set[str] | None = None) -> list[LedgerEvent]:
    """The events of the year's ``files`` (listed): from the year's object when it holds exactly them."""
    cached = _cached(store, year, sirens)
    if cached is not None and cached[0] == sorted(files):
        return cached[1]
    return [event for key in sorted(files) for event in _file_events(store, key, sirens)]


def rebuild_year_objects(store: ObjectStore) -> None:
    """Every year's object written again from its files (a store from before them, a restore)."""
    by_year: dict[int, list[str]] = defaultdict(list)
    for key in ledger_files(store):
        by_year[_year_of(key)].append(key)
    for year, files in sorted(by_year.items()):
        _write_cache(store, year, files, _files_lines(store, files))


def _write_event_file(store: ObjectStore, year: int, key: str, events: list[LedgerEvent], listed: list[str]) -> None:
    """Write one ledger file, then the year's object: the new events' lines added to it (not read
    as events: a night costs its events, not the year's) when it held ``listed`` (the year's files
    before this one), else rebuilt from the files."""
    cached = _cached_bytes(store, year)
    lines = _jsonl(events)
    store.put_bytes(key, lines)
    if cached is not None and cached[0] == sorted(listed) and key not in listed:
        _write_cache(store, year, cached[0] + [key], cached[1] + lines)
        return
    files = ledger_files(store, year)
    _write_cache(store, year, files, _files_lines(store, files))


def replay(events: list[LedgerEvent]) -> dict[tuple[str, str, str], ActState]:
    """Current decision of each act and the first publication date of its current document.

    Republishing keeps the first date; a new document (another PDF) is a new publication, except
    for an act the previous system published (a history event): its original date stays.
    """
    states: dict[tuple[str, str, str], ActState] = {}
    document: dict[tuple, str] = {}
    published_document: dict[tuple, str] = {}
    pinned: set[tuple] = set()
    for event in events:
        key = event.act
        if event.document_sha256:
            document[key] = event.document_sha256
        state = states.get(key) or ActState(event.decision, event.decided_by, event.reason, event.at, None)
        state.decision, state.decided_by, state.reason, state.at = (
            event.decision, event.decided_by, event.reason, event.at,
        )
        if event.decided_by == DecisionSource.HISTORY.value:
            first = date.fromisoformat(event.effective)
            if key not in pinned or state.publication_date is None or first < state.publication_date:
                state.publication_date = first
            pinned.add(key)
        elif event.decision == Decision.PUBLISHED.value and key not in pinned:
            current = document.get(key, "")
            if state.publication_date is None or published_document.get(key) != current:
                # Never earlier than the last: a night's events are dated by its night, the day before
                # it runs, and a short run may have published the act on that next day already.
                day = date.fromisoformat(event.effective)
                state.publication_date = day if state.publication_date is None else max(day, state.publication_date)
                published_document[key] = current
        state.history.append(event)
        states[key] = state
    return states


# ---- which ledger files each year's public files follow ---------------------------------
# A year's files are rebuilt from the ledger as it was read; the files of the ledger listed
# just before that read are recorded as applied, per chain (the actes chain's years are decision
# years, the budgets chain's exercices). A decision (or a night) recorded since shows as a file
# not applied yet: that year is rebuilt before any switch and by the next run.


def ledger_files(store: ObjectStore, year: int | None = None) -> list[str]:
    """The ledger's files of one decision year (every year when None)."""
    return store.list_keys(f"{LEDGER_PREFIX}/annee={year}/" if year is not None else LEDGER_PREFIX + "/")


def _applied_prefix(chain: str) -> str:
    return f"{LEDGER_APPLIED_PREFIX}/{chain}"


def is_applied(store: ObjectStore, year: int, key: str, chain: str = "actes") -> bool:
    """Whether the chain's files of ``year`` were rebuilt since the ledger file ``key`` was written."""
    return key in applied_files(store, chain).get(year, set())


def record_applied(store: ObjectStore, year: int, files: list[str], chain: str = "actes") -> None:
    """The chain's files of ``year`` now follow these ledger files (listed before the ledger was read)."""
    key = f"{_applied_prefix(chain)}/annee={year}.json"
    store.put_bytes(key, (json.dumps(sorted(files), indent=0) + "\n").encode())


def applied_files(store: ObjectStore, chain: str) -> dict[int, set[str]]:
    """Per year of the chain, the ledger files its public files follow."""
    prefix = _applied_prefix(chain) + "/annee="
    return {
        int(key[len(prefix):].removesuffix(".json")): set(json.loads(store.get_bytes(key)))
        for key in store.list_keys(prefix)
    }


def ledger_lines(store: ObjectStore, keys) -> list[dict]:
    """Every event of the given ledger files, as dicts (a file deleted since it was listed: none)."""
    return [line for key in sorted(keys) for line in _lines(store, key)]


def unapplied(store: ObjectStore) -> dict[int, list[str] | None]:
    """Decision years whose actes files do not follow the ledger yet, with the bodies concerned (None: any)."""
    current: dict[int, set[str]] = defaultdict(set)
    for key in ledger_files(store):
        current[int(key[len(LEDGER_PREFIX) + len("/annee="):].split("/", 1)[0])].add(key)
    applied = applied_files(store, "actes")
    stale: dict[int, list[str] | None] = {}
    for year in sorted(set(current) | set(applied)):
        new, gone = current[year] - applied.get(year, set()), applied.get(year, set()) - current[year]
        if gone:
            stale[year] = None
        elif new:
            stale[year] = sorted({line["siren"] for line in ledger_lines(store, new)})
    return stale


def _lines(store: ObjectStore, key: str) -> list[dict]:
    try:
        return [json.loads(line) for line in store.get_bytes(key).decode("utf-8").splitlines() if line.strip()]
    except FileNotFoundError:  # deleted since listed (a night rerun moving its acts to another year)
        return []


# ---- bodies' settings and digests, as agents set them in the agents' space ---------------------
# One file per change, written once: the body's whole settings after the change (so that the
# latest file is enough), who, when (``effective``: the day it applies from) and why.


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%fZ")


def write_settings_event(store: ObjectStore, siren: str, settings: dict, actor: str, reason: str,
                         now: datetime | None = None) -> dict:
    """Record a body's new settings (``core.registry.SETTABLE``); returns the event."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    event = {"siren": siren, "settings": settings, "actor": actor, "reason": reason,
             "at": moment.isoformat(timespec="microseconds"), "effective": moment.date().isoformat()}
    key = settings_event_key(siren, _stamp(moment))
    if store.exists(key):
        raise FileExistsError(f"settings event {key} already recorded")
    store.put_bytes(key, json.dumps(event, ensure_ascii=False, sort_keys=True).encode())
    return {**event, "key": key}


def settings_history(store: ObjectStore, siren: str) -> list[dict]:
    """Every change of one body's settings, oldest first."""
    prefix = f"{LEDGER_SETTINGS_PREFIX}/siren={siren}/"
    return [json.loads(store.get_bytes(key)) for key in sorted(store.list_keys(prefix))]


def body_settings(store: ObjectStore, until: str | None = None) -> dict[str, dict]:
    """Per SIREN, the settings of its latest change (of a change effective on ``until`` or before)."""
    latest: dict[str, str] = {}
    for key in sorted(store.list_keys(LEDGER_SETTINGS_PREFIX + "/")):
        siren = key[len(LEDGER_SETTINGS_PREFIX) + len("/siren="):].split("/", 1)[0]
        stamp = key.rsplit("/", 1)[1]
        if until is None or f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}" <= until:
            latest[siren] = key
    return {siren: json.loads(store.get_bytes(key))["settings"] for siren, key in latest.items()}


def registry_with_settings(registry: Registry, store: ObjectStore, until: str | None = None) -> Registry:
    """The registry file with the settings bodies' agents set since (as of ``until``, a night's day)."""
    return with_settings(registry, body_settings(store, until))


def write_digest_choice(store: ObjectStore, siren: str, who: str, email: str, name: str, wanted: bool,
                        now: datetime | None = None) -> str:
    """An agent (``who``: their pseudonym) asks for, or stops, a body's daily digest at ``email``."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    key = digest_event_key(siren, _stamp(moment), who)
    store.put_bytes(key, json.dumps({"siren": siren, "who": who, "email": email, "name": name, "wanted": wanted,
                                     "at": moment.isoformat(timespec="microseconds")},
                                    ensure_ascii=False, sort_keys=True).encode())
    return key


def digest_recipients(store: ObjectStore, siren: str | None = None) -> dict[str, list[dict]]:
    """Per SIREN, the agents whose latest choice is to receive its digest (``email``, ``name``, ``who``)."""
    prefix = LEDGER_DIGEST_PREFIX + "/" + (f"siren={siren}/" if siren else "")
    latest: dict[tuple[str, str], dict] = {}
    for key in sorted(store.list_keys(prefix)):
        choice = json.loads(store.get_bytes(key))
        latest[(choice["siren"], choice["who"])] = choice
    found: dict[str, list[dict]] = defaultdict(list)
    for (body, _), choice in sorted(latest.items()):
        if choice["wanted"] and choice["email"]:
            found[body].append(choice)
    return dict(found)
