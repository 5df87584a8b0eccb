"""Give a table the columns of the schema version a run targets.

Chains build tables with the columns of the version they were written for; a newer
version of a national schema renames or adds columns. Each field of the project's
schema file may name the column that feeds it (``x-digor-source``); a field with no
source column is published empty, which the schema's own constraints then judge.
"""

from __future__ import annotations

import pandas as pd

SOURCE_KEY = "x-digor-source"


def shape_for_schema(frame: pd.DataFrame, descriptor: dict) -> pd.DataFrame:
    columns = {}
    for field in descriptor["fields"]:
        source = field.get(SOURCE_KEY, field["name"])
        columns[field["name"]] = frame[source] if source in frame.columns else pd.Series("", index=frame.index)
    return pd.DataFrame(columns, index=frame.index, dtype="object")
