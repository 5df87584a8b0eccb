"""The map of reuses learns where the widgets are embedded: ``digor serve`` records the embedding page
(origin and path of the ``Referer``, never its query) when the operator enables it, the next map lists it."""

from __future__ import annotations

import json

import pytest
import requests

from core.config import PROJECT_ROOT
from core.keys import REUSE_MAP_KEY, WIDGET_CATALOGUE_KEY
from core.registry import load_registry
from core.store import LocalStore
from digor.serve import make_server, serve_in_thread
from load.reuse_map import publish_reuse_map

KERDIGOR = {"siren": "212900997", "siret": "21290099700017", "nom": "Commune de Kerdigor", "type": "commune",
            "widgets": ["actes", "budgets"]}
EMBEDDING = "https://www.kerdigor.example/vie-municipale/deliberations"


def _night(store: LocalStore) -> dict:
    """What the next night publishes: the map, from the catalogue and what was recorded."""
    publish_reuse_map(store, load_registry(PROJECT_ROOT / "config" / "registry-demo.yaml"),
                      lambda key: f"https://widgets.example/{key}", lambda siret: None)
    features = json.loads(store.get_bytes(REUSE_MAP_KEY))["features"]
    return {feature["properties"]["siren"]: feature["properties"] for feature in features}


@pytest.fixture(params=[True, False], ids=["recording", "off"])
def served(request, tmp_path):
    store = LocalStore(tmp_path / "store")
    store.put_bytes(WIDGET_CATALOGUE_KEY, json.dumps({"organismes": [KERDIGOR]}).encode())
    server = make_server(store, "127.0.0.1", 0, record_pages=request.param)
    serve_in_thread(server)
    yield store, f"http://127.0.0.1:{server.server_address[1]}", request.param
    server.shutdown()
    server.server_close()


def test_the_embedding_page_reaches_the_next_map_without_its_query_only_when_enabled(served):
    store, base, recording = served
    for page, referer in ((f"{base}/widgets/actes.html?siren=212900997", f"{EMBEDDING}?jeton=secret#haut"),
                          (f"{base}/widgets/budgets.html?siret=21290099700017", f"{EMBEDDING}?autre=1"),
                          (f"{base}/widgets/actes.html?siren=212900997", f"{base}/widgets/configurateur.html"),
                          (f"{base}/widgets/actes.html?siren=212900997", "javascript:alert(1)")):
        assert requests.get(page, headers={"Referer": referer}, timeout=10).status_code == 200
    pages = _night(store)["212900997"]["pages_integration"]
    assert pages == ([EMBEDDING] if recording else [])
    assert "secret" not in store.get_bytes(REUSE_MAP_KEY).decode()
