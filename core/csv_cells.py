"""Cells of the CSV files digor writes: text never runs as a spreadsheet formula.

The regional CSVs feed data.gouv.fr's preview and people's spreadsheets, where a cell that
starts with ``=``, ``+``, ``-``, ``@`` (or a tab or a carriage return) is read as a formula:
``=HYPERLINK(…)`` becomes a link, ``+cmd|…`` a command. Such a text cell is written with a
leading apostrophe, as the widgets' own CSV export does. Numbers are never touched: neither
the fields a schema types as numbers, dates or booleans (negative amounts stay as they are),
nor a text cell that is a plain number (``-12.50``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the frame helper needs pandas: the cell rule is imported by paths without it
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")


def neutralise(value):
    """A text cell as a spreadsheet must show it: as text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


_FIRST_CHARS = frozenset(FORMULA_STARTS)


def neutralise_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` with its text ``columns`` neutralised (a copy when a cell changes; the frame itself is
    left alone). A column is mapped cell by cell only when one of its texts starts like a formula."""
    text = [c for c in columns if c in frame.columns]
    if not text or frame.empty:
        return frame
    touched = [c for c in text if may_start_a_formula(frame[c].tolist())]
    return frame.assign(**{c: frame[c].map(neutralise) for c in touched}) if touched else frame


def may_start_a_formula(values: list) -> bool:
    """Whether a text of ``values`` starts like a formula: their first characters compared in Arrow when
    they are all texts or empty (most columns), else one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        texts = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return any(isinstance(v, str) and v[:1] in _FIRST_CHARS for v in values)
    starts = pc.is_in(pc.utf8_slice_codeunits(texts, 0, 1), value_set=pa.array(FORMULA_STARTS))
    return bool(pc.any(starts).as_py())
