"""digor's scdl-budget 0.8.3 schema: the official facts, in digor's own words."""

from __future__ import annotations

import json

import pytest

from core.schema_files import load_schema_descriptor
from validate.scdl_checks import checks_from_descriptor

CONSTRAINTS = ("required", "pattern", "enum", "minLength", "maxLength")


@pytest.fixture
def official(reference_dir) -> dict:
    path = reference_dir / "schemas" / "scdl-budget-0.8.3" / "schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def facts(field: dict) -> dict:
    constraints = field.get("constraints", {})
    return {"name": field["name"], "type": field["type"], **{k: constraints.get(k) for k in CONSTRAINTS}}


def test_fields_match_the_official_schema(official):
    ours = load_schema_descriptor("scdl-budget@0.8.3")
    assert [facts(f) for f in ours["fields"]] == [facts(f) for f in official["fields"]]
    assert len(ours["fields"]) == 22
    assert ours["name"] == official["name"] and ours["version"] == official["version"] == "0.8.3"
    assert ours["missingValues"] == official["missingValues"]


def test_custom_checks_match_and_are_all_implemented(official):
    ours = load_schema_descriptor("scdl-budget")
    assert ours["custom_checks"] == official["custom_checks"]
    assert len(checks_from_descriptor(official)) == len(official["custom_checks"])


def test_texts_are_our_own(official):
    ours = load_schema_descriptor("scdl-budget")
    theirs = {f["name"]: f for f in official["fields"]}
    for field in ours["fields"]:
        assert field["description"] and field["description"] != theirs[field["name"]].get("description")
        assert field.get("title") != theirs[field["name"]].get("title")
        assert "examples" not in field
    assert "contributors" not in ours and "resources" not in ours
