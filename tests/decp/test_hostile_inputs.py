"""Hostile DECP exports: each is refused by name with its reason, and the other files are published.

The corpus is generated here: a JSON nested 100 000 levels deep (a ``RecursionError`` once
stopped the whole conversion), XML declaring entities (an unresolved ``&x;`` once cut
``Objet &x; fin`` down to ``Objet``), a late DOCTYPE and a DOCTYPE in UTF-16 without BOM.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from core.config import PROJECT_ROOT
from digor.cli import main
from samples.decp import generate_decp_exports
from tests.decp.test_formats_normalise import MARCHE_2022

GOOD = json.dumps({"marches": {"marche": [MARCHE_2022]}}, ensure_ascii=False).encode("utf-8")
XML_MARCHE = "<marche><id>2025M002</id><acheteur><id>21290099700017</id></acheteur><objet>Objet &x; fin</objet></marche>"
HOSTILE = {
    "profond.json": (b'{"marches": {"marche": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "JSON refusé"),
    "entite.xml": (f'<?xml version="1.0"?><!DOCTYPE marches [<!ENTITY x "y">]><marches>{XML_MARCHE}</marches>'.encode(),
                   "XML refusé"),
    "doctype-tardif.xml": (b"<?xml version='1.0'?><!--" + b"x" * 70_000 + b'--><!DOCTYPE marches [<!ENTITY x "">]>'
                           + f"<marches>{XML_MARCHE}</marches>".encode(), "XML refusé"),
    "utf16-sans-bom.xml": (f'<?xml version="1.0" encoding="UTF-16LE"?><!DOCTYPE marches [<!ENTITY x "">]>'
                           f"<marches>{XML_MARCHE}</marches>".encode("utf-16-le"), "XML refusé"),
    "entite-non-declaree.xml": (f"<marches>{XML_MARCHE}</marches>".encode(), "XML illisible"),
}


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "bon.json").write_bytes(GOOD)
    for name, (data, _) in HOSTILE.items():
        (folder / name).write_bytes(data)
    return folder


def test_convert_decp_rejects_each_hostile_file_by_name_and_publishes_the_good_one(corpus, tmp_path, capsys):
    out = tmp_path / "out"
    files = [str(corpus / "bon.json")] + [str(corpus / name) for name in HOSTILE]
    assert main(["convert", "decp", *files, "--out", str(out), "--date", "2025-06-30"]) == 1
    printed = capsys.readouterr().out
    for name, (_, reason) in HOSTILE.items():
        assert f"{name} (?): unreadable: {reason}" in printed
    assert "bon.json (2022): 1 read = 1 published + 0 rejected" in printed
    published = json.loads((out / "decp-2025.json").read_text(encoding="utf-8"))
    assert [m["id"] for m in published["marches"]["marche"]] == ["2025M001"]
    report = json.loads((out / "rapport.json").read_text(encoding="utf-8"))
    assert {f["name"]: bool(f["error"]) for f in report["files"]} == {"bon.json": False, **{n: True for n in HOSTILE}}
    rejects = list(csv.DictReader(io.StringIO((out / "rejets" / "decp-rejets-2025.csv").read_text(encoding="utf-8"))))
    assert {r["fichier"] for r in rejects if r["code"] == "fichier-illisible"} == set(HOSTILE)
    assert not any("Objet" in r["message"] for r in rejects)


def test_a_decp_night_with_a_hostile_file_publishes_the_others_and_reports_it(tmp_path, monkeypatch, capsys):
    drop = tmp_path / "decp-drop"
    summary = generate_decp_exports(drop, PROJECT_ROOT / "config" / "registry-demo.yaml")
    night = summary["nights"][0]
    for name, (data, _) in HOSTILE.items():
        (drop / night / name).write_bytes(data)
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(drop))
    store = tmp_path / "store"
    assert main(["run", "decp", "--date", night, "--store", str(store)]) == 0
    printed = capsys.readouterr().out
    for name, (_, reason) in HOSTILE.items():
        assert f"{name} (?): unreadable: {reason}" in printed
    assert (store / "public" / "decp" / "decp-2024.json").is_file()
    report_key = printed.rsplit("report: ", 1)[1].strip().rsplit("/private/", 1)[1]
    report = json.loads((store / "private" / report_key).read_text(encoding="utf-8"))
    assert report["totals"]["unreadable_files"] == len(HOSTILE)
    assert report["totals"]["published"] > 0


@pytest.mark.parametrize("field", ["offresRecues", "dureeMois"])
def test_an_integer_too_large_for_the_table_rejects_its_contract_by_name_and_the_others_are_published(
        tmp_path, capsys, field):
    """An integer past what the table's columns hold (64 bits) once stopped the whole conversion with a
    traceback; it is no count of offers nor of months: dropped with a note, its contract rejected."""
    huge = {**MARCHE_2022, "id": "2025M002", field: 10**30}
    export = tmp_path / "enorme.json"
    export.write_text(json.dumps({"marches": {"marche": [MARCHE_2022, huge]}}), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["convert", "decp", str(export), "--out", str(out), "--date", "2025-06-30"]) == 0
    assert "enorme.json (2022): 2 read = 1 published + 1 rejected" in capsys.readouterr().out
    published = json.loads((out / "decp-2025.json").read_text(encoding="utf-8"))
    assert [m["id"] for m in published["marches"]["marche"]] == ["2025M001"]
    rejects = list(csv.DictReader(io.StringIO((out / "rejets" / "decp-rejets-2025.csv").read_text(encoding="utf-8"))))
    assert {(r["id"], r["champ"]) for r in rejects} >= {("2025M002", field)}
    assert any(r["code"] == "anomalie" and "1000000000000000000000000000000" in r["message"] for r in rejects)
