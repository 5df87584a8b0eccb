"""What the Focus marchés widget of a buyer reads: its contracts and indicators, as JSON.

Per buyer (SIRET), under ``public/widgets/marches/<siret>/``:

- ``contrats-<année>.json``: the buyer's contracts notified (signed) that year, current values;
- ``indicateurs.json``: per year and over all years, counts and amounts by category of
  purchase (travaux, fournitures, services), procedure and CPV division, the top titulaires,
  the share of contracts with social or environmental considerations, concessions apart;
- ``index.json``: the manifest the widget reads first; it names the other files.

Keys and labels are French, as the widget shows them. Names of the buyer and titulaires are
not in the 2022 format: they come from the optional ``names`` lookup and stay ``null`` when
unknown (the widget shows the identifier), until the SIRENE enrichment fills them.
"""

from __future__ import annotations

import json
from collections import defaultdict

from transform.decp_consolidate import current_objects, loaded, versions
from transform.decp_cpv import FOURNITURES, NON_CLASSE, SERVICES, TRAVAUX, category_of, division_label, division_of
from transform.decp_formats import CONCESSION
from transform.decp_table import TYPE_LABELS, NameLookup

FORMAT_VERSION = 1
WIDGET_PREFIX = "public/widgets/marches"
INDEX_FILE, INDICATORS_FILE = "index.json", "indicateurs.json"
CATEGORIES = (TRAVAUX, FOURNITURES, SERVICES, NON_CLASSE)
TOP_TITULAIRES = 10
NO_SOCIAL, NO_ENVIRONMENTAL = "Pas de considération sociale", "Pas de considération environnementale"


def json_bytes(document) -> bytes:
    """Deterministic bytes: same content, same file."""
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def year_file(year: int) -> str:
    return f"contrats-{year}.json"


def buyer_prefix(siret: str) -> str:
    return f"{WIDGET_PREFIX}/{siret}/"


def _wrapped(data: dict, wrapper: str, inner: str) -> list[str] | None:
    value = data.get(wrapper)
    return list(value.get(inner) or []) if isinstance(value, dict) else None


def _name(names: NameLookup | None, identifier: str | None, sent: dict) -> str | None:
    if not identifier:
        return None
    return sent.get(identifier) or (names(identifier) if names else None)


def contract_entry(row: dict, names: NameLookup | None = None) -> dict:
    """One contract as the widget lists it, with its current values."""
    data, kind = loaded(row), row["kind"]
    sent = json.loads(row["names_json"])
    all_versions = versions(data, kind, row["version"])
    first, last = all_versions[0], all_versions[-1]
    cpv = data.get("codeCPV")
    social = _wrapped(data, "considerationsSociales", "considerationSociale")
    environmental = _wrapped(data, "considerationsEnvironnementales", "considerationEnvironnementale")
    return {
        "uid": row["uid"],
        "id": row["id"],
        "type": TYPE_LABELS[kind],
        "objet": data.get("objet"),
        "nature": data.get("nature"),
        "categorie": None if kind == CONCESSION else category_of(cpv),
        "procedure": data.get("procedure"),
        "cpv": {"code": cpv, "division": division_of(cpv), "libelle": division_label(division_of(cpv))} if cpv else None,
        "montant": last.amount,
        "montant_initial": first.amount,
        "duree_mois": last.duration,
        "date": row["date"],
        "date_publication": data.get("datePublicationDonnees"),
        "titulaires": [
            {"id": h.get("id"), "type_identifiant": h.get("typeIdentifiant"),
             "nom": h.get("denominationSociale") or _name(names, h.get("id"), sent)}
            for h in last.holders
        ],
        "considerations_sociales": social,
        "considerations_environnementales": environmental,
        "sous_traitance": data.get("sousTraitanceDeclaree"),
        "innovant": data.get("marcheInnovant"),
        "modifications": len(all_versions) - 1,
        "format": row["version"],
    }


def entries_by_buyer(kept: list[dict], names: NameLookup | None = None) -> dict[str, list[dict]]:
    """Current contracts of the year, per buyer SIRET, newest first."""
    current = current_objects(kept)
    by_buyer: dict[str, list[dict]] = defaultdict(list)
    for row in kept:
        if (row["file_key"], row["position"]) in current:
            by_buyer[row["buyer"]].append(contract_entry(row, names))
    for entries in by_buyer.values():
        entries.sort(key=lambda e: (e["date"] or "", e["id"], e["uid"]), reverse=True)
    return dict(by_buyer)


