"""A year's regional files put together from per-body parts: a night makes the rows of the bodies it
touched only, and the files are those a rebuild from scratch writes, whatever happened to the parts."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import pytest

from chains import actes as actes_chain
from chains.publication import publish_by_body, publish_shaped
from core.config import Settings
from core.keys import YEAR_PARTS_PREFIX
from core.registry import Body
from core.store import LocalStore
from digor.cli import main as digor
from load import year_parts
from load.year_parts import ROW_MAKERS, code_fingerprint, index_key
from tests.held_runs import held_at
from tests.replay import Replay, nights_replayed

YEAR = 2025


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Iterator[Replay]:
    yield from nights_replayed(tmp_path_factory.mktemp("year-parts"))


@pytest.fixture
def store(replayed, tmp_path, monkeypatch) -> Path:
    copy = replayed.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    return copy.store


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _regional_files(store: Path) -> dict[str, bytes]:
    """Every regional file downloaders get: each dataset's manifest, the versions it names, their stable names."""
    files = {}
    for manifest_path in sorted(store.glob("public/*/index.json")):
        if manifest_path.parent.name == "widgets":
            continue
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for formats in manifest["fichiers"].values():
            for entry in formats.values():
                for name in (entry["fichier"], entry["permanent"]):
                    files[f"{manifest_path.parent.name}/{name}"] = (manifest_path.parent / name).read_bytes()
        files[f"{manifest_path.parent.name}/index.json"] = manifest_path.read_bytes()
    return files


def _rebuilt_from_scratch(store: Path, monkeypatch) -> dict[str, bytes]:
    """The regional files a full rebuild writes on a copy of ``store`` (its parts lost)."""
    rebuilt = store.parent / "rebuilt"
    shutil.copytree(store, rebuilt)
    shutil.rmtree(rebuilt / YEAR_PARTS_PREFIX)
    monkeypatch.setenv("DIGOR_STORE", str(rebuilt))
    actes_chain.CHAIN.run_night(Settings.from_env(), "2025-03-06", force_rebuild=True)
    monkeypatch.setenv("DIGOR_STORE", str(store))
    return _regional_files(rebuilt)


def _a_published_deliberation(store: Path) -> pd.Series:
    frame = _csv(store / f"public/deliberations/deliberations-{YEAR}.csv")
    return frame[frame["DELIB_URL"] != ""].iloc[0]


def _bodies_made(monkeypatch) -> list[set[str]]:
    """The bodies whose actes rows each year's publication makes (the others' are reused)."""
    made: list[set[str]] = []
    table = actes_chain.actes_table

    def spy(acts, url_of):
        made.append(set(acts["siren"]))
        return table(acts, url_of)

    monkeypatch.setattr(actes_chain, "actes_table", spy)
    return made


def _withdraw(act: pd.Series) -> None:
    assert digor(["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur"]) == 0


def test_a_withdrawal_makes_its_body_rows_only_and_the_files_are_those_of_a_full_rebuild(store, monkeypatch):
    act = _a_published_deliberation(store)
    siren = act["COLL_SIRET"][:9]
    bodies = set(_csv(store / f"public/actes/actes-{YEAR}.csv")["COLL_SIRET"].str[:9])
    assert len(bodies) > 1 and (store / index_key(YEAR)).is_file(), "the nights kept the year's parts"
    made = _bodies_made(monkeypatch)
    _withdraw(act)
    assert made == [{siren}], "only the withdrawn act's body has its rows made again"
    files = _regional_files(store)
    assert set(_csv(store / f"public/actes/actes-{YEAR}.csv")["COLL_SIRET"].str[:9]) == bodies
    assert act["DELIB_ID"] not in set(_csv(store / f"public/deliberations/deliberations-{YEAR}.csv")
                                      .query("COLL_SIRET == @act.COLL_SIRET")["DELIB_ID"])
    assert _rebuilt_from_scratch(store, monkeypatch) == files


