"""Actes digest, daily: each body's agents who asked for it in the agents' space receive by e-mail
the acts waiting for a decision and those published and withdrawn the day before.

The SMTP server is the Airflow connection ``digor_smtp``. Thin wiring only: see ``chains.digest``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag

from core.config import DAG_DEFAULT_ARGS, DAG_TIMEZONE, DIGEST_CRON
from orchestration import digest_tasks as t
from orchestration.alerts import on_run_failure


@dag(
    dag_id="actes_digest",
    schedule=CronTriggerTimetable(DIGEST_CRON, timezone=DAG_TIMEZONE),
    start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    on_failure_callback=on_run_failure,
    tags=["digor", "actes", "portail"],
    params={
        "date": Param("", type="string", description="The day to report (YYYY-MM-DD); empty = the day before the logical date"),
        "force_rebuild": Param(False, type="boolean", description="Unused: a digest is always built afresh"),
    },
    doc_md=__doc__,
)
def actes_digest():
    t.send()


actes_digest()
