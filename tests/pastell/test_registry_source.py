"""The registry from the source: Pastell's entities and the SIRENE register instead of a file typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from chains import actes as actes_chain
from chains import sirene as sirene_chain
from core.config import Settings
from digor.cli import main as digor
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS, UNKNOWN_SIREN
from tests.pastell.conftest import FAST, set_connection
from tests.sirene.conftest import file_host, sirene_settings  # noqa: F401  (fixtures)

EPCI = "200099992"  # a body of the demo, added in the source between two nights
OFF = "212900989"  # its override in the file turns its open-data switch off


@pytest.fixture
def source_settings(tmp_path, monkeypatch, sirene_settings, emulator):  # noqa: F811
    """A registry file with overrides only; bodies from the emulator's entities (the EPCI not yet one)."""
    emulator.entities = [e for e in emulator.entities if e["siren"] != EPCI]
    emulator.entities.append({"id_e": "1", "denomination": "Syndicat numérique (racine)", "siren": "",
                              "type": "collectivite", "entite_mere": "0", "is_active": True})
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump({
        "region": {"name": "Région de démonstration", "publisher": "Syndicat numérique de démonstration"},
        "overrides": [{"siren": OFF, "open_data": False}, {"siren": "212900997", "widget": {"primary_color": "#005a9c"}}],
    }, allow_unicode=True), encoding="utf-8")
    set_connection(monkeypatch, emulator)
    for name, value in {"DIGOR_REGISTRY": str(registry), "DIGOR_SOURCE": "pastell", "DIGOR_REGISTRY_SOURCE": "pastell",
                        "DIGOR_PASTELL_CLIENT": json.dumps(FAST)}.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def _catalogue(settings: Settings) -> dict[str, dict]:
    path = Path(settings.store_url) / "public/widgets/actes-organismes.json"
    return {entry["siren"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))["organismes"]}


def test_bodies_come_from_the_source_and_a_new_one_is_served_the_next_night(source_settings, emulator, capsys):
    settings = source_settings
    # Before the register's cache knows them, no entity becomes a body.
    assert digor(["registry", "refresh"]) == 0
    assert "0 bodies from 6 entities" in capsys.readouterr().out
    sirene_chain.run_month(settings, "2025-03")  # asks the register for the SIRENs the source gave
    assert digor(["registry", "refresh"]) == 0
    out = capsys.readouterr()
    assert "4 bodies from 6 entities, 4 added" in out.out
    assert f"error: SIREN {UNKNOWN_SIREN} (Commune inconnue) is unknown to the SIRENE register" in out.err
    assert "has no SIREN" in out.err

    emulator.clock = night_cutoff(DEMO_NIGHTS[0])
    first = actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[0])
    catalogue = _catalogue(settings)
    assert "212900997" in catalogue and EPCI not in catalogue and OFF not in catalogue
    assert catalogue["212900997"]["nom"] == "COMMUNE DE KERDIGOR"  # the register's name, not a typed one
    assert any("has no SIREN" in line for line in first["summary"])

    # The EPCI becomes an entity in Pastell: the night asks the register for it, the night after the
    # register's refresh serves it, with the defaults.
    emulator.entities.append({"id_e": "102", "denomination": "CC du Pays de Digor", "siren": EPCI,
                              "type": "collectivite", "entite_mere": "0", "is_active": True})
    emulator.clock = night_cutoff(DEMO_NIGHTS[1])
    waiting = actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[1])
    assert any(f"SIREN {EPCI} (CC du Pays de Digor) is not in the SIRENE cache yet" in line for line in waiting["summary"])
    assert EPCI not in _catalogue(settings)
    sirene_chain.run_month(settings, "2025-03", force_rebuild=True)
    emulator.clock = night_cutoff(DEMO_NIGHTS[2])
    second = actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[2])
    assert f"  registry: body {EPCI} added from the source (defaults unless overridden)" in second["summary"]
    catalogue = _catalogue(settings)
    assert EPCI in catalogue and catalogue[EPCI]["type"] == "epci"
    actes = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False)
                      for p in (Path(settings.store_url) / "public/actes").glob("actes-20[0-9][0-9].csv"))
    sirens = set(actes["COLL_SIRET"].str[:9])
    assert EPCI in sirens and OFF not in sirens and UNKNOWN_SIREN not in sirens
    report = json.loads((Path(settings.store_url) / second["key"]).read_text(encoding="utf-8"))
    assert report["registry"]["added"] == [EPCI]
    assert {item["siren"]: item["code"] for item in report["registry"]["left_out"]}[UNKNOWN_SIREN] == "unknown_siren"


def test_an_override_names_a_switch_never_an_identity(tmp_path):
    from core.registry import RegistryError, load_registry

    path = tmp_path / "registry.yaml"
    path.write_text("region: {name: R}\noverrides:\n  - {siren: '212900997', name: Autre nom}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="'name' cannot be overridden"):
        load_registry(path)
