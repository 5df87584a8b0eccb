"""The télétransmission's entities (Pastell's entities, S²LOW's collectivités) -> bodies of the registry,
each identity taken from the SIRENE register.

An entity is a body only when the register knows its SIREN: its SIRET is the register's siège,
its name the register's, its kind read from its catégorie juridique. Anything else (no SIREN, an
invalid one, one the register does not know, one not in the month's cache yet) is reported and
left out: a body is never published under a guessed identity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from core.identifiers import siren_is_valid
from transform.sirene_lookup import ETAT_CESSE, SireneLookup

# Catégories juridiques (INSEE, level 3) of the kinds the registry knows; any other public body is "autre".
KINDS = {
    "7210": "commune", "7220": "departement", "7230": "region",
    "7343": "epci", "7344": "epci", "7346": "epci", "7348": "epci",
    "7345": "syndicat", "7353": "syndicat", "7354": "syndicat", "7355": "syndicat",
}
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class EntityFinding:
    id_e: str
    denomination: str
    siren: str
    code: str
    severity: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def _text(value) -> str:
    return " ".join(str(value if value is not None else "").split())


def pastell_fields(entity: dict) -> dict:
    """What a body found among Pastell's entities keeps of it: its entity, by which its acts are read."""
    return {"pastell_id_e": _text(entity.get("id_e"))}


def discovered_bodies(entities: list[dict], lookup: SireneLookup | None, requested: set[str] | None = None,
                      source_fields: Callable[[dict], dict] = pastell_fields) -> tuple[list[dict], list[EntityFinding]]:
    """Bodies (``siren``, ``siret``, ``name``, ``kind`` and the ``source_fields`` of their entity) of the
    entities, in SIREN order, and what was left out or is worth a look. ``requested``: the SIRENs the
    cache was reduced for."""
    bodies: dict[str, dict] = {}
    entity_of: dict[str, str] = {}
    findings: list[EntityFinding] = []
    for entity in sorted(entities, key=lambda e: (_text(e.get("siren")), _text(e.get("id_e")).zfill(12))):
        id_e, name, siren = _text(entity.get("id_e")), _text(entity.get("denomination")), _text(entity.get("siren"))

        def found(code: str, severity: str, message: str) -> None:
            findings.append(EntityFinding(id_e, name, siren, code, severity, message))

        if entity.get("is_active") in (False, 0, "0"):
            found("inactive", WARNING, f"entity {id_e} is not active in the télétransmission: left out")
            continue
        if not siren:
            found("no_siren", WARNING, f"entity {id_e} ({name}) has no SIREN: left out (a group of entities, "
                  "or set its SIREN in the télétransmission)")
            continue
        if not siren_is_valid(siren):
            found("invalid_siren", ERROR, f"entity {id_e} ({name}) has SIREN {siren!r}, not a valid SIREN: "
                  "left out, fix it in the télétransmission")
            continue
        if siren in bodies:
            found("same_siren", WARNING, f"entity {id_e} has the SIREN of entity {entity_of[siren]}: "
                  "its acts are read by their SIREN, under that body")
            continue
        unit = lookup.unit(siren) if lookup is not None else None
        if unit is None:
            if lookup is None or (requested is not None and siren not in requested):
                found("not_in_cache", WARNING, f"SIREN {siren} ({name}) is not in the SIRENE cache yet: left out "
                      "until the next refresh (`digor sirene refresh`), never published under a guessed identity")
            else:
                found("unknown_siren", ERROR, f"SIREN {siren} ({name}) is unknown to the SIRENE register: left out, "
                      "never published under a guessed identity; fix the entity's SIREN in the télétransmission")
            continue
        entity_found = lookup.lookup(siren)
        siret = lookup.siege_siret(siren)
        if siret is None:
            found("siege_unknown", ERROR, f"the SIRENE cache has no siège of {siren} ({name}): left out")
            continue
        if entity_found.etat == ETAT_CESSE:
            found("unit_ceased", WARNING, f"the register says {siren} ceased on {entity_found.date_fermeture}")
        bodies[siren] = {"siren": siren, "siret": siret, "name": entity_found.nom or name,
                         "kind": KINDS.get(entity_found.categorie_juridique or "", "autre"), **source_fields(entity)}
        entity_of[siren] = id_e
    order = {ERROR: 0, WARNING: 1}
    return [bodies[s] for s in sorted(bodies)], sorted(findings, key=lambda f: (order[f.severity], f.siren, f.id_e))
