"""What a republication would change in a published table, before it is published."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class TableDiff:
    file: str
    rows_before: int
    rows_after: int
    added: int
    removed: int
    changed: int
    columns_added: list[str]
    columns_removed: list[str]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed or self.columns_added or self.columns_removed)

    def to_dict(self) -> dict:
        return {**asdict(self), "unchanged": self.unchanged}

    def to_text(self) -> str:
        columns = ""
        if self.columns_added or self.columns_removed:
            columns = f"; columns +{self.columns_added} -{self.columns_removed}"
        return (
            f"{self.file}: {self.rows_before} -> {self.rows_after} rows "
            f"(+{self.added} -{self.removed} ~{self.changed}){columns}"
        )


def read_csv_bytes(data: bytes | None) -> pd.DataFrame:
    if data is None:
        return pd.DataFrame()
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def diff_tables(file: str, before: pd.DataFrame, after: pd.DataFrame, keys: list[str]) -> TableDiff:
    """Rows matched on ``keys`` (those present on both sides); values compared on shared columns."""
    shared = [c for c in after.columns if c in before.columns]
    on = [k for k in keys if k in shared]
    columns_added = [c for c in after.columns if c not in before.columns]
    columns_removed = [c for c in before.columns if c not in after.columns]
    if before.empty or after.empty or not on:
        matched = 0 if (before.empty or after.empty) else min(len(before), len(after))
        return TableDiff(file, len(before), len(after), len(after) - matched, len(before) - matched, 0,
                         columns_added, columns_removed)
    merged = before[shared].merge(after[shared], on=on, how="outer", suffixes=("_old", "_new"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    values = [c for c in shared if c not in on]
    changed = 0
    if values and not both.empty:
        differs = pd.concat([both[f"{c}_old"] != both[f"{c}_new"] for c in values], axis=1).any(axis=1)
        changed = int(differs.sum())
    return TableDiff(
        file, len(before), len(after), int((merged["_merge"] == "right_only").sum()),
        int((merged["_merge"] == "left_only").sum()), changed, columns_added, columns_removed,
    )
