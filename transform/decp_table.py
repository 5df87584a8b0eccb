"""The flat DECP table: one row per contract x version x titulaire (``schemas/decp-table-1.0.json``).

Version 0 holds the values as first published; version n the values after the first n
modifications. ``donneesActuelles`` marks the rows of the current version, so that filtering
on it gives one row per contract and titulaire with the current values.

Names of buyers and titulaires are not in the 2022 format. ``resolved_name`` gives, in order:

1. the ``names`` lookup (identifier -> name): the chain passes the registry's bodies, then
   the SIRENE register under its diffusion rules (``chains.decp.name_lookup``); a person
   who asked not to be published comes back as ``[NON DIFFUSIBLE]`` and that wins over
   anything the data sent;
2. else the name the 2019-format data carried (``denominationSociale``, ``acheteur.nom``),
   kept only where the register has no name for the identifier;
3. else ``None``: never invented.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import msgspec
import pandas as pd

from core.schema_files import load_schema_descriptor
from transform.decp_consolidate import current_objects, versions
from transform.decp_cpv import category_of
from transform.decp_formats import CONCESSION

NameLookup = Callable[[str], "str | None"]
TABLE_SCHEMA = "decp-table"
TYPE_LABELS = {"marche": "Marché", CONCESSION: "Contrat de concession"}
SEPARATOR = "; "


def columns() -> list[str]:
    return [field["name"] for field in load_schema_descriptor(TABLE_SCHEMA)["fields"]]


def joined(data: dict, wrapper: str, inner: str) -> str | None:
    """``{"techniques": {"technique": ["A", "B"]}}`` -> "A; B"."""
    values = (data.get(wrapper) or {}).get(inner) if isinstance(data.get(wrapper), dict) else None
    return SEPARATOR.join(values) if values else None


def anomalies(row: dict) -> str | None:
    if row["notes_json"] == "[]":  # most objects
        return None
    notes = json.loads(row["notes_json"])
    return SEPARATOR.join(f"{n['champ']} : {n['message']}" for n in notes) or None


def source_label(row: dict) -> str:
    return f"{row['source']}:{row['file_name']}"


def resolved_name(names: NameLookup | None, identifier: str | None, *sent: str | None) -> str | None:
    """The name to publish for ``identifier``: the lookup's (registry, SIRENE), else the first name sent."""
    found = names(identifier) if names and identifier else None
    if found:
        return found
    for name in sent:
        if name:
            return name
    return None


class _Read(msgspec.Struct):
    """The fields of a staged object the table reads (any JSON value each, absent: None)."""

    nature: object = None
    objet: object = None
    codeCPV: object = None
    procedure: object = None
    techniques: object = None
    modalitesExecution: object = None
    idAccordCadre: object = None
    marcheInnovant: object = None
    ccag: object = None
    offresRecues: object = None
    attributionAvance: object = None
    tauxAvance: object = None
    typeGroupementOperateurs: object = None
    sousTraitanceDeclaree: object = None
    actesSousTraitance: object = None
    lieuExecution: object = None
    dureeMois: object = None
    dateNotification: object = None
    dateSignature: object = None
    dateDebutExecution: object = None
    datePublicationDonnees: object = None
    montant: object = None
    valeurGlobale: object = None
    montantSubventionPublique: object = None
    formePrix: object = None
    typesPrix: object = None
    origineUE: object = None
    origineFrance: object = None
    titulaires: object = None
    concessionnaires: object = None
    considerationsSociales: object = None
    considerationsEnvironnementales: object = None
    modifications: object = None


_READ = msgspec.json.Decoder(_Read).decode
_READ_FIELDS = _Read.__struct_fields__


def _read(text: str) -> _Read:
    """What ``loaded`` reads of a staged object, as one struct (no dict of the whole object)."""
    try:
        return _READ(text)
    except msgspec.DecodeError:
        data = json.loads(text)
        return _Read(**{name: data[name] for name in _READ_FIELDS if name in data})


_NOTHING_SENT: dict = {}  # read only


def _nameless(identifier: str) -> None:
    """The lookup of a table made without names."""
    return None


def _joined(value, inner: str) -> str | None:
    """``joined`` of the wrapper's value."""
    values = value.get(inner) if isinstance(value, dict) else None
    return SEPARATOR.join(values) if values else None


# The columns that are the same on every row of an object, in ``table_columns``' order.
_COMMON = ("uid", "id", "typeContrat", "versionFormat", "acheteur_id", "acheteur_nom", "nature", "objet", "codeCPV",
           "categorieAchat", "procedure", "techniques", "modalitesExecution", "idAccordCadre", "marcheInnovant",
           "ccag", "offresRecues", "attributionAvance", "tauxAvance", "typeGroupementOperateurs",
           "sousTraitanceDeclaree", "nombreActesSousTraitance", "lieuExecution_code", "lieuExecution_typeCode",
           "lieuExecution_nom", "dateNotification", "dateSignature", "dateDebutExecution", "datePublicationDonnees",
           "montantSubventionPublique", "formePrix", "typesPrix", "origineUE", "origineFrance",
           "considerationsSociales", "considerationsEnvironnementales", "source", "anomalies")


