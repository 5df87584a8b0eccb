"""SIRENE chain, monthly: INSEE's register reduced to the identifiers digor needs, cached privately.

Also revalidates INSEE's legal populations (``chains.populations``, the Budgets widget's amounts
per inhabitant), a task of its own: its failure never holds the register's cache back.

Downloads the national stock files (units, establishments), keeps the region's bodies and
every buyer and titulaire another chain registered, caches the reduction under
``private/sirene/<YYYY-MM>/`` and checks the registry of bodies against it. A configuration
error in the registry (a SIREN unknown to the register, a SIRET that is not the siège)
fails the run once its report is written. Thin wiring only: see ``chains.sirene``.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable

from core.config import DAG_TIMEZONE, SIRENE_CRON
from core.sirene_stock import KINDS
from orchestration import sirene_tasks as t
from orchestration.digor_dag import digor_dag, run_params
from orchestration.regions import served_regions


def sirene() -> None:
    planned = t.plan()
    files = t.refresh.partial(plan=planned).expand(kind=list(KINDS))
    published = t.publish_manifest(planned, files)
    checked = t.check_registry(published)
    t.report(planned, files, published, checked)
    t.populations()


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "sirene", region,
        schedule=CronTriggerTimetable(SIRENE_CRON, timezone=DAG_TIMEZONE),
        tags=["digor", "sirene", "enrichment"],
        params=run_params(
            date="A day of the month to refresh (YYYY-MM-DD); empty = the logical date",
            force_rebuild="Download the stock files again even if unchanged", allow_shrink=False,
        ),
        doc_md=__doc__,
    ):
        sirene()
