"""Budgets chain: TOTEM budget documents (acts of nature 5) to SCDL budget files and widget data.

Runs after the actes DAG of the same night (which stages the acts); thin wiring only, every
step is a function of ``digor.budgets_chain``.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from digor import budgets_chain
from digor.alerts import on_run_failure
from digor.config import ALLOW_SHRINK_HELP, BUDGETS_CRON, DAG_DEFAULT_ARGS, DAG_TIMEZONE, NIGHTLY_TIMEOUT, Settings

log = logging.getLogger(__name__)


def _night() -> str:
    """The partition of this run: the ``date`` param, else the logical date."""
    context = get_current_context()
    return context["params"].get("date") or context["ds"]


def _force() -> bool:
    return bool(get_current_context()["params"].get("force_rebuild"))


@dag(
    dag_id="budgets",
    schedule=CronDataIntervalTimetable(BUDGETS_CRON, timezone=DAG_TIMEZONE),
    start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    on_failure_callback=on_run_failure,
    dagrun_timeout=NIGHTLY_TIMEOUT,
    tags=["digor", "budgets", "scdl-budget", "totem"],
    params={
        "date": Param("", type="string", description="Night to process (YYYY-MM-DD); empty = the logical date"),
        "force_rebuild": Param(False, type="boolean", description="Rebuild every exercice and every body's widget files"),
        "allow_shrink": Param(False, type="boolean", description=ALLOW_SHRINK_HELP),
    },
    doc_md=__doc__,
)
def budgets():
    @task
    def transform() -> dict:
        return budgets_chain.transform_step(Settings.from_env(), _night())

    @task
    def plan_years(transformed: dict) -> list[int]:
        return budgets_chain.years_to_publish(Settings.from_env(), transformed, _force())

    @task
    def publish_year(year: int) -> dict:
        return budgets_chain.publish_year_step(Settings.from_env(), year)

    @task
    def publish_widgets(transformed: dict, years: list[dict]) -> list[str]:
        bodies = None if _force() else transformed["bodies"]
        return budgets_chain.publish_widgets_step(Settings.from_env(), bodies)

    @task
    def publish_datagouv(years: list[dict]) -> list[dict]:
        allow_shrink = bool(get_current_context()["params"].get("allow_shrink"))
        return budgets_chain.publish_datagouv_step(Settings.from_env(), list(years), allow_shrink)

    @task
    def report(transformed: dict, years: list[dict], widgets: list[str], datagouv: list[dict]) -> dict:
        written = budgets_chain.report_step(Settings.from_env(), _night(), transformed, list(years), widgets, datagouv)
        for line in written["summary"]:
            log.info(line)
        return written

    transformed = transform()
    years = publish_year.expand(year=plan_years(transformed))
    widgets = publish_widgets(transformed, years)
    datagouv = publish_datagouv(years)
    widgets >> datagouv
    report(transformed, years, widgets, datagouv)


budgets()
