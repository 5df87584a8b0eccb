"""The actes chain as plain steps, shared by the Airflow DAG and the ``digor`` CLI.

Each step opens what it needs from ``Settings``, works on one partition (a night or a
year) and returns a small JSON-serialisable summary that the next step and the run
report read.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import pandas as pd

from digor.config import DATAGOUV_SCHEMA_NAMES, Settings
from digor.ledger import engineer_event, read_events, replay, write_command_event, write_night_events
from digor.overlay_store import chain_store
from digor.registry import Registry, load_registry
from digor.run_report import write_run_report
from digor.store import ObjectStore
from extract import pastell_source
from extract.drop_folder import extract_night
from load.datagouv_publisher import ResourceUpload, make_publisher
from load.documents import document_key, publish_documents
from load.public_files import publish_table, switch_dataset_manifest
from load.widget_catalogue import publish_catalogue
from load.widget_files import pending_bodies, publish_index, publish_year_files
from transform.actes import staged_years, transform_night, write_staging
from transform.consolidate_actes import current_acts, latest_versions
from transform.publication_rule import Decision
from transform.schema_shape import shape_for_schema
from transform.scdl_deliberations import actes_table, deliberations_of, deliberations_table
from validate.schema_files import load_schema_descriptor
from validate.table_validator import TableReport

CHAIN = "actes"
QUARANTINE_PREFIX = "private/quarantine/actes"
# Extraction and transform summaries of a run that only republishes.
NO_NIGHT = {"acts": 0, "by_body": {}, "skipped_files": [], "rows": 0, "decisions": {}, "rejects": []}
DATASETS = {
    "deliberations": ("scdl-deliberations", "Délibérations {year}", "public/deliberations/deliberations-{year}"),
    "actes": ("actes", "Actes {year} (toutes natures)", "public/actes/actes-{year}"),
}


def _timed(step: Callable[..., dict]) -> Callable[..., dict]:
    """Add the step's wall time to its summary, for the run report."""

    @functools.wraps(step)
    def run(*args, **kwargs) -> dict:
        start = time.monotonic()
        result = step(*args, **kwargs)
        return {**result, "duration_s": round(time.monotonic() - start, 3)}

    return run


def _registry(settings: Settings) -> Registry:
    """The registry, its SIRETs and names kept right by the SIRENE cache when there is one (optional)."""
    from digor.sirene_chain import registry_with_register

    return registry_with_register(settings, load_registry(settings.registry_path))


def _store(settings: Settings) -> ObjectStore:
    return chain_store(settings)


def _publish_dataset(
    settings: Settings, store: ObjectStore, dataset: str, frame: pd.DataFrame, year: int
) -> tuple[list, TableReport]:
    """Shape the table to the run's target schema version, then validate and publish it."""
    schema = settings.schema(DATASETS[dataset][0])
    shaped = shape_for_schema(frame, load_schema_descriptor(schema))
    return publish_table(store, shaped, DATASETS[dataset][2].format(year=year), schema, versioned=True, slot=str(year))


def _dumps(document) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


@_timed
def extract_step(settings: Settings, night: str) -> dict:
    if settings.source_name == pastell_source.SOURCE:
        return pastell_source.extract_night(settings, _store(settings), load_registry(settings.registry_path), night)
    acts = extract_night(_store(settings), settings.drop_dir, night)
    return {
        "night": night,
        "acts": len(acts),
        "by_body": dict(Counter(a.body_key for a in acts)),
        "skipped_files": [{"folder": a.raw_prefix, "file": f} for a in acts for f in a.skipped],
    }


@_timed
def transform_step(settings: Settings, night: str) -> dict:
    store = _store(settings)
    result = transform_night(store, _registry(settings), night, settings.source_name)
    years = write_staging(store, result)
    write_night_events(store, night, result.rows)
    rejects = [r.to_dict() for r in result.rejects]
    store.put_bytes(f"{QUARANTINE_PREFIX}/date={night}.json", _dumps({"night": night, "rejects": rejects}))
    decisions: dict[str, Counter] = defaultdict(Counter)
    for row in result.rows:
        decisions[row["siren"]][row["decision"]] += 1
    return {
        "night": night,
        "years": years,
        "bodies": sorted(decisions),
        "rows": len(result.rows),
        "decisions": {siren: dict(counts) for siren, counts in sorted(decisions.items())},
        "rejects": rejects,
    }


