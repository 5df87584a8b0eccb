"""Budgets under withdrawals, faults and hostile documents: what the public files, the widget and the report show.

The demo nights run once through the actes and budgets chains; each test copies that store, adds
its own documents to a night after the demo's (``EXTRA``) or breaks something, and runs
``digor`` as an engineer would.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from chains import actes as actes_chain
from chains import budgets as budgets_chain
from core.config import PROJECT_ROOT, Settings
from core.keys import report_key
from core.publication_rule import Decision
from core.store import open_store, plain_bytes, read_parquet, table_to_parquet_bytes
from digor.cli import main as digor
from load.budget_widgets import named_files
from load.versions import is_version
from samples.actes import DEMO_NIGHTS
from samples.budgets import totem_document, write_budget_act
from tests.replay import Replay, nights_replayed
from transform.totem_budgets import STAGING_SCHEMA

EXTRA = "2025-03-06"  # the night after the demo's, where tests add documents
BODIES = yaml.safe_load((PROJECT_ROOT / "config" / "registry-demo.yaml").read_text(encoding="utf-8"))["bodies"]
KERDIGOR, EPCI, SYNDICAT, DEPARTEMENT, CLOSED = BODIES
INJECTED = "ENTITE-INJECTEE"
ABSURD = "99999999999999999999238795.20"


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the actes then the budgets chain, once for the module."""
    yield from nights_replayed(tmp_path_factory.mktemp("budgets-trust"), ("actes", "budgets"))


@pytest.fixture
def settings(region, tmp_path, monkeypatch) -> Settings:
    """A copy of the module's store and inputs, for a test that writes."""
    return region.copy(tmp_path / "region").apply(monkeypatch)


def _store(settings: Settings) -> Path:
    return Path(settings.store_url)


def _budgets(settings: Settings) -> pd.DataFrame:
    """Every line of the regional budget files, under their stable names."""
    folder = _store(settings) / "public" / "budgets"
    paths = sorted(p for p in folder.glob("budgets-*.csv") if not is_version(p.name))
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths], ignore_index=True)


def _widget_folder(settings: Settings, body: dict) -> Path:
    return _store(settings) / "public" / "widgets" / "budgets" / body["siret"]


def _widget(settings: Settings, body: dict) -> dict:
    """What the Budgets widget of a body shows: its manifest and every document it names ({} when none)."""
    folder = _widget_folder(settings, body)
    if not (folder / "index.json").exists():
        return {}
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return {"index": index, **{n: json.loads(plain_bytes((folder / n).read_bytes())) for n in named_files(index)}}


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _public_budgets(settings: Settings) -> dict[str, str]:
    store = _store(settings) / "public"
    return {**_digest(store / "budgets"), **{f"widgets/{k}": v for k, v in _digest(store / "widgets" / "budgets").items()}}


def _report(settings: Settings, night: str) -> dict:
    return json.loads((_store(settings) / report_key("budgets", night)).read_text(encoding="utf-8"))


def _totem(body: dict, stage: str, year: int, siret: str | None = None) -> bytes:
    """A TOTEM document of ``body`` sealed after every demo document (so it would replace theirs),
    for the establishment ``siret`` (default: the body's own)."""
    import random

    sent = {**body, "siret": siret or body["siret"]}
    return totem_document(sent, stage, year, datetime(2025, 3, 5, 23, 0), random.Random(f"{body['siren']}{stage}{year}"))


def _with_doctype(document: bytes, padding: str = "", codec: str | None = None) -> bytes:
    """``document`` whose collectivity name is an entity declared in a DOCTYPE after ``padding``,
    re-encoded with ``codec`` (no byte-order mark) when given."""
    text = document.decode("iso-8859-1")
    if codec:
        text = re.sub(r"encoding=['\"]ISO-8859-1['\"]", 'encoding="UTF-16"', text)
    declaration, _, rest = text.partition("?>")
    rest = re.sub(r'<LibelleColl V="[^"]*"/>', '<LibelleColl V="&x;"/>', rest, count=1)
    hostile = f'{declaration}?>{padding}<!DOCTYPE DocumentBudgetaire [<!ENTITY x "{INJECTED}">]>{rest}'
    return hostile.encode(codec or "iso-8859-1")


