"""Actes chain: acts from the télétransmission to SCDL files, widget files and data.gouv.fr.

Thin wiring only; every step is a function of ``digor.actes_chain``.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from digor import actes_chain
from digor.config import DAG_DEFAULT_ARGS, DAG_TIMEZONE, NIGHTLY_CRON, Settings

log = logging.getLogger(__name__)


def _night() -> str:
    """The partition of this run: the ``date`` param, else the logical date."""
    context = get_current_context()
    return context["params"].get("date") or context["ds"]


@dag(
    dag_id="actes",
    schedule=CronDataIntervalTimetable(NIGHTLY_CRON, timezone=DAG_TIMEZONE),
    start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    tags=["digor", "actes", "scdl-deliberations"],
    params={
        "date": Param("", type="string", description="Night to process (YYYY-MM-DD); empty = the logical date"),
        "force_rebuild": Param(False, type="boolean", description="Rebuild every year's files, not only touched ones"),
    },
    doc_md=__doc__,
)
def actes():
    @task
    def extract() -> dict:
        return actes_chain.extract_step(Settings.from_env(), _night())

    @task
    def transform(extracted: dict) -> dict:
        return actes_chain.transform_step(Settings.from_env(), extracted["night"])

    @task
    def plan_years(transformed: dict) -> list[dict]:
        force = bool(get_current_context()["params"].get("force_rebuild"))
        bodies = None if force else transformed["bodies"]
        years = actes_chain.years_to_publish(Settings.from_env(), transformed, force)
        return [{"year": year, "bodies": bodies} for year in years]

    @task
    def publish_year(job: dict) -> dict:
        return actes_chain.publish_year_step(Settings.from_env(), job["year"], job["bodies"])

    @task
    def publish_widget_indexes(years: list[dict]) -> list[str]:
        bodies = sorted({siren for year in years for siren in year["bodies"]})
        return actes_chain.publish_widget_indexes_step(Settings.from_env(), bodies)

    @task
    def publish_datagouv(years: list[dict]) -> list[dict]:
        return actes_chain.publish_datagouv_step(Settings.from_env(), list(years))

    @task
    def report(extracted: dict, transformed: dict, years: list[dict], datagouv: list[dict]) -> dict:
        written = actes_chain.report_step(
            Settings.from_env(), extracted["night"], extracted, transformed, list(years), datagouv
        )
        for line in written["summary"]:
            log.info(line)
        return written

    extracted = extract()
    transformed = transform(extracted)
    years = publish_year.expand(job=plan_years(transformed))
    indexes = publish_widget_indexes(years)
    datagouv = publish_datagouv(years)
    indexes >> datagouv
    report(extracted, transformed, years, datagouv)


actes()
