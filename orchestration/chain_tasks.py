"""TaskFlow tasks of every nightly chain: one line each around ``chains.chain.Chain``.

A DAG passes its chain's name; the nightly DAGs and ``actes_decisions`` publish through
exactly the same tasks. Heavy modules are imported when a task runs, not when a DAG is parsed.
"""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context, task

from core.config import Settings

log = logging.getLogger(__name__)


def _chain(name: str):
    from chains.chain import get_chain

    return get_chain(name)


def _param(name: str):
    return get_current_context()["params"].get(name)


def night() -> str:
    """The partition of this run: the ``date`` param, else the logical date."""
    return _param("date") or get_current_context()["ds"]


@task
def extract(chain: str) -> dict:
    return _chain(chain).extract(Settings.from_env(), night())


@task
def transform(chain: str, extracted: dict | None = None) -> dict:
    return _chain(chain).transform(Settings.from_env(), extracted["night"] if extracted else night())


@task
def plan_years(chain: str, transformed: dict) -> list[dict]:
    return _chain(chain).year_jobs(Settings.from_env(), transformed, bool(_param("force_rebuild")))


@task
def decisions(chain: str) -> dict:
    """A run that follows decisions already in the ledger (no night read): the ``years`` params to
    republish, the ``bodies`` whose widget files to refresh (all when empty). Stands for the
    extract and transform summaries of a night."""
    years = sorted({int(year) for year in _param("years") or []})
    label = f"decisions-{get_current_context()['run_id']}"
    return {**_chain(chain).empty_night, "night": label, "years": years, "bodies": list(_param("bodies") or []) or None}


@task
def publish_year(chain: str, job: dict) -> dict:
    return _chain(chain).publish_year(Settings.from_env(), **job)


@task
def publish_widgets(chain: str, transformed: dict, years: list[dict]) -> list[str]:
    force = bool(_param("force_rebuild"))
    found = _chain(chain)
    return found.publish_widgets(Settings.from_env(), found.widget_bodies(transformed, list(years), force))


@task
def publish_datagouv(chain: str, years: list[dict]) -> list[dict]:
    return _chain(chain).publish_datagouv(Settings.from_env(), list(years), bool(_param("allow_shrink")))


@task
def report(chain: str, extracted: dict, transformed: dict, years: list[dict], widgets: list[str],
           datagouv: list[dict]) -> dict:
    context = get_current_context()
    written = _chain(chain).write_report(
        Settings.from_env(), transformed["night"], extracted, transformed, list(years), list(widgets), datagouv,
        context["dag"].dag_id, context["run_id"],
    )
    for line in written["summary"]:
        log.info(line)
    return written
