"""The latest version of every act, kept beside the nights' staging files so that a night does not
read them all: each year holds exactly the acts whose latest version is decided in it, after new
acts, corrections, an act moving year, a rerun that drops an act, and files written by other means."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa

from core.store import LocalStore, table_to_parquet_bytes
from transform.actes import (
    LATEST_PREFIX,
    STAGING_SCHEMA,
    NightTransform,
    latest_keys,
    rebuild_latest,
    staging_key,
    write_staging,
)
from transform.consolidate_actes import latest_versions, ledger_years, years_of


def _row(source_id: str, night: str, decided: str, objet: str, siren: str = "212900997") -> dict:
    row = {name: None for name in STAGING_SCHEMA.names}
    return {**row, "source": "drop", "source_id": source_id, "version": f"{night} 10:00:00",
            "night": date.fromisoformat(night), "raw_prefix": f"raw/{night}/{source_id}/", "siren": siren,
            "siret": siren + "00017", "numero": f"N-{source_id}", "objet": objet, "nature_code": "1",
            "date_decision": date.fromisoformat(decided), "decision": "published", "annexes": []}


def _night(store, night: str, *rows: dict) -> list[int]:
    return write_staging(store, NightTransform(night, list(rows), []))


def _year(store, year: int) -> dict[str, str]:
    acts = latest_versions(store, year)
    return dict(zip(acts["source_id"], acts["objet"]))


def test_each_year_holds_the_latest_version_of_its_acts_night_after_night(tmp_path):
    store = LocalStore(tmp_path)
    _night(store, "2025-01-06", _row("A", "2025-01-06", "2024-12-20", "A v1"),
           _row("B", "2025-01-06", "2024-12-22", "B v1"), _row("C", "2025-01-06", "2025-01-03", "C v1"))
    assert _year(store, 2024) == {"A": "A v1", "B": "B v1"} and _year(store, 2025) == {"C": "C v1"}

    _night(store, "2025-01-07", _row("A", "2025-01-07", "2024-12-20", "A v2"),
           _row("D", "2025-01-07", "2025-01-05", "D v1"))
    assert _year(store, 2024) == {"A": "A v2", "B": "B v1"}
    assert _year(store, 2025) == {"C": "C v1", "D": "D v1"}

    assert years_of(store, {("212900997", "drop", "B")}) == {2024}
    _night(store, "2025-01-08", _row("B", "2025-01-08", "2025-01-02", "B v2 (date corrigée)"),
           _row("E", "2025-01-08", "2025-01-06", "E v1"))
    assert _year(store, 2024) == {"A": "A v2"}
    assert _year(store, 2025) == {"B": "B v2 (date corrigée)", "C": "C v1", "D": "D v1", "E": "E v1"}
    assert years_of(store, {("212900997", "drop", "B")}) == {2024, 2025}
    assert ledger_years(store, 2025) == {2024, 2025} and ledger_years(store, 2024) == {2024}
    updated = {year: latest_versions(store, year) for year in (2024, 2025)}
    keys = latest_keys(store)
    kept = {key: store.get_bytes(key) for key in store.list_keys(LATEST_PREFIX + "/") if key.endswith(".parquet")}
    rebuild_latest(store)  # from every night's file: the same rows and keys, column for column, byte for byte
    for year, frame in updated.items():
        pd.testing.assert_frame_equal(frame, latest_versions(store, year))
    pd.testing.assert_frame_equal(keys, latest_keys(store))
    assert {key: store.get_bytes(key) for key in kept} == kept

    # A rerun of the second night that no longer has A's correction nor D: A is back to its first version.
    years = _night(store, "2025-01-07", _row("X", "2025-01-07", "2025-01-05", "X v1"))
    assert set(years) == {2024, 2025}
    assert _year(store, 2024) == {"A": "A v1"}
    assert _year(store, 2025) == {"B": "B v2 (date corrigée)", "C": "C v1", "E": "E v1", "X": "X v1"}

    # A night's file written by other means (a restore): the years are computed from the files.
    table = pa.Table.from_pylist([_row("F", "2025-01-09", "2025-01-07", "F v1")], schema=STAGING_SCHEMA)
    store.put_bytes(staging_key(2025, "2025-01-09"), table_to_parquet_bytes(table))
    assert _year(store, 2025)["F"] == "F v1"
    _night(store, "2025-01-10", _row("C", "2025-01-10", "2025-01-03", "C v2"))
    assert _year(store, 2025) == {"B": "B v2 (date corrigée)", "C": "C v2", "E": "E v1", "X": "X v1", "F": "F v1"}


def test_an_acts_years_are_found_alike_in_the_kept_table_and_in_the_nights_files(tmp_path):
    """The years some version of an act was staged under (what a night and a year's ledger read),
    looked up in the kept table of every act's key, are those computed from the nights' files."""
    from transform.actes import LATEST_STATE
    from transform.consolidate_actes import act_years

    store = LocalStore(tmp_path)
    _night(store, "2025-01-06", _row("A", "2025-01-06", "2024-12-20", "A v1"),
           _row("B", "2025-01-06", "2025-01-02", "B v1", siren="213500001"))
    _night(store, "2025-01-07", _row("A", "2025-01-07", "2025-01-03", "A v2 (date corrigée)"))

    def look() -> tuple:
        acts = {("212900997", "drop", "A"), ("213500001", "drop", "B"), ("212900997", "drop", "Z")}
        return (act_years(store, acts), ledger_years(store, 2025), ledger_years(store, 2025, ["213500001"]),
                ledger_years(store, 2025, ["212900997"]), ledger_years(store, 2024))

    kept = look()
    assert kept == ({("212900997", "drop", "A"): {2024, 2025}, ("213500001", "drop", "B"): {2025}},
                    {2024, 2025}, {2025}, {2024, 2025}, {2024})
    store.delete(LATEST_STATE)  # the kept table no longer followed: computed from the files
    assert look() == kept
