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
from datetime import date

from chains.chain import Chain, get_chain
from chains.table_diff import TableDiff, diff_tables, read_csv_bytes
from core.config import CHAINS, Settings
from core.jsonio import json_bytes
from core.keys import BACKFILL_PREFIX, BACKFILL_REPORTS_PREFIX
from core.overlay_store import OverlayStore
from core.store import ObjectStore, open_store

REPORTS_PREFIX = BACKFILL_REPORTS_PREFIX
_NIGHT = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


def check_chain(chain: str) -> Chain:
    if chain not in CHAINS:
        raise ValueError(f"chain {chain!r} cannot be backfilled (known: {', '.join(CHAINS)})")
    return get_chain(chain)


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
    years = check_chain(chain).transform(settings, night)["years"]
    base.put_bytes(marker, json.dumps({"years": years}).encode())
    return years


def build_outputs(settings: Settings, chain: str, years: list[int]) -> list[dict]:
    """The years' public files and widget files (every body's), in the overlay."""
    replayed = check_chain(chain)
    results = [replayed.publish_year(settings, year) for year in sorted(set(years))]
    replayed.publish_widgets(settings, replayed.widget_bodies({}, results, True))
    return results


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
    base.put_bytes(report_key, json_bytes(report))
    return {**report, "report_key": report_key, "summary": [d.to_text() for d in diffs]}


def promote(settings: Settings, work: Settings, chain: str, results: list[dict]) -> dict:
    """Apply the overlay to the store, then send the changed files to data.gouv.fr, under the chain's
    lease (a decision recorded since the build leaves its years stale: the next run rebuilds them)."""
    found = check_chain(chain)
    with found.lock(settings, f"digor backfill {chain} {work.overlay_prefix}: promote"):
        found.owe_datagouv(settings, results)  # whatever stops after the promotion, the next run sends them
        promoted = OverlayStore(open_store(settings.store_url), work.overlay_prefix).promote()
        published = settings.with_overrides(schema_versions=work.schema_versions)
        return {"promoted": promoted, "datagouv": found.publish_datagouv(published, results)}
