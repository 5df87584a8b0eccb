"""The map of reuses: a GeoJSON of the bodies that have widgets, for a uMap layer and the widgets' map page.

One point per body of the catalogue (``load.widget_catalogue``), placed where the SIRENE register puts
its siège (the chain passes ``location_of``); a body the register does not place has no geometry (a
null geometry is valid GeoJSON) and is still listed. Each feature says which widgets the body offers,
their addresses, and the pages of its website that embed them when the registry knows them
(``widget.pages_integration``) or the widgets' server saw them (``record_embedding_page``: the page's
origin and path, from the ``Referer`` of a widget page's request). ``name`` and ``description`` are what
uMap shows in its popups.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from core.jsonio import json_bytes
from core.keys import EMBEDDING_PAGES_PREFIX, REUSE_MAP_KEY, WIDGET_CATALOGUE_KEY, WIDGETS_PREFIX, embedding_pages_key
from core.registry import Registry
from core.store import ObjectStore, put_if_changed

PAGES = {"actes": ("Actes", "actes.html?siren={siren}"), "budgets": ("Budgets", "budgets.html?siret={siret}"),
         "marches": ("Focus marchés", "marches.html?siret={siret}")}


_SIREN = re.compile(r"^[0-9]{9}$")
_RECORD_LOCK = threading.Lock()


def embedding_page(referer: str | None) -> str | None:
    """The page a ``Referer`` names, as origin and path (its query and fragment may hold anything: never
    kept); None for what is not an http(s) page."""
    parts = urlsplit((referer or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{host}{parts.path or '/'}"


def record_embedding_page(store: ObjectStore, siren: str, page: str) -> bool:
    """Add ``page`` to the pages seen embedding the body's widgets; True when it was new."""
    if not _SIREN.match(siren):
        return False
    key = embedding_pages_key(siren)
    with _RECORD_LOCK:
        try:
            pages = json.loads(store.get_bytes(key))["pages"]
        except FileNotFoundError:
            pages = []
        if page in pages:
            return False
        store.put_bytes(key, json_bytes({"siren": siren, "pages": sorted([*pages, page])}))
    return True


def embedding_pages(store: ObjectStore) -> dict[str, list[str]]:
    """SIREN -> the pages seen embedding its widgets."""
    found = {}
    for key in store.list_keys(EMBEDDING_PAGES_PREFIX + "/"):
        document = json.loads(store.get_bytes(key))
        found[document["siren"]] = list(document["pages"])
    return found


def reuse_features(catalogue: dict, registry: Registry, public_url: Callable[[str], str],
                   location_of: Callable[[str], tuple[float, float] | None],
                   seen: dict[str, list[str]] | None = None) -> dict:
    features = []
    for entry in catalogue["organismes"]:
        body = registry.by_siren(entry["siren"])
        pages = list((body.widget if body else {}).get("pages_integration") or [])
        pages += [page for page in (seen or {}).get(entry["siren"], []) if page not in pages]
        links = {widget: public_url(f"{WIDGETS_PREFIX}/{PAGES[widget][1].format(**entry)}")
                 for widget in entry["widgets"] if widget in PAGES}
        lines = [f"{PAGES[widget][0]} : {url}" for widget, url in links.items()]
        lines += [f"Intégré sur : {page}" for page in pages]
        point = location_of(entry["siret"])
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(point[0], 5), round(point[1], 5)]} if point else None,
            "properties": {"name": entry["nom"], "description": "\n".join(lines), "siren": entry["siren"],
                           "siret": entry["siret"], "type": entry["type"], "widgets": list(links), "liens": links,
                           "pages_integration": pages},
        })
    return {"type": "FeatureCollection", "publie_par": catalogue.get("publie_par", ""), "features": features}


def publish_reuse_map(store: ObjectStore, registry: Registry, public_url: Callable[[str], str],
                      location_of: Callable[[str], tuple[float, float] | None]) -> str:
    """Rewrite the map from the current catalogue (after it: every chain that rewrites it calls this)."""
    try:
        catalogue = json.loads(store.get_bytes(WIDGET_CATALOGUE_KEY))
    except FileNotFoundError:
        catalogue = {"organismes": []}
    document = reuse_features(catalogue, registry, public_url, location_of, embedding_pages(store))
    put_if_changed(store, REUSE_MAP_KEY, json_bytes(document))
    return REUSE_MAP_KEY
