"""One raw DECP object -> the shape of its format (2.0.2 for 2022 data, 1.5.0 for 2019 data).

The walk is driven by digor's copy of the format's JSON Schema: every field the schema knows
is cleaned by the rule of its kind (dates, SIRET, CPV, amounts, enums, booleans...), list
wrappers are put back where exports forget them (``titulaires: [{...}]`` ->
``[{"titulaire": {...}}]``, ``technique: [...]`` -> ``techniques: {"technique": [...]}``),
XML single elements become lists, empty optional lists and placeholders are left out, and
fields the format does not have are dropped. Every change is noted; nothing is invented: a
2019 record stays a 2019 record (1.5.0), without the twelve fields 2019 never had.
"""

from __future__ import annotations

import copy
import json
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Annotated, Literal, Union

import msgspec

from transform.decp_clean import (
    check_operator_id,
    clean_amount,
    clean_boolean,
    clean_cpv,
    clean_date,
    clean_integer,
    clean_number,
    clean_share,
    clean_siret,
    clean_text,
    enum_cleaner,
    is_placeholder,
)
from transform.decp_formats import CONCESSION, FORMAT_2019, FORMAT_2022, MARCHE
from validate.decp_jsonschema import item_errors, load_schema

VERSION_OF_FORMAT = {FORMAT_2022: "2.0.2", FORMAT_2019: "1.5.0"}
TYPE_2019 = {MARCHE: "Marché", CONCESSION: "Contrat de concession"}
AMOUNT_FIELDS = frozenset({"montant", "valeurGlobale", "montantSubventionPublique", "depensesInvestissement"})
# Flat 2019-style lists sent at the level of a 2022 marché, and the wrapper field they belong to.
FLAT_LISTS_2022 = {
    "technique": "techniques",
    "modaliteExecution": "modalitesExecution",
    "typePrix": "typesPrix",
    "considerationSociale": "considerationsSociales",
    "considerationEnvironnementale": "considerationsEnvironnementales",
}
# Dropped without a note: technical or derived fields, and names (2022 has none; kept aside).
SILENT_FIELDS = frozenset({"_type", "$schema", "source", "uuid", "uid", "nom", "denominationSociale", "__valeur__"})
SIRET_PATTERN = "^[0-9]{14}$"
# Optional lists of annex items that may be dropped item by item (see drop_unusable_parts).
OPTIONAL_PARTS = {MARCHE: ("actesSousTraitance", "modificationsActesSousTraitance"), CONCESSION: ("donneesExecution",)}


@dataclass(frozen=True)
class Note:
    champ: str
    message: str

    def to_dict(self) -> dict:
        return {"champ": self.champ, "message": self.message}


@dataclass
class Normalised:
    kind: str
    version: str
    data: dict
    notes: list[Note]
    names: dict[str, str] = field(default_factory=dict)  # identifier -> name, as sent (2019 data)
    valid: bool = False  # known valid against its format already (the happy path's types hold the schema)


@dataclass
class _Context:
    root: dict
    version: str
    reference: date
    notes: list[Note] = field(default_factory=list)

    def note(self, path: str, message: str | None) -> None:
        if message:
            self.notes.append(Note(path or "(objet)", message))


def _resolve(root: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _empty(value) -> bool:
    return value in ([], {}) or (not isinstance(value, (dict, list)) and is_placeholder(value))


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def _flatten(values: list) -> list:
    """``values`` with nested lists spliced in (``values`` itself, not a copy, when none is nested)."""
    if not any(isinstance(value, list) for value in values):
        return values
    flat = []
    for value in values:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key) -> str:
    return f"{path}/{key}" if path else str(key)


def _is_object(node: dict) -> bool:
    return "properties" in node and node.get("type", "object") == "object"


def _wrapper_key(node: dict) -> str | None:
    """The field of a one-field wrapper item (``{"titulaire": {...}}``), else None."""
    properties = node.get("properties", {})
    if len(properties) == 1 and node.get("required") == list(properties):
        return next(iter(properties))
    return None


