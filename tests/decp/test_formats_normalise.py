"""Reading exports (JSON, XML; 2022, 2019) and normalising objects to their format's shape."""

from __future__ import annotations

import json
from datetime import date

import pytest

from transform.decp_formats import FORMAT_2019, FORMAT_2022, UnreadableExport, detect_format, read_export
from transform.decp_normalise import normalise_object, normalise_text
from transform.decp_staging import dumps
from validate.decp_jsonschema import object_errors

NIGHT = date(2025, 3, 4)

MARCHE_2022 = {
    "id": "2025M001", "acheteur": {"id": "21290099700017"}, "nature": "Marché", "objet": "Réfection de la toiture",
    "codeCPV": "45261210-9", "techniques": {"technique": ["Sans objet"]},
    "modalitesExecution": {"modaliteExecution": ["Sans objet"]}, "marcheInnovant": False, "ccag": "Travaux",
    "offresRecues": 3, "attributionAvance": False, "typeGroupementOperateurs": "Pas de groupement",
    "sousTraitanceDeclaree": False, "procedure": "Procédure adaptée",
    "lieuExecution": {"code": "29200", "typeCode": "Code postal"}, "dureeMois": 6, "dateNotification": "2025-02-03",
    "datePublicationDonnees": "2025-02-10", "montant": 48000, "typesPrix": {"typePrix": ["Définitif ferme"]},
    "formePrix": "Forfaitaire", "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "31644852108826"}}],
    "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
    "considerationsEnvironnementales": {"considerationEnvironnementale": ["Critère environnemental"]},
}
MARCHE_2019 = {
    "id": "2019M0001", "_type": "Marché", "acheteur": {"id": "21290099700017", "nom": "Commune de Kerdigor"},
    "nature": "Accord-cadre", "objet": "Entretien des jardins", "codeCPV": "77313000", "procedure": "Procédure adaptée",
    "lieuExecution": {"code": "29", "typeCode": "Code département", "nom": "Finistère"}, "dureeMois": 24,
    "dateNotification": "2019-06-13", "datePublicationDonnees": "2019-06-20", "montant": 127000,
    "formePrix": "Révisable", "titulaires": [{"typeIdentifiant": "SIRET", "id": "31644852108826", "denominationSociale": "Iroise Paysages"}],
    "modifications": [],
}


def _json(objects: list[dict], shape: str = "2022") -> bytes:
    document = {"marches": {"marche": objects}} if shape == "2022" else {"marches": objects}
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def test_format_is_detected_from_content_not_name():
    assert read_export(_json([MARCHE_2022])).format == FORMAT_2022
    assert read_export(_json([MARCHE_2019], "2019")).format == FORMAT_2019
    # The 2019 *shape* (marches as an array) with 2022 fields is 2022 (Maximilien's 2024 flux).
    assert read_export(_json([MARCHE_2022], "2019")).format == FORMAT_2022
    assert detect_format([{}])[0] == FORMAT_2022


def test_xml_is_read_like_json():
    xml = """<?xml version="1.0" encoding="ISO-8859-1"?>
<marches><marche><id>2025M001</id><acheteur><id>21290099700017</id></acheteur>
<objet>R\xe9fection</objet><titulaires><titulaire><typeIdentifiant>SIRET</typeIdentifiant><id>31644852108826</id></titulaire>
<titulaire><typeIdentifiant>SIRET</typeIdentifiant><id>71614685706006</id></titulaire></titulaires>
<techniques><technique>Sans objet</technique></techniques><marcheInnovant>non</marcheInnovant></marche>
<contrat-concession><id>C1</id></contrat-concession></marches>""".encode("iso-8859-1")
    export = read_export(xml)
    assert (export.syntax, export.format, [o.kind for o in export.objects]) == ("xml", FORMAT_2022, ["marche", "contrat-concession"])
    marche = export.objects[0].data
    assert marche["objet"] == "Réfection"
    assert len(marche["titulaires"]["titulaire"]) == 2
    normalised = normalise_object(marche, "marche", FORMAT_2022, NIGHT).data
    assert normalised["titulaires"][1] == {"titulaire": {"typeIdentifiant": "SIRET", "id": "71614685706006"}}
    assert normalised["techniques"] == {"technique": ["Sans objet"]}
    assert normalised["marcheInnovant"] is False


@pytest.mark.parametrize(
    "data,reason",
    [(b"", "vide"), (b"%PDF-1.4", "ni JSON ni XML"), (b'{"marches": {"marche": [{"id": "1"', "JSON illisible"),
     (b"<marches><marche>", "XML illisible"), (b'[{"id": "5f1", "name": "dataset"}]', "pas un export DECP"),
     (b"<html><body/></html>", "racine")],
)
def test_unreadable_files_say_why(data, reason):
    with pytest.raises(UnreadableExport, match=reason):
        read_export(data)


