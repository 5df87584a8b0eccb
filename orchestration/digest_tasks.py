"""TaskFlow task of the actes_digest DAG: one line around ``chains.digest``."""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import get_current_context, task

from chains import digest
from orchestration.regions import task_settings

log = logging.getLogger(__name__)


@task
def send() -> dict:
    """The digests of the ``date`` param's day, else of the day before the run's logical date."""
    context = get_current_context()
    day = context["params"].get("date") or pendulum.parse(context["ds"]).subtract(days=1).to_date_string()
    sent = digest.send_digests(task_settings(), day)
    log.info("digests of %s: %d message(s) sent", day, sent["sent"])
    return sent
