"""Actes, every few minutes: an act is online minutes after the préfecture's acknowledgement.

Each run pulls what Pastell changed since the watermarks, stages it as a partition of its own,
records it in the ledger (the first publication date is the day it ran) and rebuilds only the
touched years and bodies, in one task under the chain's lease. A run that finds the lease held
(the night is running) skips; one that finds nothing new writes nothing public. The budgets DAG
is woken (``ACTES_STAGED``) only when a run staged budget documents. The nightly ``actes`` DAG
stays the consolidation and repair pass. Thin wiring only; the logic is ``chains.actes``.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable

from core.config import DAG_TIMEZONE, SHORT_RUN_CRON, SHORT_RUN_TIMEOUT
from orchestration import chain_tasks as t
from orchestration.assets import ACTES_STAGED
from orchestration.digor_dag import digor_dag, run_params
from orchestration.regions import region_asset, served_regions

CHAIN = "actes"


def actes_frequent(region: str = "") -> None:
    t.announce.override(outlets=[region_asset(ACTES_STAGED, region)])(t.short_run(CHAIN))


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "actes_frequent", region,
        schedule=CronDataIntervalTimetable(SHORT_RUN_CRON, timezone=DAG_TIMEZONE),
        dagrun_timeout=SHORT_RUN_TIMEOUT,
        tags=["digor", "actes", "scdl-deliberations", "short-run"],
        params=run_params(
            date="Short run partition to redo (YYYY-MM-DDTHHMM); empty = the end of the run's data interval",
            force_rebuild="Rebuild every year's files, not only touched ones",
        ),
        doc_md=__doc__,
    ):
        actes_frequent(region)
