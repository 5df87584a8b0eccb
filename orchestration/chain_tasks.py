"""TaskFlow tasks of every nightly chain: one line each around ``chains.chain.Chain``.

A DAG passes its chain's name; the nightly DAGs and ``actes_decisions`` publish through
exactly the same tasks. Heavy modules are imported when a task runs, not when a DAG is parsed.
"""

from __future__ import annotations

import logging

from airflow.sdk import get_current_context, task

from core.config import DAG_TIMEZONE, Settings

log = logging.getLogger(__name__)


def _chain(name: str):
    from chains.chain import get_chain

    return get_chain(name)


def _param(name: str):
    return get_current_context()["params"].get(name)


def nights() -> list[str]:
    """The partitions of this run: the ``date`` param; else, for a run triggered by an Asset, the
    nights its events carry (several when the producer ran more than once since); else the
    logical date."""
    context = get_current_context()
    if _param("date"):
        return [_param("date")]
    events = context.get("triggering_asset_events") or {}
    found = sorted({e.extra["night"] for batch in events.values() for e in batch if (e.extra or {}).get("night")})
    return found or [context["ds"]]


def _interval_end() -> str | None:
    """End of the scheduler's data interval in local time, unless the run was given its night."""
    end = get_current_context().get("data_interval_end")
    if _param("date") or end is None:
        return None
    return end.in_timezone(DAG_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


@task
def extract(chain: str) -> dict:
    return _chain(chain).extract(Settings.from_env(), nights()[-1], _interval_end())


@task
def transform(chain: str, extracted: dict | None = None) -> dict:
    found, settings = _chain(chain), Settings.from_env()
    if extracted:
        return found.transform(settings, extracted["night"])
    return found.merge_nights([found.transform(settings, night) for night in nights()])


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
    for asset in context["task"].outlets:  # what waits for this chain learns which night is ready
        context["outlet_events"][asset].extra = {"night": transformed["night"]}
    return written
