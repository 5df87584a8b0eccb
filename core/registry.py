"""Registry of the region's public bodies: who they are and what they let us publish.

Two ways to know the bodies: a file typed by hand (``bodies:`` of ``DIGOR_REGISTRY``), or, with
``DIGOR_REGISTRY_SOURCE=pastell``, the télétransmission's entities checked against the SIRENE
register (``chains.registry_source`` writes them to the store each night); the file then keeps
the per-body settings only (``overrides:``: open-data switch, annexes, widget), and any body it
still lists whole. ``body_registry(settings)`` is the registry every step reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import yaml

from core.identifiers import siren_is_valid, siret_is_valid
from core.keys import REGISTRY_DISCOVERED_KEY

BODY_KINDS = ("commune", "epci", "syndicat", "departement", "region", "autre")
# Where a body's acts come from: the drop folder, Pastell, or S²LOW. A body that names none
# uses the deployment's default (``DIGOR_SOURCE``).
DROP_SOURCE, PASTELL_SOURCE, S2LOW_SOURCE = "drop", "pastell", "s2low"
ACT_SOURCES = (DROP_SOURCE, PASTELL_SOURCE, S2LOW_SOURCE)


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Body:
    siren: str
    siret: str
    name: str
    kind: str
    pastell_id_e: str | None = None
    open_data: bool = True
    # Off: every new act waits for an agent's decision in "À statuer", whatever its source says.
    automatic_publication: bool = True
    publish_annexes: bool = True
    publish_individual_acts: bool = False
    metadata_only: bool = False
    widget: dict = field(default_factory=dict)
    # SIRETs of other legal persons (e.g. a CCAS without its own entry) whose budgets this body
    # sends; a budget of another SIREN is refused unless listed here.
    budget_establishments: tuple[str, ...] = ()
    # A commune's INSEE code (its legal population); without it, the code of the siège in SIRENE.
    code_commune: str | None = None
    # The body's télétransmission platform ("" = the deployment's default) and, on S²LOW, the
    # Airflow connection of its certificate (None = the default ``DIGOR_S2LOW_CONN_ID``).
    source: str = ""
    s2low_conn_id: str | None = None

    def source_of(self, default: str) -> str:
        """Where this body's acts are pulled from, ``default`` when the registry names no source."""
        return self.source or default

    def sends_budgets_of(self, siret: str) -> bool:
        """Whether a budget document of establishment ``siret`` may come from this body: one of its
        own establishments (same SIREN), or one the registry declares for it."""
        return siret[:9] == self.siren or siret in self.budget_establishments


# What an override may set on a body the source brought (its identity comes from the register).
OVERRIDE_FIELDS = ("open_data", "automatic_publication", "publish_annexes", "publish_individual_acts",
                   "metadata_only", "widget", "budget_establishments", "code_commune")


@dataclass(frozen=True)
class Registry:
    region_name: str
    publisher: str
    bodies: tuple[Body, ...]
    # SIREN -> the per-body settings of ``overrides:`` (applied to the bodies the source brings).
    overrides: dict = field(default_factory=dict)

    @cached_property
    def _sirens(self) -> dict[str, Body]:
        return {b.siren: b for b in self.bodies}

    @cached_property
    def _id_es(self) -> dict[str, Body]:
        found: dict[str, Body] = {}
        for body in self.bodies:
            if body.pastell_id_e:
                found.setdefault(body.pastell_id_e, body)
        return found

    def by_siren(self, siren: str) -> Body | None:
        return self._sirens.get(siren)

    def by_id_e(self, id_e: str) -> Body | None:
        return self._id_es.get(id_e) if id_e else None

    def bodies_on(self, source: str, default: str) -> tuple[Body, ...]:
        """The bodies whose acts come from ``source`` (``default`` for those that name none)."""
        return tuple(b for b in self.bodies if b.source_of(default) == source)

    def sources(self, default: str) -> list[str]:
        """Every source the night reads: those the bodies are on (the default for a body that names
        none, and for a registry without bodies)."""
        return sorted({b.source_of(default) for b in self.bodies}) or [default]


