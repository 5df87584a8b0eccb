"""The arguments every digor DAG shares, once: a DAG file gives only its schedule, tags and params."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from core.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE
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


def shrink_param() -> Param:
    """Let a run publish files that lost more rows than the shrink guard allows."""
    return Param(False, type="boolean", description=ALLOW_SHRINK_HELP)


def run_params(date: str, force_rebuild: str, allow_shrink: bool = True) -> dict:
    """The params every scheduled DAG offers a data engineer re-running it by hand: which partition
    (``date``), redo everything (``force_rebuild``) and, for DAGs that publish tables, ``allow_shrink``;
    each DAG says what they mean for it."""
    params = {"date": Param("", type="string", description=date),
              "force_rebuild": Param(False, type="boolean", description=force_rebuild)}
    return {**params, "allow_shrink": shrink_param()} if allow_shrink else params