def test_xml_declaring_entities_is_refused_not_expanded_nor_truncated():
    xml = b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><marches><marche><objet>&x;</objet></marche></marches>'
    with pytest.raises(UnreadableExport, match="XML refusé : .*DOCTYPE"):
        read_export(xml)


def test_a_clean_2022_object_is_valid_and_in_schema_order():
    shuffled = dict(reversed(list(MARCHE_2022.items())))
    result = normalise_object(shuffled, "marche", FORMAT_2022, NIGHT)
    assert object_errors(result.data, "marche", "2.0.2") == []
    assert list(result.data)[:3] == ["id", "acheteur", "nature"]
    assert result.data["codeCPV"] == "45261210"
    assert result.data["montant"] == 48000.0 and result.notes == []


def test_flat_lists_and_missing_wrappers_are_put_back():
    raw = dict(MARCHE_2022)
    raw.pop("techniques")
    raw.update({"technique": ["Accord-cadre"], "_type": "Marché",
                "titulaires": [{"typeIdentifiant": "SIRET", "id": "3164 4852 108826"}],
                "considerationsSociales": ["Clause sociale"], "actesSousTraitance": [], "idAccordCadre": None})
    result = normalise_object(raw, "marche", FORMAT_2022, NIGHT).data
    assert result["techniques"] == {"technique": ["Accord-cadre"]}
    assert result["titulaires"] == [{"titulaire": {"typeIdentifiant": "SIRET", "id": "31644852108826"}}]
    assert result["considerationsSociales"] == {"considerationSociale": ["Clause sociale"]}
    assert "_type" not in result and "actesSousTraitance" not in result and "idAccordCadre" not in result
    assert object_errors(result, "marche", "2.0.2") == []


def test_fields_of_another_format_or_type_are_dropped_with_a_note():
    raw = {**MARCHE_2022, "valeurGlobale": 0.0, "autoriteConcedante": "", "uuid": "x"}
    result = normalise_object(raw, "marche", FORMAT_2022, NIGHT)
    assert "valeurGlobale" not in result.data
    assert [n.champ for n in result.notes] == ["valeurGlobale"]


def test_a_2019_record_stays_1_5_0_without_inventing_2022_fields():
    result = normalise_object(MARCHE_2019, "marche", FORMAT_2019, NIGHT)
    assert result.version == "1.5.0"
    assert result.data["_type"] == "Marché"
    assert result.data["titulaires"][0]["denominationSociale"] == "Iroise Paysages"
    assert not {"techniques", "considerationsSociales", "offresRecues", "marcheInnovant"} & set(result.data)
    assert object_errors(result.data, "marche", "1.5.0") == []
    assert result.names == {"21290099700017": "Commune de Kerdigor", "31644852108826": "Iroise Paysages"}


def test_2019_quirks_flat_keys_nested_holders_and_wrapped_modifications():
    raw = {k: v for k, v in MARCHE_2019.items() if k != "acheteur"}
    raw["acheteur.id"] = "21290099700017"
    raw["acheteur.nom"] = "Commune de Kerdigor"
    raw["modifications"] = [{"modification": {"objetModification": "Avenant 1", "dateNotificationModification": "2020-01-10",
                                              "datePublicationDonneesModification": "2020-01-20",
                                              "titulaires": [[[MARCHE_2019["titulaires"][0]]]]}}]
    result = normalise_object(raw, "marche", FORMAT_2019, NIGHT).data
    assert result["acheteur"] == {"id": "21290099700017", "nom": "Commune de Kerdigor"}
    assert result["modifications"][0]["titulaires"] == MARCHE_2019["titulaires"]
    assert object_errors(result, "marche", "1.5.0") == []


def test_garbage_holders_in_a_modification_are_dropped_not_guessed():
    raw = {**MARCHE_2022, "modifications": [{"modification": {
        "id": 1, "dateNotificationModification": "2025-02-20", "datePublicationDonneesModification": "2025-02-21",
        "titulaires": [{"titulaire": "typeIdentifiant"}, {"titulaire": "id"}]}}]}
    result = normalise_object(raw, "marche", FORMAT_2022, NIGHT)
    assert "titulaires" not in result.data["modifications"][0]["modification"]
    assert object_errors(result.data, "marche", "2.0.2") == []
    assert any("retiré de la liste" in n.message for n in result.notes)


