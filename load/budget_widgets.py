"""What the Budgets widget of each body reads: per year and stage, totals and breakdowns.

Files of a body live under ``public/widgets/budgets/<siret of the body>/``:

- ``index.json``: the manifest. It lists the body's establishments (principal budget and
  annex budgets, each with its own SIRET), and for each the years and stages available with
  the relative name of their file, and the name of its series file; and the body's widget
  settings from the registry (theme, colours). Widgets read it first and never build a file
  name themselves.
- ``budget-<siret>-<year>-<stage>.<hash>.json``: one budget document (the current version of
  the stage): totals, recettes/dépenses by section, réel/ordre, and breakdowns by chapter,
  nature (account) and function.
- ``serie-<siret>.<hash>.json``: the totals of every year and stage, for charts over the years.

Files other than the manifest are content-addressed versions (``load.versions.publish_file_set``),
and the manifest, written last, names them: a widget reads the old set or the new one, never a mix.

Each function of ``par_fonction`` also names its *rubrique* (the first level of the functional
presentation, e.g. "2 Enseignement…" in M57), whose label the lines do not carry: it comes
from the plan de comptes, so that the widget's general view can group functions without
knowing any nomenclature.

Amounts are those the stage is about: realised (``BGT_MTREAL``) for a compte administratif,
voted (``BGT_MTPREV``, else new proposals + carried-over) for the other stages. Every file
is JSON with sorted keys, so a rerun gives the same bytes; a superseded version (a withdrawn
or corrected budget, a series that moved) is deleted at the switch (``load.versions``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal

import pandas as pd

from core.budget_stages import STAGE_ORDER
from core.jsonio import json_bytes
from core.keys import widget_folder
from core.registry import Body
from core.store import ObjectStore
from load.versions import VERSION_NAME, publish_file_set, read_json

INDEX_FILE = "index.json"
FORMAT = "digor-budgets-widget/1"
STAGE_SLUGS = {
    "budget primitif": "bp",
    "budget supplémentaire": "bs",
    "décision modificative": "dm",
    "compte administratif": "ca",
}
_ZERO = Decimal("0")

# (nomenclature as the lines write it, e.g. "M57-M57"; exercice) -> plan's functions by code.
FunctionPlan = Callable[[str, int], Mapping[str, str]]


def widget_prefix(body_siret: str) -> str:
    return widget_folder("budgets", body_siret) + "/"


def _decimal(text) -> Decimal | None:
    if text is None or text == "" or (isinstance(text, float) and pd.isna(text)):
        return None
    return Decimal(str(text))


def line_amount(row: dict) -> Decimal:
    """The amount of a line for the stage of its document."""
    if row["stage"] == "compte administratif":
        return _decimal(row["BGT_MTREAL"]) or _ZERO
    voted = _decimal(row["BGT_MTPREV"])
    if voted is not None:
        return voted
    return (_decimal(row["BGT_MTPROPNOUV"]) or _ZERO) + (_decimal(row["BGT_MTRARPREC"]) or _ZERO)


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _sides() -> dict[str, Decimal]:
    return {"recettes": _ZERO, "depenses": _ZERO}


def _side(row: dict) -> str:
    return "recettes" if row["BGT_CODRD"] == "recette" else "depenses"


def function_rubrique(code: str, label: str, functions: Mapping[str, str]) -> tuple[str, str]:
    """The rubrique (first functional level) of a function code and its label ("" unknown).

    M57 documents voted by function may write the function after a "9" + section digit
    prefix (93020 = function 020); a code the plan does not know (a non-ventilated functional
    chapter such as 943) is its own rubrique."""
    if len(code) > 2 and code[0] == "9" and code not in functions and code[2:] in functions:
        code = code[2:]
    if functions and code not in functions:
        return code, label
    return code[0], functions.get(code[0], "")


def budget_document(rows: list[dict], functions: Mapping[str, str] | None = None) -> dict:
    """Totals and breakdowns of one budget document (its current lines); ``functions`` are the
    plan de comptes' functions by code (labels of the rubriques)."""
    first = rows[0]
    functions = functions or {}
    totals, sections, kinds = _sides(), defaultdict(_sides), defaultdict(_sides)
    chapters: dict[tuple, Decimal] = defaultdict(Decimal)
    natures: dict[tuple, Decimal] = defaultdict(Decimal)
    by_function: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in rows:
        amount, side = line_amount(row), _side(row)
        totals[side] += amount
        sections[row["BGT_SECTION"]][side] += amount
        kinds[row["BGT_OPBUDG"]][side] += amount
        sense = row["BGT_CODRD"]
        chapters[(sense, row["BGT_SECTION"], row["BGT_CONTNAT"], row["BGT_CONTNAT_LABEL"], row["BGT_OPBUDG"])] += amount
        natures[(sense, row["BGT_SECTION"], row["BGT_NATURE"], row["BGT_NATURE_LABEL"], row["BGT_CONTNAT"], row["BGT_OPBUDG"])] += amount
        if row["BGT_FONCTION"]:
            by_function[(sense, row["BGT_SECTION"], row["BGT_FONCTION"], row["BGT_FONCTION_LABEL"])] += amount
    return {
        "format": FORMAT,
        "siret": first["siret"],
        "nom": first["libelle_etab"] or first["libelle_coll"],
        "collectivite": first["libelle_coll"],
        "budget": first["budget_type"],
        "annee": int(first["exercice"]),
        "etape": first["stage"],
        "etape_code_totem": first["natdec_code"],
        "compte_financier_unique": first["natdec_code"] == "10",
        "date_decision_dm": first["dm_date"] or None,
        "date_scellement": first["sealed_at"] or None,
        "nomenclature": first["nomenclature"],
        "montant": "réalisé (BGT_MTREAL)" if first["stage"] == "compte administratif" else "voté (BGT_MTPREV)",
        "totaux": {k: _money(v) for k, v in totals.items()},
        "sections": [
            {"section": name, **{k: _money(v) for k, v in sides.items()}} for name, sides in sorted(sections.items())
        ],
        "operations": [
            {"type": name, **{k: _money(v) for k, v in sides.items()}} for name, sides in sorted(kinds.items())
        ],
        "par_chapitre": [
            {"sens": s, "section": sec, "code": c, "libelle": lab, "type": op, "montant": _money(v)}
            for (s, sec, c, lab, op), v in sorted(chapters.items())
        ],
        "par_nature": [
            {"sens": s, "section": sec, "code": c, "libelle": lab, "chapitre": ch, "type": op, "montant": _money(v)}
            for (s, sec, c, lab, ch, op), v in sorted(natures.items())
        ],
        "par_fonction": [
            {"sens": s, "section": sec, "code": c, "libelle": lab, "montant": _money(v),
             **dict(zip(("rubrique", "rubrique_libelle"), function_rubrique(c, lab, functions)))}
            for (s, sec, c, lab), v in sorted(by_function.items())
        ],
    }