def _body(entry: dict, where: str) -> Body:
    try:
        siren, siret = str(entry["siren"]), str(entry["siret"])
        name, kind = str(entry["name"]), str(entry["kind"])
    except KeyError as missing:
        raise RegistryError(f"{where}: missing field {missing}") from None
    if not siren_is_valid(siren):
        raise RegistryError(f"{where}: SIREN {siren!r} is not a valid SIREN")
    if len(siret) != 14 or not siret.startswith(siren) or not siret_is_valid(siret):
        raise RegistryError(f"{where}: SIRET {siret!r} is not a valid SIRET of SIREN {siren}")
    if kind not in BODY_KINDS:
        raise RegistryError(f"{where}: kind {kind!r} is not one of {BODY_KINDS}")
    id_e = entry.get("pastell_id_e")
    establishments = tuple(str(siret) for siret in entry.get("budget_establishments") or ())
    for establishment in establishments:
        if not siret_is_valid(establishment):
            raise RegistryError(f"{where}: budget establishment {establishment!r} is not a valid SIRET")
    code_commune = entry.get("code_commune")
    if code_commune is not None and not re.fullmatch(r"\d[\dAB]\d{3}", str(code_commune)):
        raise RegistryError(f"{where}: code_commune {code_commune!r} is not an INSEE commune code (5 characters)")
    source = str(entry.get("source") or "").strip()
    if source and source not in ACT_SOURCES:
        raise RegistryError(f"{where}: source {source!r} is not one of {ACT_SOURCES}")
    conn_id = entry.get("s2low_conn_id")
    if conn_id is not None and source != "s2low":
        raise RegistryError(f"{where}: s2low_conn_id is set but the body's source is {source or 'the default'!r}, "
                            "not 's2low'")
    for page in (entry.get("widget") or {}).get("pages_integration") or []:
        if not isinstance(page, str) or not page.startswith(("https://", "http://")):
            raise RegistryError(f"{where}: widget.pages_integration {page!r} is not an http(s) URL")
    return Body(
        siren=siren,
        siret=siret,
        name=name,
        kind=kind,
        pastell_id_e=str(id_e) if id_e is not None else None,
        open_data=bool(entry.get("open_data", True)),
        automatic_publication=bool(entry.get("automatic_publication", True)),
        publish_annexes=bool(entry.get("publish_annexes", True)),
        publish_individual_acts=bool(entry.get("publish_individual_acts", False)),
        metadata_only=bool(entry.get("metadata_only", False)),
        widget=dict(entry.get("widget") or {}),
        budget_establishments=establishments,
        code_commune=str(code_commune) if code_commune is not None else None,
        source=source,
        s2low_conn_id=str(conn_id).strip() if conn_id else None,
    )


# What a body's agents may set themselves in the agents' space, on top of the registry file.
SETTABLE = ("open_data", "automatic_publication", "publish_annexes", "widget")
# The widgets' themes (``THEMES`` of widgets/commun/theme.js, which checks the same contrast).
WIDGET_THEMES = ("clair", "sombre", "vert", "rouge", "violet", "sable", "contraste-eleve")
WIDGET_COLOURS = ("primary_color", "background_color", "text_color")
MIN_CONTRAST = 4.5
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def widget_problem(widget: Mapping) -> str | None:
    """Why these widget settings cannot be kept (in French, for the agent), or None."""
    unknown = set(widget) - {"theme", *WIDGET_COLOURS}
    if unknown:
        return f"réglage inconnu : {', '.join(sorted(unknown))}"
    if widget.get("theme") and widget["theme"] not in WIDGET_THEMES:
        return f"thème inconnu : {widget['theme']}"
    colours = {name: str(widget[name]).lower() for name in WIDGET_COLOURS if widget.get(name)}
    if not colours:
        return None
    if set(colours) != set(WIDGET_COLOURS) or not all(_COLOUR.match(c) for c in colours.values()):
        return "les trois couleurs personnalisées sont nécessaires, au format #rrggbb"
    for first, second, what in (("text_color", "background_color", "le texte et le fond"),
                                ("primary_color", "background_color", "la couleur principale et le fond")):
        ratio = contrast_ratio(colours[first], colours[second])
        if ratio < MIN_CONTRAST:
            shown = f"{int(ratio * 10) / 10:.1f}".replace(".", ",")
            return f"contraste insuffisant entre {what} ({shown}:1 ; il faut au moins 4,5:1 pour rester lisible)"
    return None


def with_settings(registry: Registry, changes: Mapping[str, Mapping]) -> Registry:
    """The registry with each body's settings (SIREN -> settings of ``SETTABLE``) on top of its file;
    settings of a body no longer in the file, and keys outside ``SETTABLE``, are ignored."""
    if not changes:
        return registry
    bodies = []
    for body in registry.bodies:
        wanted = changes.get(body.siren) or {}
        kept = {name: (dict(value) if name == "widget" else bool(value))
                for name, value in wanted.items() if name in SETTABLE}
        if "widget" in kept and widget_problem(kept["widget"]):
            del kept["widget"]
        bodies.append(replace(body, **kept) if kept else body)
    return replace(registry, bodies=tuple(bodies))


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it: ~10x faster
_LOADED: dict[str, tuple[str, Registry]] = {}  # path -> (hash of the bytes read, registry)


