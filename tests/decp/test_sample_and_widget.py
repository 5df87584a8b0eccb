"""The demo exports are deterministic and messy on purpose; the Focus marchés data they give."""

from __future__ import annotations

import hashlib
import json

from core.config import PROJECT_ROOT
from samples.decp import generate_decp_exports
from tests.decp.test_consolidate import MOD_1, _modified, _rows
from tests.decp.test_formats_normalise import MARCHE_2022
from transform.decp_consolidate import consolidate
from transform.decp_widget import entries_by_buyer, index_document, indicators, indicators_document

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"


def _digest(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_exports_are_the_same_bytes_every_time(tmp_path):
    first = generate_decp_exports(tmp_path / "a", REGISTRY)
    second = generate_decp_exports(tmp_path / "b", REGISTRY)
    assert first == second and _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert first["files"] == 6 and first["expected"]["unreadable"] == 1


def test_demo_exports_carry_the_traps(tmp_path):
    summary = generate_decp_exports(tmp_path, REGISTRY)
    second = (tmp_path / summary["nights"][1] / "decp-export-2.json").read_text(encoding="utf-8")
    for trap in ('"NC"', "1e+17", '"0225-02-11"', '"2026-02-24"', '"9310000"', '"4781914061"', '"2129009970001X"'):
        assert trap in second, trap
    history = json.loads((tmp_path / summary["nights"][0] / "historique.json").read_text(encoding="utf-8"))
    assert isinstance(history["marches"], list) and history["marches"][0]["_type"] == "Marché"
    assert (tmp_path / summary["nights"][2] / "decp-export-3.xml").read_bytes().startswith(b"<?xml")


def test_widget_entries_use_current_values_and_the_name_hook():
    rows = _rows([_modified(MARCHE_2022, MOD_1)], "a.json")
    kept = consolidate(rows).kept
    unnamed = entries_by_buyer(kept)["21290099700017"][0]
    assert (unnamed["montant"], unnamed["montant_initial"], unnamed["modifications"]) == (52000.0, 48000.0, 1)
    assert unnamed["titulaires"] == [{"id": "31644852108826", "type_identifiant": "SIRET", "nom": None,
                                      "non_diffusible": False, "pme": None, "departement": None}]
    assert [(m["numero"], m["montant"], m["titulaires"]) for m in unnamed["historique"]] == [(1, 52000.0, None)]
    named = entries_by_buyer(kept, {"31644852108826": "Iroise Paysages"}.get)["21290099700017"][0]
    assert named["titulaires"][0]["nom"] == "Iroise Paysages"
    assert named["categorie"] == "Travaux" and named["cpv"]["libelle"] == "Travaux de construction"


def test_indicators_count_amounts_categories_and_considerations():
    lot = {**MARCHE_2022, "id": "2025M002", "codeCPV": "72000000", "montant": 12000,
           "considerationsSociales": {"considerationSociale": ["Clause sociale"]}}
    entries = entries_by_buyer(consolidate(_rows([MARCHE_2022, lot], "a.json")).kept)["21290099700017"]
    result = indicators(entries)
    assert (result["contrats"], result["montant"]) == (2, 60000.0)
    assert [(c["categorie"], c["contrats"]) for c in result["par_categorie"]] == [("Travaux", 1), ("Services", 1)]
    assert result["considerations"] == {"contrats_renseignes": 2, "sociales": 1, "environnementales": 2,
                                        "part_sociales": 0.5, "part_environnementales": 1.0}
    assert result["top_titulaires"][0] == {"id": "31644852108826", "type_identifiant": "SIRET", "nom": None,
                                           "non_diffusible": False, "pme": None, "departement": None,
                                           "contrats": 2, "montant": 60000.0}
    assert result["pme"]["contrats_renseignes"] == 0 and result["pme"]["part_contrats"] is None
    assert result["par_departement"] == [{"departement": None, "titulaires": 1, "contrats": 2, "montant": 60000.0}]
    assert result["par_nature"] == [{"nature": "Marché", "contrats": 2, "montant": 60000.0}]
    document = indicators_document("21290099700017", {2025: entries})
    assert set(document["annees"]) == {"2025"} and document["toutes_annees"]["contrats"] == 2
    index = index_document("21290099700017", "Commune de Kerdigor", "Syndicat", {2025: entries}, {})
    assert index["annees"]["2025"] == {"fichier": "contrats-2025.json", "contrats": 2, "montant": 60000.0}
    assert index["indicateurs"] == "indicateurs.json"
