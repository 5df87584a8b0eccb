"""Actes digest, daily: each body's agents who asked for it in the agents' space receive by e-mail
the acts waiting for a decision and those published and withdrawn the day before.

The SMTP server is the Airflow connection ``digor_smtp``. Thin wiring only: see ``chains.digest``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param

from core.config import DAG_DEFAULT_ARGS, DAG_TIMEZONE, DIGEST_CRON
from orchestration import digest_tasks as t
from orchestration.alerts import on_run_failure
from orchestration.regions import region_dag_id, region_params, region_tags, served_regions


def actes_digest() -> None:
    t.send()


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with DAG(
        dag_id=region_dag_id("actes_digest", region),
        schedule=CronTriggerTimetable(DIGEST_CRON, timezone=DAG_TIMEZONE),
        start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args=DAG_DEFAULT_ARGS,
        on_failure_callback=on_run_failure,
        tags=["digor", "actes", "portail", *region_tags(region)],
        params={
            "date": Param("", type="string", description="The day to report (YYYY-MM-DD); empty = the day before the logical date"),
            "force_rebuild": Param(False, type="boolean", description="Unused: a digest is always built afresh"),
            **region_params(region),
        },
        doc_md=__doc__,
    ):
        actes_digest()
