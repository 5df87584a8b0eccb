"""The budgets chain as plain steps, shared by the Airflow DAG and the ``digor`` CLI.

Night D reads the acts of nature 5 that the actes chain staged for night D, turns their TOTEM
XML into digor's budget table (``staging/budgets``), then rebuilds the SCDL budget file of
every touched exercice, the touched bodies' widget files, and sends changed files to
data.gouv.fr. Every step returns a small JSON-serialisable summary.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from digor.config import DATAGOUV_SCHEMA_NAMES, TOTEM_MAX_BYTES, Settings
from digor.overlay_store import chain_store
from digor.registry import load_registry
from digor.run_report import report_key
from digor.store import ObjectStore
from extract.plans_de_comptes import PlanResolver
from load.budget_widgets import publish_body
from load.datagouv_publisher import ResourceUpload, make_publisher
from load.public_files import publish_table, switch_dataset_manifest
from load.widget_catalogue import publish_catalogue
from transform.consolidate_actes import current_decisions, follow_decisions
from transform.schema_shape import shape_for_schema
from transform.totem_plans import PlanError
from transform.totem_budgets import (
    budget_lines,
    current_documents,
    history_bytes,
    publishable,
    scdl_frame,
    staged_budget_years,
    transform_budget_night,
    write_budget_staging,
)
from validate.schema_files import load_schema_descriptor

CHAIN = "budgets"
SCHEMA = "scdl-budget"
QUARANTINE_PREFIX = "private/quarantine/budgets"
HISTORY_PREFIX = "private/budgets/versions"
PUBLIC_BASE = "public/budgets/budgets-{year}"
TITLE = "Budgets {year} (SCDL budget)"


class ActesNotStaged(RuntimeError):
    """The actes chain has not run for the night yet: the budgets run must wait (retry)."""


def _store(settings: Settings) -> ObjectStore:
    return chain_store(settings)


def _dumps(document) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def plan_resolver(settings: Settings, store: ObjectStore | None = None) -> PlanResolver:
    return PlanResolver(store, settings.plans_dirs, settings.plans_base_url)


def transform_step(settings: Settings, night: str) -> dict:
    """TOTEM of the night's budget acts -> staging; rejects quarantined with their reason."""
    store = _store(settings)
    if not store.exists(report_key("actes", night)):
        raise ActesNotStaged(f"the actes chain has not run for night {night}: no {report_key('actes', night)}")
    result = transform_budget_night(store, night, plan_resolver(settings, store), TOTEM_MAX_BYTES)
    years = write_budget_staging(store, result)
    rejects = [r.to_dict() for r in result.rejects]
    store.put_bytes(
        f"{QUARANTINE_PREFIX}/date={night}.json",
        _dumps({"night": night, "rejects": rejects, "line_problems": result.line_problems}),
    )
    return {
        "night": night,
        "years": years,
        "bodies": sorted({d["siren"] for d in result.documents} | {r["siren"] for r in rejects if r["siren"]}),
        "documents": [
            {k: d[k] for k in ("source_id", "siren", "siret", "exercice", "stage", "natdec_code", "budget_type",
                               "sealed_at", "decision", "lines", "problems")}
            for d in result.documents
        ],
        "rejects": rejects,
        "line_problems": result.line_problems,
        "without_totem": result.without_totem,
    }


