"""Actes chain, nightly: acts from the télétransmission to SCDL files, widget files and data.gouv.fr.

Thin wiring only; the tasks are in ``orchestration.chain_tasks``, the logic in ``chains.actes``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag

from core.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE, NIGHTLY_CRON, NIGHTLY_TIMEOUT
from orchestration import chain_tasks as t
from orchestration.alerts import on_run_failure
from orchestration.assets import ACTES_STAGED

CHAIN = "actes"


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
    extracted = t.extract(CHAIN)
    transformed = t.transform(CHAIN, extracted)
    years = t.publish_year.partial(chain=CHAIN).expand(job=t.plan_years(CHAIN, transformed))
    widgets = t.publish_widgets(CHAIN, transformed, years)
    datagouv = t.publish_datagouv(CHAIN, years)
    widgets >> datagouv
    # Off the publication's path: an act is online before its text is read, findable by it once read.
    texts = t.read_texts.partial(chain=CHAIN).expand(job=t.plan_texts(CHAIN, years))
    widgets >> t.publish_texts(CHAIN, texts)
    t.report.override(outlets=[ACTES_STAGED])(CHAIN, extracted, transformed, years, widgets, datagouv)


actes()
