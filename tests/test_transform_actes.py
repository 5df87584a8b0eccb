"""Normalisation of single act folders: what is kept, and why a broken one is rejected."""

import json
from datetime import date

import pytest

from core.config import PROJECT_ROOT
from core.publication_rule import Decision
from core.registry import load_registry
from transform.acknowledgement import AcknowledgementError, parse_acknowledgement
from transform.actes import ActeRejected, normalise_act
from transform.dates import parse_source_date

REGISTRY = load_registry(PROJECT_ROOT / "config" / "registry-demo.yaml")
PREFIX = "raw/actes/drop/date=2025-03-03/siren=212900997/Ab12Cd3/"
AR = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>'
    '<actes:ARActe xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216" '
    'actes:IDActe="029-212900997-20250227-DEL_2025_014-DE" actes:DateReception="2025-02-28"/>'
).encode("latin-1")


def folder(**data_changes) -> dict[str, bytes]:
    data = {
        "acte_nature": "1",
        "numero_de_lacte": "DEL_2025_014",
        "objet": "Programme local de l’habitat 2019 → 2024 : bilan   triennal",
        "date_de_lacte": "2025-02-27",
        "classification": "8.5.2 Politique de la ville-habitat-logement",
        "publication_open_data": "",
        "arrete": ["acte.pdf"],
        "acte_tamponne": ["acte-tampon.pdf"],
        "autre_document_attache": ["annexe.pdf"],
        "aractes": ["ar.xml"],
        "date_tdt_postage": "2025-02-28",
        "siren": "212900997",
    }
    data.update(data_changes)
    data = {k: v for k, v in data.items() if v is not None}
    metadata = {"info": {"id_d": "Ab12Cd3", "last_modification": "2025-03-03 09:00:00"}, "data": data, "id_e": "101"}
    return {
        "metadata.json": json.dumps(metadata).encode(),
        "acte.pdf": b"%PDF-1.4 original",
        "acte-tampon.pdf": b"%PDF-1.4 stamped",
        "annexe.pdf": b"%PDF-1.4 annex",
        "ar.xml": AR,
    }


def normalise(files):
    return normalise_act(PREFIX, files, REGISTRY, date(2025, 3, 3), "drop")


def test_a_deliberation_is_normalised_with_everything_the_source_gives():
    row = normalise(folder())
    assert row["siret"] == "21290099700017" and row["coll_nom"] == "Commune de Kerdigor"
    assert row["objet"] == "Programme local de l’habitat 2019 → 2024 : bilan triennal"
    assert row["matiere_code"] == "8.5"
    assert row["matiere_nom"].startswith("domaines de compétences par thèmes/")
    assert (row["pref_id"], row["pref_date"]) == ("PREF029", date(2025, 2, 28))
    assert row["main_file_name"] == "acte-tampon.pdf" and row["main_is_stamped"]
    assert [a["name"] for a in row["annexes"]] == ["annexe.pdf"]
    assert row["decision"] == Decision.PUBLISHED.value


def test_long_objet_is_never_cut():
    objet = "Convention " + "très longue " * 60
    assert normalise(folder(objet=objet))["objet"] == objet.strip()


def test_body_found_by_pastell_entity_when_siren_is_absent():
    assert normalise(folder(siren=None))["siren"] == "212900997"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"date_de_lacte": None}, "date_de_lacte is missing"),
        ({"date_de_lacte": "31/02/2025"}, "not a valid calendar date"),
        ({"classification": "12.9 Inconnue"}, "12.9"),
        ({"acte_nature": "9"}, "acte_nature '9'"),
        ({"arrete": ["absent.pdf"], "acte_tamponne": None}, "'absent.pdf' named in arrete is missing"),
        ({"siren": "999999999"}, "unknown to the registry"),
    ],
)
def test_broken_acts_are_rejected_with_a_reason(change, reason):
    with pytest.raises(ActeRejected, match=reason):
        normalise(folder(**change))


def test_unreadable_metadata_is_rejected():
    files = folder()
    files["metadata.json"] = files["metadata.json"][:40]
    with pytest.raises(ActeRejected, match="metadata.json is not valid JSON"):
        normalise(files)


def test_acknowledgement_refuses_entities():
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<ARActe IDActe="&x;"/>'
    )
    with pytest.raises(AcknowledgementError) as error:
        parse_acknowledgement(hostile, "ar.xml")
    assert "root:" not in str(error.value)


def test_dates_accept_iso_and_french_forms():
    assert parse_source_date("2025-02-27", "d") == date(2025, 2, 27)
    assert parse_source_date("2025-02-27 10:00:00", "d") == date(2025, 2, 27)
    assert parse_source_date("27/02/2025", "d") == date(2025, 2, 27)
    assert parse_source_date("", "d") is None
    with pytest.raises(ValueError, match="'2025-13-01' is not a valid calendar date"):
        parse_source_date("2025-13-01", "d")
