"""A table's records (what its versions' fingerprints are made of) are the texts ``str`` gives of its cells,
whatever the mix of types a column holds."""

import pandas as pd
import pytest

from load.public_files import table_records


def test_records_are_the_cells_as_str_whatever_a_column_holds():
    columns = {
        "mixed": [1, True, 1.0, None, -0.0, 0.0, float("nan"), "x"],
        "nothing": [None] * 8,
        "integers": [1, 2, 1, None, 3, 3, 2, 10**30],
        "texts_or_nothing": ["x", None, "y", "x", None, "", "None", "z"],
        "texts": ["a", "b", "a", "", " ", "é", "1", "None"],
        "booleans": [True, False, True, None, True, False, False, None],
        "floats": [1.5, -0.0, 0.0, 1e16, None, 2.0, 0.1 + 0.2, float("inf")],
        "ints_and_bools": [1, True, 0, False, 1, True, None, 2],
    }
    frame = pd.DataFrame(columns, dtype=object)
    expected = [tuple(str(columns[name][row]) for name in columns) for row in range(8)]
    assert list(table_records(frame)) == expected


def test_typed_batch_converts_each_cell_as_its_field_type_says():
    """The Parquet's columns: an empty text or None is null, dates parsed, numbers made floats, integers
    ints; columns already of their type (a DECP year's) give the same arrays as cells converted one by one."""
    import math
    from datetime import date

    from load.public_files import typed_batch

    columns = {
        "integers": [1, None, 3, 10**15], "mixed_integers": [1, None, True, "4"], "numbers": [1.5, None, -0.0, float("nan")],
        "mixed_numbers": [1.5, None, 2, "2.5"], "texts": ["", None, "a", "None"], "dates": ["2024-01-02", "", None, "2024-02-29"],
        "booleans": [True, None, False, True], "nothing": [None] * 4, "empty_texts": ["", "", None, ""],
    }
    types = {"integers": "integer", "mixed_integers": "integer", "numbers": "number", "mixed_numbers": "number",
             "dates": "date", "booleans": "boolean", "nothing": "number"}
    batch = typed_batch(pd.DataFrame(columns, dtype=object), types)

    def same(a, b):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))

    expected = {
        "integers": [1, None, 3, 10**15], "mixed_integers": [1, None, 1, 4], "numbers": [1.5, None, -0.0, float("nan")],
        "mixed_numbers": [1.5, None, 2.0, 2.5], "texts": [None, None, "a", "None"],
        "dates": [date(2024, 1, 2), None, None, date(2024, 2, 29)], "booleans": [True, None, False, True],
        "nothing": [None] * 4, "empty_texts": [None] * 4,
    }
    assert [str(t) for t in batch.schema.types] == ["int64", "int64", "double", "double", "string", "date32[day]", "bool",
                                                   "double", "string"]
    for name, values in expected.items():
        got = batch.column(name).to_pylist()
        assert all(same(a, b) and type(a) is type(b) for a, b in zip(got, values)), (name, got)
    assert str(batch.column("numbers").to_pylist()[2]) == "-0.0"


def test_a_date_column_is_read_once_per_date_and_refused_at_its_first_bad_date():
    """Dates are parsed once per distinct date, in the column's order: the first bad one is the one refused."""
    from datetime import date

    from load.public_files import typed_batch

    frame = pd.DataFrame({"d": ["2024-01-02", None, "2024-01-02", "", "2023-12-31"]}, dtype=object)
    assert typed_batch(frame, {"d": "date"}).column("d").to_pylist() == [
        date(2024, 1, 2), None, date(2024, 1, 2), None, date(2023, 12, 31)]
    for cells, message in ((["2024-01-02", "2024-02-30", "x"], "day is out of range"), (["x", "2024-02-30"], "'x'")):
        with pytest.raises(ValueError, match=message):
            typed_batch(pd.DataFrame({"d": cells}, dtype=object), {"d": "date"})
