"""Budgets a citizen understands: amounts per inhabitant, plain names, change over a year, two sentences,
comparisons with communes of the same size; the widget's figures are the regional SCDL file's sums."""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from core.config import PROJECT_ROOT, Settings
from core.registry import Body
from core.store import plain_bytes
from load.budget_widgets import body_files, comparisons

POPULATION = {"nombre": 1000, "annee": 2022, "type": "population totale", "code_commune": "29901"}
KERDIGOR = Body(siren="212900997", siret="21290099700017", name="Commune de Kerdigor", kind="commune")


def _line(n: int, year: int, sense: str, section: str, chapter: str, label: str, amount: str, *,
          siret: str = "21290099700017", stage: str = "budget primitif", kind: str = "réel", dm_date: str = "",
          budget: str = "principal") -> dict:
    return {
        "siret": siret, "libelle_coll": "COMMUNE", "libelle_etab": "", "budget_type": budget, "exercice": year,
        "stage": stage, "natdec_code": "01", "dm_date": dm_date, "sealed_at": "", "nomenclature": "M57-M57",
        "line_no": n, "BGT_CODRD": sense, "BGT_SECTION": section, "BGT_OPBUDG": kind, "BGT_CONTNAT": chapter,
        "BGT_CONTNAT_LABEL": label, "BGT_NATURE": chapter + "1", "BGT_NATURE_LABEL": label, "BGT_FONCTION": "",
        "BGT_FONCTION_LABEL": "", "BGT_MTPREV": amount, "BGT_MTREAL": "", "BGT_MTPROPNOUV": "", "BGT_MTRARPREC": "",
    }


def _two_years(siret: str = "21290099700017", scale: int = 1) -> list[dict]:
    return [
        _line(1, 2024, "dépense", "fonctionnement", "012", "Charges de personnel", str(400_000 * scale), siret=siret),
        _line(2, 2024, "recette", "fonctionnement", "73", "Impôts et taxes", str(500_000 * scale), siret=siret),
        _line(1, 2025, "dépense", "fonctionnement", "012", "Charges de personnel", str(420_000 * scale), siret=siret),
        _line(2, 2025, "dépense", "fonctionnement", "011", "Charges à caractère général", str(100_000 * scale), siret=siret),
        _line(3, 2025, "dépense", "fonctionnement", "023", "Virement à la section d'investissement", "30000", siret=siret,
              kind="ordre"),
        _line(4, 2025, "recette", "fonctionnement", "73", "Impôts et taxes", str(550_000 * scale), siret=siret),
        _line(5, 2025, "recette", "fonctionnement", "74", "Dotations et participations", str(100_000 * scale), siret=siret),
        _line(6, 2025, "recette", "investissement", "021", "Virement de la section de fonctionnement", "30000",
              siret=siret, kind="ordre"),
    ]


def _document(files: dict, name: str) -> dict:
    return json.loads(files[name])


def test_figures_per_inhabitant_with_their_change_and_plain_names():
    files = body_files(KERDIGOR, "Syndicat", pd.DataFrame(_two_years()), population=POPULATION)
    assert json.loads(files["index.json"])["population"] == POPULATION, "the manifest names the population and its year"
    document = _document(files, "budget-21290099700017-2025-bp.json")
    assert document["population"] == POPULATION
    assert document["precedent"] == {"annee": 2024, "etape": "budget primitif", "date_decision_dm": None}
    key = {f["code"]: f for f in document["chiffres_cles"]}
    assert key["depenses"] == {"code": "depenses", "libelle": "Dépenses", "montant": 550_000.0, "par_habitant": 550.0,
                               "montant_precedent": 400_000.0, "evolution": 0.375, "mediane_par_habitant": None}
    assert (key["recettes-investissement"]["montant"], key["recettes-investissement"]["montant_precedent"]) == (30_000.0, 0.0)
    assert key["recettes-investissement"]["evolution"] is None, "no percentage from nothing"
    chapters = {c["code"]: c for c in document["par_chapitre"]}
    assert (chapters["012"]["libelle"], chapters["012"]["libelle_clair"]) == (
        "Charges de personnel", "Salaires et charges du personnel"), "the official label stays, the plain one beside it"
    assert (chapters["012"]["par_habitant"], chapters["012"]["montant_precedent"], chapters["012"]["evolution"]) == (
        420.0, 400_000.0, 0.05)
    assert chapters["011"]["montant_precedent"] is None, "a chapter the previous year did not have"
    assert chapters["023"]["libelle_clair"] == "Épargne mise de côté pour investir"
    assert document["en_clair"] == {
        "provenance": "En 2025, les recettes réelles (650\u202f000\u00a0€) viennent surtout de : « impôts et taxes » "
                      "(85\u00a0%) et « dotations de l'État et participations d'autres organismes » (15\u00a0%).",
        "destination": "En 2025, les dépenses réelles (520\u202f000\u00a0€) vont surtout à : « salaires et charges du "
                       "personnel » (81\u00a0%) et « dépenses courantes (achats, énergie, entretien, prestations) » (19\u00a0%).",
    }
    first = _document(files, "budget-21290099700017-2024-bp.json")
    assert first["precedent"] is None and all(f["evolution"] is None for f in first["chiffres_cles"])


