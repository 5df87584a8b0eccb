"""digor's DECP schema files are the official ones, constraint for constraint.

``schemas/decp-2.0.2.json`` and ``schemas/decp-1.5.0.json`` are digor's own transcriptions
(layout and wording differ). What "equal" means for a JSON Schema, here: the *effective
constraints* are the same. Both documents are reduced to the tree a validator actually
applies: every ``$ref`` is replaced by its target (its sibling keywords dropped, as draft-04
and draft-07 ignore them), annotation keywords (title, description, $comment, examples,
default, ids) and ``definitions`` (reachable only through ``$ref``) are removed, and the
order-free lists (``required``, ``enum``) are sorted. The two trees must be identical, and
the dialect (``$schema``) the same. A behavioural check follows: both give the same errors on
every object of the real samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft7Validator

from core.schema_files import load_schema_descriptor
from validate.decp_jsonschema import schema_file

ANNOTATIONS = {"title", "description", "$comment", "examples", "default", "$id", "id", "$schema", "definitions"}
OFFICIAL = {
    "2.0.2": "decp-format-commande-publique-2.0.2/schema_decp_v2.0.2.json",
    "1.5.0": "decp-format-commande-publique-1.5.0/marches.json",
}


def _resolve(root: dict, ref: str) -> dict:
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def effective(root: dict, node):
    """The constraint tree a validator applies (see the module docstring)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return effective(root, _resolve(root, node["$ref"]))
        result = {}
        for key, value in node.items():
            if key in ANNOTATIONS:
                continue
            if key in ("required", "enum"):
                result[key] = sorted(value, key=json.dumps)
            elif key == "properties":
                result[key] = {name: effective(root, sub) for name, sub in value.items()}
            else:
                result[key] = effective(root, value)
        return result
    if isinstance(node, list):
        return [effective(root, item) for item in node]
    return node


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("version", sorted(OFFICIAL))
def test_project_schema_has_the_official_constraints(version, reference_dir):
    ours, official = _load(schema_file(version)), _load(reference_dir / "schemas" / OFFICIAL[version])
    assert ours["$schema"] == official["$schema"]
    assert effective(ours, ours) == effective(official, official)


def test_the_comparison_sees_a_changed_constraint(reference_dir):
    ours = _load(schema_file("2.0.2"))
    ours["definitions"]["identifiant"]["maxLength"] = 17
    official = _load(reference_dir / "schemas" / OFFICIAL["2.0.2"])
    assert effective(ours, ours) != effective(official, official)


def test_2_0_3_differs_from_2_0_2_only_where_published_files_do_not_care(reference_dir):
    """Files without ``_type`` and with a non-empty ``marches`` are valid under both."""
    v202 = _load(reference_dir / "schemas" / OFFICIAL["2.0.2"])
    v203 = _load(reference_dir / "schemas/decp-format-commande-publique-2.0.3/schema_decp_v2.0.3.json")
    del v202["definitions"]["marche"]["properties"]["_type"]
    e202, e203 = effective(v202, v202), effective(v203, v203)
    assert e203.pop("required") == ["marches"]
    assert e203["properties"]["marches"].pop("anyOf")
    assert e202 == e203


def _sample_objects(reference_dir: Path, folder: str):
    from transform.decp_formats import UnreadableExport, read_export

    for path in sorted((reference_dir / "samples" / folder).rglob("*")):
        if path.suffix in (".json", ".xml") and path.stat().st_size < 100_000:
            try:
                export = read_export(path.read_bytes())
            except UnreadableExport:
                continue
            yield from ((path.name, obj) for obj in export.objects)


@pytest.mark.parametrize("version,folder,validator", [("2.0.2", "decp-2022", Draft7Validator), ("1.5.0", "decp-2019", Draft4Validator)])
def test_same_verdicts_as_the_official_schema_on_real_objects(version, folder, validator, reference_dir):
    ours, official = _load(schema_file(version)), _load(reference_dir / "schemas" / OFFICIAL[version])
    key = "marches"
    checked = 0
    for name, obj in _sample_objects(reference_dir, folder):
        document = {key: {obj.kind: [obj.data]}} if version == "2.0.2" else {key: [obj.data]}
        mine = sorted((list(e.absolute_path), e.validator) for e in validator(ours).iter_errors(document))
        theirs = sorted((list(e.absolute_path), e.validator) for e in validator(official).iter_errors(document))
        assert mine == theirs, name
        checked += 1
    assert checked >= 10


def test_table_schema_names_columns_as_the_decp_table_schema(reference_dir):
    """Every column of decp-table-schema 2.0.0 exists under the same name in digor's table."""
    ours = {f["name"]: f for f in load_schema_descriptor("decp-table")["fields"]}
    official = _load(reference_dir / "schemas/decp-table-schema-2.0.0/schema.json")
    assert {f["name"] for f in official["fields"]} <= set(ours)
    assert ours["donneesActuelles"]["type"] == "boolean"
    assert all(field.get("description") for field in ours.values())
