"""The SIRENE chain as plain steps (monthly DAG and ``digor sirene``), and the hooks other chains call.

A month's refresh: list the identifiers digor needs (the registry's bodies and every
identifier another chain registered), download each national stock file, reduce it to
those identifiers in bounded memory, and cache the result in the private zone::

    private/sirene/<YYYY-MM>/unites_legales.parquet
    private/sirene/<YYYY-MM>/etablissements.parquet
    private/sirene/<YYYY-MM>/identifiants.json     what the cache was reduced for
    private/sirene/<YYYY-MM>/manifest.json         the month, the source files, the cached files
    private/sirene/current.json                    which month the other chains read

Reruns of a month give the same bytes and rewrite nothing (a downloaded file is only
revalidated). Hooks for other chains: ``enrich_identifiers`` (DECP buyers and
titulaires), ``load_lookup``, ``registry_with_register`` (actes ``COLL_SIRET``/``COLL_NOM``)
and ``body_headers`` (widget headers).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import pandas as pd

from chains.run_report import write_report_document
from core.config import Settings
from core.geo import in_france, lambert93_to_wgs84
from core.jsonio import json_bytes as _dumps
from core.keys import SIRENE_PREFIX, report_key
from core.registry import Registry, body_registry
from core.sirene_stock import KINDS, STOCK_FILE_NAMES
from core.store import ObjectStore, open_store, put_if_changed, read_parquet, sha256_hex, table_to_parquet_bytes
from extract.sirene_download import download_file, file_url
from extract.sirene_reduce import Wanted, reduce_stock
from transform.sirene_lookup import Entity, SireneLookup, is_diffusible
from transform.sirene_registry import check_registry, filled_registry

CHAIN = "sirene"
PREFIX = SIRENE_PREFIX
CURRENT_KEY = f"{PREFIX}/current.json"
WANTED_PREFIX = f"{PREFIX}/wanted"


def _store(settings: Settings) -> ObjectStore:
    return open_store(settings.store_url)


def _load_json(store: ObjectStore, key: str) -> dict | None:
    return json.loads(store.get_bytes(key)) if store.exists(key) else None


def month_of(value: str) -> str:
    """``YYYY-MM`` of a date (``YYYY-MM-DD``) or a month; refuses anything else."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10] if len(text) > 7 else f"{text}-01").strftime("%Y-%m")
    except ValueError:
        raise ValueError(f"{value!r} is neither a date (YYYY-MM-DD) nor a month (YYYY-MM)") from None


def cache_key(month: str, kind: str) -> str:
    return f"{PREFIX}/{month}/{kind}.parquet"


def manifest_key(month: str) -> str:
    return f"{PREFIX}/{month}/manifest.json"


def identifiers_key(month: str) -> str:
    return f"{PREFIX}/{month}/identifiants.json"


def _identifiers(values: Iterable) -> list[str]:
    """Distinct SIRENs/SIRETs (9 or 14 digits once spaces and dots are gone), sorted."""
    kept = set()
    for value in values:
        digits = "".join(ch for ch in str(value or "") if ch.isdigit())
        if len(digits) in (9, 14) and len(str(value).strip()) <= 20:
            kept.add(digits)
    return sorted(kept)


# --- identifiers other chains need ------------------------------------------------------


def register_identifiers(settings: Settings, identifiers: Iterable[str], source: str) -> int:
    """Add identifiers a chain has seen to those the next refresh keeps; returns how many were new."""
    if not source.isidentifier():
        raise ValueError(f"source name {source!r} must be a plain word")
    store = _store(settings)
    key = f"{WANTED_PREFIX}/{source}.json"
    known = set((_load_json(store, key) or {}).get("identifiants", []))
    merged = sorted(known | set(_identifiers(identifiers)))
    put_if_changed(store, key, _dumps({"source": source, "identifiants": merged}))
    return len(merged) - len(known)