def test_a_body_without_a_population_gets_no_figure_per_inhabitant():
    epci = Body(siren="200099992", siret="20009999200014", name="Communauté de communes", kind="epci")
    files = body_files(epci, "Syndicat", pd.DataFrame(_two_years("20009999200014")))
    document = _document(files, "budget-20009999200014-2025-bp.json")
    assert json.loads(files["index.json"])["population"] is None
    assert document["population"] is None and document["comparaison"] is None
    figures = document["chiffres_cles"] + document["par_chapitre"] + document["par_nature"]
    assert all(f["par_habitant"] is None for f in figures), "never a guess"
    assert document["chiffres_cles"][0]["evolution"] == 0.375, "the change over a year does not need a population"


def _commune(number: int, population: int) -> tuple[Body, dict]:
    siren = f"2129{number:05d}"
    body = Body(siren=siren, siret=f"{siren}00017", name=f"Commune {number}", kind="commune")
    return body, {**POPULATION, "nombre": population, "code_commune": f"29{number:03d}"}


def test_a_commune_is_compared_with_the_median_of_the_communes_of_its_band():
    communes = [_commune(n, p) for n, p in ((1, 1000), (2, 1500), (3, 800), (4, 1900), (5, 3000))]
    lines = pd.DataFrame([row for n, (body, _) in enumerate(communes, start=1) for row in _two_years(body.siret, scale=n)])
    population_of = {b.siren: p for b, p in communes}
    found = comparisons(lines, [b for b, _ in communes], lambda body: population_of.get(body.siren))
    body, population = communes[0]
    files = body_files(body, "Syndicat", lines[lines["siret"] == body.siret], population=population, found=found,
                       region="Région de démonstration")
    document = _document(files, f"budget-{body.siret}-2025-bp.json")
    assert document["comparaison"] == {
        "groupe": "communes de 500 à 1\u202f999 habitants de la région (Région de démonstration, population légale 2022) "
                  "ayant publié leur budget primitif 2025",
        "organismes": 4, "minimum": 3}, "the commune of 3 000 inhabitants is in another band"
    spent = [(520_000 * n + 30_000) / p for n, p in ((1, 1000), (2, 1500), (3, 800), (4, 1900))]
    key = {f["code"]: f for f in document["chiffres_cles"]}
    assert key["depenses"]["mediane_par_habitant"] == round(statistics.median(round(s, 2) for s in spent), 2)
    assert key["depenses"]["par_habitant"] == 550.0
    alone = _document(body_files(communes[4][0], "Syndicat", lines[lines["siret"] == communes[4][0].siret],
                                 population=communes[4][1], found=found), f"budget-{communes[4][0].siret}-2025-bp.json")
    assert alone["comparaison"]["organismes"] == 1
    assert all(f["mediane_par_habitant"] is None for f in alone["chiffres_cles"]), "no median of fewer than 3 communes"


def test_only_a_principal_budget_of_a_stage_is_compared():
    communes = [_commune(n, 1000 + n) for n in range(1, 5)]
    rows = [row for body, _ in communes for row in _two_years(body.siret)]
    body, population = communes[0]
    rows += [_line(9, 2025, "dépense", "fonctionnement", "011", "Charges", "10", siret=body.siret,
                   stage="décision modificative", dm_date="2025-06-12")]
    rows += [_line(9, 2025, "dépense", "fonctionnement", "011", "Charges", "10", siret=body.siren + "00025", budget="annexe")]
    lines = pd.DataFrame(rows)
    population_of = {b.siren: p for b, p in communes}
    found = comparisons(lines, [b for b, _ in communes], lambda b: population_of.get(b.siren))
    files = body_files(body, "Syndicat", lines[lines["siret"].str.startswith(body.siren)], population=population, found=found)
    assert _document(files, f"budget-{body.siret}-2025-bp.json")["comparaison"]["organismes"] == 4
    assert _document(files, f"budget-{body.siret}-2025-dm-2025-06-12.json")["comparaison"] is None
    annex = _document(files, f"budget-{body.siren}00025-2025-bp.json")
    assert annex["comparaison"] is None and annex["chiffres_cles"][0]["par_habitant"] == 0.01


