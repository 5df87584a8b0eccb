"""DECP chain: public contracts from the procurement platform to DECP 2.0.2, the flat table and Focus marchés.

Thin wiring only; the tasks are ``orchestration.chain_tasks``, the logic ``chains.decp``. The run of night D reads
the exports the platform published that day (HTTP listing or drop folder ``<drop>/D/``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from core.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE, NIGHTLY_CRON, NIGHTLY_TIMEOUT
from orchestration import chain_tasks as t
from orchestration.alerts import on_run_failure
from orchestration.regions import region_dag_id, region_params, region_tags, served_regions

CHAIN = "decp"


def decp() -> None:
    extracted = t.extract(CHAIN)
    transformed = t.transform(CHAIN, extracted)
    years = t.publish_year.partial(chain=CHAIN).expand(job=t.plan_years(CHAIN, transformed))
    widgets = t.publish_widgets(CHAIN, transformed, years)
    datagouv = t.publish_datagouv(CHAIN, years)
    widgets >> datagouv
    t.report(CHAIN, extracted, transformed, years, widgets, datagouv)


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with DAG(
        dag_id=region_dag_id("decp", region),
        schedule=CronDataIntervalTimetable(NIGHTLY_CRON, timezone=DAG_TIMEZONE),
        start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args=DAG_DEFAULT_ARGS,
        on_failure_callback=on_run_failure,
        dagrun_timeout=NIGHTLY_TIMEOUT,
        tags=["digor", "decp", "commande-publique", *region_tags(region)],
        params={
            "date": Param("", type="string", description="Night to process (YYYY-MM-DD); empty = the logical date"),
            "force_rebuild": Param(False, type="boolean", description="Republish every staged year, not only touched ones"),
            "allow_shrink": Param(False, type="boolean", description=ALLOW_SHRINK_HELP),
            **region_params(region),
        },
        doc_md=__doc__,
    ):
        decp()
