"""Backfill: replay the raw zone through today's transform and validation.

Nothing is extracted again. Every write goes to an overlay in the private zone first
(``private/backfill/<id>/``); a diff of each public file against what is published is
written next to it, and a dry run stops there. A real run then promotes the overlay
and republishes. Each night leaves a marker, so an interrupted backfill resumes; every
step is deterministic, so a rerun finishes with the same result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from digor import actes_chain, budgets_chain, decp_chain
from digor.config import CHAINS, Settings
from digor.overlay_store import OverlayStore
from digor.store import ObjectStore, open_store
from digor.table_diff import TableDiff, diff_tables, read_csv_bytes

BACKFILL_PREFIX = "private/backfill"
REPORTS_PREFIX = "private/backfill-reports"
_NIGHT = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class Replay:
    """How one chain replays its nights from the raw zone: the steps of its DAG minus extraction."""

    main_schema: str  # the national schema whose version ``--schema-version`` sets
    raw_prefixes: Callable[[Settings], list[str]]  # where the chain's inputs of each night are kept
    transform: Callable[[Settings, str], list[int]]  # one night again; the years it touches
    build: Callable[[Settings, list[int]], list[dict]]  # the years' files (results with "files"), widgets
    datagouv: Callable[[Settings, list[dict]], list[dict]]
    diff_keys: dict[str, list[str]]  # per dataset of the results, the columns that identify a row


def _actes_build(settings: Settings, years: list[int]) -> list[dict]:
    results = [actes_chain.publish_year_step(settings, year, None) for year in years]
    actes_chain.publish_widget_indexes_step(settings, sorted({s for r in results for s in r["bodies"]}))
    return results


def _budgets_build(settings: Settings, years: list[int]) -> list[dict]:
    results = [budgets_chain.publish_year_step(settings, year) for year in years]
    budgets_chain.publish_widgets_step(settings, None)  # switches the manifest, then every body's files
    return results


def _decp_build(settings: Settings, years: list[int]) -> list[dict]:
    results = [decp_chain.publish_year_step(settings, year) for year in years]
    decp_chain.publish_widget_indexes_step(settings, sorted({b for r in results for b in r["buyers"]}))
    return results


def _actes_raw(settings: Settings) -> list[str]:
    return [f"raw/actes/{settings.source_name}/"]


REPLAYS: dict[str, Replay] = {
    "actes": Replay(
        "scdl-deliberations", _actes_raw,
        lambda settings, night: actes_chain.transform_step(settings, night)["years"],
        _actes_build, actes_chain.publish_datagouv_step,
        {"deliberations": ["COLL_SIRET", "DELIB_ID", "DELIB_DATE"], "actes": ["COLL_SIRET", "SOURCE_ID"]},
    ),
    # Budgets come with the acts (nature 5): same raw nights, read from the actes chain's staging.
    "budgets": Replay(
        "scdl-budget", _actes_raw,
        lambda settings, night: budgets_chain.transform_step(settings, night)["years"],
        _budgets_build, budgets_chain.publish_datagouv_step,
        {"budgets": ["BGT_SIRET", "BGT_ANNEE", "BGT_NATDEC", "BGT_CODRD", "BGT_SECTION", "BGT_OPBUDG", "BGT_CONTNAT",
                     "BGT_NATURE", "BGT_FONCTION", "BGT_OPERATION", "BGT_ARTSPE"]},
    ),
    "decp": Replay(
        "decp", lambda settings: [f"raw/decp/{source}/" for source in decp_chain.SOURCES],
        lambda settings, night: decp_chain.transform_step(settings, night)["years"],
        _decp_build, decp_chain.publish_datagouv_step,
        {"table": ["uid", "modification_id", "titulaire_id"]},
    ),
}


assert tuple(REPLAYS) == CHAINS, "every chain of digor.config.CHAINS can be replayed"


def check_chain(chain: str) -> Replay:
    if chain not in REPLAYS:
        raise ValueError(f"chain {chain!r} cannot be backfilled (known: {sorted(REPLAYS)})")
    return REPLAYS[chain]


def backfill_id(chain: str, date_from: str, date_to: str, schema_version: str | None) -> str:
    return f"{chain}-{date_from}-{date_to}-{schema_version or 'current'}"


def backfill_settings(settings: Settings, chain: str, bid: str, schema_version: str | None) -> Settings:
    versions = dict(settings.schema_versions)
    if schema_version:
        versions[check_chain(chain).main_schema] = schema_version
    return settings.with_overrides(overlay_prefix=f"{BACKFILL_PREFIX}/{bid}", schema_versions=versions)


def raw_nights(store: ObjectStore, settings: Settings, chain: str, date_from: str, date_to: str) -> list[str]:
    """The nights of the chain's raw zone within the dates."""
    nights = {m.group(1) for prefix in check_chain(chain).raw_prefixes(settings)
              for k in store.list_keys(prefix) if (m := _NIGHT.search(k))}
    return sorted(n for n in nights if date_from <= n <= date_to)


