"""The registry of bodies checked against the SIRENE register, and filled from it.

For each body: its SIREN must be known to the register (an unknown SIREN is a
configuration error, never papered over with a made-up ``SIREN00000`` SIRET), its SIRET
must be the register's current siège, and its name should be the register's name (any
spelling: case, accents and punctuation aside). ``filled_registry`` gives the registry
with those values set from the register, which is what keeps ``COLL_SIRET``/``COLL_NOM``
right when a cache is present.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from core.registry import Registry
from transform.sirene_lookup import ETAT_CESSE, ETAT_FERME, SireneLookup, normalised_name

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    siren: str
    body: str
    code: str
    severity: str
    message: str
    registry_value: str | None = None
    register_value: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_registry(registry: Registry, lookup: SireneLookup, requested_sirens: set[str] | None = None) -> list[Finding]:
    """Every discrepancy between the registry and the register, worst first.

    ``requested_sirens``: the SIRENs the cache was reduced for; a body outside it is "not
    in the cache yet" (refresh the cache), not "unknown to the register".
    """
    findings: list[Finding] = []
    for body in registry.bodies:
        unit = lookup.unit(body.siren)
        if unit is None:
            if requested_sirens is not None and body.siren not in requested_sirens:
                findings.append(Finding(body.siren, body.name, "not_in_cache", WARNING,
                                        f"SIREN {body.siren} was not asked for when the cache was built: run `digor sirene refresh`"))
            else:
                findings.append(Finding(body.siren, body.name, "unknown_siren", ERROR,
                                        f"SIREN {body.siren} is unknown to the SIRENE register: fix the registry entry"))
            continue
        entity = lookup.lookup(body.siren)
        if entity.etat == ETAT_CESSE:
            findings.append(Finding(body.siren, body.name, "unit_ceased", WARNING,
                                    f"the register says {body.siren} ceased on {entity.date_fermeture}",
                                    register_value=str(entity.date_fermeture)))
        siege = lookup.siege_siret(body.siren)
        if siege is None:
            findings.append(Finding(body.siren, body.name, "siege_unknown", WARNING,
                                    f"no siège establishment of {body.siren} in the cache", registry_value=body.siret))
        elif body.siret != siege:
            current = lookup.establishment(body.siret)
            state = "unknown to the register" if current is None else (
                "closed" if lookup.lookup(body.siret).etat == ETAT_FERME else "not the siège")
            findings.append(Finding(body.siren, body.name, "siret_not_siege", ERROR,
                                    f"SIRET {body.siret} is {state}; the register's siège is {siege}",
                                    registry_value=body.siret, register_value=siege))
        register_name = entity.nom
        if register_name and normalised_name(register_name) != normalised_name(body.name):
            findings.append(Finding(body.siren, body.name, "name_differs", WARNING,
                                    f"the register names {body.siren} {register_name!r}",
                                    registry_value=body.name, register_value=register_name))
    order = {ERROR: 0, WARNING: 1}
    return sorted(findings, key=lambda f: (order[f.severity], f.siren, f.code))


def filled_registry(registry: Registry, lookup: SireneLookup) -> Registry:
    """The registry with each known body's SIRET set to the register's siège and its name kept right.

    The registry's own spelling of a name is kept when it is the register's name (it is
    the one with accents and capitals); a different name gives way to the register's.
    Bodies unknown to the register are left as they are (``check_registry`` reports them).
    """
    bodies = []
    for body in registry.bodies:
        if lookup.unit(body.siren) is None:
            bodies.append(body)
            continue
        siret = lookup.siege_siret(body.siren) or body.siret
        name = lookup.lookup(body.siren).nom
        if not name or normalised_name(name) == normalised_name(body.name):
            name = body.name
        bodies.append(replace(body, siret=siret, name=name))
    return replace(registry, bodies=tuple(bodies))


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
