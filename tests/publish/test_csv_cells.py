"""Every published CSV: text that a spreadsheet would run is written as text, numbers as they are."""

from __future__ import annotations

import io

import pandas as pd

from core.csv_cells import neutralise
from load.public_files import csv_bytes
from transform.decp_output import REJECT_COLUMNS, rejects_csv


def _cells(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def test_budget_text_is_neutralised_and_negative_amounts_kept():
    frame = pd.DataFrame({
        "BGT_NATDEC": ["budget primitif", "budget primitif"],
        "BGT_ANNEE": ["2025", "2025"],
        "BGT_SIRET": ["21290099700017", "21290099700017"],
        "BGT_NOM": ["=1+1", "Commune"],
        "BGT_NATURE_LABEL": ["-Emprunts", "@Subventions"],
        "BGT_MTREAL": ["-172000.5", "-1E3"],
        "BGT_MTPREV": ["-2", ""],
    }, dtype="object")
    cells = _cells(csv_bytes(frame, "scdl-budget@0.8.3"))
    assert list(cells["BGT_NOM"]) == ["'=1+1", "Commune"]
    assert list(cells["BGT_NATURE_LABEL"]) == ["'-Emprunts", "'@Subventions"]
    assert list(cells["BGT_MTREAL"]) == ["-172000.5", "-1E3"]
    assert list(cells["BGT_MTPREV"]) == ["-2", ""]


def test_without_a_schema_every_cell_is_text_and_plain_numbers_stay():
    frame = pd.DataFrame({"a": ["-12.50", "+3", "-2+3", "\tx", "ok", None]}, dtype="object")
    assert list(_cells(csv_bytes(frame))["a"]) == ["-12.50", "+3", "'-2+3", "'\tx", "ok", ""]
    assert neutralise("\rx") == "'\rx" and neutralise(-3) == -3


def test_decp_rejects_are_neutralised_too():
    row = {column: "" for column in REJECT_COLUMNS} | {"message": "=HYPERLINK(\"http://x\")", "position": 3}
    assert _cells(rejects_csv([row]))["message"][0] == "'=HYPERLINK(\"http://x\")"


def test_a_formula_is_found_late_in_a_column_of_texts_or_among_other_values():
    frame = pd.DataFrame({
        "texts": ["ok", None, "x=1", "é", "", "\tlate"],
        "mixed": [3, "ok", None, 2.5, True, "=1+1"],
        "plain": ["x=1", "a-b", "é@", None, "", "ok"],
    }, dtype="object")
    cells = _cells(csv_bytes(frame))
    assert list(cells["texts"]) == ["ok", "", "x=1", "é", "", "'\tlate"]
    assert list(cells["mixed"]) == ["3", "ok", "", "2.5", "True", "'=1+1"]
    assert list(cells["plain"]) == ["x=1", "a-b", "é@", "", "", "ok"]


def _pandas_csv(frame: pd.DataFrame, text: list[str], header: bool) -> bytes:
    from core.csv_cells import neutralise_columns

    buffer = io.StringIO()
    neutralise_columns(frame, text).to_csv(buffer, index=False, header=header, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def test_a_csv_written_a_column_at_a_time_is_the_csv_pandas_writes():
    import random

    from load.public_files import csv_chunk

    draw = random.Random(29)
    texts = ["", "ok", "a,b", 'il dit "oui"', "deux\nlignes", "retour\r", " espace ", "\ttab", "é€", "=1+1", "-3",
             "x;y", "'", '"', ",", "-x", "@y", "+", "a\n=b", "a\n-1", "-1.5", "\t"]
    values = texts + [None, float("nan"), 0, -7, 2**70, 1.5, 1e16, 1e-07, -0.0, float("inf"), float("-inf"), True,
                      False]
    names = ["plain", "a,b", 'quote"d', "mixed", "texts"]
    for _ in range(600):
        rows = draw.randint(1, 6)
        frame = pd.DataFrame({name: [draw.choice(texts if name == "texts" else values) for _ in range(rows)]
                              for name in names}, dtype="object")
        text = draw.choice([names, [], ["texts"]])
        for header in (True, False):
            assert csv_chunk(frame, text, header) == _pandas_csv(frame, text, header)
    alone = pd.DataFrame({"a": ["=1", None, "b"]}, dtype="object")  # a row of one empty cell is quoted
    assert csv_chunk(alone, ["a"], True) == _pandas_csv(alone, ["a"], True) == b"a\n'=1\n\"\"\nb\n"
    typed = pd.DataFrame({"n": [1, 2], "x": [0.5, None], "t": ["a", None]})  # not objects: pandas writes them
    assert csv_chunk(typed, ["t"], True) == _pandas_csv(typed, ["t"], True)


def test_a_frame_with_a_formula_is_written_a_column_at_a_time(monkeypatch):
    """A text starting like a formula (a DECP object's "- travaux ...") no longer sends its whole frame to pandas."""
    from load.public_files import csv_chunk

    frame = pd.DataFrame({"objet": ["- travaux, lot 1", "ok"], "montant": [1.5, None]}, dtype="object")
    expected = _pandas_csv(frame, ["objet"], True)

    def refused(*_, **__):
        raise AssertionError("written by pandas")

    monkeypatch.setattr(pd.DataFrame, "to_csv", refused)
    assert csv_chunk(frame, ["objet"], True) == expected == b"""objet,montant\n"'- travaux, lot 1",1.5\nok,\n"""
