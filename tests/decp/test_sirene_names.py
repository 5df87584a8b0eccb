"""Names, SME flags and départements of buyers and titulaires from a generated SIRENE cache."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from chains import decp as decp_chain
from chains.sirene import CURRENT_KEY, cache_key
from core.config import PROJECT_ROOT, Settings
from core.sirene_stock import ETABLISSEMENTS, UNITES_LEGALES
from core.store import LocalStore, plain_bytes, put_if_changed, table_to_parquet_bytes
from extract.sirene_reduce import Wanted, reduce_stock
from extract.sirene_sample import unit_record, write_stock_file
from samples.actes import DEMO_NIGHTS
from samples.decp import generate_decp_exports
from samples.sirene import demo_records, identifiers_in
from transform.sirene_lookup import NON_DIFFUSIBLE

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"
BUYER = "21290099700017"
BODY_SIRENS = {"212900997", "200099992", "252909999", "222909996", "212900989"}


def _write_cache(store: LocalStore, folder: Path, units: list[dict], establishments: list[dict], wanted) -> None:
    """A month's cache as the sirene chain writes it: the stock files reduced by the real code."""
    for kind, records in ((UNITES_LEGALES, units), (ETABLISSEMENTS, establishments)):
        path = write_stock_file(folder / f"{kind}.parquet", kind, records, filler_rows=200)
        table, _ = reduce_stock(path, kind, Wanted.of(wanted))
        put_if_changed(store, cache_key("2025-03", kind), table_to_parquet_bytes(table))
    put_if_changed(store, CURRENT_KEY, b'{"month": "2025-03"}\n')


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The demo's DECP nights over a SIRENE cache where one named 2019 titulaire hides and one is absent."""
    root = tmp_path_factory.mktemp("decp-sirene")
    drop = root / "drop"
    generate_decp_exports(drop, REGISTRY, DEMO_NIGHTS)
    companies = identifiers_in(drop)
    named = sorted(s for s, name in companies.items() if name and s[:9] not in BODY_SIRENS)
    hidden, absent = named[0], named[1]
    units, establishments = demo_records(REGISTRY, companies)
    units = [u for u in units if u["siren"] not in (hidden[:9], absent[:9])]
    units.append(unit_record(hidden[:9], person=("ANNA", "CACHEE"), categorie_juridique=1000, diffusion="P",
                             nic_siege=hidden[9:], categorie_entreprise="PME", tranche="NN"))
    establishments = [e for e in establishments if e["siret"] != absent]
    store = LocalStore(root / "store")
    _write_cache(store, root / "stock", units, establishments, companies)
    settings = Settings.from_env().with_overrides(store_url=str(root / "store"), decp_drop_dir=drop, datagouv_mode="dry-run")
    for night in DEMO_NIGHTS:
        decp_chain.CHAIN.run_night(settings, night)
    by_unit = {u["siren"]: u for u in units}
    return {"store": root / "store", "companies": companies, "hidden": hidden, "absent": absent, "units": by_unit}


