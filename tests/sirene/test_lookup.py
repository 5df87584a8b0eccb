"""What digor shows of a SIREN or SIRET: names under the diffusion rules, places, SME flag."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from extract.sirene_reduce import Wanted, reduce_stock
from tests.sirene.conftest import (
    ABROAD,
    BIG_SUPPLIER,
    BODIES,
    CLOSED,
    PERSON_HIDDEN,
    PERSON_OPEN,
    SUPPLIER,
    write_extract,
)
from transform.sirene_lookup import (
    LOOKUP_COLUMNS,
    NON_DIFFUSIBLE,
    SireneLookup,
    departement_of,
    normalised_name,
    sme_flag,
    unit_name,
)

ALL = [*BODIES, SUPPLIER, BIG_SUPPLIER, PERSON_OPEN, PERSON_HIDDEN, CLOSED, ABROAD]


@pytest.fixture(scope="module")
def lookup(tmp_path_factory) -> SireneLookup:
    files = write_extract(tmp_path_factory.mktemp("extract"), filler_rows=1_000)
    wanted = Wanted.of(ALL)
    units, _ = reduce_stock(files["unites_legales"], "unites_legales", wanted)
    establishments, _ = reduce_stock(files["etablissements"], "etablissements", wanted)
    return SireneLookup(units, establishments, "2025-03")


def test_a_company_establishment(lookup):
    entity = lookup.lookup(SUPPLIER)
    assert entity.trouve and entity.nom == "ARMOR TRAVAUX" and entity.nom_etablissement == "ARMOR TRAVAUX BREST"
    assert entity.siret == SUPPLIER and entity.siege is False and entity.siret_siege == SUPPLIER[:9] + "00013"
    assert entity.adresse == "12 BOULEVARD JEAN MOULIN, 29200 BREST"
    assert (entity.code_commune, entity.departement, entity.commune) == ("29019", "29", "BREST")
    assert entity.categorie_juridique == "5710" and entity.categorie_juridique_libelle == "Société commerciale"
    assert entity.pme is True and entity.categorie_entreprise == "PME"
    assert entity.tranche_effectifs_libelle == "20 à 49 salariés"
    assert entity.etat == "actif" and entity.date_fermeture is None and entity.mois_sirene == "2025-03"


def test_a_siren_resolves_to_its_siege(lookup):
    entity = lookup.lookup(SUPPLIER[:9])
    assert entity.siret == SUPPLIER[:9] + "00013" and entity.siege is True and entity.commune == "RENNES"


def test_a_large_company_is_not_an_sme(lookup):
    assert lookup.lookup(BIG_SUPPLIER).pme is False


def test_an_individual_who_may_be_published_is_named(lookup):
    entity = lookup.lookup(PERSON_OPEN)
    assert entity.nom == "MARIE LE GOFF" and entity.personne_physique and entity.diffusible
    assert entity.departement == "2A" and entity.pme is True, "a non-employer is an SME"


def test_an_individual_who_asked_not_to_be_published_is_never_named(lookup):
    entity = lookup.lookup(PERSON_HIDDEN)
    assert entity.trouve and entity.nom == NON_DIFFUSIBLE and entity.diffusible is False
    assert entity.adresse is None and entity.nom_etablissement is None
    assert (entity.commune, entity.departement) == ("SAINT-DENIS", "974"), "the commune only"
    text = json.dumps(entity.to_json(), ensure_ascii=False)
    assert "SECRET" not in text and "JEAN" not in text and "PRIVES" not in text


def test_a_closed_establishment_keeps_its_last_values_and_closing_date(lookup):
    entity = lookup.lookup(CLOSED)
    assert entity.etat == "fermé" and entity.date_fermeture == dt.date(2023, 6, 30)
    assert entity.nom == "ANCIENNE SCIERIE" and entity.commune == "LORIENT" and entity.adresse


def test_an_establishment_abroad(lookup):
    entity = lookup.lookup(ABROAD)
    assert entity.pays == "BELGIQUE" and entity.departement is None and entity.adresse.endswith("BRUXELLES BELGIQUE")
    assert entity.categorie_juridique_libelle == "Personne morale de droit étranger"


def test_a_public_body_has_no_sme_flag(lookup):
    entity = lookup.lookup("21290099700017")
    assert entity.nom == "COMMUNE DE KERDIGOR" and entity.pme is None and entity.siege is True
    assert entity.categorie_juridique_libelle == "Commune et commune nouvelle", "level 3 of the nomenclature, not the generic level 1"


def test_unknown_identifiers(lookup):
    assert not lookup.lookup("999999999").trouve
    missing_etab = lookup.lookup(SUPPLIER[:9] + "00099")
    assert not missing_etab.trouve and missing_etab.nom == "ARMOR TRAVAUX", "the unit is still named"
    assert not lookup.lookup("not an id").trouve


def test_lookup_frame_for_the_decp_chain(lookup):
    frame = lookup.lookup_frame([SUPPLIER, PERSON_HIDDEN, SUPPLIER, "999999999", None, ""])
    assert list(frame.columns) == list(LOOKUP_COLUMNS)
    assert frame["identifiant"].tolist() == [SUPPLIER, PERSON_HIDDEN, "999999999"]
    assert frame["trouve"].tolist() == [True, True, False]
    assert frame["nom"].tolist()[:2] == ["ARMOR TRAVAUX", NON_DIFFUSIBLE]
    assert str(frame["pme"].dtype) == "boolean"


def test_empty_lookup():
    assert not SireneLookup.empty().lookup(SUPPLIER).trouve


@pytest.mark.parametrize(
    "code, departement",
    [("29232", "29"), ("2A004", "2A"), ("2B033", "2B"), ("97411", "974"), ("97502", "975"), (None, None), ("", None)],
)
def test_departement_of(code, departement):
    assert departement_of(code) == departement


def test_name_rules():
    person = {"categorieJuridiqueUniteLegale": "1000", "nomUniteLegale": "DURAND", "prenomUsuelUniteLegale": "LUC",
              "nomUsageUniteLegale": "MARTIN"}
    assert unit_name({**person, "statutDiffusionUniteLegale": "O"}) == "LUC MARTIN"
    assert unit_name({**person, "statutDiffusionUniteLegale": "P"}) == NON_DIFFUSIBLE
    assert unit_name({**person, "statutDiffusionUniteLegale": "N"}) == NON_DIFFUSIBLE
    assert unit_name({"categorieJuridiqueUniteLegale": "1000", "statutDiffusionUniteLegale": "O",
                      "nomUniteLegale": "[ND]"}) == NON_DIFFUSIBLE
    company = {"categorieJuridiqueUniteLegale": "5499", "statutDiffusionUniteLegale": "O"}
    assert unit_name({**company, "denominationUsuelle1UniteLegale": "LE FOURNIL"}) == "LE FOURNIL"
    assert unit_name({**company, "sigleUniteLegale": "SARL ABC"}) == "SARL ABC"


def test_sme_rules():
    assert sme_flag({"categorieEntreprise": "ETI", "trancheEffectifsUniteLegale": "12"}) is False
    assert sme_flag({"trancheEffectifsUniteLegale": "31"}) is True
    assert sme_flag({"trancheEffectifsUniteLegale": "32"}) is False
    assert sme_flag({}) is None
    assert sme_flag({"categorieJuridiqueUniteLegale": "7210", "categorieEntreprise": "PME"}) is None


def test_normalised_names_ignore_case_accents_and_punctuation():
    assert normalised_name("Syndicat intercommunal des eaux de l'Aber") == normalised_name(
        "SYNDICAT INTERCOMMUNAL DES EAUX DE L ABER"
    )
    assert normalised_name("Département de Penn-ar-Bed-Démo") == "DEPARTEMENT DE PENN AR BED DEMO"
