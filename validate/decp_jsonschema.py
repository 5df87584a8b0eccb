"""JSON Schema validation of DECP objects and files against digor's copies of the formats.

``schemas/decp-2.0.2.json`` (the regulatory 2022 format) and ``schemas/decp-1.5.0.json``
(the 2019 format, for the history) are digor's transcriptions of the official schemas, tested
equal to them, so that a night never depends on a remote schema. Errors are reported one per
problem with a JSON path and a French message, as the rejects report shows them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import fastjsonschema
from jsonschema import Draft4Validator, Draft7Validator
from jsonschema.exceptions import ValidationError

from core.schema_files import SCHEMAS_DIR

VALIDATORS = {"http://json-schema.org/draft-07/schema#": Draft7Validator,
              "http://json-schema.org/draft-04/schema#": Draft4Validator}


@dataclass(frozen=True)
class ObjectError:
    """One problem of one object: where (``champ``), what kind (``code``), in words (``message``)."""

    champ: str
    code: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def schema_file(version: str) -> Path:
    path = SCHEMAS_DIR / f"decp-{version}.json"
    if not path.is_file():
        available = sorted(p.stem.removeprefix("decp-") for p in SCHEMAS_DIR.glob("decp-[0-9]*.json"))
        raise ValueError(f"no DECP JSON Schema for version {version!r}; available: {', '.join(available)}")
    return path


@lru_cache(maxsize=None)
def load_schema(version: str) -> dict:
    return json.loads(schema_file(version).read_text(encoding="utf-8"))


def _resolve(root: dict, pointer: str):
    node = root
    for part in pointer.lstrip("#/").split("/"):
        if part:
            node = node[part]
    return node


def _inline(root: dict, node):
    """The schema tree with every ``$ref`` replaced by its target (siblings dropped, as draft-04/07
    do): validation gives the same errors without resolving references on every object."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(root, _resolve(root, node["$ref"]))
        return {key: _inline(root, value) for key, value in node.items() if key != "definitions"}
    if isinstance(node, list):
        return [_inline(root, item) for item in node]
    return node


@lru_cache(maxsize=None)
def _compiled(version: str, pointer: str):
    """A validator of the subschema at ``pointer`` (``#`` for a whole file)."""
    schema = load_schema(version)
    return VALIDATORS[schema["$schema"]](_inline(schema, _resolve(schema, pointer)))


@lru_cache(maxsize=None)
def _fast(version: str, pointer: str):
    """The same subschema compiled to Python code (fastjsonschema): the happy path, checked once;
    jsonschema only explains the instances it refuses."""
    schema = load_schema(version)
    return fastjsonschema.compile({"$schema": schema["$schema"], **_inline(schema, _resolve(schema, pointer))},
                                  formats={}, use_default=False)


def _errors(version: str, pointer: str, instance) -> list[ValidationError]:
    """Every error of ``instance`` against the subschema at ``pointer``: none after one fast pass when valid."""
    try:
        _fast(version, pointer)(instance)
        return []
    except fastjsonschema.JsonSchemaException:
        return list(_compiled(version, pointer).iter_errors(instance))


def _pointer(kind: str | None) -> str:
    return f"#/definitions/{kind}" if kind else "#"


def item_errors(item, version: str, kind: str, field: str) -> list["ObjectError"]:
    """Errors of one item of a list field (an acte de sous-traitance, yearly execution data...)."""
    pointer = f"#/definitions/{kind}/properties/{field}/items"
    errors = [ObjectError(_field(e), e.validator, french_message(e)) for e in _errors(version, pointer, item)]
    return sorted(set(errors), key=lambda e: (e.champ, e.code, e.message))


def _path(error: ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path)


def _show(value, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def french_message(error: ValidationError) -> str:
    """The error in the words of the rejects report."""
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"champ obligatoire « {missing} » absent ou vide"
    if kind == "enum":
        return f"valeur {_show(value)} hors de la liste : {', '.join(map(str, expected))}"
    if kind == "pattern":
        return f"valeur {_show(value)} au format invalide (attendu : {expected})"
    if kind == "type":
        return f"valeur {_show(value)} de type invalide (attendu : {expected})"
    if kind == "minimum":
        return f"valeur {_show(value)} inférieure au minimum {expected}"
    if kind == "maximum":
        return f"valeur {_show(value)} supérieure au maximum {expected}"
    if kind == "maxLength":
        return f"texte de {len(value)} caractères (maximum {expected})"
    if kind == "minLength":
        return f"texte de {len(value)} caractères (minimum {expected})"
    if kind == "minItems":
        return f"liste vide ou trop courte (au moins {expected} élément(s))"
    if kind == "uniqueItems":
        return "liste avec des éléments en double"
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {}))) if isinstance(value, dict) else []
        return f"champ(s) inconnu(s) du format : {', '.join(extra)}"
    if kind == "anyOf":
        return "objet qui n'est ni un marché ni un contrat de concession valide"
    return error.message


