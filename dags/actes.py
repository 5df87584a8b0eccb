"""Actes chain, nightly: acts from the télétransmission to SCDL files, widget files and data.gouv.fr.

Thin wiring only; the tasks are in ``digor.actes_tasks``, the logic in ``digor.actes_chain``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag

from digor import actes_tasks as t
from digor.alerts import on_run_failure
from digor.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE, NIGHTLY_CRON, NIGHTLY_TIMEOUT


@dag(
    dag_id="actes",
    schedule=CronDataIntervalTimetable(NIGHTLY_CRON, timezone=DAG_TIMEZONE),
    start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    on_failure_callback=on_run_failure,
    dagrun_timeout=NIGHTLY_TIMEOUT,
    tags=["digor", "actes", "scdl-deliberations"],
    params={
        "date": Param("", type="string", description="Night to process (YYYY-MM-DD); empty = the logical date"),
        "force_rebuild": Param(False, type="boolean", description="Rebuild every year's files, not only touched ones"),
        "allow_shrink": Param(False, type="boolean", description=ALLOW_SHRINK_HELP),
    },
    doc_md=__doc__,
)
def actes():
    extracted = t.extract()
    transformed = t.transform(extracted)
    years = t.publish_year.expand(job=t.plan_years(transformed))
    indexes = t.publish_widget_indexes(years)
    datagouv = t.publish_datagouv(years)
    indexes >> datagouv
    t.report(extracted, transformed, years, datagouv)


actes()