def _marker(settings: Settings, night: str) -> str:
    return f"{settings.overlay_prefix}/done/night={night}.json"


def replay_night(settings: Settings, chain: str, night: str) -> list[int]:
    """Transform one night again from raw into the overlay; skipped when already done."""
    base = open_store(settings.store_url)
    marker = _marker(settings, night)
    if base.exists(marker):
        return json.loads(base.get_bytes(marker))["years"]
    years = check_chain(chain).transform(settings, night)
    base.put_bytes(marker, json.dumps({"years": years}).encode())
    return years


def build_outputs(settings: Settings, chain: str, years: list[int]) -> list[dict]:
    """The years' public files and widget files, in the overlay."""
    return check_chain(chain).build(settings, sorted(set(years)))


def diff_outputs(settings: Settings, chain: str, results: list[dict]) -> list[TableDiff]:
    base = open_store(settings.store_url)
    overlay = OverlayStore(base, settings.overlay_prefix)
    diffs = []
    for result in results:
        for dataset, files in sorted(result["files"].items()):
            for file in files:
                if file["format"] != "csv":
                    continue
                key = file["key"]
                before = read_csv_bytes(base.get_bytes(key) if base.exists(key) else None)
                after = read_csv_bytes(overlay.get_bytes(key))
                diffs.append(diff_tables(key, before, after, check_chain(chain).diff_keys.get(dataset, [])))
    return diffs


def run_backfill(
    settings: Settings,
    chain: str,
    date_from: str,
    date_to: str,
    schema_version: str | None = None,
    dry_run: bool = False,
    restart: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Replay, diff, and (unless ``dry_run``) promote and republish.

    ``restart`` drops what an earlier interrupted or dry run left, e.g. after a code fix.
    """
    check_chain(chain)
    for value in (date_from, date_to):
        date.fromisoformat(value)
    bid = backfill_id(chain, date_from, date_to, schema_version)
    work = backfill_settings(settings, chain, bid, schema_version)
    base = open_store(settings.store_url)
    if restart:
        OverlayStore(base, work.overlay_prefix).discard()
    nights = raw_nights(base, settings, chain, date_from, date_to)
    years: set[int] = set()
    for night in nights:
        progress(f"replay {night}")
        years.update(replay_night(work, chain, night))
    progress("build")
    results = build_outputs(work, chain, sorted(years))
    report = write_diff_report(work, bid, chain, nights, results, dry_run)
    if dry_run:
        return report
    progress("promote")
    return {**report, **promote(settings, work, chain, results)}


def write_diff_report(
    work: Settings, bid: str, chain: str, nights: list[str], results: list[dict], dry_run: bool
) -> dict:
    diffs = diff_outputs(work, chain, results)
    report = {
        "id": bid,
        "chain": chain,
        "nights": nights,
        "years": sorted(r["year"] for r in results),
        "schema_versions": work.schema_versions,
        "dry_run": dry_run,
        "diff": [d.to_dict() for d in diffs],
    }
    report_key = f"{REPORTS_PREFIX}/{bid}.json"
    base = open_store(work.store_url)
    base.put_bytes(report_key, (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode())
    return {**report, "report_key": report_key, "summary": [d.to_text() for d in diffs]}


def promote(settings: Settings, work: Settings, chain: str, results: list[dict]) -> dict:
    """Apply the overlay to the store, then send the changed files to data.gouv.fr."""
    promoted = OverlayStore(open_store(settings.store_url), work.overlay_prefix).promote()
    published = settings.with_overrides(schema_versions=work.schema_versions)
    return {"promoted": promoted, "datagouv": check_chain(chain).datagouv(published, results)}