def _field(error: ValidationError) -> str:
    path = _path(error)
    if error.validator == "required" and "'" in error.message:
        missing = error.message.split("'")[1]
        return f"{path}/{missing}" if path else missing
    return path


def object_errors(obj: dict, kind: str, version: str) -> list[ObjectError]:
    """Every error of one marché or contrat de concession, in a stable order."""
    errors = [ObjectError(_field(e), e.validator, french_message(e)) for e in _errors(version, _pointer(kind), obj)]
    return sorted(set(errors), key=lambda e: (e.champ, e.code, e.message))


# Where the object lists of a DECP file are, per format version.
OBJECT_LISTS = {"2.0.2": (("marches", "marche"), ("marches", "contrat-concession")), "1.5.0": (("marches",),)}


def _schema_at(schema: dict, path: tuple[str, ...]) -> dict:
    node = schema
    for part in path:
        node = node["properties"][part]
    return node


def document_errors(document: dict, version: str) -> list[ObjectError]:
    """Every error of a whole DECP file, as a full validation finds them, in linear time.

    The file is checked as three parts that together are the schema: its envelope (with each
    object list cut to its first item), every object against the list's item schema, and
    ``uniqueItems`` of the lists that declare it, by comparing canonical JSON texts (the
    validator's pairwise comparison is quadratic: minutes on a year of a region).
    """
    schema = load_schema(version)
    errors: list[ObjectError] = []
    envelope = json.loads(json.dumps(document))
    lists = []
    for path in OBJECT_LISTS[version]:
        parent, items = envelope, document
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
            items = items.get(part) if isinstance(items, dict) else None
        items = items.get(path[-1]) if isinstance(items, dict) else None
        if isinstance(parent, dict) and isinstance(items, list):
            parent[path[-1]] = items[:1]
            lists.append((path, items))
    errors += [ObjectError(_path(e), e.validator, french_message(e)) for e in _errors(version, "#", envelope)]
    for path, items in lists:
        pointer = "#/" + "/".join(f"properties/{part}" for part in path) + "/items"
        for index, item in enumerate(items[1:], start=1):
            prefix = "/".join(path) + f"/{index}"
            errors += [ObjectError(f"{prefix}/{_path(e)}".rstrip("/"), e.validator, french_message(e))
                       for e in _errors(version, pointer, item)]
        if _schema_at(schema, path).get("uniqueItems"):
            texts = [json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items]
            if len(set(texts)) != len(texts):
                errors.append(ObjectError("/".join(path), "uniqueItems", "liste avec des éléments en double"))
    return sorted(set(errors), key=lambda e: (e.champ, e.code, e.message))


def staged_document_errors(version: str, lists: dict[tuple[str, ...], list[str]], staged_version: str,
                           repeated: set[tuple[str, ...]] | None = None) -> list[ObjectError]:
    """Every error of a DECP file made of objects staging already validated one by one against
    ``staged_version``, given as canonical JSON texts per object list (``OBJECT_LISTS`` paths).

    Against that same version each object is not parsed nor validated again: the envelope is
    checked with each list's first object, and ``uniqueItems`` by comparing the texts. Against
    another version (a run targeting a newer schema) the whole file is validated. ``repeated``: the
    lists holding a text twice, when the caller compared them (``lists`` may then hold only each
    list's first text, against the staged version).
    """
    envelope: dict = {}
    for path, texts in lists.items():
        parent = envelope
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        parent[path[-1]] = [json.loads(text) for text in (texts if version != staged_version else texts[:1])]
    errors = document_errors(envelope, version)
    if version == staged_version:
        schema = load_schema(version)
        for path, texts in lists.items():
            twice = path in repeated if repeated is not None else len(set(texts)) != len(texts)
            if _schema_at(schema, path).get("uniqueItems") and twice:
                errors.append(ObjectError("/".join(path), "uniqueItems", "liste avec des éléments en double"))
    return sorted(set(errors), key=lambda e: (e.champ, e.code, e.message))
