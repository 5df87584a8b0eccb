"""The optional step of the actes chain: COLL_SIRET / COLL_NOM kept right by the SIRENE cache."""

from __future__ import annotations

from chains import actes as actes_chain
from chains import sirene as sirene_chain
from core.config import Settings
from core.store import open_store
from samples.actes import DEMO_NIGHTS
from tests.sirene.conftest import establishment_records, unit_records, write_extract
from transform.actes import staged_years
from transform.consolidate_actes import latest_versions


def _staged_bodies(settings) -> dict[str, set[tuple[str, str]]]:
    store = open_store(settings.store_url)
    seen: dict[str, set] = {}
    for year in staged_years(store):
        acts = latest_versions(store, year)
        for _, act in acts.iterrows():
            seen.setdefault(act["siren"], set()).add((act["siret"], act["coll_nom"]))
    return seen


def test_without_a_cache_the_registry_is_used_as_it_is(demo_settings):
    actes_chain.CHAIN.extract(demo_settings, DEMO_NIGHTS[0])
    actes_chain.CHAIN.transform(demo_settings, DEMO_NIGHTS[0])
    assert _staged_bodies(demo_settings)["212900997"] == {("21290099700017", "Commune de Kerdigor")}


def test_with_a_cache_the_register_keeps_siret_and_name_right(demo_settings, sirene_settings, file_host):
    units = unit_records()
    for unit in units:
        if unit["siren"] == "212900997":
            unit["nicSiegeUniteLegale"] = "00025"
    establishments = [dict(e, etablissementSiege=False) if e["siret"] == "21290099700017" else e for e in establishment_records()]
    establishments.append(dict(establishments[0], siret="21290099700025", nic="00025", etablissementSiege=True))
    write_extract(file_host.root, units=units, establishments=establishments)
    settings = Settings.from_env()
    sirene_chain.run_month(settings, "2025-03")
    actes_chain.CHAIN.extract(settings, DEMO_NIGHTS[0])
    actes_chain.CHAIN.transform(settings, DEMO_NIGHTS[0])
    staged = _staged_bodies(settings)
    assert staged["212900997"] == {("21290099700025", "Commune de Kerdigor")}, "new siège, registry spelling kept"