def test_an_incomplete_acte_de_sous_traitance_is_dropped_the_contract_kept():
    raw = {**MARCHE_2022, "sousTraitanceDeclaree": True,
           "actesSousTraitance": [{"acteSousTraitance": {"id": 1, "sousTraitant": {"typeIdentifiant": "SIRET", "id": "31644852108826"}}}]}
    result = normalise_object(raw, "marche", FORMAT_2022, NIGHT)
    assert "actesSousTraitance" not in result.data
    assert object_errors(result.data, "marche", "2.0.2") == []
    assert {n.message.split(" : ")[0] for n in result.notes} == {"élément retiré de « actesSousTraitance »"}


def test_a_placeholder_on_a_required_field_rejects_with_the_reason_kept():
    raw = {**MARCHE_2022, "dureeMois": "NC", "montant": 1.0e17, "dateNotification": "2026-01-01"}
    result = normalise_object(raw, "marche", FORMAT_2022, NIGHT)
    errors = object_errors(result.data, "marche", "2.0.2")
    assert {(e.champ, e.code) for e in errors} == {("dureeMois", "required"), ("montant", "required"), ("dateNotification", "required")}
    assert {n.champ for n in result.notes} == {"dureeMois", "montant", "dateNotification"}


CLEAN_MARCHE = {**MARCHE_2022, "codeCPV": "45261210"}
CLEAN_CONCESSION = {
    "id": "2025C001", "autoriteConcedante": {"id": "21290099700017"}, "nature": "Délégation de service public",
    "objet": "Eau potable", "procedure": "Procédure négociée ouverte", "dureeMois": 120, "dateSignature": "2025-01-06",
    "datePublicationDonnees": "2025-01-10", "dateDebutExecution": "2025-02-01", "valeurGlobale": 4850000,
    "montantSubventionPublique": 0.0, "concessionnaires": [{"concessionnaire": {"typeIdentifiant": "SIRET",
                                                                                  "id": "31644852108826"}}],
    "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
    "considerationsEnvironnementales": {"considerationEnvironnementale": ["Clause environnementale"]},
}
HOLDER = {"typeIdentifiant": "SIRET", "id": "71614685706006"}
# What the cleaning changes, or may (each applied to the clean marché): the happy path must give it up or
# give what the whole way gives.
CLEANING_CASES = {
    "as it is": {}, "check digit of the CPV": {"codeCPV": "45261210-9"}, "CPV with a label": {"codeCPV": "45261210 Travaux"},
    "date with a time": {"dateNotification": "2025-02-03T10:00:00+01:00"}, "French date": {"dateNotification": "03/02/2025"},
    "future date": {"datePublicationDonnees": "2025-06-10"}, "impossible date": {"dateNotification": "2025-02-30"},
    "year typo": {"dateNotification": "0225-02-03"}, "spaces around a text": {"objet": " Réfection "},
    "placeholder": {"objet": "NC"}, "control character": {"objet": "Réfection\x01"}, "empty text": {"objet": ""},
    "number as a text": {"id": 2025001}, "null": {"idAccordCadre": None}, "optional text": {"idAccordCadre": "AC-2024"},
    "SIRET with spaces": {"acheteur": {"id": "212 900 997 00017"}}, "SIRET failing Luhn": {"acheteur": {"id": "21290099700018"}},
    "SIRET without its zero": {"acheteur": {"id": "1290099700017"}}, "buyer's name": {"acheteur": {"id": "21290099700017", "nom": "Kerdigor"}},
    "integer as a text": {"offresRecues": "3"}, "integer as a float": {"offresRecues": 3.0}, "boolean as a text": {"marcheInnovant": "non"},
    "enum in another case": {"ccag": "travaux"}, "former procedure": {"procedure": "Procédure concurrentielle avec négociation"},
    "enum not allowed": {"ccag": "CCAG inconnu"}, "percentage": {"tauxAvance": 30}, "share": {"tauxAvance": 0.3},
    "absurd amount": {"montant": 99999999}, "amount as a text": {"montant": "48 000,00 €"}, "float amount": {"montant": 48000.5},
    "holder without its wrapper": {"titulaires": [HOLDER]}, "holders as one": {"titulaires": {"titulaire": HOLDER}},
    "holder twice": {"titulaires": [{"titulaire": HOLDER}, {"titulaire": HOLDER}]},
    "two holders": {"titulaires": [{"titulaire": HOLDER}, {"titulaire": {"typeIdentifiant": "TVA", "id": "FR123"}}]},
    "holder id with a space": {"titulaires": [{"titulaire": {"typeIdentifiant": "TVA", "id": "FR 123"}}]},
    "holder's SIRET too short": {"titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": "716146857"}}]},
    "empty list": {"techniques": {"technique": []}}, "list twice the same": {"techniques": {"technique": ["Sans objet"] * 2}},
    "flat list": {"technique": ["Sans objet"]}, "empty object": {"lieuExecution": {}}, "type": {"_type": "Marché"},
    "field of no format": {"couleur": "bleu"}, "value as a list": {"objet": ["Réfection"]},
    "modification": {"modifications": [{"modification": {"id": 1, "dateNotificationModification": "2025-03-01",
                                                         "datePublicationDonneesModification": "2025-03-02",
                                                         "montant": 52000}}]},
    "acte de sous-traitance": {"actesSousTraitance": [{"acteSousTraitance": {"id": 1}}]},
    # clean, but not valid: the whole way explains why
    "no offer": {"offresRecues": 0}, "no month": {"dureeMois": 0}, "amount under 1 €": {"montant": 0.5},
    "identifier too long": {"id": "2025M0000000000001"}, "text too long": {"objet": "R" * 1001},
    "nature not allowed": {"nature": "Concession"}, "required field missing": {"montant": None},
    "modification without its date": {"modifications": [{"modification": {"id": 1, "montant": 52000}}]},
}


