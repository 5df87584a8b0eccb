"""The registry from the source: the télétransmission's entities and the SIRENE register, refreshed
before each actes night (``DIGOR_REGISTRY_SOURCE=pastell`` or ``s2low``) or by ``digor registry refresh``.

From S²LOW, the collectivités of the group its connection (``DIGOR_S2LOW_CONN_ID``, a group
administrator's certificate) administers; each body found reads its acts through a connection of
its own, ``<that connection>_<siren>`` unless the file's override names one: a body is never
pulled through another authority's certificate.

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
from extract import s2low_client
from extract.pastell_client import ClientOptions, PastellClient
from transform.registry_source import discovered_bodies, pastell_fields


def _pastell_entities(settings: Settings, client: PastellClient | None) -> list[dict]:
    if client is not None:
        return client.entities()
    with PastellClient.from_connection(settings.pastell_conn_id,
                                       ClientOptions.from_mapping(settings.pastell_client)) as opened:
        return opened.entities()


def _s2low_entities(settings: Settings) -> list[dict]:
    """S²LOW's collectivités as entities: the export's line number stands for the entity."""
    options = s2low_client.ClientOptions.from_mapping(settings.s2low_client)
    with s2low_client.S2lowClient.from_connection(settings.s2low_conn_id, options) as opened:
        rows = opened.authorities()
    return [{"id_e": f"line {number}", "denomination": row["name"], "siren": row["siren"],
             "is_active": row["status"] != "0"} for number, row in enumerate(rows, start=2)]


def refresh_registry(settings: Settings, client: PastellClient | None = None) -> dict:
    """List the entities, keep those the register knows, write the bodies; returns the summary."""
    store = open_store(settings.store_url)
    from_s2low = settings.registry_source == "s2low"
    entities = _s2low_entities(settings) if from_s2low else _pastell_entities(settings, client)
    sirens = [str(e.get("siren") or "").strip() for e in entities if str(e.get("siren") or "").strip().isdigit()]
    register_identifiers(settings, sirens, "registry_source")
    fields = (lambda entity: {"source": "s2low", "s2low_conn_id": f"{settings.s2low_conn_id}_{entity['siren']}"}) \
        if from_s2low else pastell_fields
    bodies, findings = discovered_bodies(entities, load_lookup(settings), requested_sirens(settings), fields)
    try:
        before = {b["siren"] for b in json.loads(store.get_bytes(REGISTRY_DISCOVERED_KEY))["bodies"]}
    except FileNotFoundError:
        before = set()
    put_if_changed(store, REGISTRY_DISCOVERED_KEY, json_bytes({"source": "s2low" if from_s2low else "pastell", "bodies": bodies}))
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