def _document_file(siret: str, year: int, stage: str, dm_date: str) -> str:
    suffix = f"-{dm_date}" if dm_date else ""
    return f"budget-{siret}-{year}-{STAGE_SLUGS[stage]}{suffix}.json"


def body_files(body: Body, publisher: str, lines: pd.DataFrame, function_plan: FunctionPlan | None = None) -> dict[str, bytes]:
    """Every widget file of one body, by relative name, from its current published lines."""
    documents: dict[tuple, list[dict]] = defaultdict(list)
    for row in lines.to_dict("records"):
        documents[(row["siret"], int(row["exercice"]), row["stage"], row["dm_date"])].append(row)
    files: dict[str, bytes] = {}
    establishments: dict[str, dict] = {}
    series: dict[str, list[dict]] = defaultdict(list)
    for (siret, year, stage, dm_date), rows in sorted(documents.items(), key=lambda i: (i[0][0], i[0][1], STAGE_ORDER[i[0][2]], i[0][3])):
        ordered = sorted(rows, key=lambda r: int(r["line_no"]))
        functions = function_plan(ordered[0]["nomenclature"], year) if function_plan else None
        document = budget_document(ordered, functions)
        name = _document_file(siret, year, stage, dm_date)
        files[name] = json_bytes(document)
        entry = establishments.setdefault(siret, {
            "siret": siret, "nom": document["nom"], "budget": document["budget"],
            "nomenclature": document["nomenclature"], "exercices": {}, "serie": f"serie-{siret}.json",
        })
        entry["nom"], entry["budget"], entry["nomenclature"] = document["nom"], document["budget"], document["nomenclature"]
        entry["exercices"].setdefault(str(year), []).append({
            "etape": stage, "etape_code_totem": document["etape_code_totem"], "date_decision_dm": document["date_decision_dm"],
            "fichier": name,
        })
        series[siret].append({
            "annee": year, "etape": stage, "date_decision_dm": document["date_decision_dm"], "totaux": document["totaux"],
            "sections": document["sections"],
        })
    for siret, points in series.items():
        files[f"serie-{siret}.json"] = json_bytes({"format": FORMAT, "siret": siret, "points": points})
    index = {
        "format": FORMAT,
        "siren": body.siren,
        "siret": body.siret,
        "nom": body.name,
        "publie_par": publisher,
        "widget": body.widget,
        "etablissements": [
            {**entry, "exercices": [{"annee": int(y), "etapes": e} for y, e in sorted(entry["exercices"].items())]}
            for _, entry in sorted(establishments.items(), key=lambda i: (i[1]["budget"] != "principal", i[0]))
        ],
    }
    files[INDEX_FILE] = json_bytes(index)
    return files


def document_names(lines: pd.DataFrame) -> set[str]:
    """The names of the document files a body's published lines make (without their version)."""
    if lines.empty:
        return set()
    keys = set(zip(lines["siret"], lines["exercice"], lines["stage"], lines["dm_date"]))
    return {_document_file(siret, int(year), stage, dm_date) for siret, year, stage, dm_date in keys}


def published_document_names(store: ObjectStore, body: Body) -> set[str]:
    """The names of the document files the body's current manifest names (without their version)."""
    index = read_json(store, widget_prefix(body.siret) + INDEX_FILE)
    if index is None:
        return set()
    names = {stage["fichier"] for e in index["etablissements"] for year in e["exercices"] for stage in year["etapes"]}
    return {f"{m['stem']}.{m['ext']}" if (m := VERSION_NAME.match(name)) else name for name in names}


def named_files(index: dict) -> set[str]:
    """The files a body's manifest names: each stage's document and each establishment's series."""
    return {e["serie"] for e in index["etablissements"]} | {
        stage["fichier"] for e in index["etablissements"] for year in e["exercices"] for stage in year["etapes"]}


def publish_body(store: ObjectStore, body: Body, publisher: str, lines: pd.DataFrame,
                 function_plan: FunctionPlan | None = None, retention_days: float = 2.0) -> list[str]:
    """Write the body's widget files as versions, then ``index.json`` naming them: a widget reads
    either the old set or the new one. A withdrawn budget's file goes at once."""
    # A body with no published budget has no files at all (a withdrawn last budget removes them).
    files = body_files(body, publisher, lines, function_plan) if len(lines) else {}
    return publish_file_set(store, widget_prefix(body.siret).rstrip("/"), files, INDEX_FILE, retention_days)