# ---- against the published regional file ---------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The demo nights through the actes and budgets chains, with the demo's legal populations cached."""
    from chains import actes as actes_chain
    from chains import budgets as budgets_chain
    from chains import populations
    from samples.actes import DEMO_NIGHTS, generate_drop_folder
    from samples.budgets import write_demo_plans
    from samples.populations import ARCHIVE, write_populations
    from samples.sirene import serve_folder

    root = tmp_path_factory.mktemp("citizen")
    registry = PROJECT_ROOT / "config" / "registry-demo.yaml"
    generate_drop_folder(root / "drop", registry)
    write_demo_plans(root / "plans")
    write_populations(root / "populations", registry)
    settings = Settings.from_env().with_overrides(store_url=str(root / "store"), drop_dir=root / "drop",
                                                  plans_dirs=(root / "plans",), sirene_work_dir=root / "work")
    with serve_folder(root / "populations") as base:
        populations.refresh_step(settings.with_overrides(populations_url=f"{base}/{ARCHIVE}"))
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(settings, night)
        budgets_chain.CHAIN.run_night(settings, night)
    return root / "store"


def _csv_sums(store: Path) -> dict[tuple, Decimal]:
    """Sums of the regional SCDL files' lines by (siret, year, stage, figure), the stage's amount column."""
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    for path in sorted((store / "public" / "budgets").glob("budgets-[0-9][0-9][0-9][0-9].csv")):
        for row in csv.DictReader(path.open(encoding="utf-8")):
            if row["BGT_NATDEC"] == "compte administratif":
                amount = Decimal(row["BGT_MTREAL"] or "0")
            else:
                amount = Decimal(row["BGT_MTPREV"]) if row["BGT_MTPREV"] else (
                    Decimal(row["BGT_MTPROPNOUV"] or "0") + Decimal(row["BGT_MTRARPREC"] or "0"))
            side = "recettes" if row["BGT_CODRD"] == "recette" else "depenses"
            where = (row["BGT_SIRET"], int(row["BGT_ANNEE"]), row["BGT_NATDEC"])
            for figure in (side, f"{side}-{row['BGT_SECTION']}",
                           ("chapitre", row["BGT_CODRD"], row["BGT_SECTION"], row["BGT_CONTNAT"], row["BGT_OPBUDG"])):
                sums[(*where, figure)] += amount
    return sums


def _cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


def test_the_widget_figures_are_the_sums_of_the_regional_file(published):
    sums = _csv_sums(published)
    folder = published / "public" / "widgets" / "budgets"
    checked = 0
    for manifest_path in sorted(folder.glob("*/index.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        population = manifest["population"]
        for establishment in manifest["etablissements"]:
            for year in establishment["exercices"]:
                for stage in year["etapes"]:
                    document = json.loads(plain_bytes((manifest_path.parent / stage["fichier"]).read_bytes()))
                    where = (document["siret"], document["annee"], document["etape"])
                    before = (document["siret"], document["annee"] - 1, document["etape"])
                    for figure in document["chiffres_cles"]:
                        total = sums[(*where, figure["code"])]
                        assert figure["montant"] == _cents(total), (where, figure["code"])
                        expected = _cents(total / population["nombre"]) if population else None
                        assert figure["par_habitant"] == expected, (where, figure["code"])
                        if document["precedent"]:
                            assert figure["montant_precedent"] == _cents(sums[(*before, figure["code"])])
                        checked += 1
                    for chapter in document["par_chapitre"]:
                        key = ("chapitre", chapter["sens"], chapter["section"], chapter["code"], chapter["type"])
                        assert chapter["montant"] == _cents(sums[(*where, key)]), (where, key)
    assert checked >= 6 * 10, "the demo's bodies and their years"
    kerdigor = json.loads((folder / "21290099700017" / "index.json").read_text(encoding="utf-8"))
    assert kerdigor["population"]["annee"] == 2022 and kerdigor["population"]["code_commune"] == "29901"
    epci = json.loads((folder / "20009999200014" / "index.json").read_text(encoding="utf-8"))
    assert epci["population"] is None
