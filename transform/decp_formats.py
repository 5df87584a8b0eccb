"""Reading a DECP export: JSON or XML, 2022 or 2019 format, detected from the content.

A file is read into a list of objects (marchés and contrats de concession) in a neutral
shape: JSON as parsed, XML as nested dicts (a repeated element becomes a list). The format
of the whole file is detected from the fields its objects use, never from its name: the
2022 format (arrêtés du 22 décembre 2022) has fields the 2019 one never had (techniques,
considerations, offresRecues...) and lost some (names, lieuExecution.nom, objetModification).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from core.jsonio import JsonTooDeep, load_json
from core.safe_xml import XmlRefused, parse_xml

FORMAT_2022 = "2022"
FORMAT_2019 = "2019"
MARCHE = "marche"
CONCESSION = "contrat-concession"
KINDS = (MARCHE, CONCESSION)

# Fields only one of the two formats has (at the level of a marché or concession).
MARKERS_2022 = frozenset(
    {
        "techniques", "technique", "modalitesExecution", "modaliteExecution", "marcheInnovant", "ccag",
        "offresRecues", "attributionAvance", "tauxAvance", "typeGroupementOperateurs", "sousTraitanceDeclaree",
        "actesSousTraitance", "modificationsActesSousTraitance", "typesPrix", "typePrix", "origineUE",
        "origineFrance", "considerationsSociales", "considerationsEnvironnementales",
    }
)
MARKERS_2019 = frozenset({"uid", "acheteur.nom", "autoriteConcedante.nom", "lieuExecution.nom", "denominationSociale",
                          "objetModification"})
FORME_PRIX_2022 = frozenset({"Unitaire", "Forfaitaire", "Mixte"})
FORME_PRIX_2019 = frozenset({"Ferme", "Ferme et actualisable", "Révisable"})
NATURES_2019_ONLY = frozenset({"Accord-cadre", "Marché subséquent"})

CONTRACT_KEYS = frozenset({"acheteur", "acheteur.id", "autoriteConcedante", "titulaires", "concessionnaires",
                           "dateNotification", "dateSignature", "codeCPV"})

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class UnreadableExport(ValueError):
    """The file cannot be read as a DECP export at all; it stays in raw, reported."""


@dataclass
class RawObject:
    position: int  # 1-based, in reading order within the file
    kind: str
    data: dict


@dataclass
class ParsedExport:
    format: str
    syntax: str
    objects: list[RawObject]
    notes: list[str] = field(default_factory=list)
    scores: dict = field(default_factory=dict)


def _decode(data: bytes) -> tuple[str, list[str]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), ["fichier non UTF-8 : lu en Windows-1252"]


def _kind_of(item: dict, default: str = MARCHE) -> str:
    declared = str(item.get("_type") or "").lower()
    if "concession" in declared:
        return CONCESSION
    if any(item.get(key) not in (None, "", [], {}) for key in ("autoriteConcedante", "concessionnaires", "dateSignature")):
        return CONCESSION
    if item.get("acheteur") or item.get("titulaires") or "marché" in declared or "marche" in declared:
        return MARCHE
    return default


def _listify(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _objects_from_container(container) -> list[tuple[str, object]]:
    """(kind, item) pairs of a ``marches`` value: an object of lists (2022) or a list (2019)."""
    if isinstance(container, dict):
        if any(key in container for key in KINDS):
            pairs = [(MARCHE, item) for item in _listify(container.get(MARCHE))]
            pairs += [(CONCESSION, item) for item in _listify(container.get(CONCESSION))]
            return pairs
        return [(_kind_of(container), container)]
    return [(_kind_of(item) if isinstance(item, dict) else MARCHE, item) for item in _listify(container)]


def _read_json(text: str) -> list[tuple[str, object]]:
    try:
        document = load_json(text)
    except JsonTooDeep as error:
        raise UnreadableExport(f"JSON refusé : {error}") from None
    except json.JSONDecodeError as error:
        raise UnreadableExport(f"JSON illisible : {error.msg} (ligne {error.lineno}, colonne {error.colno})") from None
    if isinstance(document, dict) and "marches" in document:
        return _objects_from_container(document["marches"])
    if isinstance(document, dict) and any(key in document for key in KINDS):
        return _objects_from_container(document)
    if isinstance(document, list) and any(_looks_like_contract(item) for item in document):
        return _objects_from_container(document)
    raise UnreadableExport("JSON sans « marches » ni objet de marché : ce n'est pas un export DECP")


def _looks_like_contract(item) -> bool:
    return isinstance(item, dict) and bool(set(item) & CONTRACT_KEYS)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def element_value(element) -> object:
    """An XML element as JSON-like data: its text, or a dict of its children (repeated -> list)."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        text = (element.text or "").strip()
        return text or None
    grouped: dict[str, list] = {}
    for child in children:
        grouped.setdefault(_local(child.tag), []).append(element_value(child))
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def _parse_xml(data: bytes):
    """The root element; a document declaring a DTD or using entities is refused (``core.safe_xml``)."""
    try:
        return parse_xml(data, remove_comments=True)
    except XmlRefused as error:
        raise UnreadableExport(f"XML refusé : {error}") from None