def wanted_identifiers(settings: Settings) -> dict[str, list[str]]:
    """Identifiers per source: the registry's bodies (SIREN and SIRET) and each registered source."""
    store = _store(settings)
    registry = body_registry(settings)
    by_source = {"registry": _identifiers([b.siren for b in registry.bodies] + [b.siret for b in registry.bodies])}
    for key in store.list_keys(f"{WANTED_PREFIX}/"):
        if key.endswith(".json"):
            document = _load_json(store, key) or {}
            by_source[document.get("source") or Path(key).stem] = _identifiers(document.get("identifiants", []))
    return by_source


# --- the monthly refresh ----------------------------------------------------------------


def plan_step(settings: Settings, month: str) -> dict:
    """Freeze the identifiers this month's cache is reduced for."""
    month = month_of(month)
    by_source = wanted_identifiers(settings)
    identifiers = _identifiers(i for values in by_source.values() for i in values)
    wanted = Wanted.of(identifiers)
    put_if_changed(_store(settings), identifiers_key(month), _dumps({"month": month, "identifiants": identifiers}))
    return {
        "month": month,
        "identifiers_key": identifiers_key(month),
        "sirens": len(wanted.sirens),
        "sirets": len(wanted.sirets),
        "by_source": {source: len(values) for source, values in sorted(by_source.items())},
    }


def _download_dir(settings: Settings, month: str) -> Path:
    return Path(settings.sirene_work_dir) / "downloads" / month


def _drop_older_downloads(settings: Settings, month: str) -> list[str]:
    root = Path(settings.sirene_work_dir) / "downloads"
    removed = []
    for folder in sorted(root.glob("????-??")) if root.is_dir() else []:
        if folder.is_dir() and folder.name < month:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def refresh_step(
    settings: Settings,
    month: str,
    kind: str,
    force_rebuild: bool = False,
    progress: Callable[[str, int, int | None], None] = lambda stage, done, total: None,
) -> dict:
    """Download (or revalidate) one stock file, reduce it, cache the reduction for the month."""
    if kind not in KINDS:
        raise ValueError(f"unknown SIRENE file {kind!r}; one of {KINDS}")
    month = month_of(month)
    store = _store(settings)
    planned = _load_json(store, identifiers_key(month))
    if planned is None:
        raise FileNotFoundError(f"{identifiers_key(month)} missing: run the plan step of {month} first")
    url = file_url(settings.sirene_base_url, STOCK_FILE_NAMES[kind])
    downloaded = download_file(
        url,
        _download_dir(settings, month) / STOCK_FILE_NAMES[kind],
        force=force_rebuild,
        progress=lambda done, total: progress("download", done, total),
    )
    table, stats = reduce_stock(
        downloaded.path, kind, Wanted.of(planned["identifiants"]), progress=lambda done, total: progress("reduce", done, total)
    )
    data = table_to_parquet_bytes(table)
    written = put_if_changed(store, cache_key(month, kind), data)
    _drop_older_downloads(settings, month)
    return {
        "kind": kind,
        "key": cache_key(month, kind),
        "rows": table.num_rows,
        "sha256": sha256_hex(data),
        "written": written,
        "download": downloaded.to_dict(),
        "source_month": downloaded.source_month,
        "reduction": stats.to_dict(),
    }


def manifest_step(settings: Settings, month: str, plan: dict, results: list[dict]) -> dict:
    """Name the month's files in its manifest; point ``current.json`` at it unless a later month is there."""
    month = month_of(month)
    store = _store(settings)
    by_kind = {r["kind"]: r for r in results}
    missing = [k for k in KINDS if k not in by_kind]
    if missing:
        raise ValueError(f"cannot write the SIRENE manifest of {month} without {missing}")
    manifest = {
        "month": month,
        "identifiers": {"key": plan["identifiers_key"], "sirens": plan["sirens"], "sirets": plan["sirets"]},
        "files": {
            kind: {
                "key": r["key"],
                "rows": r["rows"],
                "sha256": r["sha256"],
                "source": {
                    "url": r["download"]["url"],
                    "size": r["download"]["size"],
                    "sha256": r["download"]["sha256"],
                    "etag": r["download"]["etag"],
                    "last_modified": r["download"]["last_modified"],
                    "month": r["source_month"],
                },
            }
            for kind, r in sorted(by_kind.items())
        },
    }
    put_if_changed(store, manifest_key(month), _dumps(manifest))
    current = _load_json(store, CURRENT_KEY)
    moved = current is None or current.get("month", "") <= month
    if moved:
        put_if_changed(store, CURRENT_KEY, _dumps({"month": month, "manifest": manifest_key(month)}))
    return {"month": month, "manifest_key": manifest_key(month), "current": moved}


