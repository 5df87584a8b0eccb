"""Actes decisions: republish at once the years touched by a decision (withdrawal, publication).

Triggered by ``digor unpublish|publish ... --via-airflow`` (or by hand with params);
the decision itself is already in the ledger, this run makes every output follow it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from digor import actes_tasks as t
from digor.actes_chain import NO_NIGHT
from digor.alerts import on_run_failure
from digor.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE


@dag(
    dag_id="actes_decisions",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    on_failure_callback=on_run_failure,
    tags=["digor", "actes", "ledger"],
    params={
        "years": Param([], type="array", description="Decision years of the acts decided on"),
        "bodies": Param([], type="array", description="SIRENs whose widget files to refresh (empty = all)"),
        "allow_shrink": Param(False, type="boolean", description=ALLOW_SHRINK_HELP),
    },
    doc_md=__doc__,
)
def actes_decisions():
    years = t.publish_year.expand(job=t.plan_decided_years())
    indexes = t.publish_widget_indexes(years)
    datagouv = t.publish_datagouv(years)
    indexes >> datagouv
    t.report(NO_NIGHT, NO_NIGHT, years, datagouv)


actes_decisions()
