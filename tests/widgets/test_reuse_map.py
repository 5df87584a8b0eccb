"""The map of reuses: a GeoJSON of the bodies with widgets, placed by the SIRENE register, and its map page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from core.config import PROJECT_ROOT, Settings
from core.geo import lambert93_to_wgs84
from core.store import LocalStore
from samples.sirene import TOWN_HALLS
from tests.widgets.conftest import run_axe

PAGE = "https://www.kerdigor.example/vie-municipale/deliberations"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """The demo's first night through the actes chain, a SIRENE month of the demo (with the town halls'
    coordinates), and a registry naming the page where Kerdigor embeds its widget; served on loopback."""
    from chains import actes as actes_chain
    from chains import sirene as sirene_chain
    from digor.serve import make_server, serve_in_thread
    from load.widget_pages import deploy_widget_pages
    from samples.actes import DEMO_NIGHTS, generate_drop_folder
    from samples.sirene import serve_folder, write_demo_extract

    root = tmp_path_factory.mktemp("reuse-map")
    document = yaml.safe_load((PROJECT_ROOT / "config" / "registry-demo.yaml").read_text(encoding="utf-8"))
    document["bodies"][0]["widget"]["pages_integration"] = [PAGE]
    registry = root / "registry.yaml"
    registry.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    generate_drop_folder(root / "drop", registry, DEMO_NIGHTS[:1])
    write_demo_extract(root / "sirene-files", registry, {})
    store = LocalStore(root / "store")
    server = make_server(store, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with serve_folder(root / "sirene-files") as sirene_url:
        settings = Settings.from_env().with_overrides(
            store_url=str(root / "store"), drop_dir=root / "drop", registry_path=registry, public_base_url=base,
            sirene_base_url=sirene_url, sirene_work_dir=root / "sirene-work")
        sirene_chain.run_month(settings, DEMO_NIGHTS[0][:7])
        actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[0])
    deploy_widget_pages(store)
    serve_in_thread(server)
    yield {"root": root, "base": base, "store": root / "store", "document": document}
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


def _geojson(store: Path) -> dict:
    return json.loads((store / "public/widgets/carte-reutilisations.geojson").read_text(encoding="utf-8"))


def test_the_geojson_places_each_body_at_its_siege_with_its_widgets_and_pages(mapped):
    collection = _geojson(mapped["store"])
    catalogue = json.loads((mapped["store"] / "public/widgets/actes-organismes.json").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    features = {f["properties"]["siren"]: f for f in collection["features"]}
    assert set(features) == {entry["siren"] for entry in catalogue["organismes"]} and features
    bodies = mapped["document"]["bodies"]
    for index, body in enumerate(bodies):
        if body["siren"] not in features:
            continue
        feature = features[body["siren"]]
        lon, lat = lambert93_to_wgs84(*map(float, TOWN_HALLS[index % 3]))
        assert feature["geometry"] == {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}
        assert -5.2 < lon < -3.9 and 47.8 < lat < 48.6  # Finistère
        assert feature["properties"]["widgets"] == ["actes"]
        assert feature["properties"]["liens"]["actes"] == f"{mapped['base']}/widgets/actes.html?siren={body['siren']}"
    kerdigor = features[bodies[0]["siren"]]["properties"]
    assert kerdigor["pages_integration"] == [PAGE] and f"Intégré sur : {PAGE}" in kerdigor["description"]
    assert kerdigor["name"] == "Commune de Kerdigor"


def test_the_map_page_draws_the_bodies_without_anything_from_elsewhere(mapped, context):
    page = context.new_page()
    outside, errors = [], []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(mapped["base"]) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{mapped['base']}/widgets/carte.html")
    page.wait_for_selector("body[data-etat=pret]")
    collection = _geojson(mapped["store"])
    located = [f for f in collection["features"] if f["geometry"]]
    assert page.locator("#carte circle.point").count() == len(located) > 0
    names = page.locator("#organismes > li h3").all_inner_texts()
    assert names == [f["properties"]["name"] for f in collection["features"]]
    assert page.get_by_role("link", name=PAGE).get_attribute("href") == PAGE
    link = page.get_by_role("link", name="Widget Actes").first
    assert link.get_attribute("href").startswith(f"{mapped['base']}/widgets/actes.html?siren=")
    assert page.locator("#avertissements").inner_text() == ""
    assert not outside and not errors
    assert run_axe(page) == []


def test_a_map_that_cannot_be_read_says_so(mapped, context):
    page = context.new_page()
    page.route("**/carte-reutilisations.geojson", lambda route: route.fulfill(status=503, body="indisponible"))
    page.goto(f"{mapped['base']}/widgets/carte.html")
    page.wait_for_selector("body[data-etat=pret]")
    assert "La carte n'a pas pu être chargée" in page.locator("#avertissements").inner_text()