def load_registry(path: Path) -> Registry:
    """Read and check the registry file; a bad entry fails loudly, naming the file and entry.

    The steps of a run each ask for it: the file is parsed again only when its bytes changed.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise RegistryError(f"cannot read registry {path}: {error}") from error
    digest = hashlib.sha256(data).hexdigest()
    cached = _LOADED.get(str(path))
    if cached is not None and cached[0] == digest:
        return cached[1]
    registry = _parse(path, data)
    _LOADED[str(path)] = (digest, registry)
    return registry


def _parse(path: Path, data: bytes) -> Registry:
    try:
        document = yaml.load(data.decode("utf-8"), Loader=_LOADER)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise RegistryError(f"cannot read registry {path}: {error}") from error
    region = document.get("region") or {}
    bodies = tuple(
        _body(entry, f"{path}: body #{index + 1}") for index, entry in enumerate(document.get("bodies") or [])
    )
    seen: set[str] = set()
    for body in bodies:
        if body.siren in seen:
            raise RegistryError(f"{path}: SIREN {body.siren} appears twice")
        seen.add(body.siren)
    for body in bodies:
        for establishment in body.budget_establishments:
            if establishment[:9] in seen and establishment[:9] != body.siren:
                raise RegistryError(
                    f"{path}: budget establishment {establishment} of SIREN {body.siren} belongs to SIREN "
                    f"{establishment[:9]}, a body of the registry: its budgets come from that body"
                )
    overrides = {}
    for index, entry in enumerate(document.get("overrides") or []):
        where = f"{path}: override #{index + 1}"
        siren = str((entry or {}).get("siren", ""))
        if not siren_is_valid(siren):
            raise RegistryError(f"{where}: SIREN {siren!r} is not a valid SIREN")
        unknown = sorted(set(entry) - {"siren", *OVERRIDE_FIELDS})
        if unknown:
            raise RegistryError(f"{where}: {unknown[0]!r} cannot be overridden (only {', '.join(OVERRIDE_FIELDS)}): "
                                "a body's identity comes from the register")
        overrides[siren] = {k: v for k, v in entry.items() if k != "siren"}
    return Registry(region_name=region.get("name", ""), publisher=region.get("publisher", ""), bodies=bodies,
                    overrides=overrides)


def with_discovered(registry: Registry, discovered: list[dict]) -> Registry:
    """The bodies the source brought (``siren``, ``siret``, ``name``, ``kind``, ``pastell_id_e``), each with
    the defaults and its override, after the bodies the file lists whole (which win)."""
    listed = {body.siren for body in registry.bodies}
    added = []
    for index, entry in enumerate(discovered):
        if entry["siren"] in listed:
            continue
        settings = registry.overrides.get(entry["siren"], {})
        added.append(_body({**entry, **settings}, f"{REGISTRY_DISCOVERED_KEY}: body #{index + 1}"))
    return replace(registry, bodies=registry.bodies + tuple(added))


_DISCOVERED: dict[tuple[str, str], Registry] = {}


def body_registry(settings, until: str | None = None) -> Registry:
    """The registry of a run (``core.config.Settings``): the file, plus the bodies the source brought
    when the registry comes from the source (``registry_source``), as last refreshed; then the
    settings the bodies' agents changed in the agents' space (ledger events), the latest or those
    effective on the night ``until`` (what is decided when acts arrive)."""
    from core.ledger import body_settings  # the ledger's module reads this one's types
    from core.overlay_store import chain_store

    return with_settings(_source_registry(settings), body_settings(chain_store(settings), until))


def _source_registry(settings) -> Registry:
    registry = load_registry(settings.registry_path)
    if settings.registry_source == "file":
        return registry
    from core.store import open_store

    try:
        data = open_store(settings.store_url).get_bytes(REGISTRY_DISCOVERED_KEY)
    except FileNotFoundError:
        return registry
    cache_key = (f"{settings.registry_path}@{id(registry)}",
                 hashlib.sha256(data).hexdigest())
    if cache_key not in _DISCOVERED:
        _DISCOVERED.clear()
        _DISCOVERED[cache_key] = with_discovered(registry, json.loads(data)["bodies"])
    return _DISCOVERED[cache_key]