def _cleaner(node: dict, name: str) -> tuple[Callable[[object], tuple], bool]:
    """The cleaning rule of a scalar field, and whether it is a date (cleaned against the night)."""
    kind, pattern, enum = node.get("type"), node.get("pattern", ""), node.get("enum")
    if pattern == SIRET_PATTERN:
        clean = clean_siret
    elif name == "codeCPV":
        clean = clean_cpv
    elif enum:
        clean = enum_cleaner(enum)
    elif kind == "integer":
        clean = clean_integer
    elif kind == "number" and name in AMOUNT_FIELDS:
        clean = clean_amount
    elif kind == "number" and node.get("maximum") == 1:
        clean = clean_share
    elif kind == "number":
        clean = clean_number
    elif kind == "boolean":
        clean = clean_boolean
    else:
        clean = clean_text
    return clean, r"\d{4}" in pattern


# A field's cleaning, compiled once per schema node: ``(value, path, ctx) -> cleaned or None``.
Conform = Callable[[object, str, _Context], object]
CACHED_VALUES = 1 << 16  # cleaned texts remembered per field (dates, SIRET, CPV, enums repeat in a file)


class _Compiler:
    """Turns the format's schema into one cleaning function per field, so that an object is walked
    once along precomputed steps (no schema lookups, ``$ref`` resolutions or rule choice per value)."""

    def __init__(self, root: dict):
        self.root = root
        self.compiled: dict[tuple, Conform] = {}

    def compile(self, node: dict, name: str) -> Conform:
        node = _resolve(self.root, node)
        is_object = _is_object(node)
        key = (id(node), None if is_object else name)
        if key not in self.compiled:
            slot: list[Conform] = []
            self.compiled[key] = lambda value, path, ctx: slot[0](value, path, ctx)  # a schema that refers to itself
            if is_object:
                slot.append(self.object(node))
            elif node.get("type") == "array" or "items" in node:
                slot.append(self.array(node, name))
            else:
                slot.append(self.scalar(node, name))
            self.compiled[key] = slot[0]
        return self.compiled[key]

    def object(self, node: dict) -> Conform:
        properties = node["properties"]
        known = properties.keys()
        children = [(key, self.compile(child, key)) for key, child in properties.items()]
        only = next(iter(properties)) if len(properties) == 1 else None
        several = len(properties) > 1
        operator = "typeIdentifiant" in properties
        empty_lists = [key for key in node.get("required", [])
                       if (lambda child: child.get("type") == "array" and not child.get("minItems"))(
                           _resolve(self.root, properties.get(key, {})))]

        def conform(value, path: str, ctx: _Context):
            if not isinstance(value, dict):
                if _empty(value):
                    return None
                if only is None:
                    ctx.note(path, f"objet attendu, valeur {_show(value)} retirée")
                    return None
                value = {only: value}  # a wrapper sent as its content (a list, a SIRET...)
            if several and len(value) == 1:
                key, inner = next(iter(value.items()))
                if key not in properties and isinstance(inner, dict):
                    value = inner  # a 2022-style wrapper around a 2019 item
            result = {}
            for key, child in children:  # the format's order, whatever the order of the export
                if key in value:
                    cleaned = child(value[key], f"{path}/{key}" if path else key, ctx)
                    if cleaned is not None:
                        result[key] = cleaned
            if not known >= value.keys():
                for key, item in value.items():
                    if key not in properties and key not in SILENT_FIELDS and not _empty(item):
                        ctx.note(_join(path, key), f"champ « {key} » absent du format {ctx.version}, retiré")
            if operator and isinstance(result.get("id"), str):
                result["id"] = re.sub(r"\s", "", result["id"])
                ctx.note(_join(path, "id"), check_operator_id(result.get("typeIdentifiant"), result["id"]))
            for key in empty_lists:
                if key not in result:
                    result[key] = []  # a required list that may be empty (1.5.0 modifications)
            return result or None

        return conform

    def array(self, node: dict, name: str) -> Conform:
        items = _resolve(self.root, node.get("items", {}))
        conform_item = self.compile(items, name)
        wrapper = _wrapper_key(items)
        item_properties = items.get("properties", {})

        def container(value: dict) -> list | None:
            """The items of a list sent as an XML container element (``<titulaires><titulaire>``)."""
            if wrapper and wrapper in value:
                return [{wrapper: item} for item in _listify(value[wrapper])]
            if len(value) != 1:
                return None
            key, inner = next(iter(value.items()))
            inner_items = _flatten(_listify(inner))
            child = _resolve(self.root, item_properties.get(key, {}))
            if inner_items and all(isinstance(i, dict) for i in inner_items) and not _is_object(child):
                return inner_items
            return None

        def conform(value, path: str, ctx: _Context):
            if _empty(value):
                return None
            if isinstance(value, dict):
                value = container(value) or [value]
            values = _flatten(_listify(value))
            result = []
            for index, item in enumerate(values):
                if wrapper and isinstance(item, dict) and wrapper not in item and not _empty(item):
                    item = {wrapper: item}
                cleaned = conform_item(item, _join(path, index), ctx)
                if cleaned is None:
                    if not _empty(item) and not (isinstance(item, dict) and all(_empty(v) for v in item.values())):
                        ctx.note(_join(path, index), f"élément inutilisable {_show(item)} retiré de la liste")
                    continue
                if cleaned in result:
                    ctx.note(_join(path, index), "élément en double retiré de la liste")
                    continue
                result.append(cleaned)
            return result or None

        return conform

    def scalar(self, node: dict, name: str) -> Conform:
        clean, dated = _cleaner(node, name)
        remembered = dated or clean in (clean_siret, clean_cpv) or bool(node.get("enum"))
        cache: dict = {}

        def conform(value, path: str, ctx: _Context):
            text = type(value) is str  # most values: none of the list and object checks apply
            if not text and isinstance(value, list) and len(value) == 1 and not isinstance(value[0], (list, dict)):
                value = value[0]
                text = type(value) is str
            if not text and isinstance(value, (dict, list)):
                if not _empty(value):
                    ctx.note(path, f"valeur simple attendue, {_show(value)} retiré")
                return None
            if remembered and text:
                key = (value, ctx.reference) if dated else value
                found = cache.get(key)
                if found is None:
                    found = clean_date(value, ctx.reference) if dated else clean(value)
                    if len(cache) < CACHED_VALUES:
                        cache[key] = found
            else:
                found = clean_date(value, ctx.reference) if dated else clean(value)
            cleaned, note = found
            if note:
                ctx.note(path, note)
            return cleaned

        return conform


