"""The current state of every act of a year: latest version, ledger decision, body gates."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.document_kind import carries_private_annexes
from core.ledger import ActState, read_events, replay
from core.publication_rule import Decision, body_blocks
from core.registry import Registry
from core.store import ObjectStore
from transform.actes import ACT_KEY, among, latest_keys, latest_keys_where, latest_rows


def latest_years(store: ObjectStore) -> pd.DataFrame:
    """``ACT_KEY`` and the decision year of each act's latest version, wherever it was staged."""
    return latest_keys(store)[ACT_KEY + ["year"]]


def latest_versions(store: ObjectStore, year: int) -> pd.DataFrame:
    """Latest staged version of each act whose latest version is decided in ``year``: a later night
    replaces an earlier one, whatever year each was staged under, so an act is in one year only."""
    return latest_rows(store, year)


def act_years(store: ObjectStore, acts: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], set[int]]:
    """Per act (``ACT_KEY`` tuples) already staged, every decision year some version of it was staged under."""
    wanted = set(acts)
    keys = latest_keys_where(store, lambda table: among(table["source_id"], (source_id for _, _, source_id in wanted)))
    return {key: {int(year) for year in years}
            for key, years in zip(keys[ACT_KEY].itertuples(index=False, name=None), keys["years"]) if key in wanted}


def years_of(store: ObjectStore, acts: Iterable[tuple[str, str, str]]) -> set[int]:
    """Every decision year some version of these acts (``ACT_KEY`` tuples) was staged under: the
    years to rebuild when one of them moved year."""
    return {year for years in act_years(store, acts).values() for year in years}


def ledger_years(store: ObjectStore, year: int, sirens: Iterable[str] | None = None) -> set[int]:
    """The ledger years holding events of the acts of ``year`` (of these bodies' acts only): theirs, and
    those of the years their other versions were staged under (an act re-sent with a date in another year)."""
    def mine(table: pa.Table) -> pa.ChunkedArray:
        of_year = pc.equal(table["year"], year)
        return of_year if sirens is None else pc.and_(of_year, among(table["siren"], sirens))

    return {year} | {int(other) for years in latest_keys_where(store, mine)["years"] for other in years}


def current_acts(store: ObjectStore, registry: Registry, year: int,
                 states: dict[tuple[str, str, str], ActState] | None = None,
                 rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every act of the year with its current decision, who took it, and whether it is online.

    ``online`` is the ledger's decision gated by the body's current switches;
    ``offline_reason`` says why an act is not online. ``states``: the ledger replayed (every
    year's events: a decision follows an act whose year moved), when the caller has it; else
    the events of the years these acts were staged under are replayed. ``rows``: the year's
    ``latest_versions`` (or some bodies' of them), when the caller read them.
    """
    acts = latest_versions(store, year) if rows is None else rows
    states = replay(read_events(store, years=ledger_years(store, year))) if states is None else states
    # Each column read as a list once: iterating a column of pandas 3's strings converts a cell at a time.
    column = {name: acts[name].tolist() for name in (
        "siren", "source", "source_id", "nature_code", "decision", "decision_source", "decision_reason",
        "main_file_name", "main_file_sha256")}
    sirens = column["siren"]
    found = [states.get(key) for key in zip(sirens, column["source"], column["source_id"])]
    decisions = [s.decision if s else d for s, d in zip(found, column["decision"])]
    bodies = {siren: registry.by_siren(siren) for siren in set(sirens)}
    online, offline = [], []
    for siren, nature, decision in zip(sirens, column["nature_code"], decisions):
        blocked = body_blocks(bodies[siren], nature)
        is_online = decision == Decision.PUBLISHED.value and blocked is None
        online.append(is_online)
        offline.append(None if is_online else blocked or f"decision: {decision}")
    acts = acts.assign(
        decision=decisions,
        decision_source=[s.decided_by if s else d for s, d in zip(found, column["decision_source"])],
        decision_reason=[s.reason if s else r for s, r in zip(found, column["decision_reason"])],
        publication_date=[s.publication_date if s else None for s in found],
        online=online, offline_reason=offline,
    )
    acts["publish_annexes"] = [bool(b.publish_annexes) if b else False for b in map(bodies.get, sirens)]
    # An act imported from the previous system's SCDL files alone has no document: its metadata only.
    acts["metadata_only"] = [
        (bodies[siren].metadata_only if bodies[siren] else True) or carries_private_annexes(name) or not sha256
        for siren, name, sha256 in zip(sirens, column["main_file_name"], column["main_file_sha256"])
    ]
    return acts.sort_values(["siren", "date_decision", "numero", "source_id"], kind="stable").reset_index(drop=True)


def acts_with_states(store: ObjectStore, registry: Registry,
                     keys: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str, str], ActState]]:
    """The acts of ``keys`` (rows of ``latest_keys``) as they stand now (``current_acts``, with their
    ``year``), and their replayed ledger states. Only their bodies' lines of the ledger years holding
    their events (those of every year a version of them was staged under) and the staging years of
    their latest versions are read: not the region's history."""
    if keys.empty:
        return pd.DataFrame(), {}
    found = set(keys[ACT_KEY].itertuples(index=False, name=None))
    latest = sorted({int(year) for year in keys["year"]})
    held = set(latest) | {int(year) for staged in keys["years"] for year in staged}
    states = replay([event for event in read_events(store, years=held, sirens=set(keys["siren"]))
                     if event.act in found])
    frames = []
    for year in latest:
        rows = latest_versions(store, year)
        rows = rows[rows["source_id"].isin(keys["source_id"])]
        rows = rows[[key in found for key in zip(rows["siren"], rows["source"], rows["source_id"])]]
        frames.append(current_acts(store, registry, year, states, rows).assign(year=year))
    return pd.concat(frames, ignore_index=True), states


def current_decisions(store: ObjectStore, registry: Registry,
                      acts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(siren, source_id) -> the decision of each of ``acts`` (those already staged) as every output must
    follow it: the ledger's, gated by the body's switches ("published" only when the act is online).
    A budgets run follows its documents' acts only (``acts_with_states``)."""
    wanted = set(acts)
    keys = latest_keys_where(store, lambda table: among(table["source_id"], (i for _, i in wanted)))
    current, _ = acts_with_states(store, registry,
                                  keys[[key in wanted for key in zip(keys["siren"], keys["source_id"])]])
    if current.empty:
        return {}
    return {(siren, source_id): Decision.PUBLISHED.value if online else decision
            for siren, source_id, online, decision in zip(
                current["siren"], current["source_id"], current["online"], current["decision"])}


def follow_decisions(frame: pd.DataFrame, store: ObjectStore, registry: Registry) -> pd.DataFrame:
    """Replace a frame's ``decision`` column (rows keyed by siren and source_id) by the current one."""
    if frame.empty:
        return frame
    keys = list(zip(frame["siren"].tolist(), frame["source_id"].tolist()))
    decisions = current_decisions(store, registry, keys)
    return frame.assign(decision=[decisions.get(key, d) for key, d in zip(keys, frame["decision"].tolist())])