@pytest.mark.parametrize("case", sorted(CLEANING_CASES))
def test_the_happy_path_of_a_text_gives_what_the_whole_cleaning_gives_or_gives_up(case):
    data = {**CLEAN_MARCHE, **CLEANING_CASES[case]}
    text = json.dumps(data, ensure_ascii=False).encode()
    happy = normalise_text(text, "marche", FORMAT_2022, NIGHT)
    whole = normalise_object(data, "marche", FORMAT_2022, NIGHT)
    if happy is not None:
        assert (list(happy.data.items()), happy.notes, happy.names) == (list(whole.data.items()), [], {})
        assert dumps(happy.data) == dumps(whole.data)
        assert happy.valid and object_errors(whole.data, "marche", whole.version) == []
    if case in ("as it is", "optional text", "float amount", "share", "two holders", "modification", "type"):
        assert happy is not None, "a clean object takes the happy path"


def test_the_happy_path_of_a_concession_gives_what_the_whole_cleaning_gives():
    text = json.dumps(CLEAN_CONCESSION, ensure_ascii=False).encode()
    happy = normalise_text(text, "contrat-concession", FORMAT_2022, NIGHT)
    whole = normalise_object(CLEAN_CONCESSION, "contrat-concession", FORMAT_2022, NIGHT)
    assert happy is not None and list(happy.data.items()) == list(whole.data.items()) and whole.notes == []
    assert happy.valid and object_errors(whole.data, "contrat-concession", whole.version) == []
    assert normalise_text(json.dumps(MARCHE_2019).encode(), "marche", FORMAT_2019, NIGHT) is None


def _staged(objects, kind: str, fmt: str = FORMAT_2022) -> list[dict]:
    from pathlib import Path

    from transform.decp_staging import Chunk, _file_base, _staged_rows

    base = _file_base("raw/decp/cli/date=2025-03-04/a.json", "cli", NIGHT.isoformat())
    return _staged_rows(Chunk(base, fmt, ({"champ": "(fichier)", "message": "note"},), objects, Path(), 0))


@pytest.mark.parametrize("case", sorted(CLEANING_CASES) + ["concession", "modification and float", "float spelling"])
def test_a_text_staged_by_the_happy_path_gives_the_row_of_the_whole_way(case):
    from transform.decp_formats import RawObject, RawTexts

    kind, data = "marche", {**CLEAN_MARCHE, **CLEANING_CASES.get(case, {})}
    if case == "concession":
        kind, data = "contrat-concession", CLEAN_CONCESSION
    elif case == "modification and float":
        data = {**CLEAN_MARCHE, "montant": 48000.5, **CLEANING_CASES["modification"], **CLEANING_CASES["two holders"]}
    elif case == "float spelling":
        data = {**CLEAN_MARCHE, "montant": 1e22}
    text = json.dumps(data, ensure_ascii=False).encode()
    happy = _staged(RawTexts(7, kind, [text]), kind)
    whole = _staged([RawObject(7, kind, json.loads(text))], kind)
    assert happy == whole


def test_a_staged_text_spells_every_number_as_json_does():
    import random

    draw = random.Random(28)
    numbers = [1e-07, 1e22, 0.00001, 1.5e300, 123.0, -0.0, 0.0001, 1e16, 12345.678, 2**63 + 1, 10.0e5]
    numbers += [draw.uniform(-1, 1) * 10 ** draw.randint(-12, 25) for _ in range(2000)]
    for number in numbers:
        value = {"montant": number, "objet": "Lot 2E étage, 0.00001 %", "id": "2024E01"}
        assert dumps(value) == json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
