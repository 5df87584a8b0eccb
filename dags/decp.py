"""DECP chain: public contracts from the procurement platform to DECP 2.0.2, the flat table and Focus marchés.

Thin wiring only; the tasks are ``orchestration.chain_tasks``, the logic ``chains.decp``. The run of night D reads
the exports the platform published that day (HTTP listing or drop folder ``<drop>/D/``).
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable

from core.config import DAG_TIMEZONE, NIGHTLY_CRON, NIGHTLY_TIMEOUT
from orchestration import chain_tasks as t
from orchestration.digor_dag import digor_dag, run_params
from orchestration.regions import served_regions

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
    with digor_dag(
        "decp", region,
        schedule=CronDataIntervalTimetable(NIGHTLY_CRON, timezone=DAG_TIMEZONE),
        dagrun_timeout=NIGHTLY_TIMEOUT,
        tags=["digor", "decp", "commande-publique"],
        params=run_params(
            date="Night to process (YYYY-MM-DD); empty = the logical date",
            force_rebuild="Republish every staged year, not only touched ones",
        ),
        doc_md=__doc__,
    ):
        decp()
