"""The widget manifests against their JSON Schemas (schemas/widgets/): what the pipeline writes,
what the widgets read, and the format version both agree on."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator
from playwright.sync_api import expect

from core.store import plain_bytes
from load import budget_widgets, widget_catalogue, widget_files
from transform import decp_widget

from .conftest import (
    CHECKED,
    MANIFEST_SCHEMAS,
    MANIFESTS,
    Watched,
    manifest_errors,
    manifest_kind,
)

WRITERS_FORMAT = {"actes": widget_files.FORMAT_VERSION, "budgets": budget_widgets.FORMAT,
                  "marches": decp_widget.FORMAT_VERSION, "catalogue": widget_catalogue.FORMAT_VERSION,
                  "budgets-document": budget_widgets.FORMAT}


def schema(kind: str) -> dict:
    return json.loads((MANIFEST_SCHEMAS / f"{kind}.json").read_text(encoding="utf-8"))


def written_manifests(site) -> dict[str, dict[str, dict]]:
    """Kind -> key -> document, for every manifest in the public zone of the served store."""
    found: dict[str, dict[str, dict]] = {kind: {} for kind in CHECKED}
    public = site.store / "public"
    for path in public.rglob("*.json"):
        key = path.relative_to(public).as_posix()
        kind = manifest_kind(key)
        if kind:
            found[kind][key] = json.loads(plain_bytes(path.read_bytes()))
    return found


def test_schemas_are_draft_2020_12_and_pin_the_writers_format():
    for path in MANIFEST_SCHEMAS.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        Draft202012Validator.check_schema(document)
    for kind, version in WRITERS_FORMAT.items():
        assert schema(kind)["properties"]["format"] == {"const": version}, kind


def test_every_manifest_the_pipeline_wrote_matches_its_schema(site):
    manifests = written_manifests(site)
    assert len(manifests["catalogue"]) == 1
    assert all(len(manifests[kind]) >= 3 for kind in ("actes", "budgets", "marches", "budgets-document")), \
        {kind: len(found) for kind, found in manifests.items()}
    for kind, found in manifests.items():
        for key, document in found.items():
            assert manifest_errors(kind, document) == [], key


def _renamed(document: dict, path: tuple, old: str, new: str) -> dict:
    """A copy of ``document`` with one field renamed; in ``path``, 0 is the first entry of a list or a map."""
    changed = copy.deepcopy(document)
    target = changed
    for step in path:
        target = next(iter(target.values())) if step == 0 and isinstance(target, dict) else target[step]
    target[new] = target.pop(old)
    return changed


@pytest.mark.parametrize("kind, path, field", [
    ("actes", (), "publie_par"),
    ("actes", ("annees", 0), "fichier"),
    ("budgets", (), "publie_par"),
    ("budgets", ("etablissements", 0, "exercices", 0, "etapes", 0), "fichier"),
    ("marches", (), "publie_par"),
    ("marches", ("annees", 0), "contrats"),
    ("catalogue", (), "publie_par"),
    ("catalogue", ("organismes", 0), "widgets"),
    ("budgets", (), "population"),
    ("budgets-document", ("chiffres_cles", 0), "par_habitant"),
    ("budgets-document", ("par_chapitre", 0), "libelle_clair"),
    ("budgets-document", (), "en_clair"),
])
def test_a_renamed_field_is_refused(site, kind, path, field):
    document = next(iter(written_manifests(site)[kind].values()))
    errors = manifest_errors(kind, _renamed(document, path, field, field + "_renomme"))
    assert any(f"'{field}' is a required property" in e for e in errors), errors
    assert any("Additional properties are not allowed" in e for e in errors), errors


def test_browser_tests_check_every_manifest_a_page_reads(site, context):
    """The ``watched`` fixture fails a test whose page read a manifest unlike its schema."""
    source = site.store / "public/widgets/actes/212900997/index.json"
    folder = site.store / "public/widgets/actes/212900989"  # Lanvézec: no acts published
    document = _renamed(json.loads(source.read_text(encoding="utf-8")), (), "publie_par", "editeur")
    folder.mkdir(parents=True)
    (folder / "index.json").write_text(json.dumps(document | {"siren": "212900989", "annees": {}}), encoding="utf-8")
    try:
        watched = Watched(context.new_page(), site.base)
        watched.open(f"{site.base}/widgets/actes.html?siren=212900989", ready="body[data-etat=pret]")
        assert any("'publie_par' is a required property" in e for e in watched.invalid_manifests), watched.invalid_manifests
    finally:
        (folder / "index.json").unlink()
        folder.rmdir()


def test_widgets_read_the_format_of_the_schemas(site, watched):
    page = watched.open(f"{site.base}/widgets/configurateur.html")
    formats = page.evaluate("""async () =>
        (await import(new URL("commun/manifest.js", location.href).href)).FORMATS""")
    assert formats == {kind: schema(kind)["properties"]["format"]["const"] for kind in MANIFESTS}


@pytest.mark.parametrize("url, message_at", [
    ("actes.html?siren=212900997", "#total"),
    ("budgets.html?siret=21290099700017", "#etat"),
    ("marches.html?siret=21290099700017", "#etat"),
])
def test_a_manifest_of_another_format_gets_a_french_message(site, watched, url, message_at):
    page = watched.page

    def newer(route):
        document = route.fetch().json() | {"format": 99}
        route.fulfill(json=document)

    page.route("**/index.json", newer)
    watched.open(f"{site.base}/widgets/{url}", ready="body[data-etat=erreur]")
    expect(page.locator(message_at)).to_have_text(
        "Ces données sont publiées dans un format que cette version du widget ne sait pas lire. "
        "Rechargez la page ; si ce message reste, signalez-le à l'éditeur du site.")
