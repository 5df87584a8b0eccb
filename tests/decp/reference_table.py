"""The DECP table's rows made one dict per (version x titulaire), the plain way: the reference that
``transform.decp_table.table_columns`` (column-wise, what the chain publishes) must agree with."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from operator import itemgetter

import pandas as pd

from transform.decp_consolidate import current_objects, loaded, versions
from transform.decp_cpv import category_of
from transform.decp_formats import CONCESSION
from transform.decp_table import (
    TYPE_LABELS, NameLookup, anomalies, columns, joined, resolved_name, source_label,
)


def contract_rows(row: dict, current: bool, names: NameLookup | None = None, data: dict | None = None) -> list[dict]:
    """Every (version x titulaire) row of one kept object (``data``: its object, when already ``loaded``)."""
    data, kind = loaded(row) if data is None else data, row["kind"]
    sent = json.loads(row["names_json"]) if row["names_json"] != "{}" else {}
    concession = kind == CONCESSION
    lieu = data.get("lieuExecution") or {}
    common = {
        "uid": row["uid"],
        "id": row["id"],
        "typeContrat": TYPE_LABELS[kind],
        "versionFormat": row["version"],
        "acheteur_id": row["buyer"],
        "acheteur_nom": resolved_name(names, row["buyer"], sent.get(row["buyer"]) if row["buyer"] else None),
        "nature": data.get("nature"),
        "objet": data.get("objet"),
        "codeCPV": data.get("codeCPV"),
        "categorieAchat": category_of(data.get("codeCPV")),
        "procedure": data.get("procedure"),
        "techniques": joined(data, "techniques", "technique"),
        "modalitesExecution": joined(data, "modalitesExecution", "modaliteExecution"),
        "idAccordCadre": data.get("idAccordCadre"),
        "marcheInnovant": data.get("marcheInnovant"),
        "ccag": data.get("ccag"),
        "offresRecues": data.get("offresRecues"),
        "attributionAvance": data.get("attributionAvance"),
        "tauxAvance": data.get("tauxAvance"),
        "typeGroupementOperateurs": data.get("typeGroupementOperateurs"),
        "sousTraitanceDeclaree": data.get("sousTraitanceDeclaree"),
        "nombreActesSousTraitance": len(data.get("actesSousTraitance") or []) if not concession else None,
        "lieuExecution_code": lieu.get("code"),
        "lieuExecution_typeCode": lieu.get("typeCode"),
        "lieuExecution_nom": lieu.get("nom"),
        "dateNotification": data.get("dateNotification"),
        "dateSignature": data.get("dateSignature"),
        "dateDebutExecution": data.get("dateDebutExecution"),
        "datePublicationDonnees": data.get("datePublicationDonnees"),
        "montantSubventionPublique": data.get("montantSubventionPublique"),
        "formePrix": data.get("formePrix"),
        "typesPrix": joined(data, "typesPrix", "typePrix"),
        "origineUE": data.get("origineUE"),
        "origineFrance": data.get("origineFrance"),
        "considerationsSociales": joined(data, "considerationsSociales", "considerationSociale"),
        "considerationsEnvironnementales": joined(data, "considerationsEnvironnementales", "considerationEnvironnementale"),
        "source": source_label(row),
        "anomalies": anomalies(row),
    }
    all_versions = versions(data, kind, row["version"])
    rows = []
    for version in all_versions:
        for holder in version.holders:
            rows.append(
                {
                    **common,
                    "dureeMois": version.duration,
                    "montant": None if concession else version.amount,
                    "valeurGlobale": version.amount if concession else None,
                    "titulaire_id": holder.get("id"),
                    "titulaire_typeIdentifiant": holder.get("typeIdentifiant"),
                    "titulaire_denominationSociale": resolved_name(
                        names, holder.get("id"), holder.get("denominationSociale"), sent.get(holder.get("id") or "")),
                    "nombreTitulaires": len(version.holders),
                    "modification_id": version.modification_id,
                    "objetModification": version.objet,
                    "dateModification": version.date,
                    "datePublicationModification": version.publication,
                    "donneesActuelles": current and version is all_versions[-1],
                }
            )
    return rows


def iter_table_rows(kept: list[dict], names: NameLookup | None = None,
                    current: set[tuple[str, int]] | None = None) -> Iterator[dict]:
    """The table's rows one contract at a time (a year's rows are never all held as dicts, each object
    parsed as its rows are made); ``current``: the year's ``current_objects`` when ``kept`` is a batch of it."""
    current = current_objects(kept) if current is None else current
    for row in kept:
        yield from contract_rows(row, (row["file_key"], row["position"]) in current, names, loaded(row))


def table_rows(kept: list[dict], names: NameLookup | None = None) -> list[dict]:
    return list(iter_table_rows(kept, names))


def table_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """The rows as an object-typed frame in the schema's column order (ints stay ints)."""
    names = columns()
    cells = itemgetter(*names)  # a row of ``contract_rows`` has every column: one C call per row

    def values(row: dict) -> tuple:
        try:
            return cells(row)
        except KeyError:
            return tuple(row.get(name) for name in names)

    table = list(zip(*map(values, rows))) or [() for _ in names]
    return pd.DataFrame(dict(zip(names, map(list, table))), columns=names, dtype=object)
