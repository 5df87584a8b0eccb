"""A month's refresh end to end (download from loopback, reduce, cache), and the hooks other chains call."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from chains import sirene as sirene_chain
from core.registry import load_registry
from digor.cli import main
from extract.sirene_download import download_file
from tests.sirene.conftest import BODIES, PERSON_HIDDEN, SUPPLIER, establishment_records, unit_records, write_extract
from transform.sirene_lookup import NON_DIFFUSIBLE


def _store_files(settings) -> dict[str, bytes]:
    root = Path(settings.store_url) / "private" / "sirene"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_month_is_cached_with_its_manifest(sirene_settings, file_host):
    report = sirene_chain.run_month(sirene_settings, "2025-03-03")
    assert report["registry_errors"] == 0
    store = Path(sirene_settings.store_url)
    manifest = json.loads((store / "private/sirene/2025-03/manifest.json").read_text())
    assert manifest["month"] == "2025-03"
    assert manifest["files"]["unites_legales"]["rows"] == len(BODIES)
    assert manifest["files"]["etablissements"]["source"]["url"] == f"{file_host.base_url}/StockEtablissement_utf8.parquet"
    assert manifest["files"]["etablissements"]["source"]["month"] == "2025-03"
    assert json.loads((store / "private/sirene/current.json").read_text())["month"] == "2025-03"
    units = pq.read_table(store / "private/sirene/2025-03/unites_legales.parquet")
    assert sorted(units.column("siren").to_pylist()) == sorted(BODIES)
    written = json.loads((store / "private/reports/sirene/date=2025-03/report.json").read_text())
    assert written["registry_check"]["errors"] == 0 and written["summary"]
    assert not (store / "public" / "sirene").exists(), "the cache stays private"


def test_a_rerun_gives_the_same_bytes_without_downloading_again(sirene_settings, file_host):
    sirene_chain.run_month(sirene_settings, "2025-03")
    first = _store_files(sirene_settings)
    before = len(file_host.requests)
    sirene_chain.run_month(sirene_settings, "2025-03")
    assert _store_files(sirene_settings) == {k: v for k, v in first.items()}
    statuses = [r["headers"].get("If-None-Match") for r in file_host.requests[before:]]
    assert len(statuses) == 2 and all(statuses), "both files only revalidated"
    report = json.loads((Path(sirene_settings.store_url) / "private/reports/sirene/date=2025-03/report.json").read_text())
    assert {f["download"]["status"] for f in report["files"]} == {"not-modified"}
    assert not any(f["written"] for f in report["files"])


def test_an_older_month_does_not_move_the_current_pointer(sirene_settings):
    sirene_chain.run_month(sirene_settings, "2025-03")
    sirene_chain.run_month(sirene_settings, "2025-02")
    store = Path(sirene_settings.store_url)
    assert json.loads((store / "private/sirene/current.json").read_text())["month"] == "2025-03"
    assert (store / "private/sirene/2025-02/manifest.json").is_file()


def test_a_stale_source_is_reported(sirene_settings):
    report = sirene_chain.run_month(sirene_settings, "2025-04")
    assert any("dates from 2025-03" in line for line in report["summary"])


def test_decp_hook_registers_and_enriches(sirene_settings):
    """What the DECP chain calls: names now for known identifiers, the rest after the next refresh."""
    sirene_chain.run_month(sirene_settings, "2025-03")
    frame = sirene_chain.enrich_identifiers(sirene_settings, [SUPPLIER, PERSON_HIDDEN, "21290099700017"], source="decp")
    assert frame["trouve"].tolist() == [False, False, True], "suppliers were never asked for yet"
    sirene_chain.run_month(sirene_settings, "2025-03")
    frame = sirene_chain.enrich_identifiers(sirene_settings, [SUPPLIER, PERSON_HIDDEN], source="decp")
    assert frame["trouve"].tolist() == [True, True]
    assert frame["nom"].tolist() == ["ARMOR TRAVAUX", NON_DIFFUSIBLE]
    assert frame["pme"].iloc[0] and pd.isna(frame["pme"].iloc[1]), "no headcount known for the hidden person"
    assert frame["departement"].tolist() == ["29", "974"]
    wanted = json.loads((Path(sirene_settings.store_url) / "private/sirene/wanted/decp.json").read_text())
    assert wanted["identifiants"] == sorted([SUPPLIER, PERSON_HIDDEN, "21290099700017"])


def test_hooks_work_without_a_cache(sirene_settings):
    frame = sirene_chain.enrich_identifiers(sirene_settings, [SUPPLIER])
    assert frame["trouve"].tolist() == [False] and pd.isna(frame["nom"].iloc[0])
    assert sirene_chain.load_lookup(sirene_settings) is None
    registry = load_registry(sirene_settings.registry_path)
    assert sirene_chain.registry_with_register(sirene_settings, registry) == registry
    assert sirene_chain.body_headers(sirene_settings)("212900997") is None


def test_body_header_for_widgets(sirene_settings):
    sirene_chain.run_month(sirene_settings, "2025-03")
    header = sirene_chain.body_headers(sirene_settings)("212900997")
    assert header["nom"] == "COMMUNE DE KERDIGOR" and header["adresse"] == "1 PLACE DE LA MAIRIE, 29800 KERDIGOR"
    assert header["departement"] == "29" and header["mois_sirene"] == "2025-03"


def test_the_actes_widget_index_carries_the_register_identity(sirene_settings, tmp_path):
    from chains import actes as actes_chain
    from samples.actes import DEMO_NIGHTS, generate_drop_folder

    sirene_chain.run_month(sirene_settings, "2025-03")
    generate_drop_folder(tmp_path / "drop", sirene_settings.registry_path)
    settings = sirene_settings.with_overrides(drop_dir=tmp_path / "drop")
    actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[0])
    index = json.loads((tmp_path / "store/public/widgets/actes/212900997/index.json").read_text(encoding="utf-8"))
    assert index["nom"] == "Commune de Kerdigor", "the registry's spelling stays the title"
    assert index["identite"]["adresse"] == "1 PLACE DE LA MAIRIE, 29800 KERDIGOR"
    assert index["identite"]["mois_sirene"] == "2025-03"


def test_a_registry_siren_unknown_to_the_register_is_a_configuration_error(sirene_settings, file_host, capsys):
    units = [u for u in unit_records() if u["siren"] != "252909999"]
    write_extract(file_host.root, units=units)
    assert main(["sirene", "refresh", "--month", "2025-03"]) == 1
    out = capsys.readouterr().out
    assert "252909999" in out and "unknown to the SIRENE register" in out
    assert main(["sirene", "check-registry"]) == 1
    registry = sirene_chain.registry_with_register(sirene_settings)
    assert registry.by_siren("252909999").siret == "25290999900010", "left as configured, never SIREN+00000"


def test_check_registry_fixes_a_wrong_siret_and_name(sirene_settings, file_host, tmp_path, capsys):
    """The register moved the Kerdigor siège and spells the EPCI differently: the check says so and fills."""
    units = unit_records()
    for unit in units:
        if unit["siren"] == "212900997":
            unit["nicSiegeUniteLegale"] = "00025"
        if unit["siren"] == "200099992":
            unit["denominationUniteLegale"] = "CC DU PAYS DE DIGOR"
    establishments = establishment_records()
    for etab in establishments:
        if etab["siret"] == "21290099700017":
            etab["etablissementSiege"] = False
    moved = dict(establishments[0], siret="21290099700025", nic="00025", etablissementSiege=True)
    write_extract(file_host.root, units=units, establishments=establishments + [moved])
    sirene_chain.run_month(sirene_settings, "2025-03")
    assert main(["sirene", "check-registry", "--write", str(tmp_path / "filled.yaml")]) == 1
    out = capsys.readouterr().out
    assert "SIRET 21290099700017 is not the siège; the register's siège is 21290099700025" in out
    assert "the register names 200099992 'CC DU PAYS DE DIGOR'" in out
    filled = {b["siren"]: b for b in yaml.safe_load((tmp_path / "filled.yaml").read_text())["bodies"]}
    assert filled["212900997"]["siret"] == "21290099700025"
    assert filled["200099992"]["name"] == "CC DU PAYS DE DIGOR"
    assert filled["252909999"]["name"] == "Syndicat intercommunal des eaux de l'Aber", "same name, registry spelling kept"
    registry = sirene_chain.registry_with_register(sirene_settings)
    assert registry.by_siren("212900997").siret == "21290099700025"


def test_check_registry_without_a_cache(sirene_settings, capsys):
    assert main(["sirene", "check-registry"]) == 2
    assert "no SIRENE cache" in capsys.readouterr().err


def test_lookup_command(sirene_settings, capsys):
    sirene_chain.run_month(sirene_settings, "2025-03")
    assert main(["sirene", "lookup", "21290099700017"]) == 0
    assert "COMMUNE DE KERDIGOR — 1 PLACE DE LA MAIRIE, 29800 KERDIGOR" in capsys.readouterr().out
    assert main(["sirene", "lookup", "--json", "999999999"]) == 1
    assert json.loads(capsys.readouterr().out)["trouve"] is False


def test_an_unreachable_host_is_a_clear_error(sirene_settings, capsys, monkeypatch):
    monkeypatch.setattr("chains.sirene.download_file", functools.partial(download_file, sleep=lambda _: None))
    assert main(["sirene", "refresh", "--month", "2025-03", "--base-url", "http://127.0.0.1:9/nowhere"]) == 2
    assert "gave up after 5 attempts" in capsys.readouterr().err


@pytest.mark.parametrize("value, month", [("2025-03-03", "2025-03"), ("2025-03", "2025-03")])
def test_month_of(value, month):
    assert sirene_chain.month_of(value) == month


def test_month_of_refuses_garbage():
    with pytest.raises(ValueError):
        sirene_chain.month_of("march")


def test_name_lookup_has_the_decp_chain_shape(sirene_settings):
    """``name_lookup`` drops in for the DECP chain's NameLookup, with its registry lookup as fallback."""
    sirene_chain.register_identifiers(sirene_settings, [SUPPLIER, PERSON_HIDDEN], "decp")
    sirene_chain.run_month(sirene_settings, "2025-03")
    names = sirene_chain.name_lookup(sirene_settings, fallback={"99999999999999": "Fallback"}.get)
    assert names(SUPPLIER) == "ARMOR TRAVAUX"
    assert names(PERSON_HIDDEN) == NON_DIFFUSIBLE
    assert names("99999999999999") == "Fallback" and names("") is None
    entity = sirene_chain.entity_lookup(sirene_settings)(SUPPLIER)
    assert entity.pme is True and entity.departement == "29"