@lru_cache(maxsize=None)
def _conform_root(version: str, kind: str) -> Conform:
    """The compiled cleaning of a whole marché or contrat de concession of ``version``."""
    schema = load_schema(version)
    return _Compiler(schema).object(_resolve(schema, schema["definitions"][kind]))


def _unflatten(data: dict) -> dict:
    """``{"acheteur.id": x}`` (seen in 2019 files) -> ``{"acheteur": {"id": x}}``; ``data`` itself when
    no key is dotted (most objects)."""
    if not any("." in key for key in data):
        return data
    result = {}
    for key, value in data.items():
        if "." in key and not key.startswith("$"):
            parent, child = key.split(".", 1)
            target = result.setdefault(parent, {})
            if isinstance(target, dict):
                target.setdefault(child, value)
            continue
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = {**value, **result[key]}
        else:
            result[key] = value
    return result


def sent_names(data: dict) -> dict[str, str]:
    """Names found in the object as sent (2019 data, or 2022 exports that add them)."""
    names = {}
    for role in ("acheteur", "autoriteConcedante"):
        party = data.get(role)
        if isinstance(party, dict) and party.get("id") and isinstance(party.get("nom"), str):
            names[str(party["id"]).strip()] = party["nom"].strip()
    for holders in ("titulaires", "concessionnaires"):
        for holder in _flatten(_listify(data.get(holders) or [])):
            if isinstance(holder, dict) and len(holder) == 1 and isinstance(next(iter(holder.values())), dict):
                holder = next(iter(holder.values()))
            if isinstance(holder, dict) and holder.get("id") and isinstance(holder.get("denominationSociale"), str):
                names[re.sub(r"\s", "", str(holder["id"]))] = holder["denominationSociale"].strip()
    return {k: v for k, v in names.items() if v}