def _read_xml(data: bytes, notes: list[str]) -> list[tuple[str, object]]:
    try:
        root = _parse_xml(data)
    except etree.XMLSyntaxError as error:
        stripped = _CONTROL.sub(b"", data)
        if stripped == data:
            raise UnreadableExport(f"XML illisible : {error}") from None
        try:
            root = _parse_xml(stripped)
        except etree.XMLSyntaxError as second:
            raise UnreadableExport(f"XML illisible : {second}") from None
        notes.append("caractères de contrôle interdits en XML retirés avant lecture")
    if _local(root.tag) in KINDS:
        value = element_value(root)
        return [(_local(root.tag), value if isinstance(value, dict) else {})]
    if _local(root.tag) != "marches":
        raise UnreadableExport(f"XML dont la racine est <{_local(root.tag)}> et non <marches>")
    pairs = []
    for child in root:
        name = _local(child.tag)
        if name in KINDS:
            value = element_value(child)
            pairs.append((name, value if isinstance(value, dict) else {}))
        elif name:
            notes.append(f"élément <{name}> inconnu sous <marches> ignoré")
    return pairs


def _marker_keys(item: dict) -> set[str]:
    keys = set(item)
    for parent in ("acheteur", "autoriteConcedante", "lieuExecution"):
        if isinstance(item.get(parent), dict):
            keys |= {f"{parent}.{key}" for key in item[parent]}
    for holder in _listify(item.get("titulaires")) + _listify(item.get("concessionnaires")):
        if isinstance(holder, dict):
            keys |= set(holder)
            for inner in holder.values():
                if isinstance(inner, dict):
                    keys |= set(inner)
    for modification in _listify(item.get("modifications")):
        if isinstance(modification, dict):
            keys |= set(modification)
            if isinstance(modification.get("modification"), dict):
                keys |= set(modification["modification"])
    return keys


def detect_format(objects: list[dict]) -> tuple[str, dict]:
    """2022 or 2019, by counting the fields only one format has, over the whole file.

    Returns the format and the scores. A file with no marker at all is read as 2022, the
    format in force since 2024.
    """
    scores: Counter = Counter()
    for item in objects:
        if not isinstance(item, dict):
            continue
        keys = _marker_keys(item)
        scores[FORMAT_2022] += len(keys & MARKERS_2022)
        scores[FORMAT_2019] += len(keys & MARKERS_2019)
        forme = item.get("formePrix")
        scores[FORMAT_2022] += forme in FORME_PRIX_2022
        scores[FORMAT_2019] += forme in FORME_PRIX_2019
        scores[FORMAT_2019] += item.get("nature") in NATURES_2019_ONLY
    chosen = FORMAT_2019 if scores[FORMAT_2019] > scores[FORMAT_2022] else FORMAT_2022
    return chosen, {FORMAT_2022: scores[FORMAT_2022], FORMAT_2019: scores[FORMAT_2019]}


def read_export(data: bytes) -> ParsedExport:
    """Parse one export file; raises ``UnreadableExport`` with a French reason."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    notes: list[str] = []
    if start in (b"{", b"["):
        text, notes = _decode(data)
        pairs, syntax = _read_json(text), "json"
    elif start == b"<":
        pairs, syntax = _read_xml(data, notes), "xml"
    elif not start:
        raise UnreadableExport("fichier vide")
    else:
        raise UnreadableExport("ni JSON ni XML")
    objects = [
        RawObject(position, kind, item if isinstance(item, dict) else {"__valeur__": item})
        for position, (kind, item) in enumerate(pairs, start=1)
    ]
    fmt, scores = detect_format([o.data for o in objects])
    return ParsedExport(fmt, syntax, objects, notes, scores)
