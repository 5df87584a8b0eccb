"""TaskFlow tasks of the ``backfill`` DAG, around ``chains.backfill``."""

from __future__ import annotations

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from chains import backfill as b
from core.config import Settings
from core.store import open_store
from orchestration.regions import task_settings


def _work(plan: dict) -> Settings:
    return b.backfill_settings(task_settings(), plan["chain"], plan["id"], plan["schema_version"])


@task
def plan() -> dict:
    params = get_current_context()["params"]
    chain, version = params["chain"], params.get("schema_version") or None
    b.check_chain(chain)
    settings = task_settings()
    nights = b.raw_nights(open_store(settings.store_url), settings, chain, params["date_from"], params["date_to"])
    return {
        "id": b.backfill_id(chain, params["date_from"], params["date_to"], version),
        "chain": chain,
        "schema_version": version,
        "nights": nights,
        "dry_run": bool(params.get("dry_run")),
    }


@task
def nights(plan: dict) -> list[str]:
    return plan["nights"]


@task
def replay(plan: dict, night: str) -> list[int]:
    return b.replay_night(_work(plan), plan["chain"], night)


@task
def build(plan: dict, years: list[list[int]]) -> dict:
    work = _work(plan)
    results = b.build_outputs(work, plan["chain"], sorted({y for ys in years for y in ys}))
    report = b.write_diff_report(work, plan["id"], plan["chain"], plan["nights"], results, plan["dry_run"])
    for line in report["summary"]:
        print(line)
    return {"results": results, "report_key": report["report_key"]}


@task
def promote(plan: dict, built: dict) -> dict:
    if plan["dry_run"]:
        raise AirflowSkipException(f"dry run: see the diff report {built['report_key']}")
    return b.promote(task_settings(), _work(plan), plan["chain"], built["results"])
