"""The registry from the source: the télétransmission's entities and the SIRENE register, refreshed
before each actes night (``DIGOR_REGISTRY_SOURCE=pastell``) or by ``digor registry refresh``.

The bodies found are written to the store (``core.keys.REGISTRY_DISCOVERED_KEY``), which
``core.registry.body_registry`` adds to the file's; a body new in the source is there for the
night that follows, with the defaults and the file's override when it has one. What is left out
(no SIREN, unknown to the register…) is in the report (``REGISTRY_REPORT_KEY``) and the night's
run report; the SIRENs seen are asked for at the next SIRENE refresh.
"""

from __future__ import annotations

import json

from chains.sirene import load_lookup, register_identifiers, requested_sirens
from core.config import Settings
from core.jsonio import json_bytes
from core.keys import REGISTRY_DISCOVERED_KEY, REGISTRY_REPORT_KEY
from core.registry import load_registry
from core.store import open_store, put_if_changed
from extract.pastell_client import ClientOptions, PastellClient
from transform.registry_source import discovered_bodies


def refresh_registry(settings: Settings, client: PastellClient | None = None) -> dict:
    """List the entities, keep those the register knows, write the bodies; returns the summary."""
    store = open_store(settings.store_url)
    if client is None:
        with PastellClient.from_connection(settings.pastell_conn_id,
                                           ClientOptions.from_mapping(settings.pastell_client)) as opened:
            entities = opened.entities()
    else:
        entities = client.entities()
    sirens = [str(e.get("siren") or "").strip() for e in entities if str(e.get("siren") or "").strip().isdigit()]
    register_identifiers(settings, sirens, "registry_source")
    bodies, findings = discovered_bodies(entities, load_lookup(settings), requested_sirens(settings))
    try:
        before = {b["siren"] for b in json.loads(store.get_bytes(REGISTRY_DISCOVERED_KEY))["bodies"]}
    except FileNotFoundError:
        before = set()
    put_if_changed(store, REGISTRY_DISCOVERED_KEY, json_bytes({"source": "pastell", "bodies": bodies}))
    listed = {b.siren for b in load_registry(settings.registry_path).bodies}
    summary = {
        "entities": len(entities),
        "bodies": len(bodies),
        "added": sorted({b["siren"] for b in bodies} - before),
        "removed": sorted(before - {b["siren"] for b in bodies}),
        "listed_in_file": sorted({b["siren"] for b in bodies} & listed),
        "left_out": [f.to_dict() for f in findings if f.code not in ("unit_ceased", "same_siren")],
        "findings": [f.to_dict() for f in findings],
    }
    put_if_changed(store, REGISTRY_REPORT_KEY, json_bytes(summary))
    return summary
