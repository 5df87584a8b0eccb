"""DECP chain: public contracts from the procurement platform to DECP 2.0.2, the flat table and Focus marchés.

Thin wiring only; every step is a function of ``digor.decp_chain``. The run of night D reads
the exports the platform published that day (HTTP listing or drop folder ``<drop>/D/``).
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from digor import decp_chain
from digor.alerts import on_run_failure
from digor.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE, NIGHTLY_CRON, NIGHTLY_TIMEOUT, Settings

log = logging.getLogger(__name__)


def _night() -> str:
    """The partition of this run: the ``date`` param, else the logical date."""
    context = get_current_context()
    return context["params"].get("date") or context["ds"]


def _param(name: str) -> bool:
    return bool(get_current_context()["params"].get(name))


@dag(
    dag_id="decp",
    schedule=CronDataIntervalTimetable(NIGHTLY_CRON, timezone=DAG_TIMEZONE),
    start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    on_failure_callback=on_run_failure,
    dagrun_timeout=NIGHTLY_TIMEOUT,
    tags=["digor", "decp", "commande-publique"],
    params={
        "date": Param("", type="string", description="Night to process (YYYY-MM-DD); empty = the logical date"),
        "force_rebuild": Param(False, type="boolean", description="Republish every staged year, not only touched ones"),
        "allow_shrink": Param(False, type="boolean", description=ALLOW_SHRINK_HELP),
    },
    doc_md=__doc__,
)
def decp():
    @task
    def extract() -> dict:
        return decp_chain.extract_step(Settings.from_env(), _night())

    @task
    def transform(extracted: dict) -> dict:
        return decp_chain.transform_step(Settings.from_env(), extracted["night"])

    @task
    def plan_years(transformed: dict) -> list[dict]:
        years = decp_chain.years_to_publish(Settings.from_env(), transformed, _param("force_rebuild"))
        return [{"year": year, "night": transformed["night"]} for year in years]

    @task
    def publish_year(job: dict) -> dict:
        return decp_chain.publish_year_step(Settings.from_env(), job["year"], job["night"])

    @task
    def publish_widget_indexes(years: list[dict]) -> list[str]:
        buyers = sorted({siret for year in years for siret in year["buyers"]})
        return decp_chain.publish_widget_indexes_step(Settings.from_env(), buyers)

    @task
    def publish_datagouv(years: list[dict]) -> list[dict]:
        return decp_chain.publish_datagouv_step(Settings.from_env(), list(years), _param("allow_shrink"))

    @task
    def report(extracted: dict, transformed: dict, years: list[dict], datagouv: list[dict]) -> dict:
        run = get_current_context()
        written = decp_chain.report_step(Settings.from_env(), extracted["night"], extracted, transformed, list(years),
                                         datagouv, run["dag"].dag_id, run["run_id"])
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


decp()