def check_registry_step(settings: Settings, month: str | None = None) -> dict:
    """The registry against the cache; errors are configuration errors to fix in the registry."""
    store = _store(settings)
    month = month_of(month) if month else current_month(store)
    lookup = load_lookup(settings, month)
    if lookup is None:
        raise FileNotFoundError("no SIRENE cache yet: run `digor sirene refresh` (or the sirene DAG) first")
    planned = _load_json(store, identifiers_key(month)) or {}
    requested = {i[:9] for i in planned.get("identifiants", [])} if planned else None
    findings = check_registry(body_registry(settings), lookup, requested)
    return {
        "month": month,
        "errors": sum(f.severity == "error" for f in findings),
        "warnings": sum(f.severity == "warning" for f in findings),
        "findings": [f.to_dict() for f in findings],
    }


def report_step(
    settings: Settings, month: str, plan: dict, results: list[dict], published: dict, check: dict,
    dag_id: str | None = None, run_id: str | None = None,
) -> dict:
    """The month's run report (JSON + HTML under ``private/reports/sirene/date=<YYYY-MM>/``)."""
    month = month_of(month)
    warnings = []
    for result in sorted(results, key=lambda r: r["kind"]):
        if result["source_month"] and result["source_month"] < month:
            warnings.append(
                f"{STOCK_FILE_NAMES[result['kind']]} dates from {result['source_month']}: "
                f"INSEE may not have published {month} yet"
            )
    summary = [
        f"SIRENE {month}: {plan['sirens']} SIREN and {plan['sirets']} SIRET asked for ({', '.join(f'{k} {v}' for k, v in plan['by_source'].items())})",
        *(
            f"{r['kind']}: {r['rows']} rows kept of {r['reduction']['rows_in_file']} "
            f"(download {r['download']['status']}, cache {'rewritten' if r['written'] else 'unchanged'})"
            for r in sorted(results, key=lambda r: r["kind"])
        ),
        f"registry check: {check['errors']} error(s), {check['warnings']} warning(s)",
        *(f"  {f['severity']}: {f['siren']} {f['body']}: {f['message']}" for f in check["findings"]),
        *(f"warning: {w}" for w in warnings),
    ]
    report = {
        "chain": CHAIN,
        "night": month,
        "plan": plan,
        "files": sorted(results, key=lambda r: r["kind"]),
        "manifest": published,
        "registry_check": check,
        "warnings": warnings,
        "summary": summary,
    }
    key = report_key(CHAIN, month)
    html_key = write_report_document(_store(settings), key, report, dag_id, run_id)
    return {"key": key, "html": html_key, "summary": summary, "registry_errors": check["errors"]}


def run_month(
    settings: Settings,
    month: str,
    force_rebuild: bool = False,
    progress: Callable[[str, int, int | None], None] = lambda stage, done, total: None,
) -> dict:
    """Every step of a month in order, without a scheduler (what ``digor sirene refresh`` does)."""
    plan = plan_step(settings, month)
    results = [refresh_step(settings, month, kind, force_rebuild, progress) for kind in KINDS]
    published = manifest_step(settings, month, plan, results)
    check = check_registry_step(settings, month)
    return report_step(settings, month, plan, results, published, check)


# --- reading the cache (hooks for the other chains) ------------------------------------------


def current_month(store: ObjectStore) -> str | None:
    current = _load_json(store, CURRENT_KEY)
    return current.get("month") if current else None


def load_lookup(settings: Settings, month: str | None = None) -> SireneLookup | None:
    """The cached lookup of ``month`` (default: the current one); ``None`` when there is no cache."""
    store = _store(settings)
    month = month or current_month(store)
    if not month or not all(store.exists(cache_key(month, kind)) for kind in KINDS):
        return None
    return SireneLookup(
        read_parquet(store, cache_key(month, "unites_legales")),
        read_parquet(store, cache_key(month, "etablissements")),
        month,
    )


