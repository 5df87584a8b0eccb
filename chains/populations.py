"""INSEE's legal populations, cached privately for the Budgets widget's amounts per inhabitant.

Refreshed with the monthly SIRENE run (``dags/sirene.py``): the millésime's file
(``Settings.populations_url``) is downloaded once into the SIRENE work folder, then only
revalidated (ETag / Last-Modified), read, and cached::

    private/populations/<millésime>/communes.parquet   one row per commune (core.populations)
    private/populations/<millésime>/manifest.json      the source file and what was kept
    private/populations/current.json                   the millésime the widgets read

A rerun gives the same bytes and rewrites nothing. ``body_population`` is the hook the
budgets chain calls: a commune's population by its INSEE code (the registry's
``code_commune``, else its siège's commune in the SIRENE cache); any other body has none,
and gets no amount per inhabitant (never a guess).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from core.config import Settings
from core.jsonio import json_bytes
from core.keys import POPULATIONS_PREFIX
from core.populations import POPULATION_KIND
from core.registry import Body, Registry
from core.store import (
    ObjectStore,
    open_store,
    put_if_changed,
    read_parquet,
    sha256_hex,
    table_to_parquet_bytes,
)
from extract.populations import read_populations
from extract.sirene_download import download_file

CURRENT_KEY = f"{POPULATIONS_PREFIX}/current.json"


def cache_key(year: int) -> str:
    return f"{POPULATIONS_PREFIX}/{int(year)}/communes.parquet"


def manifest_key(year: int) -> str:
    return f"{POPULATIONS_PREFIX}/{int(year)}/manifest.json"


def _load_json(store: ObjectStore, key: str) -> dict | None:
    return json.loads(store.get_bytes(key)) if store.exists(key) else None


def refresh_step(settings: Settings, force_rebuild: bool = False) -> dict:
    """Download (or revalidate) the millésime's file, read it, cache its communes; what was done."""
    store = open_store(settings.store_url)
    year = int(settings.populations_year)
    name = Path(urlsplit(settings.populations_url).path).name or "populations"
    downloaded = download_file(settings.populations_url,
                               Path(settings.sirene_work_dir) / "populations" / str(year) / name, force=force_rebuild)
    table = read_populations(Path(downloaded.path).read_bytes(), name)
    data = table_to_parquet_bytes(table)
    written = put_if_changed(store, cache_key(year), data)
    manifest = {
        "annee": year,
        "population": POPULATION_KIND,
        "communes": table.num_rows,
        "fichier": {"key": cache_key(year), "sha256": sha256_hex(data)},
        "source": {"url": downloaded.url, "size": downloaded.size, "sha256": downloaded.sha256,
                   "etag": downloaded.etag, "last_modified": downloaded.last_modified},
    }
    put_if_changed(store, manifest_key(year), json_bytes(manifest))
    current = _load_json(store, CURRENT_KEY)
    moved = current is None or int(current.get("annee", 0)) <= year
    if moved:
        put_if_changed(store, CURRENT_KEY, json_bytes({"annee": year, "manifest": manifest_key(year)}))
    return {"year": year, "communes": table.num_rows, "download": downloaded.status, "written": bool(written),
            "current": moved}


def summary_line(result: dict) -> str:
    return (f"legal populations {result['year']}: {result['communes']} communes "
            f"(download {result['download']}, cache {'rewritten' if result['written'] else 'unchanged'})")


def load_populations(store: ObjectStore) -> tuple[int, dict[str, int]] | None:
    """The current millésime and the population totale of each commune by code; None without a cache."""
    current = _load_json(store, CURRENT_KEY)
    if current is None or not store.exists(cache_key(current["annee"])):
        return None
    table = read_parquet(store, cache_key(current["annee"]))
    codes, totals = table["code_commune"].to_pylist(), table["population_totale"].to_pylist()
    return int(current["annee"]), dict(zip(codes, (int(t) for t in totals)))


def body_population(store: ObjectStore, registry: Registry,
                    code_of_siege: Callable[[str], str | None] = lambda siren: None) -> Callable[[Body], dict | None]:
    """Body -> its legal population (``nombre``, ``annee``, ``type``, ``code_commune``), or None: a commune
    by the registry's ``code_commune``, else by ``code_of_siege(siren)`` (SIRENE); other bodies have none."""
    loaded = load_populations(store)

    def population(body: Body) -> dict | None:
        if loaded is None or body.kind != "commune":
            return None
        year, by_code = loaded
        code = body.code_commune or code_of_siege(body.siren)
        if not code or code not in by_code or by_code[code] <= 0:
            return None
        return {"nombre": by_code[code], "annee": year, "type": POPULATION_KIND, "code_commune": code}

    return population