def _night(settings: Settings, night: str, *args: str) -> int:
    """The actes then the budgets run of a night, as an engineer runs them: ``digor run``'s exit status."""
    assert digor(["run", "actes", "--date", night]) == 0
    return digor(["run", "budgets", "--date", night, *args])


def _lines_of(frame: pd.DataFrame, siret: str, year: str, stage: str) -> pd.DataFrame:
    picked = frame[(frame["BGT_SIRET"] == siret) & (frame["BGT_ANNEE"] == year) & (frame["BGT_NATDEC"] == stage)]
    return picked.sort_values(list(picked.columns)).reset_index(drop=True)


def test_hostile_budget_documents_are_refused_and_the_other_budgets_published(settings, capsys):
    """A DOCTYPE after 64 KB, UTF-16 without BOM, an absurd amount, budgets of other bodies' establishments:
    each refused with its reason, the real budgets they would replace left as they were."""
    before = _budgets(settings)
    epci_ca = _lines_of(before, EPCI["siret"], "2024", "compte administratif")
    epci_bp = _lines_of(before, EPCI["siret"], "2025", "budget primitif")
    assert len(epci_ca) and len(epci_bp) and not len(_lines_of(before, KERDIGOR["siret"], "2025", "compte administratif"))
    absurd = re.sub(rb'MtReal V="[^"]+"', f'MtReal V="{ABSURD}"'.encode(), _totem(EPCI, "CA", 2024), count=1)
    drop = settings.drop_dir
    sent = {
        "good": write_budget_act(drop, EXTRA, KERDIGOR, _totem(KERDIGOR, "CA", 2025), "BUD_2025_CA", stage="CA"),
        "absurd": write_budget_act(drop, EXTRA, EPCI, absurd, "BUD_2024_CA", stage="CA", year=2024),
        "other body": write_budget_act(drop, EXTRA, KERDIGOR, _totem(KERDIGOR, "BP", 2025, EPCI["siret"]), "BUD_2025_X"),
        "closed body": write_budget_act(drop, EXTRA, KERDIGOR, _totem(KERDIGOR, "BP", 2025, CLOSED["siret"]), "BUD_2025_Y"),
        "late doctype": write_budget_act(drop, EXTRA, SYNDICAT, _with_doctype(_totem(SYNDICAT, "BP", 2025), " " * 70_000),
                                         "BUD_2025_Z"),
        "doctype after a comment": write_budget_act(
            drop, EXTRA, SYNDICAT, _with_doctype(_totem(SYNDICAT, "BP", 2024), "<!--" + "-x" * 40_000 + "-->"), "BUD_2024_Z"),
        "utf-16 without bom": write_budget_act(
            drop, EXTRA, DEPARTEMENT, _with_doctype(_totem(DEPARTEMENT, "BP", 2025), codec="utf-16-le"), "BUD_2025_W"),
    }

    assert _night(settings, EXTRA) == 0
    report = _report(settings, EXTRA)
    reasons = {r["source_id"]: r["reason"] for r in report["rejected"]}
    assert set(reasons) == set(sent.values()) - {sent["good"]}
    assert "not a plausible amount" in reasons[sent["absurd"]] and ABSURD in reasons[sent["absurd"]]
    for case, other in (("other body", EPCI), ("closed body", CLOSED)):
        assert f"budget of establishment {other['siret']} ({other['name']}" in reasons[sent[case]]
        assert "not of the sending body 212900997" in reasons[sent[case]] and "budget_establishments" in reasons[sent[case]]
    for case in ("late doctype", "doctype after a comment", "utf-16 without bom"):
        assert "DOCTYPE" in reasons[sent[case]], case
    summary = capsys.readouterr().out
    assert f"rejected {report['rejected'][0]['raw_prefix']}" in summary

    after = _budgets(settings)
    assert _lines_of(after, EPCI["siret"], "2024", "compte administratif").equals(epci_ca), "the absurd CA replaced nothing"
    assert _lines_of(after, EPCI["siret"], "2025", "budget primitif").equals(epci_bp), "Kerdigor replaced the EPCI's budget"
    assert not after["BGT_SIRET"].str.startswith(CLOSED["siren"]).any()
    assert len(_lines_of(after, KERDIGOR["siret"], "2025", "compte administratif")), "the good document is published"
    widget = _widget(settings, KERDIGOR)
    assert f"budget-{KERDIGOR['siret']}-2025-ca.json" in {n.split(".")[0] + ".json" for n in widget}
    epci_widget = json.dumps(_widget(settings, EPCI), ensure_ascii=False)
    assert ABSURD[:12] not in epci_widget and "99999999999" not in epci_widget
    for path in (_store(settings) / "public").rglob("*"):
        if path.is_file():
            assert INJECTED.encode() not in plain_bytes(path.read_bytes()), path

    assert _night(settings, EXTRA, "--force-rebuild") == 0, "the next runs go on (a rebuild included)"
    assert digor(["run", "budgets", "--date", DEMO_NIGHTS[-1]]) == 0


