"""The bodies that have widget data, and for which widgets: what the embed configurator offers.

Each chain that writes widget files rewrites the catalogue after them, from what the store
holds, so it is right whichever chain ran last. The key keeps the name of the first version
(the Actes configurator), which existing pages read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from core.keys import WIDGET_CATALOGUE_KEY, WIDGET_MANIFEST, widget_folder
from core.registry import Registry
from core.store import ObjectStore, put_if_changed
from core.test_hook import hold
from load.budget_widgets import INDEX_FILE as BUDGETS_INDEX
from load.budget_widgets import widget_prefix as budgets_prefix
from load.widget_files import index_key, json_bytes

CATALOGUE_KEY = WIDGET_CATALOGUE_KEY
FORMAT_VERSION = 2


def widgets_of(store: ObjectStore, siren: str, siret: str) -> list[str]:
    available = {
        "actes": store.exists(index_key(siren)),
        "budgets": store.exists(budgets_prefix(siret) + BUDGETS_INDEX),
        "marches": store.exists(f"{widget_folder('marches', siret)}/{WIDGET_MANIFEST}"),
    }
    return [name for name, present in available.items() if present]


def publish_catalogue(store: ObjectStore, registry: Registry, bodies: Iterable[str] | None = None) -> str:
    """The catalogue of the registry's bodies with widget data. ``bodies``: the SIRENs whose widget
    files this run switched: only they are looked up again (three requests a body on S3), the
    others keep their entry of the current catalogue (all are looked up when there is none)."""
    try:
        document = json.loads(store.get_bytes(CATALOGUE_KEY))
        current = {entry["siren"]: entry["widgets"] for entry in document["organismes"]} \
            if document.get("format") == FORMAT_VERSION else None
    except (FileNotFoundError, KeyError, ValueError):
        current = None
    again = None if bodies is None or current is None else set(bodies)
    entries = []
    for body in sorted(registry.bodies, key=lambda b: b.name):
        if again is None or body.siren in again:
            widgets = widgets_of(store, body.siren, body.siret)
        else:
            widgets = current.get(body.siren, [])
        if widgets:
            entries.append({"siren": body.siren, "siret": body.siret, "nom": body.name, "type": body.kind,
                            "widgets": widgets})
    document = {"format": FORMAT_VERSION, "publie_par": registry.publisher, "organismes": entries}
    hold("catalogue-write")
    put_if_changed(store, CATALOGUE_KEY, json_bytes(document))
    return CATALOGUE_KEY
