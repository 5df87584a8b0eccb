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

For citizens, each document also carries (``citizen_view``): the plain-language name of each
chapter and rubrique next to the official one (``core/data/budget_libelles_clairs.yaml``); the
amounts per inhabitant when the body has a legal population (a commune: INSEE's population
totale, its millésime named), none otherwise; the change from the previous year's document of
the same stage (``montant_precedent``, ``evolution``); two sentences saying where the money
comes from and where it goes, made from the real operations by chapter; and, for a commune's
principal budget, the median per inhabitant of the region's communes of the same population
band that published the same stage of the same year (``comparaison`` names the group; no
median under ``COMPARISON_MINIMUM`` communes).

Amounts are those the stage is about: realised (``BGT_MTREAL``) for a compte administratif,
voted (``BGT_MTPREV``, else new proposals + carried-over) for the other stages. Every file
is JSON with sorted keys, so a rerun gives the same bytes; a superseded version (a withdrawn
or corrected budget, a series that moved) is deleted at the switch (``load.versions``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from statistics import median

import pandas as pd
import yaml

from core.budget_stages import STAGE_ORDER
from core.jsonio import json_bytes
from core.keys import widget_folder
from core.populations import band_label, band_of, french_number
from core.registry import Body
from core.store import ObjectStore
from load.versions import VERSION_NAME, publish_file_set, read_json

log = logging.getLogger(__name__)

INDEX_FILE = "index.json"
FORMAT = "digor-budgets-widget/1"
STAGE_SLUGS = {
    "budget primitif": "bp",
    "budget supplémentaire": "bs",
    "décision modificative": "dm",
    "compte administratif": "ca",
}
_ZERO = Decimal("0")
PLAIN_NAMES_FILE = Path(__file__).resolve().parents[1] / "core" / "data" / "budget_libelles_clairs.yaml"
# Fewer communes than this in a group: no median (one or two budgets say nothing of a "usual" amount).
COMPARISON_MINIMUM = 3
# The key figures of a document: (code, label, direction, section or None for both).
KEY_FIGURES = (
    ("depenses", "Dépenses", "depenses", None),
    ("recettes", "Recettes", "recettes", None),
    ("depenses-fonctionnement", "Dépenses de fonctionnement", "depenses", "fonctionnement"),
    ("recettes-fonctionnement", "Recettes de fonctionnement", "recettes", "fonctionnement"),
    ("depenses-investissement", "Dépenses d'investissement", "depenses", "investissement"),
    ("recettes-investissement", "Recettes d'investissement", "recettes", "investissement"),
)
# How many chapters a sentence names (the largest first).
SENTENCE_CHAPTERS = 3

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


@cache
def plain_names() -> dict:
    """The project's plain-language names of chapters and rubriques (see the file's header)."""
    return yaml.safe_load(PLAIN_NAMES_FILE.read_text(encoding="utf-8"))


def chapter_plain_name(code: str, sense: str) -> str | None:
    names = plain_names()
    return (names["chapitres_par_sens"].get(sense, {}).get(code) or names["chapitres"].get(code)) if code else None


def rubrique_plain_name(nomenclature: str, rubrique: str) -> str | None:
    norme = str(nomenclature).partition("-")[0]
    plan = next((names for prefix, names in plain_names()["rubriques"].items() if norme.startswith(prefix)), {})
    return plan.get(rubrique)


def _per_inhabitant(amount: float, population: dict | None) -> float | None:
    if population is None:
        return None
    return float((Decimal(str(amount)) / population["nombre"]).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _evolution(amount: float, previous: float | None) -> float | None:
    """The change from ``previous`` as a fraction (0.052 = +5.2 %); None without a previous amount or from 0."""
    if previous is None or previous == 0:
        return None
    return round((amount - previous) / abs(previous), 3)  # a tenth of a percent: what the widget shows


def key_figures(document: dict) -> dict[str, float]:
    """The document's key figures by code (``KEY_FIGURES``): totals, then each section's."""
    sections = {s["section"]: s for s in document["sections"]}
    return {code: document["totaux"][side] if section is None else sections.get(section, {}).get(side, 0.0)
            for code, _, side, section in KEY_FIGURES}


def euros_text(amount: float) -> str:
    """``1 234 567 €`` (whole euros) as French text writes it."""
    return f"{french_number(int(Decimal(str(amount)).quantize(Decimal('1'), ROUND_HALF_UP)))}\u00a0€"


def _percent_text(share: float) -> str:
    return f"{share * 100:.0f}\u00a0%".replace(".", ",")


def _in_sentence(name: str) -> str:
    """A label inside a sentence: its first capital dropped unless the word is one (« État », « FCTVA »)."""
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def _named_shares(chapters: list[dict], sense: str) -> tuple[float, list[tuple[str, float]]]:
    real = [c for c in chapters if c["sens"] == sense and c["type"] == "réel" and c["montant"] > 0]
    total = sum(c["montant"] for c in real)
    by_name: dict[str, float] = defaultdict(float)
    for chapter in real:
        by_name[_in_sentence(chapter["libelle_clair"] or chapter["libelle"] or chapter["code"])] += chapter["montant"]
    ranked = sorted(by_name.items(), key=lambda item: (-item[1], item[0]))[:SENTENCE_CHAPTERS]
    return total, [(name, amount / total) for name, amount in ranked] if total else []


def _enumeration(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def money_sentences(document: dict) -> dict[str, str | None]:
    """Where the money comes from and where it goes, one French sentence each, from the real operations
    by chapter (None when the document has no real operation on that side)."""
    when = f"En {document['annee']}" if document["etape"] != "compte administratif" else f"En {document['annee']} (réalisé)"
    sentences: dict[str, str | None] = {}
    for key, sense, verb in (("provenance", "recette", "viennent surtout de"), ("destination", "dépense", "vont surtout à")):
        total, shares = _named_shares(document["par_chapitre"], sense)
        if not shares:
            sentences[key] = None
            continue
        what = "les recettes réelles" if sense == "recette" else "les dépenses réelles"
        listed = _enumeration([f"« {name} » ({_percent_text(share)})" for name, share in shares])
        sentences[key] = f"{when}, {what} ({euros_text(total)}) {verb} : {listed}."
    return sentences


def _previous_documents(documents: Mapping[tuple, dict]) -> dict[tuple, tuple]:
    """Each document's previous-year document of the same establishment and stage (the year's last
    décision modificative for a décision modificative), when there is one."""
    latest: dict[tuple, tuple] = {}
    for key in sorted(documents, key=lambda k: (k[0], k[1], k[2], k[3])):
        latest[(key[0], key[1], key[2])] = key
    previous = {}
    for key in documents:
        found = latest.get((key[0], key[1] - 1, key[2]))
        if found is not None:
            previous[key] = found
    return previous


def _with_previous(items: list[dict], previous: list[dict] | None, key: Callable[[dict], tuple],
                   population: dict | None) -> None:
    earlier: dict[tuple, float] = defaultdict(float)
    for item in previous or ():
        earlier[key(item)] += item["montant"]
    for item in items:
        before = round(earlier[key(item)], 2) if previous is not None and key(item) in earlier else None
        item.update(par_habitant=_per_inhabitant(item["montant"], population), montant_precedent=before,
                    evolution=_evolution(item["montant"], before))


def citizen_view(document: dict, previous: dict | None, population: dict | None,
                 comparison: dict | None = None) -> dict:
    """``document`` with what a citizen reads beside the official figures (see the module's docstring)."""
    for chapter in document["par_chapitre"]:
        chapter["libelle_clair"] = chapter_plain_name(chapter["code"], chapter["sens"])
    for function in document["par_fonction"]:
        function["rubrique_libelle_clair"] = rubrique_plain_name(document["nomenclature"], function["rubrique"])
    _with_previous(document["par_chapitre"], previous and previous["par_chapitre"],
                   lambda c: (c["sens"], c["section"], c["code"], c["type"]), population)
    _with_previous(document["par_nature"], previous and previous["par_nature"],
                   lambda n: (n["sens"], n["section"], n["code"], n["type"]), population)
    _with_previous(document["par_fonction"], previous and previous["par_fonction"],
                   lambda f: (f["sens"], f["section"], f["code"]), population)
    figures, before = key_figures(document), key_figures(previous) if previous else {}
    medians = (comparison or {}).get("medianes") or {}
    document["chiffres_cles"] = [
        {"code": code, "libelle": label, "montant": figures[code],
         "par_habitant": _per_inhabitant(figures[code], population),
         "montant_precedent": before.get(code), "evolution": _evolution(figures[code], before.get(code)),
         "mediane_par_habitant": medians.get(code)}
        for code, label, _, _ in KEY_FIGURES
    ]
    document["population"] = population
    document["precedent"] = None if previous is None else {
        "annee": previous["annee"], "etape": previous["etape"], "date_decision_dm": previous["date_decision_dm"]}
    document["comparaison"] = None if comparison is None else {
        k: comparison[k] for k in ("groupe", "organismes", "minimum")}
    document["en_clair"] = money_sentences(document)
    return document


# (year, stage) of a principal budget (no décision modificative) -> group key -> key figures per inhabitant by SIREN.
Comparisons = dict[tuple[int, str], dict[tuple, dict[str, dict[str, float]]]]


def _frame_amounts(lines: pd.DataFrame) -> pd.Series:
    """``line_amount`` of every line at once (the comparisons read every commune's lines)."""
    number = {c: pd.to_numeric(lines[c], errors="coerce") for c in
              ("BGT_MTREAL", "BGT_MTPREV", "BGT_MTPROPNOUV", "BGT_MTRARPREC")}
    voted = number["BGT_MTPREV"].where(number["BGT_MTPREV"].notna(),
                                       number["BGT_MTPROPNOUV"].fillna(0) + number["BGT_MTRARPREC"].fillna(0))
    return number["BGT_MTREAL"].fillna(0).where(lines["stage"] == "compte administratif", voted)


def comparisons(lines: pd.DataFrame, bodies: Iterable[Body], population_of: Callable[[Body], dict | None]) -> Comparisons:
    """The key figures per inhabitant of every commune's principal budgets with a population, by year
    and stage and by population band: what each commune's documents are compared with."""
    found: Comparisons = defaultdict(lambda: defaultdict(dict))
    with_population = {b.siret: (b, p) for b in bodies if b.kind == "commune" and (p := population_of(b)) is not None}
    if lines.empty or not with_population:
        return found
    chosen = lines[lines["siret"].isin(with_population.keys()) & (lines["dm_date"].fillna("") == "")]
    if chosen.empty:
        return found
    chosen = chosen.assign(_amount=_frame_amounts(chosen))
    sums = chosen.groupby(["siret", "exercice", "stage", "BGT_CODRD", "BGT_SECTION"])["_amount"].sum()
    totals: dict[tuple, dict[str, float]] = defaultdict(lambda: dict.fromkeys((c for c, *_ in KEY_FIGURES), 0.0))
    for (siret, year, stage, sense, section), amount in sums.items():
        side = "recettes" if sense == "recette" else "depenses"
        figures = totals[(siret, int(year), stage)]
        figures[side] += amount
        if f"{side}-{section}" in figures:
            figures[f"{side}-{section}"] += amount
    for (siret, year, stage), figures in totals.items():
        body, population = with_population[siret]
        group = (body.kind, band_of(population["nombre"]), population["annee"])
        found[(year, stage)][group][body.siren] = {code: round(v / population["nombre"], 2) for code, v in figures.items()}
    return found


def group_comparison(found: Comparisons, year: int, stage: str, group: tuple, region: str) -> dict:
    """What the communes of ``group`` show for their principal budget of ``year`` and ``stage``: the group
    named, how many communes it holds and its medians (None under ``COMPARISON_MINIMUM``)."""
    _, band, population_year = group
    peers = found.get((year, stage), {}).get(group, {})
    count = len(peers)
    medians = ({code: round(median(p[code] for p in peers.values()), 2) for code, *_ in KEY_FIGURES}
               if count >= COMPARISON_MINIMUM else None)
    stage_text = "compte administratif ou financier unique" if stage == "compte administratif" else stage
    return {
        "groupe": f"communes {band_label(band)} de la région ({region}, population légale {population_year}) "
                  f"ayant publié leur {stage_text} {year}",
        "organismes": count, "minimum": COMPARISON_MINIMUM, "medianes": medians,
    }


def comparison_of(found: Comparisons, body: Body, population: dict | None, year: int, stage: str,
                  region: str) -> dict | None:
    """The group a commune's principal budget of ``year`` and ``stage`` is compared with, and its medians."""
    if population is None or body.kind != "commune":
        return None
    return group_comparison(found, year, stage, (body.kind, band_of(population["nombre"]), population["annee"]), region)


def moved_comparisons(found: Comparisons, region: str, before: Mapping[str, dict] | None) -> tuple[dict[str, dict], set[str]]:
    """Every group's comparison as the widget files show it (by year, stage and group: the state kept
    from one night to the next), and the SIRENs of the communes whose comparison differs from
    ``before`` (all of them when None): a commune's files change when a peer's budget does."""
    shown: dict[str, dict] = {}
    moved: set[str] = set()
    for (year, stage), groups in found.items():
        for group, peers in groups.items():
            kind, (low, high), population_year = group
            key = f"{year}|{stage}|{kind}|{low}-{'' if high is None else high}|{population_year}"
            shown[key] = group_comparison(found, year, stage, group, region)
            if before is None or before.get(key) != shown[key]:
                moved.update(peers)
    return dict(sorted(shown.items())), moved


def _document_file(siret: str, year: int, stage: str, dm_date: str) -> str:
    suffix = f"-{dm_date}" if dm_date else ""
    return f"budget-{siret}-{year}-{STAGE_SLUGS[stage]}{suffix}.json"


def body_files(body: Body, publisher: str, lines: pd.DataFrame, function_plan: FunctionPlan | None = None,
               population: dict | None = None, found: Comparisons | None = None, region: str = "la région") -> dict[str, bytes]:
    """Every widget file of one body, by relative name, from its current published lines; ``population``
    its legal population (None: no amount per inhabitant), ``found`` what its budgets are compared with."""
    rows_of: dict[tuple, list[dict]] = defaultdict(list)
    for row in lines.to_dict("records"):
        rows_of[(row["siret"], int(row["exercice"]), row["stage"], row["dm_date"])].append(row)
    documents = {}
    for key, rows in rows_of.items():
        ordered = sorted(rows, key=lambda r: int(r["line_no"]))
        documents[key] = budget_document(ordered, function_plan(ordered[0]["nomenclature"], key[1]) if function_plan else None)
    previous = _previous_documents(documents)
    files: dict[str, bytes] = {}
    establishments: dict[str, dict] = {}
    series: dict[str, list[dict]] = defaultdict(list)
    for (siret, year, stage, dm_date), document in sorted(documents.items(), key=lambda i: (i[0][0], i[0][1], STAGE_ORDER[i[0][2]], i[0][3])):
        principal = document["budget"] == "principal" and siret == body.siret and not dm_date
        comparison = comparison_of(found or {}, body, population, year, stage, region) if principal else None
        earlier = documents[previous[(siret, year, stage, dm_date)]] if (siret, year, stage, dm_date) in previous else None
        document = citizen_view(document, earlier, population, comparison)
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
        "population": population,
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


def published_document_names(store: ObjectStore, body: Body) -> set[str] | None:
    """The names of the document files the body's current manifest names (without their version); None
    when the manifest cannot be read (garbled): then it is written again."""
    key = widget_prefix(body.siret) + INDEX_FILE
    try:
        index = read_json(store, key)
        if index is None:
            return set()
        names = named_stages(index)
    except (ValueError, KeyError, TypeError) as error:
        log.warning("%s cannot be read (%s): the body's budget widget files are written again", key, error)
        return None
    return {f"{m['stem']}.{m['ext']}" if (m := VERSION_NAME.match(name)) else name for name in names}


def named_stages(index: dict) -> set[str]:
    """The document files a body's manifest names, one per stage."""
    return {stage["fichier"] for e in index["etablissements"] for year in e["exercices"] for stage in year["etapes"]}


def named_files(index: dict) -> set[str]:
    """The files a body's manifest names: each stage's document and each establishment's series."""
    return {e["serie"] for e in index["etablissements"]} | named_stages(index)


def publish_body(store: ObjectStore, body: Body, publisher: str, lines: pd.DataFrame,
                 function_plan: FunctionPlan | None = None, retention_days: float = 2.0,
                 population: dict | None = None, found: Comparisons | None = None, region: str = "la région") -> list[str]:
    """Write the body's widget files as versions, then ``index.json`` naming them: a widget reads
    either the old set or the new one. A withdrawn budget's file goes at once."""
    # A body with no published budget has no files at all (a withdrawn last budget removes them).
    files = body_files(body, publisher, lines, function_plan, population, found, region) if len(lines) else {}
    return publish_file_set(store, widget_prefix(body.siret).rstrip("/"), files, INDEX_FILE, retention_days)
