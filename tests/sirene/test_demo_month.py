"""The demo's SIRENE month: generated extract of the sample region and DECP exports, served on loopback."""

from __future__ import annotations

from pathlib import Path

from chains import sirene as sirene_chain
from core.config import PROJECT_ROOT, Settings
from samples.sirene import demo_records, run_demo_month, sample_decp_identifiers
from transform.sirene_lookup import NON_DIFFUSIBLE

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"


def test_demo_extract_covers_bodies_buyers_and_titulaires():
    companies = sample_decp_identifiers(REGISTRY)
    units, establishments = demo_records(REGISTRY, companies)
    assert {"21290099700017", "20009999200014"} <= set(companies)
    assert {e["siret"] for e in establishments} >= set(companies)
    assert sum(u["statutDiffusionUniteLegale"] == "P" for u in units) == 1
    assert {u["categorieEntreprise"] for u in units} >= {"PME", "ETI", "GE"}


def test_demo_month_refreshes_through_the_real_download_and_names_titulaires(tmp_path):
    store = tmp_path / "var" / "store"
    seen = {}

    def airflow(args: list[str], env: dict[str, str]) -> int:
        """Stands in for ``airflow dags test sirene``: the same steps, in this process."""
        assert args[:3] == ["dags", "test", "sirene"]
        seen["settings"] = Settings.from_env().with_overrides(
            store_url=str(store), sirene_base_url=env["DIGOR_SIRENE_BASE_URL"],
            sirene_work_dir=Path(env["DIGOR_SIRENE_WORK_DIR"]),
        )
        return 1 if sirene_chain.run_month(seen["settings"], args[3])["registry_errors"] else 0

    assert run_demo_month(store, {}, "2025-03-03", airflow) == 0
    assert seen["settings"].sirene_base_url.startswith("http://127.0.0.1:")
    companies = sorted(sample_decp_identifiers(REGISTRY))
    frame = sirene_chain.enrich_identifiers(seen["settings"], companies)
    assert frame["trouve"].all()
    assert frame["nom"].notna().all() and (frame["nom"] == NON_DIFFUSIBLE).sum() == 1
    titulaires = frame[~frame["siren"].isin({"212900997", "200099992", "252909999", "222909996", "212900989"})]
    assert titulaires["pme"].notna().all() and titulaires["pme"].any() and not titulaires["pme"].all()


def test_running_the_demo_month_again_gives_the_same_bytes(tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setattr("samples.sirene.DEMO_PORT", probe.getsockname()[1])
    store = tmp_path / "var" / "store"
    statuses = []

    def airflow(args: list[str], env: dict[str, str]) -> int:
        settings = Settings.from_env().with_overrides(
            store_url=str(store), sirene_base_url=env["DIGOR_SIRENE_BASE_URL"],
            sirene_work_dir=Path(env["DIGOR_SIRENE_WORK_DIR"]),
        )
        report = sirene_chain.run_month(settings, args[3])
        statuses.append(sorted(line.split("(download ")[1].split(",")[0] for line in report["summary"] if "(download" in line))
        return 0

    def cache() -> dict[str, bytes]:
        root = store / "private" / "sirene"
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    run_demo_month(store, {}, "2025-03-03", airflow)
    first = cache()
    run_demo_month(store, {}, "2025-03-04", airflow)
    assert cache() == first
    assert statuses == [["downloaded", "downloaded"], ["not-modified", "not-modified"]]
