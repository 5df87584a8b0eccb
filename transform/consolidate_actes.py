"""The current state of every act of a year: latest version, ledger decision, body gates."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

from core.document_kind import carries_private_annexes
from core.ledger import ActState, read_events, replay
from core.publication_rule import Decision, body_blocks
from core.registry import Registry
from core.store import ObjectStore, read_parquet
from transform.actes import STAGING_PREFIX, STAGING_SCHEMA, staged_years

ACT_KEY = ["siren", "source", "source_id"]
_ORDER = ["night", "version"]  # which of two staged versions of an act is the later


def staged_versions(store: ObjectStore) -> pd.DataFrame:
    """Every staged version of every act, by its key only: ``ACT_KEY``, night, version and the
    decision year it was staged under (an act re-sent with a date in another year is in two)."""
    frames = []
    for key in store.list_keys(STAGING_PREFIX + "/"):
        if "annee=" in key:
            frame = read_parquet(store, key, ACT_KEY + _ORDER).to_pandas()
            frames.append(frame.assign(year=int(key.split("annee=")[1].split("/")[0])))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ACT_KEY + _ORDER + ["year"])


def latest_years(store: ObjectStore) -> pd.DataFrame:
    """``ACT_KEY`` and the decision year of each act's latest version, wherever it was staged."""
    versions = staged_versions(store).sort_values(ACT_KEY + _ORDER, kind="stable")
    return versions.drop_duplicates(ACT_KEY, keep="last")[ACT_KEY + ["year"]]


def latest_versions(store: ObjectStore, year: int) -> pd.DataFrame:
    """Latest staged version of each act whose latest version is decided in ``year``: a later night
    replaces an earlier one, whatever year each was staged under, so an act is in one year only."""
    keys = store.list_keys(f"{STAGING_PREFIX}/annee={year}/")
    tables = [read_parquet(store, key) for key in keys] or [STAGING_SCHEMA.empty_table()]
    frame = pa.concat_tables(tables).to_pandas()
    frame = frame.sort_values(ACT_KEY + _ORDER, kind="stable")
    frame = frame.drop_duplicates(ACT_KEY, keep="last").reset_index(drop=True)
    latest = latest_years(store)
    elsewhere = set(latest.loc[latest["year"] != year, ACT_KEY].itertuples(index=False, name=None))
    here = [key not in elsewhere for key in frame[ACT_KEY].itertuples(index=False, name=None)]
    return frame[here].reset_index(drop=True)


def years_of(store: ObjectStore, acts: Iterable[tuple[str, str, str]]) -> set[int]:
    """Every decision year some version of these acts (``ACT_KEY`` tuples) was staged under: the
    years to rebuild when one of them moved year."""
    wanted = set(acts)
    versions = staged_versions(store)
    keys = versions[ACT_KEY].itertuples(index=False, name=None)
    return {int(year) for key, year in zip(keys, versions["year"]) if key in wanted}


def current_acts(store: ObjectStore, registry: Registry, year: int,
                 states: dict[tuple[str, str, str], ActState] | None = None) -> pd.DataFrame:
    """Every act of the year with its current decision, who took it, and whether it is online.

    ``online`` is the ledger's decision gated by the body's current switches;
    ``offline_reason`` says why an act is not online. ``states``: the ledger replayed (every
    year's events: a decision follows an act whose year moved), when the caller has it.
    """
    acts = latest_versions(store, year)
    states = replay(read_events(store)) if states is None else states
    decisions, sources, reasons, dates, online, offline = [], [], [], [], [], []
    for _, act in acts.iterrows():
        state = states.get((act["siren"], act["source"], act["source_id"]))
        decision = state.decision if state else act["decision"]
        decisions.append(decision)
        sources.append(state.decided_by if state else act["decision_source"])
        reasons.append(state.reason if state else act["decision_reason"])
        dates.append(state.publication_date if state else None)
        body = registry.by_siren(act["siren"])
        blocked = body_blocks(body, act["nature_code"])
        is_online = decision == Decision.PUBLISHED.value and blocked is None
        online.append(is_online)
        offline.append(None if is_online else blocked or f"decision: {decision}")
    acts = acts.assign(
        decision=decisions, decision_source=sources, decision_reason=reasons, publication_date=dates,
        online=online, offline_reason=offline,
    )
    settings = {b.siren: b for b in registry.bodies}
    acts["publish_annexes"] = [bool(settings[s].publish_annexes) if s in settings else False for s in acts["siren"]]
    acts["metadata_only"] = [
        (settings[siren].metadata_only if siren in settings else True) or carries_private_annexes(name)
        for siren, name in zip(acts["siren"], acts["main_file_name"])
    ]
    return acts.sort_values(["siren", "date_decision", "numero", "source_id"], kind="stable").reset_index(drop=True)


def current_decisions(store: ObjectStore, registry: Registry) -> dict[tuple[str, str], str]:
    """(siren, source_id) -> the act's decision as every output must follow it: the ledger's,
    gated by the body's switches ("published" only when the act is online)."""
    decisions = {}
    states = replay(read_events(store))
    for year in staged_years(store):
        acts = current_acts(store, registry, year, states)
        for siren, source_id, online, decision in zip(
            acts["siren"], acts["source_id"], acts["online"], acts["decision"]
        ):
            decisions[(siren, source_id)] = Decision.PUBLISHED.value if online else decision
    return decisions


def follow_decisions(frame: pd.DataFrame, decisions: dict[tuple[str, str], str]) -> pd.DataFrame:
    """Replace a frame's ``decision`` column (rows keyed by siren and source_id) by the current one."""
    if frame.empty:
        return frame
    current = [decisions.get((s, i), d) for s, i, d in zip(frame["siren"], frame["source_id"], frame["decision"])]
    return frame.assign(decision=current)