def years_to_publish(settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
    return staged_budget_years(_store(settings)) if force_rebuild else list(transformed["years"])


def _open_sirens(settings: Settings) -> set[str]:
    return {b.siren for b in load_registry(settings.registry_path).bodies if b.open_data}


def publish_year_step(settings: Settings, year: int) -> dict:
    """Rebuild the exercice's regional SCDL budget file from the current published documents."""
    store = _store(settings)
    current, history = current_documents(budget_lines(store, year))
    store.put_bytes(f"{HISTORY_PREFIX}/annee={year}.json", history_bytes(history))
    current = follow_decisions(current, current_decisions(store, load_registry(settings.registry_path)))
    published = publishable(current, _open_sirens(settings))
    frame = scdl_frame(published)
    schema = settings.schema(SCHEMA)  # the run's target version: columns renamed or added by it are shaped here
    files, report = publish_table(
        store, shape_for_schema(frame, load_schema_descriptor(schema)), PUBLIC_BASE.format(year=year), schema,
        versioned=True, slot=str(year),
    )
    quarantined = [
        {
            "siret": frame.at[row, "BGT_SIRET"],
            "nature": frame.at[row, "BGT_NATURE"],
            "file": files[0].key,
            "reason": "; ".join(f"{e.field or ''}: {e.message}" for e in errors),
        }
        for row, errors in sorted(report.errors_by_row().items())
    ]
    return {
        "year": year,
        "files": {CHAIN: [f.to_dict() for f in files]},
        "rows": len(frame) - len(quarantined),
        "quarantined": quarantined,
        "published_by_body": dict(Counter(published["siren"])) if not published.empty else {},
        "replaced_versions": [h for h in history if h["status"] == "replaced"],
    }


def widget_function_plan(plans: PlanResolver) -> Callable[[str, int], dict[str, str]]:
    """The functions of a document's plan de comptes, for the widget's rubriques (none when the
    plan cannot be had: the widget then names a rubrique by its code)."""
    def functions(nomenclature: str, year: int) -> dict[str, str]:
        norme, _, declinaison = str(nomenclature).partition("-")
        try:
            return plans.get(norme, declinaison, year).functions
        except PlanError:
            return {}
    return functions


def publish_widgets_step(settings: Settings, bodies: Iterable[str] | None) -> list[str]:
    """Switch the regional files' manifest to the versions just written (the stable names follow),
    then the widget files of the given bodies (all bodies when None), from every staged exercice."""
    store = _store(settings)
    folder = PUBLIC_BASE.rsplit("/", 1)[0]
    manifest = switch_dataset_manifest(store, folder, CHAIN, settings.version_retention_days)["manifest"]
    function_plan = widget_function_plan(plan_resolver(settings, store))
    registry = load_registry(settings.registry_path)
    frames = [current_documents(budget_lines(store, year))[0] for year in staged_budget_years(store)]
    frames = [f for f in frames if not f.empty]
    current = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["siren", "decision"])
    current = follow_decisions(current, current_decisions(store, registry))
    published = publishable(current, {b.siren for b in registry.bodies if b.open_data})
    wanted = None if bodies is None else set(bodies)
    written = []
    for body in registry.bodies:
        if wanted is not None and body.siren not in wanted:
            continue
        lines = published[published["siren"] == body.siren] if not published.empty else published
        written += publish_body(store, body, registry.publisher, lines, function_plan, settings.version_retention_days)
    return [manifest] + written + [publish_catalogue(store, registry)]


def publish_datagouv_step(settings: Settings, year_results: list[dict], allow_shrink: bool = False) -> list[dict]:
    """Send the exercices' files; one that lost more than ``settings.max_shrink_ratio`` of its rows since
    the version last sent is held back (reported) unless ``allow_shrink``."""
    store = _store(settings)
    registry = load_registry(settings.registry_path)
    publisher = make_publisher(settings.datagouv_mode, store, settings=settings, allow_shrink=allow_shrink)
    declared = DATAGOUV_SCHEMA_NAMES.get(SCHEMA)
    outcomes = []
    for result in sorted(year_results, key=lambda r: r["year"]):
        for file in result["files"][CHAIN]:
            upload = ResourceUpload(
                dataset=CHAIN,
                key=file.get("version_key") or file["key"],
                title=f"{TITLE.format(year=result['year'])} ({file['format'].upper()})",
                description=f"{registry.region_name}: {file['rows']} lignes budgétaires, publié par {registry.publisher}.",
                format=file["format"],
                schema={"name": declared, "version": settings.schema_versions[SCHEMA]} if declared else None,
                filesize=file["size"],
                sha256=file["sha256"],
                rows=file["rows"],
                name=file["key"].rsplit("/", 1)[1],
            )
            outcomes.append(publisher.publish(upload, store.get_bytes(upload.key)))
    return outcomes