def normalise_object(raw: dict, kind: str, fmt: str, reference: date, owned: bool = False) -> Normalised:
    """Clean one object into the shape of its format; ``reference`` is the night (no future dates).

    ``raw`` is left as it was unless ``owned`` (the caller gives it up: no copy is made).
    """
    version = VERSION_OF_FORMAT[fmt]
    schema = load_schema(version)
    data = _unflatten(raw if owned else copy.deepcopy(raw))
    data.pop("_type", None)  # not part of the published 2022 objects; set again for 2019 ones
    if fmt == FORMAT_2022 and kind == MARCHE:
        for flat, wrapper in FLAT_LISTS_2022.items():
            if flat in data and wrapper not in data:
                data[wrapper] = data.pop(flat)
    ctx = _Context(schema, version, reference)
    names = sent_names(data)
    result = _conform_root(version, kind)(data, "", ctx) or {}
    drop_unusable_parts(result, kind, version, ctx)
    if fmt == FORMAT_2019:
        result = {"_type": TYPE_2019[kind], **result}
    return Normalised(kind, version, result, ctx.notes, names)


def drop_unusable_parts(data: dict, kind: str, version: str, ctx: _Context) -> None:
    """Remove the items of optional annex lists that fail the format, keeping the contract.

    An incomplete acte de sous-traitance (real exports send them without amount or dates)
    or yearly execution data must not hide the award itself: the item is left out, with
    one note per error, and the marché or concession is judged on its own fields. The
    ``modifications`` are not annexes: a broken one rejects the object, because the
    current amount, duration and holders depend on it.
    """
    for name in OPTIONAL_PARTS[kind]:
        items = data.get(name)
        if not isinstance(items, list):
            continue
        kept = []
        for index, item in enumerate(items):
            errors = item_errors(item, version, kind, name)
            if not errors:
                kept.append(item)
                continue
            for error in errors:
                where = _join(_join(name, index), error.champ) if error.champ else _join(name, index)
                ctx.note(where, f"élément retiré de « {name} » : {error.message}")
        if kept or name in ctx.root["definitions"][kind].get("required", []):
            data[name] = kept
        else:
            del data[name]


# The happy path: a valid 2022-format object, as its JSON text, that the cleaning would leave as it is.
# msgspec decodes it into types made from the format's schema (each field's JSON type and constraints:
# enums, patterns, lengths, bounds, no field the format lacks, the required ones present, no empty list),
# then each value is checked against its field's cleaning rule (the rules ``normalise_object`` applies, a
# text's verdict remembered) and each list for twice the same item: when all hold, what the cleaning would
# return is the object as decoded, without a note, and valid against the schema (every keyword of the
# schema's objects is one of ``HELD_KEYWORDS``, held by the types or the checks). Anything else (a field to
# unwrap, a placeholder, a date to repair, an annex list to check item by item, an error to explain...)
# goes the whole way.

Check = Callable[[object], bool]
_UNSET = msgspec.UNSET
HELD_KEYWORDS = frozenset({"type", "title", "description", "$comment", "$ref", "properties", "required", "items",
                           "additionalProperties", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
                           "minItems", "maxItems", "uniqueItems"})
_SPACE = re.compile(r"\s")


def _unique(values: list) -> bool:
    if len(values) < 2:
        return True
    try:
        return len(set(values)) == len(values)
    except TypeError:  # objects
        return all(values[i] != values[j] for i in range(len(values)) for j in range(i))


