"""``row_dicts`` gives what ``to_dict("records")`` gives, value for value and type for type."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from core.frame_rows import row_dicts


def _same(left, right) -> bool:
    if left is right:  # NaT, None
        return True
    if type(left) is not type(right):
        return False
    if isinstance(left, np.ndarray):
        return left.dtype == right.dtype and len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, float) and left != left:
        return right != right
    return left == right


def _assert_as_to_dict(frame: pd.DataFrame) -> None:
    expected, got = frame.to_dict("records"), row_dicts(frame)
    assert len(got) == len(expected)
    for want, row in zip(expected, got):
        assert list(row) == list(want)
        assert all(_same(want[name], row[name]) for name in want), (want, row)


def test_the_columns_of_an_acts_frame_give_to_dicts_values():
    _assert_as_to_dict(pd.DataFrame({
        "siren": pd.Series(["213100557", None, "213100558"], dtype="str"),
        "date_decision": [dt.date(2025, 3, 13), None, np.nan],
        "metadata_only": [True, False, True],
        "pages": [1, 2, 3],
        "score": [1.5, np.nan, 2.0],
        "depose": pd.to_datetime(["2025-01-01", None, "2025-02-01"]),
        "annexes": [np.array([], dtype=object), np.array([{"name": "a.pdf", "sha256": "00"}], dtype=object), []],
    }))


def test_columns_tolist_would_give_otherwise_go_through_to_dict():
    """A nullable integer's NA (``to_dict``: None), a numpy scalar in an object column (``to_dict``: a
    Python one), two columns of one name."""
    _assert_as_to_dict(pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64"), "s": ["a", "b", "c"]}))
    boxed = pd.DataFrame({"o": pd.Series([np.int64(4), "x", None], dtype=object)})
    _assert_as_to_dict(boxed)
    assert type(row_dicts(boxed)[0]["o"]) is int
    _assert_as_to_dict(pd.DataFrame([[1, "a"], [2, "b"]], columns=["x", "x"]))
    _assert_as_to_dict(pd.DataFrame({"x": pd.Series([], dtype="str")}))