def report_step(settings: Settings, night: str, transformed: dict, years: list[dict], widgets: list[str], datagouv: list[dict]) -> dict:
    """The night's report: documents per body, rejects with reasons, rows left out, files."""
    bodies: dict[str, Counter] = {}
    for document in transformed["documents"]:
        counts = bodies.setdefault(document["siren"], Counter())
        counts["documents"] += 1
        counts[f"decision_{document['decision']}"] += 1
    for reject in transformed["rejects"]:
        bodies.setdefault(reject["siren"] or "inconnu", Counter())["rejected"] += 1
    quarantined = [q for y in years for q in y["quarantined"]]
    report = {
        "chain": CHAIN,
        "night": night,
        "totals": {
            "extracted": len(transformed["documents"]) + len(transformed["rejects"]) + len(transformed["without_totem"]),
            "transformed": len(transformed["documents"]),
            "rejected": len(transformed["rejects"]),
            "quarantined_rows": len(quarantined) + len(transformed["line_problems"]),
            "years_published": [y["year"] for y in years],
        },
        "bodies": {siren: dict(sorted(c.items())) for siren, c in sorted(bodies.items())},
        "documents": transformed["documents"],
        "rejected": [{**r, "raw_prefix": r["raw_key"]} for r in transformed["rejects"]],
        "line_problems": transformed["line_problems"],
        "quarantined_rows": quarantined,
        "without_totem": transformed["without_totem"],
        "replaced_versions": [v for y in years for v in y["replaced_versions"]],
        "files": [f for y in years for files in y["files"].values() for f in files],
        "widget_files_written": widgets,
        "datagouv": datagouv,
    }
    key = report_key(CHAIN, night)
    _store(settings).put_bytes(key, _dumps(report))
    totals = report["totals"]
    summary = [
        f"budgets {night}: {totals['transformed']} documents converted, {totals['rejected']} rejected, "
        f"{totals['quarantined_rows']} lines left out, years published {totals['years_published']}"
    ]
    summary += [f"  rejected {r['raw_key']}: {r['reason']}" for r in transformed["rejects"]]
    return {"key": key, "summary": summary, "totals": totals}


def run_night(
    settings: Settings, night: str, force_rebuild: bool = False, progress: Callable[[str], None] = lambda _: None,
    allow_shrink: bool = False,
) -> dict:
    """All steps in order, without a scheduler (what ``digor run budgets`` does)."""
    progress("transform")
    transformed = transform_step(settings, night)
    years = []
    for year in years_to_publish(settings, transformed, force_rebuild):
        progress(f"publish {year}")
        years.append(publish_year_step(settings, year))
    progress("widgets")
    widgets = publish_widgets_step(settings, None if force_rebuild else transformed["bodies"])
    progress("data.gouv.fr")
    datagouv = publish_datagouv_step(settings, years, allow_shrink)
    progress("report")
    return report_step(settings, night, transformed, years, widgets, datagouv)


def convert_files(paths: Iterable[Path], out_dir: Path, plans: PlanResolver) -> list[dict]:
    """``digor convert totem``: one SCDL budget CSV per TOTEM file, with the chain's code."""
    from load.public_files import csv_bytes
    from transform.totem_budgets import convert_totem
    from transform.totem_scdl import SCDL_COLUMNS

    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path in paths:
        path = Path(path)
        try:
            conversion = convert_totem(path.read_bytes(), plans, TOTEM_MAX_BYTES)
        except (OSError, ValueError) as error:
            results.append({"file": str(path), "error": str(error)})
            continue
        target = out_dir / f"{path.stem if path.stem != 'totem' else path.parent.name}.csv"
        frame = pd.DataFrame(conversion.rows, columns=list(SCDL_COLUMNS))
        target.write_bytes(csv_bytes(frame))
        results.append({
            "file": str(path), "csv": str(target), "rows": len(conversion.rows),
            "problems": [p.to_dict() for p in conversion.problems],
        })
    return results