def _table(store: Path, year: int) -> list[dict]:
    text = (store / f"public/decp/decp-{year}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _buyer_file(store: Path, siret: str, name: str) -> dict:
    return json.loads(plain_bytes((store / "public/widgets/marches" / siret / name).read_bytes()))


def _contracts(store: Path, siret: str) -> list[dict]:
    """Every contract of the buyer's year files, as the widget finds them: through its manifest."""
    index = _buyer_file(store, siret, "index.json")
    return [c for year in index["annees"].values() for c in _buyer_file(store, siret, year["fichier"])["contrats"]]


def test_table_names_come_from_the_register_under_its_diffusion_rules(published):
    rows = [row for year in range(2021, 2026) for row in _table(published["store"], year)]
    by_holder, sent_with = {}, {}
    for row in rows:
        by_holder.setdefault(row["titulaire_id"], set()).add(row["titulaire_denominationSociale"])
        if row["versionFormat"] == "1.5.0":
            sent_with.setdefault(row["titulaire_id"], set()).add(row["titulaire_denominationSociale"])
    hidden, absent = published["hidden"], published["absent"]
    assert by_holder[hidden] == {NON_DIFFUSIBLE}, "a person who hides is never named, whatever the 2019 data sent"
    assert hidden in sent_with, "the 2019 data did send the hidden person's name"
    assert sent_with[absent] == {published["companies"][absent]}, "the 2019 name stays where the register has none"
    assert by_holder[absent] - sent_with[absent] <= {""}, "and is not invented for the contracts that did not send it"
    company = next(s for s in by_holder if s[:9] in published["units"] and published["units"][s[:9]]["denominationUniteLegale"]
                   and s[:9] not in BODY_SIRENS)
    assert by_holder[company] == {published["units"][company[:9]]["denominationUniteLegale"]}
    assert all(row["titulaire_denominationSociale"] for row in rows if row["titulaire_id"] in published["companies"]
               and row["titulaire_id"] != absent)
    buyers = {row["acheteur_id"]: row["acheteur_nom"] for row in rows}
    assert buyers[BUYER] == "Commune de Kerdigor", "a registry body keeps the registry's spelling"


def _history_parties(store: Path) -> dict[str, set]:
    """identifier -> names of every party (buyer, titulaire, concessionnaire) in the 2019-format history files."""
    found: dict[str, set] = {}

    def walk(value) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for name_field in ("denominationSociale", "nom"):
                if name_field in value and "id" in value:
                    found.setdefault(value["id"], set()).add(value[name_field])
            for item in value.values():
                walk(item)

    for path in sorted((store / "public/decp").glob("decp-20??-format-2019.json")):
        walk(json.loads(path.read_text(encoding="utf-8"))["marches"])
    return found


def test_history_never_names_a_person_the_register_hides(published):
    parties = _history_parties(published["store"])
    hidden, absent = published["hidden"], published["absent"]
    sent = published["companies"][hidden]
    assert parties[hidden] == {NON_DIFFUSIBLE}, "the 2019 history hides the person as the flat table does"
    assert not any(sent in plain_bytes(path.read_bytes()).decode("utf-8")
                   for path in (published["store"] / "public").rglob("*") if path.is_file() and path.suffix in (".json", ".csv")), \
        "the hidden person's name is in no public file"
    assert parties[absent] == {published["companies"][absent]}, "names the register does not hide stay as received"


def test_widget_titulaires_carry_sme_flag_and_departement(published):
    contracts = _contracts(published["store"], BUYER)
    holders = [h for c in contracts for h in c["titulaires"]]
    assert holders and all(h["nom"] for h in holders if h["id"] != published["absent"])
    assert any(h["non_diffusible"] and h["nom"] == NON_DIFFUSIBLE for h in holders)
    for holder in holders:
        unit = published["units"].get(holder["id"][:9])
        if unit is None:
            assert holder["pme"] is None and holder["departement"] is None
            continue
        assert holder["pme"] == (unit["categorieEntreprise"] == "PME"), holder
        assert holder["departement"] and len(holder["departement"]) in (2, 3)
        assert holder["non_diffusible"] == (unit["statutDiffusionUniteLegale"] == "P")
    indicators = _buyer_file(published["store"], BUYER, _buyer_file(published["store"], BUYER, "index.json")["indicateurs"])
    marches = [c for c in contracts if c["type"] == "Marché"]
    known = [c for c in marches if any(h["pme"] is not None for h in c["titulaires"])]
    smes = [c for c in known if any(h["pme"] for h in c["titulaires"])]
    sme = indicators["toutes_annees"]["pme"]
    assert (sme["contrats_renseignes"], sme["contrats_pme"]) == (len(known), len(smes))
    assert 0 < sme["contrats_pme"] < sme["contrats_renseignes"], "the demo has SMEs and larger companies"
    assert sme["part_contrats"] == round(len(smes) / len(known), 4)
    departements = indicators["toutes_annees"]["par_departement"]
    assert sum(d["titulaires"] for d in departements) == len({h["id"] for c in marches for h in c["titulaires"]})
    yearly = [t for year in indicators["annees"].values() for t in year["titulaires"]]
    assert {t["id"] for t in yearly} == {h["id"] for c in marches for h in c["titulaires"]}


def test_buyers_and_titulaires_are_registered_for_the_next_refresh(published):
    wanted = json.loads((published["store"] / "private/sirene/wanted/decp.json").read_text())["identifiants"]
    holders = {h["id"] for c in _contracts(published["store"], BUYER) for h in c["titulaires"]}
    assert {BUYER, published["hidden"]} | holders <= set(wanted)


def test_without_a_cache_names_are_the_registry_and_2019_ones_and_sme_unknown(tmp_path):
    drop = tmp_path / "drop"
    generate_decp_exports(drop, REGISTRY, DEMO_NIGHTS)
    settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "store"), decp_drop_dir=drop, datagouv_mode="dry-run")
    decp_chain.CHAIN.run_night(settings, DEMO_NIGHTS[0])
    store = tmp_path / "store"
    contracts = _contracts(store, BUYER)
    assert all(h["pme"] is None and h["departement"] is None for c in contracts for h in c["titulaires"])
    sent = identifiers_in(drop)
    for contract in contracts:
        for holder in contract["titulaires"]:
            assert holder["nom"] in (None, sent.get(holder["id"]))
    indicators = _buyer_file(store, BUYER, _buyer_file(store, BUYER, "index.json")["indicateurs"])
    assert indicators["toutes_annees"]["pme"]["contrats_renseignes"] == 0
    assert indicators["toutes_annees"]["pme"]["part_contrats"] is None
    assert json.loads((store / "public/widgets/marches" / BUYER / "index.json").read_text())["nom"] == "Commune de Kerdigor"

    # A SIRENE month arrives: the next night republishes every year with its names, no backfill needed.
    companies = identifiers_in(drop)
    units, establishments = demo_records(REGISTRY, companies)
    _write_cache(LocalStore(store), tmp_path / "stock", units, establishments, companies)
    next_night = decp_chain.CHAIN.run_night(settings, "2025-03-06")
    assert next_night["totals"]["years_published"] == sorted({int(p.stem[-4:]) for p in (store / "public/decp").glob("decp-20??.csv")})
    named = _contracts(store, BUYER)
    assert any(h["pme"] is not None for c in named for h in c["titulaires"]), "SME flags come with the new month"
    assert decp_chain.CHAIN.run_night(settings, "2025-03-07")["totals"]["years_published"] == [], "then only touched years"
