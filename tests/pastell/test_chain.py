"""The actes chain fed by the Pastell connector: what is published, with and without faults."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.config import Settings
from extract.pastell_client import PastellAuthError
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS
from tests.pastell.conftest import CONN_ID, FAST, REGISTRY_PATH, set_connection

SECOND = DEMO_NIGHTS[1]


def _settings(tmp_path: Path, name: str, **changes) -> Settings:
    base = Settings.from_env().with_overrides(store_url=str(tmp_path / name), registry_path=REGISTRY_PATH)
    return base.with_overrides(**changes)


def _pastell_settings(tmp_path: Path, name: str) -> Settings:
    return _settings(tmp_path, name, source_name="pastell", pastell_client=dict(FAST))


def _run_nights(settings: Settings, emulator=None, before_night=lambda night: None) -> list[dict]:
    reports = []
    for night in DEMO_NIGHTS:
        if emulator is not None:
            emulator.clock = night_cutoff(night)
        before_night(night)
        reports.append(actes_chain.CHAIN.run_night(settings, night))
    return reports


def _public(settings: Settings) -> dict[str, str]:
    root = Path(settings.store_url) / "public"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def _published_acts(settings: Settings) -> pd.DataFrame:
    return _yearly_acts(Path(settings.store_url))


def _yearly_acts(store_root: Path) -> pd.DataFrame:
    """The regional actes files of every year (not their content-addressed copies)."""
    folder = store_root / "public" / "actes"
    files = sorted(p for p in folder.glob("actes-*.csv") if re.fullmatch(r"actes-\d{4}\.csv", p.name))
    return pd.concat(pd.read_csv(f, dtype=str, keep_default_na=False) for f in files)


@pytest.fixture(scope="module")
def drop_outputs(tmp_path_factory, sample_drop) -> dict:
    """What the drop-folder export of the same acts publishes: the reference, computed once for the module."""
    settings = _settings(tmp_path_factory.mktemp("pastell-chain"), "drop-store", drop_dir=sample_drop)
    reports = _run_nights(settings)
    return {"public": _public(settings), "transformed": [r["totals"]["transformed"] for r in reports],
            "acts": _published_acts(settings)}


def test_pastell_publishes_what_the_export_publishes(tmp_path, connection, emulator, drop_outputs):
    settings = _pastell_settings(tmp_path, "pastell-store")
    reports = _run_nights(settings, emulator)
    assert _public(settings) == drop_outputs["public"]
    assert [r["totals"]["transformed"] for r in reports] == drop_outputs["transformed"]
    acts = _published_acts(settings)
    assert not acts.duplicated(["COLL_SIRET", "SOURCE_ID"]).any()
    pulled = json.loads((Path(settings.store_url) / f"private/reports/actes/date={SECOND}/pastell-pull.json").read_text())
    assert pulled["source"] == "pastell" and pulled["acts"] == 22 and not pulled["failed"]
    runs = [json.loads((Path(settings.store_url) / r["key"]).read_text()) for r in reports]
    lost = [run["source_failures"].get("incomplete", []) for run in runs]
    assert [len(night) for night in lost] == [0, 1, 0], "the act whose PDF Pastell lost is reported once"
    assert lost[1][0]["siren"] and "Ce fichier n'existe pas" in lost[1][0]["reason"]


def test_faults_at_each_step_leave_the_outputs_unchanged(tmp_path, connection, emulator, drop_outputs):
    # Five failing answers wait on the detail path: with four workers, one document may meet them all in a row.
    settings = _pastell_settings(tmp_path, "faulty-store").with_overrides(pastell_client={**FAST, "max_attempts": 6})

    def faults(night: str) -> None:
        emulator.inject("429", path=r"/entite$", retry_after="1", times=1)
        emulator.inject("slow", path=r"/entite/101/document$", delay=1.0, times=1)
        emulator.inject("truncate", path=r"/entite/102/document$", times=1)
        emulator.inject("error", status=500, path=r"/entite/103/document$", times=2)
        emulator.inject("error", status=502, path=r"/document/[^/]+$", times=3)
        emulator.inject("truncate", path=r"/document/[^/]+$", times=2)
        emulator.inject("slow", path=r"/document/[^/]+$", delay=1.0, times=1)
        emulator.inject("error", status=503, path=r"/file/", times=3)
        emulator.inject("truncate", path=r"/file/", times=3)
        emulator.inject("slow", path=r"/file/", delay=1.0, times=1)

    reports = _run_nights(settings, emulator, faults)
    faulted = [c for c in emulator.calls() if c.fault]
    assert {c.fault for c in faulted} == {"429", "slow", "truncate", "error"}
    assert {c.operation for c in faulted} == {"entities", "list", "detail", "file"}
    assert all(f.times == 0 for f in emulator.faults), "every fault was met"
    assert _public(settings) == drop_outputs["public"], "faults cost retries, never a difference"
    assert [r["totals"]["transformed"] for r in reports] == drop_outputs["transformed"]
    assert not _published_acts(settings).duplicated(["COLL_SIRET", "SOURCE_ID"]).any()


def test_a_failed_document_is_published_the_next_night_once(tmp_path, connection, emulator, drop_outputs):
    settings = _pastell_settings(tmp_path, "late-store")
    reference = drop_outputs["acts"]
    emulator.clock = night_cutoff(SECOND)
    victim = next(v for v in sorted(emulator.visible().values(), key=lambda v: v.id_d)
                  if v.id_e == "101" and v.stamp > night_cutoff(DEMO_NIGHTS[0])
                  and v.id_d in set(reference["SOURCE_ID"]))

    def faults(night: str) -> None:
        emulator.clear_faults()
        if night == SECOND:
            emulator.inject("error", status=500, path=rf"/document/{victim.id_d}/file/", times=None)

    _run_nights(settings, emulator, faults)
    second = json.loads((Path(settings.store_url) / f"private/reports/actes/date={SECOND}/pastell-pull.json").read_text())
    assert [f["id_d"] for f in second["failed"]] == [victim.id_d] and second["pending"] == {"212900997": [victim.id_d]}
    acts = _published_acts(settings)
    assert (acts["SOURCE_ID"] == victim.id_d).sum() == 1
    assert not acts.duplicated(["COLL_SIRET", "SOURCE_ID"]).any()
    assert sorted(acts["SOURCE_ID"]) == sorted(reference["SOURCE_ID"]), "the same acts, one night late"
    late = acts[acts["SOURCE_ID"] == victim.id_d].iloc[0]
    early = reference[reference["SOURCE_ID"] == victim.id_d].iloc[0]
    assert late["PUBLICATION_DATE"] > early["PUBLICATION_DATE"]


def test_refused_credentials_fail_the_extract_naming_the_connection(tmp_path, monkeypatch, emulator, caplog):
    secret = "not-the-password-83hd"
    set_connection(monkeypatch, emulator, password=secret)
    caplog.set_level(logging.DEBUG)
    settings = _pastell_settings(tmp_path, "refused-store")
    emulator.clock = night_cutoff(SECOND)
    with pytest.raises(PastellAuthError) as failure:
        actes_chain.CHAIN.run_night(settings, SECOND)
    assert f"Airflow connection {CONN_ID!r}" in str(failure.value) and "HTTP 401" in str(failure.value)
    assert secret not in str(failure.value) and secret not in caplog.text
    assert not (Path(settings.store_url) / "raw").exists()


def test_the_actes_dag_pulls_from_pastell_when_configured(airflow_db, tmp_path, monkeypatch, emulator):
    """Production wiring: ``DIGOR_SOURCE=pastell`` and the Airflow connection, the DAG unchanged."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from core.config import PROJECT_ROOT

    night = DEMO_NIGHTS[1]
    emulator.versions = [v for v in emulator.versions if v.id_e == "103"]  # a small body: default rate limit
    emulator.clock = night_cutoff(night)
    set_connection(monkeypatch, emulator)
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "dag-store"))
    monkeypatch.setenv("DIGOR_SOURCE", "pastell")
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    run = dag.test(logical_date=pendulum.parse(night))
    assert run.state == DagRunState.SUCCESS
    pulled = json.loads((tmp_path / f"dag-store/private/reports/actes/date={night}/pastell-pull.json").read_text())
    report = json.loads((tmp_path / f"dag-store/private/reports/actes/date={night}/report.json").read_text())
    assert pulled["acts"] > 0 and report["totals"]["extracted"] == pulled["acts"]
    assert list(pulled["by_body"]) == ["siren=252909999"]
    assert emulator.calls("detail")