def table_columns(kept: list[dict], names: NameLookup | None = None,
                  current: set[tuple[str, int]] | None = None) -> dict[str, list]:
    """The table's rows (every version x titulaire of each kept object) as columns (name -> values, the schema's order): each object read into a
    struct of the fields the table takes, its values appended to the columns, no dict per row; names resolved
    as ``resolved_name`` does, written out in the loop (two of its calls an object were a tenth of the time)."""
    current = current_objects(kept) if current is None else current
    out: dict[str, list] = {name: [] for name in columns()}
    common_columns = [out[name] for name in _COMMON]
    (durations, amounts, global_values, holder_ids, holder_kinds, holder_names, holder_counts, modification_ids,
     modification_objects, modification_dates, modification_publications, actual) = (
        out[name] for name in ("dureeMois", "montant", "valeurGlobale", "titulaire_id", "titulaire_typeIdentifiant",
                               "titulaire_denominationSociale", "nombreTitulaires", "modification_id",
                               "objetModification", "dateModification", "datePublicationModification",
                               "donneesActuelles"))
    categories: dict = {}
    named = names or _nameless
    for row in kept:
        data, kind, buyer = _read(row["object_json"]), row["kind"], row["buyer"]
        sent = json.loads(row["names_json"]) if row["names_json"] != "{}" else _NOTHING_SENT
        concession = kind == CONCESSION
        lieu = data.lieuExecution or _NOTHING_SENT
        cpv = data.codeCPV
        if cpv not in categories:
            categories[cpv] = category_of(cpv)
        common = (
            row["uid"], row["id"], TYPE_LABELS[kind], row["version"], buyer,
            (named(buyer) or sent.get(buyer) or None) if buyer else None, data.nature, data.objet, cpv,
            categories[cpv], data.procedure,
            _joined(data.techniques, "technique"), _joined(data.modalitesExecution, "modaliteExecution"),
            data.idAccordCadre, data.marcheInnovant, data.ccag, data.offresRecues, data.attributionAvance,
            data.tauxAvance, data.typeGroupementOperateurs, data.sousTraitanceDeclaree,
            len(data.actesSousTraitance or ()) if not concession else None,
            lieu.get("code"), lieu.get("typeCode"), lieu.get("nom"), data.dateNotification, data.dateSignature,
            data.dateDebutExecution, data.datePublicationDonnees, data.montantSubventionPublique, data.formePrix,
            _joined(data.typesPrix, "typePrix"), data.origineUE, data.origineFrance,
            _joined(data.considerationsSociales, "considerationSociale"),
            _joined(data.considerationsEnvironnementales, "considerationEnvironnementale"),
            source_label(row), anomalies(row),
        )
        if concession:
            fields = {"valeurGlobale": data.valeurGlobale, "dureeMois": data.dureeMois,
                      "concessionnaires": data.concessionnaires, "modifications": data.modifications}
        else:
            fields = {"montant": data.montant, "dureeMois": data.dureeMois, "titulaires": data.titulaires,
                      "modifications": data.modifications}
        all_versions = versions(fields, kind, row["version"])
        last = all_versions[-1] if (row["file_key"], row["position"]) in current else None
        count = 0
        for version in all_versions:
            holders = version.holders
            size = len(holders)
            if not size:
                continue
            amount, modification = version.amount, version.modification_id
            duration, objet, day, publication = version.duration, version.objet, version.date, version.publication
            is_last = version is last
            for holder in holders:
                identifier = holder.get("id")
                durations.append(duration)
                amounts.append(None if concession else amount)
                global_values.append(amount if concession else None)
                holder_ids.append(identifier)
                holder_kinds.append(holder.get("typeIdentifiant"))
                holder_names.append((named(identifier) if identifier else None) or holder.get("denominationSociale")
                                    or sent.get(identifier or "") or None)
                holder_counts.append(size)
                modification_ids.append(modification)
                modification_objects.append(objet)
                modification_dates.append(day)
                modification_publications.append(publication)
                actual.append(is_last)
            count += size
        if count == 1:
            for column, value in zip(common_columns, common):
                column.append(value)
        elif count:
            for column, value in zip(common_columns, common):
                column.extend([value] * count)
    return out


def column_frame(columns_: dict[str, list]) -> pd.DataFrame:
    """An object-typed frame of ``table_columns``' columns (ints stay ints)."""
    return pd.DataFrame(columns_, columns=list(columns_), dtype=object)
