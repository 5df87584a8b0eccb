"""Actes digest, daily: each body's agents who asked for it in the agents' space receive by e-mail
the acts waiting for a decision and those published and withdrawn the day before.

The SMTP server is the Airflow connection ``digor_smtp``. Thin wiring only: see ``chains.digest``.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable

from core.config import DAG_TIMEZONE, DIGEST_CRON
from orchestration import digest_tasks as t
from orchestration.digor_dag import digor_dag, run_params
from orchestration.regions import served_regions


def actes_digest() -> None:
    t.send()


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "actes_digest", region,
        schedule=CronTriggerTimetable(DIGEST_CRON, timezone=DAG_TIMEZONE),
        tags=["digor", "actes", "portail"],
        params=run_params(
            date="The day to report (YYYY-MM-DD); empty = the day before the logical date",
            force_rebuild="Unused: a digest is always built afresh", allow_shrink=False,
        ),
        doc_md=__doc__,
    ):
        actes_digest()