def year_document(siret: str, year: int, entries: list[dict]) -> dict:
    return {"format": FORMAT_VERSION, "siret": siret, "annee": year, "contrats": entries}


def _amount(value) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _round(value: float) -> float:
    return round(float(value), 2)


def _has(values: list[str] | None, none_value: str) -> bool:
    return bool(values) and any(v != none_value for v in values)


def indicators(entries: list[dict]) -> dict:
    """Counts and amounts of a set of contracts (one year, or all years)."""
    marches = [e for e in entries if e["type"] == TYPE_LABELS["marche"]]
    concessions = [e for e in entries if e["type"] != TYPE_LABELS["marche"]]

    def grouped(key) -> dict[str, list[dict]]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for entry in marches:
            groups[key(entry)].append(entry)
        return groups

    def totals(items: list[dict]) -> dict:
        return {"contrats": len(items), "montant": _round(sum(_amount(e["montant"]) for e in items))}

    by_category = grouped(lambda e: e["categorie"])
    by_procedure = grouped(lambda e: e["procedure"] or "Non renseignée")
    by_division = grouped(lambda e: (e["cpv"] or {}).get("division") or "")
    holders: dict[tuple, dict] = {}
    for entry in marches:
        for holder in entry["titulaires"]:
            key = (holder["type_identifiant"], holder["id"])
            item = holders.setdefault(key, {"id": holder["id"], "type_identifiant": holder["type_identifiant"],
                                            "nom": holder["nom"], "contrats": 0, "montant": 0.0})
            item["contrats"] += 1
            item["montant"] = _round(item["montant"] + _amount(entry["montant"]))
            item["nom"] = item["nom"] or holder["nom"]
    informed = [e for e in marches if e["considerations_sociales"] is not None]
    social = sum(_has(e["considerations_sociales"], NO_SOCIAL) for e in informed)
    environmental = sum(_has(e["considerations_environnementales"], NO_ENVIRONMENTAL) for e in informed)
    return {
        **totals(marches),
        "par_categorie": [{"categorie": c, **totals(by_category[c])} for c in CATEGORIES if by_category.get(c)],
        "par_procedure": sorted(
            ({"procedure": p, **totals(items)} for p, items in by_procedure.items()),
            key=lambda g: (-g["contrats"], -g["montant"], g["procedure"]),
        ),
        "par_division_cpv": sorted(
            ({"division": d or None, "libelle": division_label(d or None), **totals(items)} for d, items in by_division.items()),
            key=lambda g: (-g["montant"], -g["contrats"], g["division"] or ""),
        ),
        "top_titulaires": sorted(holders.values(), key=lambda h: (-h["montant"], -h["contrats"], h["id"] or ""))[:TOP_TITULAIRES],
        "considerations": {
            "contrats_renseignes": len(informed),
            "sociales": social,
            "environnementales": environmental,
            "part_sociales": round(social / len(informed), 4) if informed else None,
            "part_environnementales": round(environmental / len(informed), 4) if informed else None,
        },
        "concessions": {
            "contrats": len(concessions),
            "valeur_globale": _round(sum(_amount(e["montant"]) for e in concessions)),
        },
    }


def indicators_document(siret: str, years: dict[int, list[dict]]) -> dict:
    everything = [entry for year in sorted(years) for entry in years[year]]
    return {
        "format": FORMAT_VERSION,
        "siret": siret,
        "annees": {str(year): indicators(entries) for year, entries in sorted(years.items(), reverse=True)},
        "toutes_annees": indicators(everything),
        "notes": {
            "montant": "Montant HT actuel des marchés (après modifications), en euros.",
            "top_titulaires": "Montant des marchés dont l'entreprise est titulaire, non réparti entre cotitulaires.",
            "considerations": "Part des marchés au format 2022 (le format 2019 ne les renseigne pas) ayant au moins une considération.",
        },
    }


def index_document(siret: str, name: str | None, publisher: str, years: dict[int, list[dict]], widget: dict) -> dict:
    return {
        "format": FORMAT_VERSION,
        "siret": siret,
        "nom": name,
        "editeur": publisher,
        "widget": widget,
        "indicateurs": INDICATORS_FILE,
        "annees": {
            str(year): {
                "fichier": year_file(year),
                "contrats": len(entries),
                "montant": _round(sum(_amount(e["montant"]) for e in entries if e["type"] == TYPE_LABELS["marche"])),
            }
            for year, entries in sorted(years.items(), reverse=True)
        },
    }
