"""Per body and year, its acts as they stand now (latest version, decision, online or why not, the
ledger history of each), written when the year is rebuilt for that body: a page of the agents'
space reads the few objects of its body, never all of staging and the whole ledger.

Each year's object is followed by the list of the body's decision files (``command=…``) it
includes; a decision recorded since (its republication not done yet) is a file of that body not
in the list, which the reader applies on top.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

from core.keys import LEDGER_PREFIX, body_index_key, body_index_prefix
from core.ledger import ActState
from core.store import ObjectStore, read_arrow, read_parquet, table_to_arrow_bytes

# A body-year's acts: an Arrow IPC file (written and read back ten times faster than Parquet: a night
# writes one per touched body and year); Parquet before, read until the body-year is written again.
TABLE, EARLIER_TABLE = "arrow", "parquet"
_COMMAND = re.compile(r"/command=[0-9T-]+-(\d{9})-")


def body_commands(keys: Iterable[str], siren: str) -> list[str]:
    """The decision files of one body among ledger keys (its SIREN is in their name)."""
    return commands_by_body(keys).get(siren, [])


def commands_by_body(keys: Iterable[str]) -> dict[str, list[str]]:
    """The decision files among ledger keys, by body, each body's sorted."""
    found: dict[str, list[str]] = {}
    for key in sorted(keys):
        if match := _COMMAND.search(key):
            found.setdefault(match.group(1), []).append(key)
    return found


def write_body_index(store: ObjectStore, year: int, acts: pd.DataFrame, states: dict[tuple, ActState],
                     sirens: Iterable[str], following: list[str]) -> int:
    """The index of ``year`` for each body of ``sirens`` (``acts``: the year's ``current_acts``;
    ``following``: the ledger files listed before they were read). The bodies' rows are made one
    table once, then cut per body: the cost follows the bodies written, not the year's other acts."""
    wanted = sorted(set(sirens))
    mine = acts[acts["siren"].isin(wanted)].sort_values("siren", kind="stable")
    history = [json.dumps([e.to_dict() for e in (states[key].history if key in states else [])], ensure_ascii=False)
               for key in zip(mine["siren"], mine["source"], mine["source_id"])]
    frame = mine.assign(history=history, annexes=[json.dumps(list(a), ensure_ascii=False) for a in mine["annexes"]])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    rows: dict[str, list[int]] = {}  # each body's first row and the row after its last
    for position, siren in enumerate(frame["siren"]):
        rows.setdefault(siren, [position, position])[1] = position + 1
    commands = commands_by_body(following)
    for siren in wanted:
        if siren not in rows:
            for suffix in (TABLE, EARLIER_TABLE, "json"):
                store.delete(body_index_key(siren, year, suffix))
            continue
        store.put_bytes(body_index_key(siren, year, TABLE),
                        table_to_arrow_bytes(table.slice(rows[siren][0], rows[siren][1] - rows[siren][0])))
        store.put_bytes(body_index_key(siren, year, "json"),
                        json.dumps({"commands": commands.get(siren, [])}).encode())
    return len(rows)


def read_body_index(store: ObjectStore, siren: str) -> tuple[pd.DataFrame, set[str], list[int]] | None:
    """(the body's acts of every year with ``year`` and ``history``, the decision files they include,
    their years), or None when the body has no index yet."""
    keys = store.list_keys(body_index_prefix(siren))
    years = sorted({int(k.rsplit("annee=", 1)[1].split(".")[0]) for k in keys if k.endswith(".json")})
    if not years:
        return None
    frames, commands = [], set()
    for year in years:
        try:
            commands |= set(json.loads(store.get_bytes(body_index_key(siren, year, "json")))["commands"])
            table = body_index_key(siren, year, TABLE)
            frame = (read_arrow(store, table) if table in keys
                     else read_parquet(store, body_index_key(siren, year, EARLIER_TABLE))).to_pandas()
        except FileNotFoundError:
            return None  # being rewritten: the caller computes the body's acts instead
        frames.append(frame.assign(year=year))
    frame = pd.concat(frames, ignore_index=True)
    frame["annexes"] = [json.loads(a) for a in frame["annexes"]]
    frame["history"] = [json.loads(h) for h in frame["history"]]
    return frame, commands, years


def ledger_year_keys(store: ObjectStore, year: int) -> list[str]:
    return store.list_keys(f"{LEDGER_PREFIX}/annee={year}/")
