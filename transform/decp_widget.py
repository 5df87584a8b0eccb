"""What the Focus marchés widget of a buyer reads: its contracts and indicators, as JSON.

Per buyer (SIRET), under ``public/widgets/marches/<siret>/``:

- ``contrats-<année>.json``: the buyer's contracts notified (signed) that year, current values,
  each with its modifications (``historique``: the values after each one);
- ``indicateurs.json``: per year and over all years, counts and amounts by category of
  purchase (travaux, fournitures, services), nature, procedure and CPV division, the top
  titulaires, the titulaires' départements, the share of contracts awarded to SMEs where the
  register knows the titulaire's size, the share of contracts with social or environmental
  considerations, concessions apart. Each year also lists all its titulaires (``titulaires``),
  so that a widget can merge any period of years exactly (top titulaires, départements, SMEs);
- ``index.json``: the manifest the widget reads first; it names the other files.

Keys and labels are French, as the widget shows them. Names of the buyer and titulaires are
not in the 2022 format: they follow ``transform.decp_table.resolved_name`` (registry, then the
SIRENE register under its diffusion rules, then a name the 2019 data sent, else ``null``: the
widget shows the identifier). A titulaire the register does not let be named is
``"[NON DIFFUSIBLE]"`` with ``non_diffusible`` true. The SME flag (``pme``) and the
``departement`` of a titulaire come from the optional ``entities`` lookup (SIRENE); ``null``
when unknown, and then left out of the SME share.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable

from core.keys import widget_prefix
from transform.decp_consolidate import current_objects, loaded, versions
from transform.decp_cpv import FOURNITURES, NON_CLASSE, SERVICES, TRAVAUX, category_of, division_label, division_of
from transform.decp_formats import CONCESSION
from transform.decp_table import TYPE_LABELS, NameLookup, resolved_name
from transform.sirene_lookup import NON_DIFFUSIBLE, Entity

EntityLookup = Callable[[str], Entity | None]

FORMAT_VERSION = 2
WIDGET_PREFIX = widget_prefix("marches")
INDEX_FILE, INDICATORS_FILE = "index.json", "indicateurs.json"
CATEGORIES = (TRAVAUX, FOURNITURES, SERVICES, NON_CLASSE)
TOP_TITULAIRES = 10
NO_SOCIAL, NO_ENVIRONMENTAL = "Pas de considération sociale", "Pas de considération environnementale"


def year_file(year: int) -> str:
    return f"contrats-{year}.json"


def buyer_prefix(siret: str) -> str:
    return f"{WIDGET_PREFIX}/{siret}/"


def _wrapped(data: dict, wrapper: str, inner: str) -> list[str] | None:
    value = data.get(wrapper)
    return list(value.get(inner) or []) if isinstance(value, dict) else None


def holder_entry(holder: dict, sent: dict, names: NameLookup | None = None,
                 entities: EntityLookup | None = None) -> dict:
    """A titulaire as the widget shows it: name under the diffusion rules, SME flag, département."""
    identifier = holder.get("id")
    name = resolved_name(names, identifier, holder.get("denominationSociale"), sent.get(identifier or ""))
    entity = entities(identifier) if entities and identifier else None
    return {
        "id": identifier,
        "type_identifiant": holder.get("typeIdentifiant"),
        "nom": name,
        "non_diffusible": name == NON_DIFFUSIBLE,
        "pme": entity.pme if entity is not None else None,
        "departement": entity.departement if entity is not None else None,
    }


def contract_entry(row: dict, names: NameLookup | None = None, entities: EntityLookup | None = None) -> dict:
    """One contract as the widget lists it, with its current values and its modifications."""
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
        "titulaires": [holder_entry(h, sent, names, entities) for h in last.holders],
        "considerations_sociales": social,
        "considerations_environnementales": environmental,
        "sous_traitance": data.get("sousTraitanceDeclaree"),
        "innovant": data.get("marcheInnovant"),
        "modifications": len(all_versions) - 1,
        "historique": [
            {
                "numero": version.modification_id,
                "objet": version.objet,
                "date": version.date,
                "date_publication": version.publication,
                "montant": version.amount,
                "duree_mois": version.duration,
                "titulaires": [holder_entry(h, sent, names, entities) for h in version.holders]
                if [h.get("id") for h in version.holders] != [h.get("id") for h in previous.holders] else None,
            }
            for previous, version in zip(all_versions, all_versions[1:])
        ],
        "format": row["version"],
    }


def add_entries(by_buyer: dict[str, list[dict]], kept: list[dict], current: set[tuple[str, int]],
                names: NameLookup | None = None, entities: EntityLookup | None = None) -> None:
    """Append the current contracts of ``kept`` (the year's kept rows, or a batch of them in their
    order) to their buyers' lists, unsorted; ``current``: the year's ``current_objects``."""
    for row in kept:
        if (row["file_key"], row["position"]) in current:
            by_buyer.setdefault(row["buyer"], []).append(contract_entry(row, names, entities))


def newest_first(by_buyer: dict[str, list[dict]]) -> dict[str, list[dict]]:
    for entries in by_buyer.values():
        entries.sort(key=lambda e: (e["date"] or "", e["id"], e["uid"]), reverse=True)
    return dict(by_buyer)


def entries_by_buyer(kept: list[dict], names: NameLookup | None = None,
                     entities: EntityLookup | None = None) -> dict[str, list[dict]]:
    """Current contracts of the year, per buyer SIRET, newest first."""
    by_buyer: dict[str, list[dict]] = {}
    add_entries(by_buyer, kept, current_objects(kept), names, entities)
    return newest_first(by_buyer)


def year_document(siret: str, year: int, entries: list[dict]) -> dict:
    return {"format": FORMAT_VERSION, "siret": siret, "annee": year, "contrats": entries}


def _amount(value) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _round(value: float) -> float:
    return round(float(value), 2)


def _has(values: list[str] | None, none_value: str) -> bool:
    return bool(values) and any(v != none_value for v in values)


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _sme_contract(entry: dict) -> bool | None:
    """Awarded to an SME: one titulaire is one; not: every titulaire is known not to be; else unknown."""
    flags = [holder.get("pme") for holder in entry["titulaires"]]
    if any(flag is True for flag in flags):
        return True
    return False if flags and all(flag is False for flag in flags) else None


def titulaire_totals(marches: list[dict]) -> list[dict]:
    """Every titulaire of the marchés with its count and amount, largest amount first."""
    holders: dict[tuple, dict] = {}
    for entry in marches:
        for holder in entry["titulaires"]:
            key = (holder["type_identifiant"], holder["id"])
            item = holders.setdefault(key, {
                "id": holder["id"], "type_identifiant": holder["type_identifiant"], "nom": holder["nom"],
                "non_diffusible": bool(holder.get("non_diffusible")), "pme": holder.get("pme"),
                "departement": holder.get("departement"), "contrats": 0, "montant": 0.0,
            })
            item["contrats"] += 1
            item["montant"] = _round(item["montant"] + _amount(entry["montant"]))
            for field in ("nom", "pme", "departement"):
                if item[field] is None:
                    item[field] = holder.get(field)
    return sorted(holders.values(), key=lambda h: (-h["montant"], -h["contrats"], h["id"] or ""))


def indicators(entries: list[dict], all_titulaires: bool = False) -> dict:
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

    def ranked(groups: dict[str, list[dict]], name: str) -> list[dict]:
        return sorted(({name: key, **totals(items)} for key, items in groups.items()),
                      key=lambda g: (-g["contrats"], -g["montant"], g[name]))

    by_category = grouped(lambda e: e["categorie"])
    by_division = grouped(lambda e: (e["cpv"] or {}).get("division") or "")
    holders = titulaire_totals(marches)
    by_departement: dict[str | None, list[dict]] = defaultdict(list)
    for holder in holders:
        by_departement[holder["departement"]].append(holder)
    informed = [e for e in marches if e["considerations_sociales"] is not None]
    social = sum(_has(e["considerations_sociales"], NO_SOCIAL) for e in informed)
    environmental = sum(_has(e["considerations_environnementales"], NO_ENVIRONMENTAL) for e in informed)
    sme = [(e, _sme_contract(e)) for e in marches]
    sme_known = [e for e, flag in sme if flag is not None]
    sme_yes = [e for e, flag in sme if flag]
    holders_known = [h for h in holders if h["pme"] is not None]
    result = {
        **totals(marches),
        "par_categorie": [{"categorie": c, **totals(by_category[c])} for c in CATEGORIES if by_category.get(c)],
        "par_nature": ranked(grouped(lambda e: e["nature"] or "Non renseignée"), "nature"),
        "par_procedure": ranked(grouped(lambda e: e["procedure"] or "Non renseignée"), "procedure"),
        "par_division_cpv": sorted(
            ({"division": d or None, "libelle": division_label(d or None), **totals(items)} for d, items in by_division.items()),
            key=lambda g: (-g["montant"], -g["contrats"], g["division"] or ""),
        ),
        "top_titulaires": holders[:TOP_TITULAIRES],
        "par_departement": sorted(
            ({"departement": d, "titulaires": len(items), "contrats": sum(h["contrats"] for h in items),
              "montant": _round(sum(h["montant"] for h in items))} for d, items in by_departement.items()),
            key=lambda g: (-g["montant"], -g["titulaires"], g["departement"] or "~"),
        ),
        "pme": {
            "contrats_renseignes": len(sme_known),
            "contrats_pme": len(sme_yes),
            "part_contrats": _share(len(sme_yes), len(sme_known)),
            "montant_renseigne": _round(sum(_amount(e["montant"]) for e in sme_known)),
            "montant_pme": _round(sum(_amount(e["montant"]) for e in sme_yes)),
            "part_montant": _share(sum(_amount(e["montant"]) for e in sme_yes), sum(_amount(e["montant"]) for e in sme_known)),
            "titulaires_renseignes": len(holders_known),
            "titulaires_pme": sum(1 for h in holders_known if h["pme"]),
        },
        "considerations": {
            "contrats_renseignes": len(informed),
            "sociales": social,
            "environnementales": environmental,
            "part_sociales": _share(social, len(informed)),
            "part_environnementales": _share(environmental, len(informed)),
        },
        "concessions": {
            "contrats": len(concessions),
            "valeur_globale": _round(sum(_amount(e["montant"]) for e in concessions)),
        },
    }
    if all_titulaires:
        result["titulaires"] = holders
    return result


def indicators_document(siret: str, years: dict[int, list[dict]]) -> dict:
    everything = [entry for year in sorted(years) for entry in years[year]]
    return {
        "format": FORMAT_VERSION,
        "siret": siret,
        "annees": {str(year): indicators(entries, all_titulaires=True) for year, entries in sorted(years.items(), reverse=True)},
        "toutes_annees": indicators(everything),
        "notes": {
            "montant": "Montant HT actuel des marchés (après modifications), en euros.",
            "top_titulaires": "Montant des marchés dont l'entreprise est titulaire, non réparti entre cotitulaires.",
            "considerations": "Part des marchés au format 2022 (le format 2019 ne les renseigne pas) ayant au moins une considération.",
            "pme": "Part des marchés attribués à au moins une PME, parmi ceux dont la taille des titulaires est connue "
                   "du répertoire SIRENE (catégorie d'entreprise de l'INSEE, sinon moins de 250 salariés).",
            "departements": "Département de l'établissement titulaire selon le répertoire SIRENE.",
        },
    }


def index_document(siret: str, name: str | None, publisher: str, years: dict[int, list[dict]], widget: dict) -> dict:
    return {
        "format": FORMAT_VERSION,
        "siret": siret,
        "nom": name,
        "publie_par": publisher,
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
