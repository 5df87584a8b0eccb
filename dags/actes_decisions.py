"""Actes decisions: republish at once the years touched by a decision (withdrawal, publication).

Triggered by ``digor unpublish|publish ... --via-airflow`` (or by hand with params);
the decision itself is already in the ledger, this run makes every output follow it,
through the same tasks as the nightly ``actes`` DAG.
"""

from __future__ import annotations

from airflow.sdk import Param

from orchestration import chain_tasks as t
from orchestration.digor_dag import digor_dag, shrink_param
from orchestration.regions import served_regions

CHAIN = "actes"


def actes_decisions() -> None:
    decided = t.decisions(CHAIN)
    years = t.publish_year.partial(chain=CHAIN).expand(job=t.plan_years(CHAIN, decided))
    widgets = t.publish_widgets(CHAIN, decided, years)
    datagouv = t.publish_datagouv(CHAIN, years)
    widgets >> datagouv
    t.report(CHAIN, decided, decided, years, widgets, datagouv) >> t.follow_decisions(CHAIN)


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "actes_decisions", region,
        schedule=None,
        tags=["digor", "actes", "ledger"],
        params={
            "years": Param([], type="array", description="Decision years of the acts decided on"),
            "bodies": Param([], type="array", description="SIRENs whose widget files to refresh (empty = all)"),
            "acts": Param([], type="array", description="Acts decided on ({siren, source_id, year}): the budgets "
                                                        "they came with are republished too"),
            "allow_shrink": shrink_param(),
            "store": Param("", type="string", description="Object store the decision was recorded in (empty = DIGOR_STORE)"),
        },
        doc_md=__doc__,
    ):
        actes_decisions()