def test_a_budget_establishment_the_registry_declares_is_published_with_its_sender(settings, tmp_path, monkeypatch):
    ccas = "26290099600014"  # a legal person without its own registry entry, e.g. the commune's CCAS
    registry = yaml.safe_load(settings.registry_path.read_text(encoding="utf-8"))
    registry["bodies"][0]["budget_establishments"] = [ccas]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("DIGOR_REGISTRY", str(path))
    declared = write_budget_act(settings.drop_dir, EXTRA, KERDIGOR, _totem(KERDIGOR, "BP", 2025, ccas), "BUD_CCAS")

    assert _night(settings, EXTRA) == 0
    assert not _report(settings, EXTRA)["rejected"]
    assert len(_lines_of(_budgets(settings), ccas, "2025", "budget primitif"))
    widget = _widget(settings, KERDIGOR)
    assert ccas in {e["siret"] for e in widget["index"]["etablissements"]}, declared


def test_refused_documents_already_in_staging_are_left_out_and_the_nights_go_on(settings, capsys):
    """Staged before the rules existed (an absurd amount; another body's establishment sent by Kerdigor):
    a rebuild leaves them out with their reason, the version before them stays online."""
    store = open_store(settings.store_url)
    table = pd.concat([read_parquet(store, k).to_pandas() for k in store.list_keys("staging/budgets/annee=2024/")])
    epci = table[(table["siret"] == EPCI["siret"]) & (table["stage"] == "compte administratif")]
    document = epci[epci["document_id"] == epci.sort_values("sealed_utc")["document_id"].iloc[-1]].copy()
    assert len(document)
    amounts = [ABSURD] + list(document["BGT_MTREAL"].iloc[1:])
    legacy = document.assign(document_id="legacy-absurd", night=EXTRA, sealed_utc="2099-01-01T00:00:00.000000Z",
                             BGT_MTREAL=amounts)
    foreign = document.assign(document_id="legacy-foreign", source_id="legacy-foreign", siren=KERDIGOR["siren"],
                              night=EXTRA, sealed_utc="2099-01-02T00:00:00.000000Z", BGT_MTREAL="1.00")
    store.put_bytes(f"staging/budgets/annee=2024/date={EXTRA}.parquet", table_to_parquet_bytes(
        pa.Table.from_pandas(pd.concat([legacy, foreign]), schema=STAGING_SCHEMA, preserve_index=False)))
    before = _lines_of(_budgets(settings), EPCI["siret"], "2024", "compte administratif")

    assert digor(["run", "budgets", "--date", DEMO_NIGHTS[-1], "--force-rebuild"]) == 0
    assert _lines_of(_budgets(settings), EPCI["siret"], "2024", "compte administratif").equals(before)
    assert "99999999999" not in json.dumps(_widget(settings, EPCI))
    left_out = {q["source_id"]: q for q in _report(settings, DEMO_NIGHTS[-1])["quarantined_rows"] if q.get("night") == EXTRA}
    assert set(left_out) == {legacy["source_id"].iloc[0], "legacy-foreign"}
    assert "not a plausible amount" in left_out[legacy["source_id"].iloc[0]]["reason"]
    assert "not of the sending body 212900997" in left_out["legacy-foreign"]["reason"]
    assert all(q["siret"] == EPCI["siret"] for q in left_out.values())
    assert len(_lines_of(_budgets(settings), KERDIGOR["siret"], "2024", "budget primitif")), "the other bodies' budgets"
    capsys.readouterr()


