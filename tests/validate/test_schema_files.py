"""digor's schema files: found by name, and faithful to the official national schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from frictionless import Schema

from core.schema_files import SCHEMAS_DIR, available_schemas, load_schema_descriptor, schema_path
from tests.environment import reference_path
from validate.scdl_checks import checks_from_descriptor

REPO = Path(__file__).resolve().parents[2]
FACT_KEYS = ("type", "format")
CONSTRAINT_KEYS = ("required", "pattern", "enum")


@pytest.fixture
def official_deliberations() -> dict:
    path = reference_path("schemas/scdl-deliberations-2.1.5/schema.json")
    return json.loads(path.read_text(encoding="utf-8"))


def facts(field: dict) -> dict:
    constraints = field.get("constraints", {})
    return {
        "name": field["name"],
        **{key: field.get(key) for key in FACT_KEYS},
        **{key: constraints.get(key) for key in CONSTRAINT_KEYS},
    }


# Lookup


def test_schema_path_by_name_and_version():
    assert schema_path("scdl-deliberations") == SCHEMAS_DIR / "scdl-deliberations-2.1.5.json"
    assert schema_path("scdl-deliberations", "2.1.5") == SCHEMAS_DIR / "scdl-deliberations-2.1.5.json"
    assert schema_path("actes") == SCHEMAS_DIR / "actes-1.1.json"
    assert SCHEMAS_DIR == REPO / "schemas"


def test_unknown_name_or_version_lists_what_is_available():
    with pytest.raises(ValueError, match="scdl-deliberations"):
        schema_path("no-such-schema")
    with pytest.raises(ValueError, match="2.1.5"):
        schema_path("scdl-deliberations", "9.9.9")


def test_load_by_name_version_or_path():
    by_name = load_schema_descriptor("scdl-deliberations")
    assert by_name == load_schema_descriptor("scdl-deliberations@2.1.5")
    assert by_name == load_schema_descriptor(SCHEMAS_DIR / "scdl-deliberations-2.1.5.json")
    assert by_name["custom_checks"], "custom_checks must be kept in the returned descriptor"
    assert load_schema_descriptor("actes")["version"] == "1.1"


def test_every_schema_file_is_a_valid_table_schema_with_known_checks():
    for name, versions in available_schemas().items():
        for version in versions:
            descriptor = load_schema_descriptor(f"{name}@{version}")
            report = Schema.validate_descriptor(descriptor)
            assert report.valid, (name, version, report.flatten(["type", "note"]))
            for field in descriptor["fields"]:
                pattern = field.get("constraints", {}).get("pattern")
                if pattern:
                    re.compile(pattern)
                assert field.get("description"), f"{name}: field {field['name']} has no description"
            checks_from_descriptor(descriptor)


# Faithful to the official délibérations schema


def test_deliberations_fields_match_the_official_schema(official_deliberations):
    ours = load_schema_descriptor("scdl-deliberations")
    assert [facts(f) for f in ours["fields"]] == [facts(f) for f in official_deliberations["fields"]]
    assert ours["name"] == official_deliberations["name"]
    assert ours["version"] == official_deliberations["version"] == "2.1.5"


def test_deliberations_custom_checks_match_the_official_schema(official_deliberations):
    ours = load_schema_descriptor("scdl-deliberations")
    assert ours["custom_checks"] == official_deliberations["custom_checks"]


def test_deliberations_texts_are_our_own(official_deliberations):
    ours = load_schema_descriptor("scdl-deliberations")
    official = {f["name"]: f for f in official_deliberations["fields"]}
    for field in ours["fields"]:
        assert field["description"] != official[field["name"]].get("description")
        assert "example" not in field
    assert "contributors" not in ours and "resources" not in ours
    assert "schema.data.gouv.fr/scdl/deliberations/2.1.5" in ours["$comment"]


# digor's own actes schema


def test_actes_schema_fields_and_checks():
    actes = load_schema_descriptor("actes")
    assert actes["name"] == "actes"
    names = [f["name"] for f in actes["fields"]]
    assert names == [
        "COLL_NOM", "COLL_SIRET", "ACTE_ID", "ACTE_NATURE_CODE", "ACTE_NATURE_NOM", "ACTE_DATE",
        "ACTE_MATIERE_CODE", "ACTE_MATIERE_NOM", "ACTE_OBJET", "TRANSMISSION_DATE", "PREF_ID",
        "PREF_DATE", "PUBLICATION_DATE", "ACTE_URL", "ANNEXES_URL", "SOURCE_ID",
    ]  # fmt: skip
    assert [(c["name"], c["params"].get("column")) for c in actes["custom_checks"]] == [
        ("french-siret-value", "COLL_SIRET"),
        ("compare-columns-value", "PREF_DATE"),
        ("compare-columns-value", "PUBLICATION_DATE"),
        ("nomenclature-actes-value", "ACTE_MATIERE_NOM"),
    ]


def test_actes_shares_the_deliberations_constraints():
    actes = {f["name"]: facts(f) for f in load_schema_descriptor("actes")["fields"]}
    deliberations = {f["name"]: facts(f) for f in load_schema_descriptor("scdl-deliberations")["fields"]}
    for name in ("COLL_NOM", "COLL_SIRET"):
        assert actes[name] == deliberations[name]
    code = dict(actes["ACTE_MATIERE_CODE"], name="DELIB_MATIERE_CODE")
    assert code == deliberations["DELIB_MATIERE_CODE"]


@pytest.mark.parametrize(
    "value, ok",
    [
        ("PREF035", True), ("PREF02A", True), ("SGAR053", True), ("SPREF0291", True), ("SPREF02B2", True),
        ("PREF35", False), ("SPREF029", False), ("pref035", False), ("PREF0351", False),
    ],
)  # fmt: skip
def test_actes_pref_id_pattern(value, ok):
    field = next(f for f in load_schema_descriptor("actes")["fields"] if f["name"] == "PREF_ID")
    assert bool(re.match("^{0}$".format(field["constraints"]["pattern"]), value)) is ok
