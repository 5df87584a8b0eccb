"""Backfill: replay the raw zone of a chain through today's code, diff, then republish.

Triggered by hand with params; ``dry_run`` stops after the diff report.
The same functions run behind ``digor backfill``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from core.config import CHAINS, DAG_DEFAULT_ARGS, DAG_TIMEZONE
from orchestration import backfill_tasks as t
from orchestration.alerts import on_run_failure
from orchestration.regions import region_dag_id, region_params, region_tags, served_regions


def backfill() -> None:
    plan = t.plan()
    years = t.replay.partial(plan=plan).expand(night=t.nights(plan))
    built = t.build(plan, years)
    t.promote(plan, built)


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with DAG(
        dag_id=region_dag_id("backfill", region),
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args=DAG_DEFAULT_ARGS,
        on_failure_callback=on_run_failure,
        tags=["digor", "backfill", "operations", *region_tags(region)],
        params={
            "chain": Param("actes", type="string", enum=list(CHAINS)),
            "date_from": Param("2024-01-01", type="string", format="date", description="First night to replay"),
            "date_to": Param("2024-12-31", type="string", format="date", description="Last night to replay"),
            "schema_version": Param("", type="string", description="Target version of the national schema"),
            "dry_run": Param(True, type="boolean", description="Stop at the diff report"),
            **region_params(region),
        },
        doc_md=__doc__,
    ):
        backfill()
