"""The sample region at real size, generated here at a small size: same seed same bytes, the
mix of bodies and acts asked for, and a night the actes chain runs on top of its history."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from core.registry import load_registry
from samples.region import SCALES, generate_region, region_settings

SCALE = replace(SCALES["small"], bodies=20, history_acts=260, years=2, night_acts=30, contracts=130,
                contracts_per_file=50)


def _tree(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".tmp" not in path.relative_to(folder).parts
    }


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("region") / "a"
    return out, generate_region(out, SCALE, seed=7, publish=False)


def test_same_seed_same_bytes_other_seed_other_region(region, tmp_path):
    out, _ = region
    again = generate_region(tmp_path / "b", SCALE, seed=7, publish=False)
    assert again["history"] == region[1]["history"]
    first, second = _tree(out), _tree(tmp_path / "b")
    assert set(first) == set(second)
    assert [name for name in first if first[name] != second[name]] == ["region.json"]  # it names its own folder
    other = generate_region(tmp_path / "c", SCALE, seed=8, publish=False)
    assert (tmp_path / "c" / "registry.yaml").read_bytes() != (out / "registry.yaml").read_bytes()
    assert other["scale"] == region[1]["scale"]


def test_the_region_has_every_kind_of_body_and_the_sizes_asked(region):
    out, summary = region
    registry = load_registry(out / "registry.yaml")
    kinds = Counter(body.kind for body in registry.bodies)
    assert len(registry.bodies) == SCALE.bodies
    assert set(kinds) == {"commune", "epci", "syndicat", "departement", "region", "autre"}
    assert kinds["commune"] > kinds["syndicat"] > kinds["epci"]
    staged = [pq.read_table(path) for path in sorted((out / "store" / "staging" / "actes").rglob("*.parquet"))]
    assert sum(table.num_rows for table in staged) == SCALE.history_acts
    years = {int(path.parent.name.split("=")[1]) for path in (out / "store" / "staging" / "actes").rglob("*.parquet")}
    assert {2024, 2025} <= years <= {2023, 2024, 2025}  # acts of early January were decided in December
    natures = Counter(n for table in staged for n in table.column("nature_code").to_pylist())
    assert {"1", "2", "3", "4", "6"} <= set(natures) and natures["1"] == max(natures.values())
    ledger = list((out / "store" / "private").rglob("night=*.jsonl"))
    assert sum(len(path.read_text().splitlines()) for path in ledger) == SCALE.history_acts
    night = out / "drop" / summary["night"]
    assert len([p for p in night.iterdir() if p.is_dir()]) == SCALE.night_acts
    assert all((folder / "metadata.json").is_file() for folder in night.iterdir())
    budgets = list((out / "budgets-drop" / summary["night"]).iterdir())
    assert len(budgets) >= 2 * SCALE.bodies  # a budget primitif and last year's accounts for every body
    natures = {json.loads((folder / "metadata.json").read_text())["data"]["acte_nature"] for folder in budgets}
    assert natures == {"5"}
    assert summary["contracts"]["objects"] == SCALE.contracts
    assert set(summary["contracts"]["formats"]) == {"2022 JSON", "2022 XML"}
    assert len(list((out / "decp-drop" / summary["night"]).iterdir())) == summary["contracts"]["files"]
    assert {p.name for p in (out / "sirene").iterdir()} == {"StockUniteLegale_utf8.parquet",
                                                           "StockEtablissement_utf8.parquet"}
    document = yaml.safe_load((out / "registry.yaml").read_text(encoding="utf-8"))
    assert len({body["siren"] for body in document["bodies"]}) == SCALE.bodies


def test_the_night_runs_on_top_of_the_history(region, tmp_path, monkeypatch):
    """As a region in service: the history's documents have their text read and published, so the
    night's text tasks read the night's new documents only."""
    import shutil

    from chains.actes import CHAIN
    from samples.region import publish_history, read_history_texts

    out, summary = region
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    environment = {key: value.replace(str(out), str(copy)) for key, value in summary["environment"].items()}
    publish_history(environment)
    settings = region_settings(environment).with_overrides(lock_wait_seconds=5)
    assert CHAIN.text_jobs(settings) != []
    texts = read_history_texts(environment)
    assert CHAIN.text_jobs(settings) == []
    public_texts = list((copy / "store" / "public" / "documents").rglob("*.txt"))
    assert texts["read"] >= texts["published"] == len(public_texts) > 0
    assert any("Objet :" in path.read_text(encoding="utf-8") for path in public_texts)
    result = CHAIN.run_night(settings, summary["night"])
    assert result["totals"]["transformed"] == SCALE.night_acts
    assert result["totals"]["rejected"] == 0
    published = json.loads((copy / "store" / "public" / "actes" / "index.json").read_text())["fichiers"]
    assert {"2024", "2025"} <= set(published)
    rows = sum(formats["csv"]["lignes"] for formats in published.values())
    assert 0 < rows <= SCALE.history_acts + SCALE.night_acts
    night_documents = {hashlib.sha256(path.read_bytes()).hexdigest()
                       for path in (copy / "drop" / summary["night"]).rglob("*.pdf")}
    unread = [sha256 for job in CHAIN.text_jobs(settings) for sha256 in job["documents"]]
    assert unread and set(unread) <= night_documents

    # Publishing the night's texts reads the acts of the years showing its documents, not the history's.
    import chains.actes as actes_chain
    from extract.document_text import read_own_document
    from load.document_texts import public_pdf, write_record

    store, read_years, latest = CHAIN.store(settings), [], actes_chain.latest_versions
    monkeypatch.setattr(actes_chain, "latest_versions", lambda st, year: read_years.append(year) or latest(st, year))
    for sha256 in unread:
        write_record(store, sha256, read_own_document(public_pdf(store, sha256), settings.text_limits).to_dict())
    published = CHAIN.publish_texts(settings, [])
    assert set(published["written"]) == set(unread)
    assert sorted(set(read_years)) == [year["year"] for year in published["years"]] == [int(summary["night"][:4])]
