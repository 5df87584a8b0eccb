"""Budgets chain: TOTEM budget documents (acts of nature 5) to SCDL budget files and widget data.

Scheduled on the Asset the actes Airflow DAG updates once a night's acts are staged: a run reads the
nights of its triggering events (the ``date`` param for a rerun by hand). Thin wiring only, every
step is a method of ``chains.budgets.BudgetsChain`` run by ``orchestration.chain_tasks``.
"""

from __future__ import annotations

from core.config import NIGHTLY_TIMEOUT
from orchestration import chain_tasks as t
from orchestration.assets import ACTES_STAGED
from orchestration.digor_dag import digor_dag, run_params
from orchestration.regions import region_asset, served_regions

CHAIN = "budgets"


def budgets() -> None:
    transformed = t.transform(CHAIN)
    years = t.publish_year.partial(chain=CHAIN).expand(job=t.plan_years(CHAIN, transformed))
    widgets = t.publish_widgets(CHAIN, transformed, years)
    datagouv = t.publish_datagouv(CHAIN, years)
    widgets >> datagouv
    t.report(CHAIN, transformed, transformed, years, widgets, datagouv)


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "budgets", region,
        schedule=[region_asset(ACTES_STAGED, region)],
        dagrun_timeout=NIGHTLY_TIMEOUT,
        tags=["digor", "budgets", "scdl-budget", "totem"],
        params=run_params(
            date="Night to process (YYYY-MM-DD); empty = the nights the actes runs staged",
            force_rebuild="Rebuild every exercice and every body's widget files",
        ),
        doc_md=__doc__,
    ):
        budgets()