def test_a_release_that_makes_rows_otherwise_reaches_every_body_at_its_first_night(store, monkeypatch):
    # An upgrade whose rule writes the objets otherwise (a stand-in for a rule taking a name out):
    # the bodies the night does not touch must not keep the rows the previous release made.
    monkeypatch.setattr(year_parts, "code_fingerprint", lambda: "the next release")
    table = actes_chain.actes_table
    monkeypatch.setattr(actes_chain, "actes_table",
                        lambda acts, url_of: table(acts, url_of).assign(ACTE_OBJET=lambda rows: rows["ACTE_OBJET"].str.upper()))
    act = _a_published_deliberation(store)
    made = _bodies_made(monkeypatch)
    _withdraw(act)
    published = _csv(store / f"public/actes/actes-{YEAR}.csv")
    assert len(made[0]) == published["COLL_SIRET"].str[:9].nunique() > 1, "every body made again by the new code"
    assert (published["ACTE_OBJET"] == published["ACTE_OBJET"].str.upper()).all()


def test_the_code_fingerprint_follows_the_row_makers_sources(tmp_path):
    root = Path(__file__).resolve().parents[2]
    before, after = tmp_path / "before", tmp_path / "after"
    for copy in (before, after):
        for package in ROW_MAKERS:
            shutil.copytree(root / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    assert code_fingerprint(before) == code_fingerprint(root), "a copy of the same release"
    rule = after / "core" / "publication_rule.py"
    rule.write_text(rule.read_text(encoding="utf-8") + "\n# a rule changed\n", encoding="utf-8")
    assert code_fingerprint(before) != code_fingerprint(after)


def test_a_body_fingerprint_is_its_registry_entry_as_a_whole_and_follows_each_switch():
    """The hash of the entry's JSON (every field, the widget settings nested in it): a switch or a
    widget setting changed makes the body's rows again."""
    body = Body("213100557", "21310055700010", "Commune", "commune", widget={"couleur": "#123456"},
                budget_establishments=("26310055700019",))
    text = json.dumps(asdict(body), sort_keys=True, default=str)
    assert year_parts.body_fingerprint(body) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert year_parts.body_fingerprint(None) == hashlib.sha256(b"null").hexdigest()[:16]
    bodies = [body, replace(body, publish_annexes=False), replace(body, widget={"couleur": "#654321"}),
              replace(body, metadata_only=True)]
    assert len({year_parts.body_fingerprint(each) for each in bodies}) == 4


@pytest.mark.parametrize("damage", ["index", "object", "truncated"])
def test_a_part_missing_or_corrupt_is_made_again_from_the_source(store, monkeypatch, damage):
    parts = sorted((store / YEAR_PARTS_PREFIX / f"annee={YEAR}").glob("actes-*.parts"))
    assert parts
    if damage == "index":
        (store / index_key(YEAR)).unlink()
    elif damage == "object":
        parts[0].unlink()
    else:
        parts[0].write_bytes(parts[0].read_bytes()[:-100])
    act = _a_published_deliberation(store)
    made = _bodies_made(monkeypatch)
    _withdraw(act)
    assert len(made[0]) > 1, "every body made again from the source"
    assert _rebuilt_from_scratch(store, monkeypatch) == _regional_files(store)


def test_a_run_killed_before_its_parts_are_kept_leaves_the_files_a_full_rebuild_writes(store, monkeypatch, tmp_path):
    act = _a_published_deliberation(store)
    args = ["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur"]
    with held_at(f"before-year-parts-{YEAR}", args, tmp_path, DIGOR_LOCK_TTL_SECONDS="2") as process:
        process.kill()
    # The next run applies the decision the killed one recorded (its year is stale), then the files
    # follow it and the parts: another withdrawal on the same body shows the parts were kept right.
    assert digor(["run", "actes", "--date", "2025-03-06"]) == 0
    other = _csv(store / f"public/deliberations/deliberations-{YEAR}.csv").query(
        "COLL_SIRET == @act.COLL_SIRET and DELIB_URL != ''")
    assert act["DELIB_ID"] not in set(other["DELIB_ID"])
    files = _regional_files(store)
    assert _rebuilt_from_scratch(store, monkeypatch) == files


def test_files_put_together_from_parts_are_the_bytes_of_the_whole_table(replayed, tmp_path):
    """Rows of some bodies kept as parts, others made: the same CSV and Parquet as the whole table's."""
    settings = Settings.from_env()
    frame = _csv(replayed.store / f"public/actes/actes-{YEAR}.csv").astype("object")
    tricky = ['=cité "{}"\nsur deux lignes', 'un "" seul\r\nretour', '"\n"\n', "dernière\n"]
    frame["ACTE_OBJET"] = [text if i % 3 else tricky[i % 4].format(i) for i, text in enumerate(frame["ACTE_OBJET"])]
    frame["siren"] = frame["COLL_SIRET"].str[:9]
    bodies = sorted(set(frame["siren"]))
    assert len(bodies) > 2
    whole, pieces = LocalStore(tmp_path / "whole"), LocalStore(tmp_path / "pieces")
    expected, _ = publish_shaped(settings, whole, frame.drop(columns="siren"), "public/actes/actes-2025", "actes", "2025")
    _, _, parts, _ = publish_by_body(settings, pieces, frame, {}, "public/actes/actes-2025", "actes", "2025")
    assert set(parts) == set(bodies)
    kept = {siren: rows for siren, rows in parts.items() if siren != bodies[1]}
    files, _, again, _ = publish_by_body(settings, pieces, frame[frame["siren"] == bodies[1]], kept,
                                         "public/actes/actes-2025", "actes", "2025")
    assert [(f.sha256, f.rows) for f in files] == [(f.sha256, f.rows) for f in expected]
    assert expected[0].rows == len(frame) and set(again) == set(bodies)


def test_a_year_published_from_parts_reports_what_a_full_rebuild_reports(store, monkeypatch):
    """Counts, acts to decide, acts taken out and documents: the other bodies' lines come from their parts."""
    act = _a_published_deliberation(store)
    _withdraw(act)
    settings = Settings.from_env()
    made = _bodies_made(monkeypatch)
    usage = store / f"private/documents/actes/annee={YEAR}.json"
    from_parts = actes_chain.CHAIN.publish_year(settings, YEAR, [act["COLL_SIRET"][:9]])
    listed = usage.read_bytes()
    whole = actes_chain.CHAIN.publish_year(settings, YEAR, None)
    assert len(made[0]) == 1 and len(made[1]) > 1
    fields = ["files", "left_by_decision", "quarantined", "published_by_body", "offline_by_body", "to_decide"]
    assert {f: from_parts[f] for f in fields} == {f: whole[f] for f in fields}
    assert from_parts["left_by_decision"]["deliberations"] >= 1 and whole["to_decide"]
    assert json.loads(listed) and usage.read_bytes() == listed and not whole["documents"]["removed"]


def test_a_body_made_again_validates_and_writes_only_its_rows_not_published_before(replayed, tmp_path, monkeypatch):
    """A body's rows as a night makes them again: those its previous rows hold under the same key are
    taken as they are (not validated again), a changed row and an invalid one are validated (the invalid
    one left out, named by its row in the frame), and the files are the bytes of the whole table's."""
    from chains import publication

    settings = Settings.from_env()
    frame = _csv(replayed.store / f"public/actes/actes-{YEAR}.csv").astype("object")
    frame["siren"] = frame["COLL_SIRET"].str[:9]
    body = frame["siren"].value_counts().index[0]
    pieces = LocalStore(tmp_path / "pieces")
    _, _, parts, _ = publish_by_body(settings, pieces, frame, {}, "public/actes/actes-2025", "actes", "2025")
    rows = frame[frame["siren"] == body].copy()
    assert len(rows) > 3
    changed, invalid = rows.index[1], rows.index[2]
    rows.loc[changed, "ACTE_OBJET"] = 'objet "corrigé", None'
    rows.loc[invalid, "ACTE_DATE"] = "pas une date"
    night = frame.copy()
    night.loc[changed, "ACTE_OBJET"] = rows.loc[changed, "ACTE_OBJET"]
    night = night.drop(index=invalid)
    validated = []
    validate = publication._validate_bytes

    def spy(data, schema, key):
        validated.append(data.count(b"\n") - 1)
        return validate(data, schema, key)

    monkeypatch.setattr(publication, "_validate_bytes", spy)
    kept = {siren: part for siren, part in parts.items() if siren != body}
    files, report, again, _ = publish_by_body(settings, pieces, rows, kept, "public/actes/actes-2025", "actes",
                                              "2025", {body: parts[body]})
    assert validated == [2, 1]  # the changed and the invalid row, then the changed one alone
    assert report.invalid_rows() == {list(rows.index).index(invalid)}
    whole = LocalStore(tmp_path / "whole")
    expected, _ = publish_shaped(settings, whole, night.drop(columns="siren"), "public/actes/actes-2025", "actes", "2025")
    assert [(f.sha256, f.rows) for f in files] == [(f.sha256, f.rows) for f in expected]
    assert again[body].keys == year_parts.row_keys(night[night["siren"] == body].drop(columns="siren").reset_index(drop=True))
