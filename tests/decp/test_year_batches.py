"""A DECP year is published a batch of kept objects at a time (``transform.decp_year``), with the same
files, byte for byte, as when the whole year is one batch: the batch size (``DIGOR_DECP_PUBLISH_BATCH_ROWS``)
changes the memory a year needs, never what is published.

The input crosses every batch boundary many times: the demo's three nights (2019-format history,
XML, duplicates across nights, invalid objects, an unreadable file, modifications) plus a generated
national consolidation, published in batches of 3 kept objects.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chains.decp import CHAIN
from chains.publication import publish_prepared, publish_table
from core.config import PROJECT_ROOT, Settings
from core.store import LocalStore
from load.public_files import prepare_table
from samples.actes import DEMO_NIGHTS
from samples.decp import generate_decp_exports, write_national_export
from tests.decp.reference_table import table_frame, table_rows
from transform.decp_consolidate import consolidate
from transform.decp_staging import staged_rows, staged_years
from transform.decp_year import CURRENT, KEY_COLUMNS, StagedYear

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"
RETIRED = "private/versions/retired/"  # what each retired version is, and when (compared without the time)
TIMED = ("private/locks/", RETIRED)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def drop(tmp_path) -> Path:
    folder = tmp_path / "decp-drop"
    generate_decp_exports(folder, REGISTRY)
    write_national_export(folder / DEMO_NIGHTS[1] / "consolidation.json", 300, buyers=12)
    return folder


def _nights(tmp_path: Path, drop: Path, name: str, batch_rows: int, monkeypatch) -> tuple[Settings, dict]:
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / name))
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(drop))
    monkeypatch.setenv("DIGOR_DECP_SOURCE", "drop")
    monkeypatch.setenv("DIGOR_REGISTRY", str(REGISTRY))
    monkeypatch.setenv("DIGOR_DECP_PUBLISH_BATCH_ROWS", str(batch_rows))
    settings = Settings.from_env()
    assert settings.decp_publish_batch_rows == batch_rows
    reports = {night: CHAIN.run_night(settings, night)["totals"] for night in DEMO_NIGHTS}
    return settings, reports


def test_a_year_published_in_small_batches_is_byte_for_byte_the_year_published_whole(tmp_path, drop, monkeypatch):
    whole_settings, whole_reports = _nights(tmp_path, drop, "whole", 1_000_000, monkeypatch)
    batched_settings, batched_reports = _nights(tmp_path, drop, "batched", 3, monkeypatch)
    assert batched_reports == whole_reports
    assert whole_reports[DEMO_NIGHTS[1]]["duplicates"] > 0 and whole_reports[DEMO_NIGHTS[1]]["invalid"] > 0
    whole, batched = _tree(Path(whole_settings.store_url)), _tree(Path(batched_settings.store_url))
    assert sorted(batched) == sorted(whole)
    published = [key for key in whole if key.startswith("public/decp/") or "/marches/" in key]
    assert any(key.endswith(".parquet") for key in published) and any("format-2019" in key for key in published)
    assert any(key.startswith("private/") and "records" in key for key in whole), "the versions' records compared too"
    assert [key for key in whole if batched[key] != whole[key] and not key.startswith(TIMED)] == []
    retired = [key for key in whole if key.startswith(RETIRED)]
    assert retired and all(json.loads(batched[key]).keys() == json.loads(whole[key]).keys() for key in retired)


def test_the_columnar_consolidation_keeps_drops_and_orders_as_the_rule(tmp_path, drop, monkeypatch):
    settings, _ = _nights(tmp_path, drop, "store", 4, monkeypatch)
    store = LocalStore(settings.store_url)
    for year in staged_years(store):
        expected = consolidate(staged_rows(store, year))
        folder = tmp_path / f"spool-{year}"
        folder.mkdir()
        staged = StagedYear(store, year, folder, 4)
        kept = [row for batch in staged.kept_batches() for row in batch]
        assert [{k: v for k, v in row.items() if k != CURRENT} for row in kept] == expected.kept
        assert staged.rejected == expected.rejected
        light = set(KEY_COLUMNS)
        assert staged.duplicates == [({k: v for k, v in copy.items() if k in light},
                                      {k: v for k, v in kept_row.items() if k in light})
                                     for copy, kept_row in expected.duplicates]
        shutil.rmtree(folder)


def test_a_table_made_in_batches_leaves_out_the_same_invalid_rows_as_the_whole_table(tmp_path, drop, monkeypatch):
    settings, _ = _nights(tmp_path, drop, "store", 4, monkeypatch)
    year = staged_years(LocalStore(settings.store_url))[-1]
    frame = table_frame(table_rows(consolidate(staged_rows(LocalStore(settings.store_url), year)).kept))
    frame.loc[[2, 9], "dateNotification"] = "pas une date"
    schema = settings.schema("decp-table")

    def frames():
        return (frame.iloc[start:start + 4] for start in range(0, len(frame), 4))

    whole, batched = LocalStore(tmp_path / "whole-table"), LocalStore(tmp_path / "batched-table")
    files, report = publish_table(whole, frame, "public/t/decp", schema, versioned=True, slot="t")
    batched_files, batched_report, left_out = publish_prepared(batched, prepare_table(frames(), schema), frames,
                                                               "public/t/decp", schema, versioned=True, slot="t")
    assert sorted(report.invalid_rows()) == [2, 9] and batched_report.invalid_rows() == report.invalid_rows()
    assert batched_files == files and files[0].rows == len(frame) - 2
    assert left_out.equals(frame.loc[[2, 9]])
    assert _tree(tmp_path / "batched-table") == _tree(tmp_path / "whole-table")


def test_a_large_table_s_typed_batches_wait_on_disk_and_make_the_parquet_of_the_whole_frame(tmp_path, drop,
                                                                                             monkeypatch):
    """A year's table prepared to a file keeps its typed batches on disk until its Parquet is made (a
    national year's would hold ~300 MB): the Parquet of the whole frame made in memory, byte for byte."""
    settings, _ = _nights(tmp_path, drop, "store", 4, monkeypatch)
    store = LocalStore(settings.store_url)
    frame = max((table_frame(table_rows(consolidate(staged_rows(store, year)).kept)) for year in staged_years(store)),
                key=len)
    schema = settings.schema("decp-table")
    parts = [frame.iloc[start:start + 4] for start in range(0, len(frame), 4)]
    folder = tmp_path / "table"
    folder.mkdir()
    spooled = prepare_table(iter(parts), schema, folder / "decp.csv")
    whole = prepare_table([frame], schema)
    assert len(parts) > 20 and spooled.parquet and spooled.parquet == whole.parquet
    assert spooled.csv.read_bytes() == whole.csv and spooled.records == whole.records
    assert sorted(p.name for p in folder.iterdir()) == ["decp.csv"], "the batches' file is removed"
    broken = frame.copy()
    broken.loc[9, "dateNotification"] = "pas une date"
    untyped = prepare_table((broken.iloc[start:start + 4] for start in range(0, len(broken), 4)), schema,
                            folder / "broken.csv")
    assert untyped.untyped is not None and untyped.parquet == b""
    assert sorted(p.name for p in folder.iterdir()) == ["broken.csv", "decp.csv"]
