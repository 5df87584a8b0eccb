"""TaskFlow tasks of the sirene DAG: one line each around ``chains.sirene``."""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from chains import populations as populations_chain
from chains import sirene as sirene_chain
from core.populations import PopulationFormatError
from extract.sirene_download import DownloadError
from orchestration.assets import SIRENE_CACHE
from orchestration.regions import task_settings

log = logging.getLogger(__name__)


def month() -> str:
    """The partition of this run: the month of the ``date`` param, else of the logical date."""
    context = get_current_context()
    return sirene_chain.month_of(context["params"].get("date") or context["ds"])


@task
def plan() -> dict:
    return sirene_chain.plan_step(task_settings(), month())


@task
def refresh(plan: dict, kind: str) -> dict:
    force = bool(get_current_context()["params"].get("force_rebuild"))
    return sirene_chain.refresh_step(task_settings(), plan["month"], kind, force)


@task(outlets=[SIRENE_CACHE])
def publish_manifest(plan: dict, files: list[dict]) -> dict:
    """Updates the SIRENE cache's Asset, with the month in its event, for what follows the register."""
    published = sirene_chain.manifest_step(task_settings(), plan["month"], plan, list(files))
    get_current_context()["outlet_events"][SIRENE_CACHE].extra = {"month": plan["month"]}
    return published


@task
def check_registry(published: dict) -> dict:
    return sirene_chain.check_registry_step(task_settings(), published["month"])


@task
def report(plan: dict, files: list[dict], published: dict, check: dict) -> dict:
    context = get_current_context()
    written = sirene_chain.report_step(
        task_settings(), plan["month"], plan, list(files), published, check, context["dag"].dag_id, context["run_id"]
    )
    for line in written["summary"]:
        log.info(line)
    if written["registry_errors"]:
        raise AirflowFailException(f"the registry has {written['registry_errors']} configuration error(s): see {written['key']}")
    return written


@task
def populations() -> dict:
    """INSEE's legal populations (the Budgets widget's amounts per inhabitant), apart from the register:
    a failure leaves the cached millésime in use and says so in one line."""
    force = bool(get_current_context()["params"].get("force_rebuild"))
    try:
        result = populations_chain.refresh_step(task_settings(), force)
    except (DownloadError, PopulationFormatError) as error:
        raise AirflowFailException(f"legal populations not refreshed: {error}; the cached millésime stays in use "
                                   "(check DIGOR_POPULATIONS_URL and DIGOR_POPULATIONS_YEAR)") from None
    log.info(populations_chain.summary_line(result))
    return result
