"""The arguments every digor DAG shares, once: a DAG file gives only its schedule, tags and params."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from core.config import DAG_DEFAULT_ARGS, DAG_TIMEZONE
from orchestration.alerts import on_run_failure
from orchestration.regions import region_dag_id, region_params, region_tags

START_DATE = pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE)


def digor_dag(dag_id: str, region: str, *, tags: list[str], params: dict, **arguments) -> DAG:
    """One region's DAG (``region`` "": the deployment's own, today's id): one active run (its
    partitions are never written twice at once), no catch-up, retries and owner from
    ``DAG_DEFAULT_ARGS``, an alert when it fails, the region's tag and fixed ``region`` param."""
    return DAG(
        dag_id=region_dag_id(dag_id, region),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DAG_DEFAULT_ARGS,
        on_failure_callback=on_run_failure,
        tags=[*tags, *region_tags(region)],
        params={**params, **region_params(region)},
        **arguments,
    )
