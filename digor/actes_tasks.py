"""TaskFlow tasks of the actes DAGs: one line each around ``digor.actes_chain``.

Shared by ``dags/actes.py`` (nightly) and ``dags/actes_decisions.py`` (triggered by a
decision), so that both publish through exactly the same tasks.
"""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context, task

from digor import actes_chain
from digor.config import Settings

log = logging.getLogger(__name__)


def night() -> str:
    """The partition of this run: the ``date`` param, else the logical date."""
    context = get_current_context()
    return context["params"].get("date") or context["ds"]


@task
def extract() -> dict:
    return actes_chain.extract_step(Settings.from_env(), night())


@task
def transform(extracted: dict) -> dict:
    return actes_chain.transform_step(Settings.from_env(), extracted["night"])


@task
def plan_years(transformed: dict) -> list[dict]:
    force = bool(get_current_context()["params"].get("force_rebuild"))
    years = actes_chain.years_to_publish(Settings.from_env(), transformed, force)
    return [{"year": year, "bodies": None if force else transformed["bodies"]} for year in years]


@task
def plan_decided_years() -> list[dict]:
    params = get_current_context()["params"]
    bodies = list(params.get("bodies") or []) or None
    return [{"year": int(year), "bodies": bodies} for year in sorted(set(params.get("years") or []))]


@task
def publish_year(job: dict) -> dict:
    return actes_chain.publish_year_step(Settings.from_env(), job["year"], job["bodies"])


@task
def publish_widget_indexes(years: list[dict]) -> list[str]:
    bodies = sorted({siren for year in years for siren in year["bodies"]})
    return actes_chain.publish_widget_indexes_step(Settings.from_env(), bodies)


@task
def publish_datagouv(years: list[dict]) -> list[dict]:
    allow_shrink = bool(get_current_context()["params"].get("allow_shrink"))
    return actes_chain.publish_datagouv_step(Settings.from_env(), list(years), allow_shrink)


@task
def report(extracted: dict, transformed: dict, years: list[dict], datagouv: list[dict]) -> dict:
    context = get_current_context()
    label = extracted.get("night") or f"decisions-{context['run_id']}"
    written = actes_chain.report_step(
        Settings.from_env(), label, extracted, transformed, list(years), datagouv, context["dag"].dag_id,
        context["run_id"],
    )
    for line in written["summary"]:
        log.info(line)
    return written