class _Happy:
    """msgspec types and their value checks, made from the format's schema for one night (dates are
    cleaned against it). Each object's check is one generated function reading its fields in turn, the
    texts the cleaning leaves as they are looked up in place (a function call only for a text not seen
    yet); a field whose every value passes (an enum, a boolean) is not checked; a text's pattern is
    checked with its rule, once per text, rather than by msgspec at every value."""

    def __init__(self, root: dict, reference: date):
        self.root, self.reference = root, reference
        self.count = 0
        self.holds_schema = True  # every keyword met is held by the types or the checks

    def node(self, node: dict, name: str, depth: int = 0) -> tuple[object, Check, object] | None:
        """(msgspec type, check, how the check may be inlined: ``_ALWAYS``, the set of texts it keeps, or None)."""
        node = _resolve(self.root, node)
        if depth > 8:
            return None
        self.holds_schema &= HELD_KEYWORDS >= node.keys()
        if _is_object(node):
            return self.object(node, name, (), depth)
        if node.get("type") == "array" or "items" in node:
            return self.array(node, name, depth)
        enum = node.get("enum")
        if node.get("type") in (None, "string") and all(isinstance(v, str) for v in enum or [""]):
            if enum:
                check, kept = self.scalar(node, name)
                return Literal[tuple(enum)], check, _ALWAYS if all(map(check, enum)) else kept
            check, kept = self.scalar(node, name, node.get("pattern"))
            return Annotated[str, msgspec.Meta(min_length=node.get("minLength"),
                                               max_length=node.get("maxLength"))], check, kept
        kind = {"integer": int, "number": float, "boolean": bool}.get(node.get("type"))
        if kind is None:
            return None
        check, _ = self.scalar(node, name)
        if kind is bool:
            return kind, check, _ALWAYS if check(True) and check(False) else None
        return Annotated[kind, msgspec.Meta(ge=node.get("minimum"), le=node.get("maximum"))], check, None

    def scalar(self, node: dict, name: str, pattern: str | None = None) -> tuple[Check, set]:
        """The check of a value and the texts it keeps; ``pattern``: a text must match it too (as msgspec's
        ``Meta(pattern=...)``: searched, unanchored)."""
        clean, dated = _cleaner(node, name)
        reference = self.reference
        search = re.compile(pattern).search if pattern else None
        kept: set = set()  # the texts the cleaning leaves as they are
        numbers: set = set()  # the same of numbers: an integer as it is, a float by its exact spelling (-0.0 too)

        def check(value) -> bool:
            kind = type(value)
            if kind is str:
                if value in kept:
                    return True
                if search is not None and not search(value):
                    return False
            elif kind is int:
                if value in numbers:
                    return True
            elif kind is float and value.hex() in numbers:
                return True
            cleaned, note = clean_date(value, reference) if dated else clean(value)
            if note is not None or cleaned != value or type(cleaned) is not kind:
                return False
            if kind is str:
                if len(kept) < CACHED_VALUES:
                    kept.add(value)
            elif kind is int or kind is float:
                if len(numbers) < CACHED_VALUES:
                    numbers.add(value if kind is int else value.hex())
            return True

        return check, kept

    def object(self, node: dict, name: str, skipped: tuple[str, ...], depth: int) -> tuple[object, Check, None]:
        required = set(node.get("required", []))
        fields, checks = [], []
        for key, child in node["properties"].items():
            made = None if key in skipped or not key.isidentifier() else self.node(child, key, depth + 1)
            if made is None:
                continue  # a field the happy path leaves to the whole way: present, the object goes there
            kind, check, inline = made
            fields.append((key, kind) if key in required else (key, Union[kind, msgspec.UnsetType], _UNSET))
            checks.append((key, check, inline))
        self.count += 1
        struct = msgspec.defstruct(f"Happy{self.count}_{name}", fields, forbid_unknown_fields=True, kw_only=True)
        holder = "typeIdentifiant" in node["properties"] and "id" in [key for key, _, _ in checks]
        return struct, _object_check(checks, holder), None

    def array(self, node: dict, name: str, depth: int) -> tuple[object, Check, _Items] | None:
        made = self.node(node.get("items", {}), name, depth + 1)
        if made is None:
            return None
        kind, item_ok, inline = made

        def check(values: list) -> bool:
            return all(map(item_ok, values)) and _unique(values)

        bounds = msgspec.Meta(min_length=max(1, node.get("minItems", 1)), max_length=node.get("maxItems"))
        # at least one item: the cleaning drops an empty list
        return Annotated[list[kind], bounds], check, _Items(item_ok, inline)

    def root_type(self, kind: str) -> tuple[msgspec.json.Decoder, Check, bool]:
        node = _resolve(self.root, self.root["definitions"][kind])
        self.holds_schema &= HELD_KEYWORDS >= node.keys()
        struct, check, _ = self.object(node, kind, OPTIONAL_PARTS[kind], 0)
        return msgspec.json.Decoder(struct), check, self.holds_schema