def requested_sirens(settings: Settings) -> set[str] | None:
    """The SIRENs the current cache was reduced for (None: no cache, or no plan kept)."""
    store = _store(settings)
    month = current_month(store)
    planned = (_load_json(store, identifiers_key(month)) or {}) if month else {}
    return {i[:9] for i in planned.get("identifiants", [])} if planned else None


def enrich_identifiers(settings: Settings, identifiers: Iterable[str], source: str = "decp") -> pd.DataFrame:
    """Names, places and SME flags of ``identifiers`` (SIRETs or SIRENs), one row each.

    Also registers the identifiers under ``source`` so that the next monthly refresh keeps
    them: an identifier seen for the first time comes back with ``trouve`` False (and no
    name) until then. Works without any cache (every row ``trouve`` False).
    """
    identifiers = [str(i) for i in identifiers if i is not None and str(i).strip()]
    register_identifiers(settings, identifiers, source)
    lookup = load_lookup(settings) or SireneLookup.empty()
    return lookup.lookup_frame(identifiers)


def register_lookup(settings: Settings) -> SireneLookup:
    """The current month's cache, read once for all calls (empty when there is none)."""
    return load_lookup(settings) or SireneLookup.empty()


def entity_lookup(settings: Settings) -> Callable[[str], Entity]:
    """identifier -> ``Entity`` (name, SME flag, département…), the cache read once for all calls."""
    return register_lookup(settings).lookup


def name_lookup(settings: Settings, fallback: Callable[[str], str | None] | None = None) -> Callable[[str], str | None]:
    """identifier -> name under the diffusion rules, else ``fallback(identifier)``.

    The shape of the DECP chain's ``NameLookup``: ``name_lookup(settings, decp_chain.name_lookup(settings, registry))``
    puts the register's names first and keeps the registry's as a fallback.
    """
    entity_of = entity_lookup(settings)

    def name(identifier: str) -> str | None:
        entity = entity_of(identifier) if identifier else None
        if entity is not None and entity.nom:
            return entity.nom
        return fallback(identifier) if fallback else None

    return name


def registry_with_register(settings: Settings, registry: Registry | None = None) -> Registry:
    """The registry with SIRETs and names kept right by the cache (unchanged when there is none)."""
    registry = registry or body_registry(settings)
    lookup = load_lookup(settings)
    return filled_registry(registry, lookup) if lookup is not None else registry


def body_location(settings: Settings) -> Callable[[str], tuple[float, float] | None]:
    """SIRET -> (longitude, latitude) of the establishment as the register places it (Lambert-93 converted),
    None when the cache has no coordinates for it, or none in metropolitan France; the cache read once."""
    lookup = load_lookup(settings)

    def location(siret: str) -> tuple[float, float] | None:
        etab = lookup.establishment(siret) if lookup is not None else None
        if etab is None or not is_diffusible(etab.get("statutDiffusionEtablissement")):
            return None  # a place the register does not let us show
        try:
            x = float(etab["coordonneeLambertAbscisseEtablissement"])
            y = float(etab["coordonneeLambertOrdonneeEtablissement"])
        except (TypeError, KeyError, ValueError):
            return None
        point = lambert93_to_wgs84(x, y)
        return point if in_france(*point) else None

    return location


def body_headers(settings: Settings) -> Callable[[str], dict | None]:
    """SIREN -> what a widget header shows of a body (name, address, commune, département, legal
    category, activity), the cache read once; None for every body without a cache."""
    lookup = load_lookup(settings)
    keys = ("siren", "siret", "nom", "adresse", "code_postal", "commune", "code_commune", "departement",
            "categorie_juridique", "categorie_juridique_libelle", "activite_principale", "mois_sirene")

    def header(siren: str) -> dict | None:
        entity = lookup.lookup(siren) if lookup is not None else None
        if entity is None or not entity.trouve:
            return None
        values = entity.to_json()
        return {key: values[key] for key in keys}

    return header

