"""``digor import-history``: a previous system's export keeps every original publication date."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.config import Settings
from core.ledger import LedgerEvent, history_event, replay
from digor.cli import main as digor
from samples.actes import DEMO_NIGHTS
from samples.history import generate_history_export
from tests.replay import REGISTRY, Replay, nights_replayed


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Iterator[Replay]:
    yield from nights_replayed(tmp_path_factory.mktemp("history"))


@pytest.fixture
def imported(replayed, tmp_path, monkeypatch, capsys):
    """A copy of the demo store, two of its published acts and an export re-exporting them, imported once."""
    copy = replayed.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    actes = _csv(copy.store / "public/actes/actes-2025.csv")
    published = actes[(actes["PUBLICATION_DATE"] != "") & (actes["ACTE_URL"] != "")].iloc[:2]
    known = [{"siren": r["COLL_SIRET"][:9], "numero": r["ACTE_ID"], "date_decision": r["ACTE_DATE"],
              "source_id": r["SOURCE_ID"]} for _, r in published.iterrows()]
    export = tmp_path / "export"
    expected = generate_history_export(export, REGISTRY, known)
    code = digor(["import-history", str(export)])
    out = capsys.readouterr()
    return {"store": copy.store, "export": export, "expected": expected, "known": known, "code": code, "out": out}


def _report(store: Path) -> dict:
    reports = sorted((store / "private/reports/import-history").glob("*.json"))
    return json.loads(reports[-1].read_text(encoding="utf-8"))


def _where(entry: dict) -> str:
    """How the expectations name a record: an act folder by its path, an SCDL row by file and line."""
    return f"{entry['file']} {entry['record']}" if entry["file"].startswith("scdl/") and entry["record"] else entry["file"]


def test_the_report_names_what_was_imported_merged_and_refused(imported):
    report, expected = _report(imported["store"]), imported["expected"]
    assert imported["code"] == 1  # records were refused: the operator must look
    assert imported["out"].out.splitlines()[0] == report["summary"]
    assert report["summary"].startswith(f"import-history: {len(expected['imported'])} act(s) imported, "
                                        f"{len(expected['merged'])} merged with acts already known, 0 already imported, "
                                        f"{len(expected['refused'])} refused")
    names = lambda kind: sorted(_where(e) for e in report[kind])  # noqa: E731
    assert names("imported") == sorted(f"actes/{r}" if r.startswith("hist") else r for r in expected["imported"])
    assert names("merged") == sorted(f"actes/{r}" if r.startswith("hist") else r for r in expected["merged"])
    refused = {_where(e): e["reason"] for e in report["refused"]}
    assert sorted(refused) == sorted(expected["refused"])
    for where, reason in expected["refused"].items():
        assert reason in refused[where], (where, refused[where])
        assert where.split(" ")[0] in imported["out"].err  # each refusal named on stderr too


def test_imported_acts_are_published_with_their_original_dates(imported):
    store, known = imported["store"], imported["known"]
    actes_2023 = _csv(store / "public/actes/actes-2023.csv").set_index("ACTE_ID")
    assert actes_2023.loc["2023-041", "PUBLICATION_DATE"] == "2023-03-20"
    assert actes_2023.loc["2023-112", "PUBLICATION_DATE"] == "2023-11-30"
    assert actes_2023.loc["2023-041", "ACTE_URL"].endswith(".pdf")
    assert "X-date" not in set(actes_2023.index) and "2023-099" not in set(actes_2023.index)
    assert (store / "public" / actes_2023.loc["2023-041", "ACTE_URL"].split("/", 3)[3]).exists()
    # An SCDL row alone: the délibération's metadata, its document not in the export.
    delib_2022 = _csv(store / "public/deliberations/deliberations-2022.csv").set_index("DELIB_ID")
    assert list(delib_2022.index) == ["2022-015"]
    assert delib_2022.loc["2022-015", "DELIB_URL"] == ""
    assert delib_2022.loc["2022-015", "DELIB_OBJET"] == "Approbation du compte administratif 2021 avec ses annexes"
    # Acts already known from the source keep one row, dated by the previous system.
    actes_2025 = _csv(store / "public/actes/actes-2025.csv")
    for index, act in enumerate(known):
        rows = actes_2025[(actes_2025["ACTE_ID"] == act["numero"]) & (actes_2025["COLL_SIRET"].str[:9] == act["siren"])]
        assert len(rows) == 1
        original = date.fromisoformat(act["date_decision"]).toordinal() + 1 + index
        assert rows.iloc[0]["PUBLICATION_DATE"] == date.fromordinal(original).isoformat()
    widget = json.loads((store / f"public/widgets/actes/{known[0]['siren']}/index.json").read_text(encoding="utf-8"))
    assert widget  # the body's widget manifest was switched after the import


def test_a_rerun_imports_nothing_twice_and_changes_no_public_file(imported, capsys):
    store = imported["store"]
    public = {p: p.read_bytes() for p in (store / "public").rglob("*.csv")}
    first = _report(store)
    assert digor(["import-history", str(imported["export"])]) == 1
    again = _report(store)
    assert again["imported"] == [] and again["merged"] == []
    assert len(again["already_imported"]) == len(first["imported"]) + len(first["merged"])
    assert again["years"] == []
    assert {p: p.read_bytes() for p in (store / "public").rglob("*.csv")} == public


def test_nothing_later_re_dates_an_imported_act(imported, capsys):
    store, act = imported["store"], imported["known"][0]
    settings = Settings.from_env()
    original = _csv(store / "public/actes/actes-2025.csv").query("ACTE_ID == @act['numero']").iloc[0]["PUBLICATION_DATE"]
    assert digor(["unpublish", act["siren"], act["numero"], "--reason", "erreur"]) == 0
    assert digor(["publish", act["siren"], act["numero"], "--reason", "rétabli"]) == 0
    actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[-1], force_rebuild=True)
    after = _csv(store / "public/actes/actes-2025.csv").query("ACTE_ID == @act['numero']").iloc[0]["PUBLICATION_DATE"]
    assert after == original
    capsys.readouterr()
    assert digor(["ledger", act["siren"], act["numero"]]) == 0
    shown = capsys.readouterr().out
    assert f"first publication: {original}" in shown and "by history" in shown


def test_a_missing_export_folder_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "store"))
    assert digor(["import-history", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent" in err and "does not exist" in err and "Traceback" not in err


def test_replay_keeps_the_history_date_whatever_document_comes_later():
    key = ("212900997", "pastell", "ABC")
    events = [
        history_event(*key, "N1", date(2021, 5, 4), "previous system", "sha-old"),
        LedgerEvent(*key, "N1", "published", "teletransmission", "", "2025-03-03T10:00:00", "2025-03-03", "sha-new"),
        LedgerEvent(*key, "N1", "withdrawn", "engineer", "x", "2025-03-04T10:00:00", "2025-03-04", ""),
        LedgerEvent(*key, "N1", "published", "engineer", "y", "2025-03-05T10:00:00", "2025-03-05", "sha-newer"),
    ]
    state = replay(sorted(events, key=lambda e: e.at))[key]
    assert state.publication_date == date(2021, 5, 4) and state.decision == "published"