_ALWAYS = object()  # a field whose every value passes its check: not checked


@dataclass(frozen=True)
class _Items:
    """A list field's items: their check and how it may be inlined (as a field's)."""

    check: Check
    inline: object


def _holder_refused(item) -> bool:
    """A titulaire whose identifier the cleaning would change or note (spaces; a SIRET that cannot be one)."""
    kind = item.typeIdentifiant if isinstance(getattr(item, "typeIdentifiant", None), str) else None
    return bool(_SPACE.search(item.id) or check_operator_id(kind, item.id))


def _object_check(checks: list[tuple[str, Check, object]], holder: bool) -> Check:
    """One function checking an object's fields in the format's order: false at the first value its rule
    would change, and for an object with no field present (the cleaning drops it); a titulaire's
    identifier is checked as the cleaning checks it."""
    scope: dict = {"UNSET": _UNSET, "refused": _holder_refused}
    lines = ["def check(item):", "    present = False"]
    scope["unique"] = _unique
    for index, (key, check, inline) in enumerate(checks):
        scope[f"ok{index}"], scope[f"kept{index}"] = check, inline
        lines += [f"    v = item.{key}" if not keyword.iskeyword(key) else f"    v = getattr(item, {key!r})",
                  "    if v is not UNSET:"]
        if isinstance(inline, _Items):  # the list's items checked here, then the list for twice the same
            scope[f"ok{index}"], scope[f"kept{index}"] = inline.check, inline.inline
            if isinstance(inline.inline, set):
                lines += ["        for x in v:", f"            if x not in kept{index} and not ok{index}(x): return False"]
            elif inline.inline is not _ALWAYS:
                lines += ["        for x in v:", f"            if not ok{index}(x): return False"]
            lines.append("        if len(v) > 1 and not unique(v): return False")
        elif isinstance(inline, set):
            lines.append(f"        if v not in kept{index} and not ok{index}(v): return False")
        elif inline is not _ALWAYS:
            lines.append(f"        if not ok{index}(v): return False")
        lines.append("        present = True")
    if holder:
        lines.append("    if isinstance(item.id, str) and refused(item): return False")
    lines.append("    return present")
    exec(compile("\n".join(lines), "<happy path check>", "exec"), scope)
    return scope["check"]


@lru_cache(maxsize=16)
def _happy(version: str, kind: str, reference: date) -> tuple[msgspec.json.Decoder, Check, bool]:
    return _Happy(load_schema(version), reference).root_type(kind)


def happy_value(text: bytes, kind: str, fmt: str, reference: date) -> tuple[msgspec.Struct, bool] | None:
    """The object whose JSON text is ``text`` as decoded by the happy path's types, when the cleaning would
    leave it as it is (see above), and whether it is then known valid against its format; None when the
    cleaning would not leave it, or may not. Its fields in the format's order; ``_type`` is not published."""
    if fmt != FORMAT_2022:
        return None
    decoder, check, holds_schema = _happy(VERSION_OF_FORMAT[fmt], kind, reference)
    try:
        value = decoder.decode(text)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return (value, holds_schema) if check(value) else None


def normalise_text(text: bytes, kind: str, fmt: str, reference: date) -> Normalised | None:
    """``normalise_object`` of the object whose JSON text is ``text``, when the cleaning would leave it as
    it is (``happy_value``); None when it would not, or may not."""
    happy = happy_value(text, kind, fmt, reference)
    if happy is None:
        return None
    data = msgspec.to_builtins(happy[0])
    data.pop("_type", None)
    return Normalised(kind, VERSION_OF_FORMAT[fmt], data, [], valid=happy[1])
