"""Versions of a budget (latest sealed wins), the publication gate, and ``digor convert totem``."""

from __future__ import annotations

import pandas as pd

from digor.cli import main
from transform.totem_budgets import current_documents, is_published, publishable, sealed_utc


def _lines(*documents: tuple) -> pd.DataFrame:
    rows = []
    for document_id, stage, sealed, night, decision, dm_date in documents:
        for line_no in (1, 2):
            rows.append({
                "document_id": document_id, "source": "drop", "source_id": document_id, "night": night, "raw_key": "raw/x",
                "file_name": "x.xml", "siren": "212900997", "decision": decision, "root": "DocumentBudgetaire",
                "schema_version": "113", "natdec_code": "09", "stage": stage, "dm_date": dm_date, "sealed_at": sealed,
                "sealed_utc": sealed_utc(sealed), "exercice": 2024, "siret": "21290099700017", "libelle_coll": "K",
                "libelle_etab": "K", "budget_type": "principal", "siret_principal": "21290099700017",
                "nomenclature": "M57-M57", "plan": "M57/M57 2024", "line_no": line_no,
            })
    return pd.DataFrame(rows)


def test_the_latest_sealed_version_wins_whatever_the_night():
    lines = _lines(
        ("old", "compte administratif", "2025-03-01T10:00:00+01:00", "2025-03-05", "published", ""),
        ("new", "compte administratif", "2025-03-02T09:00:00", "2025-03-04", "published", ""),
        ("bp", "budget primitif", "2024-04-01T09:00:00", "2025-03-03", "published", ""),
    )
    current, history = current_documents(lines)
    assert sorted(set(current["document_id"])) == ["bp", "new"]
    status = {v["document_id"]: (v["status"], v["replaced_by"]) for v in history}
    assert status == {"old": ("replaced", "new"), "new": ("current", None), "bp": ("current", None)}


def test_decision_modificatives_of_different_dates_are_distinct_documents():
    lines = _lines(
        ("dm1", "décision modificative", "2024-06-01T09:00:00", "2025-03-03", "published", "2024-05-30"),
        ("dm2", "décision modificative", "2024-10-01T09:00:00", "2025-03-03", "published", "2024-09-28"),
    )
    current, _ = current_documents(lines)
    assert sorted(set(current["document_id"])) == ["dm1", "dm2"]


def test_the_versions_of_a_document_with_an_empty_key_field_are_all_in_the_history():
    """A document key with a field missing (a DM without its date) still lists its replaced version."""
    lines = _lines(
        ("dm-old", "décision modificative", "2024-06-01T09:00:00", "2025-03-03", "published", None),
        ("dm-new", "décision modificative", "2024-07-01T09:00:00", "2025-03-04", "published", None),
        ("bp", "budget primitif", "2024-04-01T09:00:00", "2025-03-03", "published", ""),
    )
    current, history = current_documents(lines)
    assert sorted(set(current["document_id"])) == ["bp", "dm-new"]
    status = {v["document_id"]: (v["status"], v["replaced_by"]) for v in history}
    assert status == {"dm-old": ("replaced", "dm-new"), "dm-new": ("current", None), "bp": ("current", None)}


def test_only_published_acts_of_open_bodies_reach_public_files():
    assert is_published({"decision": "published"}) and not is_published({"decision": "withdrawn"})
    lines = _lines(
        ("a", "budget primitif", "2024-04-01T09:00:00", "2025-03-03", "refused", ""),
        ("b", "compte administratif", "2025-04-01T09:00:00", "2025-03-03", "published", ""),
    )
    assert set(publishable(lines, {"212900997"})["document_id"]) == {"b"}
    assert publishable(lines, set()).empty


def test_sealing_times_compare_across_time_zones():
    assert sealed_utc("2022-04-07T10:16:21.216+02:00") > sealed_utc("2022-04-07T09:30:00")  # naive = Paris time
    assert sealed_utc("2022-04-07T10:16:21+02:00") < sealed_utc("2022-04-07T09:30:00Z")
    assert sealed_utc("not a date") == ""


def test_convert_totem_command(totem_cases, reference_dir, tmp_path, capsys):
    case = totem_cases / "DOCBUDG-21560046100085-056025-BP-2022-07042022000000" / "totem.xml"
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<DocumentBudgetaire>")
    plans = str(reference_dir / "totem" / "plans-de-comptes")
    code = main(["convert", "totem", str(case), str(broken), "--out", str(tmp_path / "out"), "--plans", plans, "--offline"])
    assert code == 1
    output = capsys.readouterr()
    assert "21 rows" in output.out and "not well-formed XML" in output.err
    frame = pd.read_csv(tmp_path / "out" / "DOCBUDG-21560046100085-056025-BP-2022-07042022000000.csv", dtype=str)
    assert len(frame) == 21 and set(frame["BGT_NATDEC"]) == {"budget primitif"}
    assert main(["validate", str(tmp_path / "out" / "DOCBUDG-21560046100085-056025-BP-2022-07042022000000.csv"), "--schema", "scdl-budget"]) == 0


def test_convert_reports_a_missing_plan(totem_cases, tmp_path, capsys):
    case = totem_cases / "BP2022_TRANSPORT" / "totem.xml"
    assert main(["convert", "totem", str(case), "--out", str(tmp_path), "--plans", str(tmp_path), "--offline"]) == 1
    assert "plan de comptes M4/M43_D 2022 not found" in capsys.readouterr().err


def test_the_conversion_csv_is_the_published_csv_byte_for_byte():
    """``digor convert totem`` writes its CSV without pandas: the same bytes as every published CSV."""
    from load.public_files import csv_bytes
    from transform.totem_scdl import SCDL_COLUMNS, scdl_csv_bytes

    awkward = ["=HYPERLINK(\"x\")", "-12.50", "Objet, avec virgule", 'guillemet "x"', "ligne\nsuite", "", "+33 1", "é"]
    rows = [{column: awkward[(index + shift) % len(awkward)] for index, column in enumerate(SCDL_COLUMNS)}
            for shift in range(len(awkward))]
    assert scdl_csv_bytes(rows) == csv_bytes(pd.DataFrame(rows, columns=list(SCDL_COLUMNS)))
    plain = [{column: f"{column.lower()}-{shift}" for column in SCDL_COLUMNS} for shift in range(3)]
    for cells in (plain, plain + rows[:1], rows + [{**rows[0], "BGT_NOM": "retour\rchariot"}],
                  rows + [{**rows[0], "BGT_NOM": None}], [{"BGT_NOM": "sans les autres colonnes"}], []):
        assert scdl_csv_bytes(cells) == csv_bytes(pd.DataFrame(cells, columns=list(SCDL_COLUMNS)))


def test_the_conversion_command_imports_neither_pandas_nor_frictionless():
    import subprocess
    import sys

    from core.config import PROJECT_ROOT

    code = ("import sys; import digor.cli, chains.totem_files, extract.plans_de_comptes; "
            "print(sorted(m for m in ('pandas', 'frictionless', 'pyarrow') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert result.stdout.strip() == "[]"