def years_to_publish(settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
    return staged_years(_store(settings)) if force_rebuild else list(transformed["years"])


def _quarantined(report: TableReport, acts: pd.DataFrame, file: str) -> list[dict]:
    return [
        {
            "source_id": acts.at[row, "source_id"],
            "siren": acts.at[row, "siren"],
            "raw_prefix": acts.at[row, "raw_prefix"],
            "file": file,
            "reason": "; ".join(f"{e.field or ''}: {e.message}" for e in errors),
        }
        for row, errors in sorted(report.errors_by_row().items())
    ]


@_timed
def publish_year_step(settings: Settings, year: int, bodies: Iterable[str] | None = None) -> dict:
    """Rebuild the year's regional files, documents and the touched bodies' widget files."""
    store = _store(settings)
    registry = _registry(settings)
    acts = current_acts(store, registry, year)
    online = acts[acts["online"]].reset_index(drop=True)

    def url_of(sha256: str, name: str) -> str:
        return settings.public_url(document_key(sha256, name))

    deliberations = deliberations_of(online)
    delib_files, delib_report = _publish_dataset(
        settings, store, "deliberations", deliberations_table(deliberations, url_of), year
    )
    actes_files, actes_report = _publish_dataset(settings, store, "actes", actes_table(online, url_of), year)
    quarantined = _quarantined(delib_report, deliberations, delib_files[0].key)
    quarantined += _quarantined(actes_report, online, actes_files[0].key)
    visible = online.drop(index=sorted(actes_report.invalid_rows())).reset_index(drop=True)
    documents = publish_documents(store, year, visible)
    refresh = set(bodies) if bodies is not None else set(acts["siren"])
    widget_files = publish_year_files(store, registry, year, visible, refresh, url_of)
    undecided = acts[acts["decision"] == Decision.TO_DECIDE.value]
    return {
        "year": year,
        "files": {
            "deliberations": [f.to_dict() for f in delib_files],
            "actes": [f.to_dict() for f in actes_files],
        },
        "documents": documents,
        "widget_files_written": widget_files,
        "quarantined": quarantined,
        "published_by_body": dict(Counter(visible["siren"])),
        "offline_by_body": {
            siren: dict(Counter(group["offline_reason"]))
            for siren, group in acts[~acts["online"]].groupby("siren")
        },
        "to_decide": [
            {"siren": a["siren"], "source_id": a["source_id"], "numero": a["numero"], "objet": a["objet"]}
            for _, a in undecided.iterrows()
        ],
        "bodies": sorted(refresh),
    }


def publish_widget_indexes_step(settings: Settings, bodies: Iterable[str]) -> list[str]:
    """Switch the manifests: each dataset's, then each touched (or pending) body's.

    The versions they name were written by ``publish_year_step``; bodies left pending by
    a run that stopped before this step are switched too.
    """
    store = _store(settings)
    registry = load_registry(settings.registry_path)
    keys = [
        switch_dataset_manifest(store, base.rsplit("/", 1)[0], dataset, settings.version_retention_days)["manifest"]
        for dataset, (_, _, base) in sorted(DATASETS.items())
    ]
    from digor.sirene_chain import body_headers

    wanted = set(bodies) | pending_bodies(store)
    identity = body_headers(settings)
    keys += [
        publish_index(store, body, registry.publisher, settings.public_url, settings.version_retention_days,
                      identity(body.siren))
        for body in registry.bodies
        if body.siren in wanted
    ]
    return keys + [publish_catalogue(store, registry)]


def publish_datagouv_step(settings: Settings, year_results: list[dict], allow_shrink: bool = False) -> list[dict]:
    """Send every changed regional file through the configured publisher.

    A file losing more than ``settings.max_shrink_ratio`` of its rows against the last
    version published is held back (and listed in the report) unless ``allow_shrink``.
    """
    store = _store(settings)
    registry = load_registry(settings.registry_path)
    publisher = make_publisher(settings.datagouv_mode, store, settings=settings, allow_shrink=allow_shrink)
    outcomes = []
    for result in sorted(year_results, key=lambda r: r["year"]):
        for dataset, files in sorted(result["files"].items()):
            schema_name, title, _ = DATASETS[dataset]
            declared = DATAGOUV_SCHEMA_NAMES.get(schema_name)
            for file in files:
                upload = ResourceUpload(
                    dataset=dataset,
                    title=f"{title.format(year=result['year'])} ({file['format'].upper()})",
                    description=f"{registry.region_name}: {file['rows']} lignes, publié par {registry.publisher}.",
                    format=file["format"],
                    schema={"name": declared, "version": settings.schema_versions[schema_name]} if declared else None,
                    filesize=file["size"],
                    sha256=file["sha256"],
                    rows=file["rows"],
                    name=file["key"].rsplit("/", 1)[1],
                    key=file.get("version_key") or file["key"],
                )
                outcomes.append(publisher.publish(upload, store.get_bytes(upload.key)))
    return outcomes


def report_step(
    settings: Settings, night: str, extracted: dict, transformed: dict, years: list[dict], datagouv: list[dict],
    dag_id: str | None = None, run_id: str | None = None,
) -> dict:
    return write_run_report(_store(settings), CHAIN, night, extracted, transformed, years, datagouv, dag_id, run_id)


def run_night(
    settings: Settings, night: str, force_rebuild: bool = False, progress: Callable[[str], None] = lambda _: None,
    allow_shrink: bool = False,
) -> dict:
    """All steps in order, without a scheduler (what ``digor run actes`` does)."""
    progress("extract")
    extracted = extract_step(settings, night)
    progress("transform")
    transformed = transform_step(settings, night)
    years = []
    for year in years_to_publish(settings, transformed, force_rebuild):
        progress(f"publish {year}")
        years.append(publish_year_step(settings, year, None if force_rebuild else transformed["bodies"]))
    progress("widgets")
    publish_widget_indexes_step(settings, sorted({s for y in years for s in y["bodies"]}))
    progress("data.gouv.fr")
    datagouv = publish_datagouv_step(settings, years, allow_shrink)
    progress("report")
    return report_step(settings, night, extracted, transformed, years, datagouv)


class ActNotFound(LookupError):
    pass


def find_act(settings: Settings, siren: str, act_id: str) -> tuple[int, pd.Series]:
    """An act of a body by its number or its source id, whatever its year."""
    store = _store(settings)
    matches = []
    for year in staged_years(store):
        acts = latest_versions(store, year)
        hits = acts[(acts["siren"] == siren) & ((acts["numero"] == act_id) | (acts["source_id"] == act_id))]
        matches += [(year, act) for _, act in hits.iterrows()]
    if not matches:
        raise ActNotFound(f"no act {act_id!r} for SIREN {siren} in staging")
    if len(matches) > 1:
        found = ", ".join(f"{a['source_id']} ({y}, n° {a['numero']})" for y, a in matches)
        raise ActNotFound(f"{act_id!r} is ambiguous for SIREN {siren}: {found}; give the source id")
    return matches[0]


def record_engineer_decision(settings: Settings, siren: str, act_id: str, decision: Decision, reason: str) -> dict:
    """Append an engineer's decision to the ledger; the caller then republishes the year."""
    if not reason.strip():
        raise ValueError("a decision needs a reason: it is what the ledger shows later")
    year, act = find_act(settings, siren, act_id)
    event = engineer_event(siren, act["source"], act["source_id"], act["numero"], decision, reason.strip())
    key = write_command_event(_store(settings), year, event)
    return {"year": year, "siren": siren, "source_id": act["source_id"], "ledger_key": key, "at": event.at}


def act_history(settings: Settings, siren: str, act_id: str) -> dict:
    """Everything the ledger knows about one act: for "why is this act not online?"."""
    year, act = find_act(settings, siren, act_id)
    store = _store(settings)
    state = replay(read_events(store, year)).get((siren, act["source"], act["source_id"]))
    online = current_acts(store, load_registry(settings.registry_path), year)
    row = online[(online["siren"] == siren) & (online["source_id"] == act["source_id"])].iloc[0]
    return {
        "year": year,
        "act": {"siren": siren, "source_id": act["source_id"], "numero": act["numero"], "objet": act["objet"]},
        "online": bool(row["online"]),
        "offline_reason": row["offline_reason"],
        "publication_date": state.publication_date.isoformat() if state and state.publication_date else None,
        "history": [e.__dict__ for e in state.history] if state else [],
    }


def republish(settings: Settings, years: list[int], bodies: list[str] | None, label: str) -> dict:
    """Outputs of the given years rebuilt at once (a decision must not wait for the night)."""
    results = [publish_year_step(settings, year, bodies) for year in sorted(set(years))]
    publish_widget_indexes_step(settings, sorted({s for r in results for s in r["bodies"]}))
    datagouv = publish_datagouv_step(settings, results)
    return report_step(settings, label, NO_NIGHT, NO_NIGHT, results, datagouv)