def test_a_night_rerun_without_its_plans_de_comptes_keeps_the_published_budgets(settings, tmp_path, monkeypatch, capsys):
    night, plans = DEMO_NIGHTS[0], str(settings.plans_dirs[0])
    before = _public_budgets(settings)
    assert _report(settings, night)["totals"]["transformed"] >= 8
    monkeypatch.setenv("DIGOR_PLANS_DIRS", str(tmp_path / "no-plans"))
    capsys.readouterr()

    assert digor(["run", "budgets", "--date", night]) == 1, "a night left for a rerun is not a finished one"
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if "could not be converted" in line]
    assert "plan de comptes" in line and "stay online" in line and "rerun this night" in line
    assert _public_budgets(settings) == before, "nothing published was removed, from the files or the widgets"
    report = _report(settings, night)
    assert report["totals"]["deferred"] == len(report["deferred"]) >= 8
    assert [r["reason"] for r in report["rejected"] if "DOCTYPE" not in r["reason"]] == [], "only the demo's hostile file"
    assert all("plan de comptes" in d["reason"] and d["kept_lines"] > 0 for d in report["deferred"])
    assert digor(["run", "budgets", "--date", night, "--force-rebuild"]) == 1
    assert _public_budgets(settings) == before, "a rebuild keeps the widgets' labels the plans give"

    monkeypatch.setenv("DIGOR_PLANS_DIRS", plans)
    assert digor(["run", "budgets", "--date", night]) == 0
    assert _public_budgets(settings) == before


def test_the_next_budgets_night_applies_a_decision_whose_republication_never_ran(settings):
    """Budget acts withdrawn in the ledger only (``--via-airflow`` before its DAG ran, or a republication
    killed), then a budgets night that brings nothing for that body: the night applies the withdrawal."""
    acts = _budget_acts(settings, EPCI)
    for act in acts:
        actes_chain.record_engineer_decision(settings, EPCI["siren"], act, Decision.WITHDRAWN, "erreur")
    assert _budgets(settings)["BGT_SIRET"].str.startswith(EPCI["siren"]).any(), "nothing republished yet"

    result = budgets_chain.CHAIN.run_night(settings, DEMO_NIGHTS[-1])
    assert not _budgets(settings)["BGT_SIRET"].str.startswith(EPCI["siren"]).any()
    assert _widget(settings, EPCI) == {}
    assert budgets_chain.CHAIN.stale_years(settings) == {}, "and the exercices now follow the ledger"
    report = json.loads((_store(settings) / result["key"]).read_text())
    assert [o for o in report["datagouv"] if o["status"] == "held-back"] == [], "a withdrawal is no accident"


def _budget_acts(settings: Settings, body: dict) -> list[str]:
    """The source ids of the body's acts whose budget documents are staged."""
    store = open_store(settings.store_url)
    acts = set()
    for key in store.list_keys("staging/budgets/"):
        table = read_parquet(store, key)
        acts |= {i for s, i in zip(table.column("siren").to_pylist(), table.column("source_id").to_pylist())
                 if s == body["siren"]}
    return sorted(acts)


