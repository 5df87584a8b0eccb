"""Widget files of a body's budgets: rubriques of the functional presentation."""

from __future__ import annotations

import json

import pandas as pd

from core.registry import Body
from load.budget_widgets import body_files, function_rubrique

M57 = {"0": "Services généraux", "01": "Opérations non ventilables", "020": "Administration générale",
       "2": "Enseignement, formation professionnelle et apprentissage", "212": "Écoles primaires"}


def test_rubrique_of_a_function_code():
    assert function_rubrique("212", "Écoles primaires", M57) == ("2", "Enseignement, formation professionnelle et apprentissage")
    assert function_rubrique("01", "Opérations non ventilables", M57) == ("0", "Services généraux")
    assert function_rubrique("93020", "Administration générale", M57) == ("0", "Services généraux")
    assert function_rubrique("943", "Opérations financières", M57) == ("943", "Opérations financières")
    assert function_rubrique("212", "Écoles primaires", {}) == ("2", "")


def _line(n: int, sense: str, nature: str, function: str, label: str, amount: str) -> dict:
    return {
        "siret": "21290099700017", "libelle_coll": "COMMUNE", "libelle_etab": "", "budget_type": "principal",
        "exercice": 2025, "stage": "budget primitif", "natdec_code": "01", "dm_date": "", "sealed_at": "",
        "nomenclature": "M57-M57", "line_no": n, "BGT_CODRD": sense, "BGT_SECTION": "fonctionnement",
        "BGT_OPBUDG": "réel", "BGT_CONTNAT": "011", "BGT_CONTNAT_LABEL": "Charges à caractère général",
        "BGT_NATURE": nature, "BGT_NATURE_LABEL": "Achats", "BGT_FONCTION": function, "BGT_FONCTION_LABEL": label,
        "BGT_MTPREV": amount, "BGT_MTREAL": "", "BGT_MTPROPNOUV": "", "BGT_MTRARPREC": "",
    }


def test_documents_name_the_rubrique_of_each_function_from_the_plan():
    body = Body(siren="212900997", siret="21290099700017", name="Commune", kind="commune", widget={"theme": "sombre"})
    lines = pd.DataFrame([_line(1, "dépense", "6042", "212", "Écoles primaires", "1000.50"),
                          _line(2, "dépense", "6042", "020", "Administration générale", "200")])
    asked: list[tuple] = []
    files = body_files(body, "Syndicat", lines, lambda nomenclature, year: asked.append((nomenclature, year)) or M57)
    assert asked == [("M57-M57", 2025)]
    assert json.loads(files["index.json"])["widget"] == {"theme": "sombre"}, "the registry's colours reach the widget"
    document = json.loads(files["budget-21290099700017-2025-bp.json"])
    assert [(f["code"], f["rubrique"], f["rubrique_libelle"], f["montant"]) for f in document["par_fonction"]] == [
        ("020", "0", "Services généraux", 200.0),
        ("212", "2", "Enseignement, formation professionnelle et apprentissage", 1000.5),
    ]
    without_plan = json.loads(body_files(body, "Syndicat", lines)["budget-21290099700017-2025-bp.json"])
    assert [(f["rubrique"], f["rubrique_libelle"]) for f in without_plan["par_fonction"]] == [("0", ""), ("2", "")]
