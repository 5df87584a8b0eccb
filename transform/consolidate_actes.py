"""The current state of every act of a year, from all the nights that staged it."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from digor.store import ObjectStore, read_parquet
from transform.actes import STAGING_PREFIX, STAGING_SCHEMA
from transform.publication_rule import Decision

ACT_KEY = ["siren", "source", "source_id"]


def current_acts(store: ObjectStore, year: int) -> pd.DataFrame:
    """Latest version of each act decided in ``year``, with its first publication date.

    A later night replaces an earlier version of the same document; the publication
    date is the first night the act was published, so reruns and re-sends never move it.
    """
    keys = store.list_keys(f"{STAGING_PREFIX}/annee={year}/")
    tables = [read_parquet(store, key) for key in keys] or [STAGING_SCHEMA.empty_table()]
    frame = pa.concat_tables(tables).to_pandas(types_mapper=None)
    if frame.empty:
        frame["publication_date"] = pd.Series(dtype="object")
        return frame
    frame = frame.sort_values(ACT_KEY + ["night", "version"], kind="stable")
    published = frame[frame["decision"] == Decision.PUBLISHED.value]
    first_published = published.groupby(ACT_KEY)["night"].min().rename("publication_date")
    latest = frame.drop_duplicates(ACT_KEY, keep="last")
    latest = latest.merge(first_published, how="left", left_on=ACT_KEY, right_index=True)
    return latest.sort_values(["siren", "date_decision", "numero", "source_id"], kind="stable").reset_index(drop=True)
