import pandas as pd

from chains.table_diff import diff_tables


def test_rows_and_columns_differences_are_counted():
    before = pd.DataFrame({"ID": ["1", "2", "3"], "OBJET": ["a", "b", "c"], "OLD": ["x", "y", "z"]})
    after = pd.DataFrame({"ID": ["2", "3", "4"], "OBJET": ["b", "C", "d"], "NEW": ["", "", ""]})
    diff = diff_tables("f.csv", before, after, ["ID"])
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 1)
    assert diff.columns_added == ["NEW"] and diff.columns_removed == ["OLD"]
    assert "f.csv: 3 -> 3 rows (+1 -1 ~1)" in diff.to_text()


def test_identical_tables_are_unchanged_and_a_new_file_is_all_added():
    table = pd.DataFrame({"ID": ["1"], "V": ["a"]})
    assert diff_tables("f", table, table.copy(), ["ID"]).unchanged
    new = diff_tables("f", pd.DataFrame(), table, ["ID"])
    assert (new.added, new.removed) == (1, 0)