def test_withdrawing_every_budget_act_of_a_body_empties_its_budget_outputs_at_once(settings, capsys):
    before = _budgets(settings)
    assert before["BGT_SIRET"].str.startswith(EPCI["siren"]).any()
    assert _widget(settings, EPCI)["index"]["etablissements"]
    acts = _budget_acts(settings, EPCI)
    assert len(acts) >= 3

    for act in acts:
        assert digor(["unpublish", EPCI["siren"], act, "--reason", "budget voté par erreur"]) == 0
    out = capsys.readouterr().out
    assert "budgets decision-" in out, "the budgets chain republished, and said so"

    after = _budgets(settings)
    assert not after["BGT_SIRET"].str.startswith(EPCI["siren"]).any(), "the withdrawn budgets left the regional files"
    assert _widget(settings, EPCI) == {}, "and the body's Budgets widget"
    others = before[~before["BGT_SIRET"].str.startswith(EPCI["siren"])].reset_index(drop=True)
    assert after.sort_values(list(after.columns)).reset_index(drop=True).equals(
        others.sort_values(list(others.columns)).reset_index(drop=True)), "the other bodies' budgets are untouched"

    assert digor(["publish", EPCI["siren"], acts[0], "--reason", "retrait annulé"]) == 0
    assert _budgets(settings)["BGT_SIRET"].str.startswith(EPCI["siren"]).any(), "a publication reaches them too"


def test_a_budgets_night_that_failed_is_converted_by_the_next_run(settings, monkeypatch, capsys):
    """Every retry of a night's budgets run failed and nobody reran it: the next run converts and
    publishes that night's budget documents with its own, without being asked."""
    write_budget_act(settings.drop_dir, EXTRA, KERDIGOR, _totem(KERDIGOR, "CA", 2025), "BUD_2025_CA", stage="CA")
    assert digor(["run", "actes", "--date", EXTRA]) == 0
    with monkeypatch.context() as patch:
        patch.setattr(budgets_chain, "transform_budget_night", lambda *args, **kwargs: _raise(OSError(errno.ENOSPC, "No space left on device")))
        assert digor(["run", "budgets", "--date", EXTRA]) != 0
    assert not len(_lines_of(_budgets(settings), KERDIGOR["siret"], "2025", "compte administratif"))

    following = "2025-03-07"
    (settings.drop_dir / following).mkdir()
    assert _night(settings, following) == 0
    assert len(_lines_of(_budgets(settings), KERDIGOR["siret"], "2025", "compte administratif")), "caught up"
    caught = [(d["siret"], d["exercice"], d["stage"]) for d in _report(settings, following)["documents"]]
    assert (KERDIGOR["siret"], 2025, "compte administratif") in caught, caught
    (settings.drop_dir / "2025-03-08").mkdir()
    assert _night(settings, "2025-03-08") == 0
    assert _report(settings, "2025-03-08")["documents"] == [], "a night caught up once is not converted again"
    capsys.readouterr()


def _raise(error: Exception):
    raise error


def test_documents_deferred_for_a_missing_plan_are_converted_by_the_next_run(settings, tmp_path, monkeypatch, capsys):
    """A plan de comptes missing for a night's run defers its documents; once the plan is back, the next
    night's run converts them without anyone rerunning that night."""
    write_budget_act(settings.drop_dir, EXTRA, KERDIGOR, _totem(KERDIGOR, "CA", 2025), "BUD_2025_CA", stage="CA")
    assert digor(["run", "actes", "--date", EXTRA]) == 0
    plans = str(settings.plans_dirs[0])
    monkeypatch.setenv("DIGOR_PLANS_DIRS", str(tmp_path / "no-plans"))
    assert digor(["run", "budgets", "--date", EXTRA]) == 1
    assert [d["source_id"] for d in _report(settings, EXTRA)["deferred"]]
    assert not len(_lines_of(_budgets(settings), KERDIGOR["siret"], "2025", "compte administratif"))

    monkeypatch.setenv("DIGOR_PLANS_DIRS", plans)
    following = "2025-03-07"
    (settings.drop_dir / following).mkdir()
    assert _night(settings, following) == 0
    assert len(_lines_of(_budgets(settings), KERDIGOR["siret"], "2025", "compte administratif")), "converted"
    assert _report(settings, following)["deferred"] == []
    capsys.readouterr()
