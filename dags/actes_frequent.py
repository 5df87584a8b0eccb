"""Actes, every few minutes: an act is online minutes after the préfecture's acknowledgement.

Each run pulls what Pastell changed since the watermarks, stages it as a partition of its own,
records it in the ledger (the first publication date is the day it ran) and rebuilds only the
touched years and bodies, in one task under the chain's lease. A run that finds the lease held
(the night is running) skips; one that finds nothing new writes nothing public. The budgets DAG
is woken (``ACTES_STAGED``) only when a run staged budget documents. The nightly ``actes`` DAG
stays the consolidation and repair pass. Thin wiring only; the logic is ``chains.actes``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from core.config import ALLOW_SHRINK_HELP, DAG_DEFAULT_ARGS, DAG_TIMEZONE, SHORT_RUN_CRON, SHORT_RUN_TIMEOUT
from orchestration import chain_tasks as t
from orchestration.alerts import on_run_failure
from orchestration.assets import ACTES_STAGED
from orchestration.regions import region_asset, region_dag_id, region_params, region_tags, served_regions

CHAIN = "actes"


def actes_frequent(region: str = "") -> None:
    t.announce.override(outlets=[region_asset(ACTES_STAGED, region)])(t.short_run(CHAIN))


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with DAG(
        dag_id=region_dag_id("actes_frequent", region),
        schedule=CronDataIntervalTimetable(SHORT_RUN_CRON, timezone=DAG_TIMEZONE),
        start_date=pendulum.datetime(2024, 1, 1, tz=DAG_TIMEZONE),
        catchup=False,
        max_active_runs=1,
        default_args=DAG_DEFAULT_ARGS,
        on_failure_callback=on_run_failure,
        dagrun_timeout=SHORT_RUN_TIMEOUT,
        tags=["digor", "actes", "scdl-deliberations", "short-run", *region_tags(region)],
        params={
            "date": Param("", type="string", description="Short run partition to redo (YYYY-MM-DDTHHMM); empty = "
                                                         "the end of the run's data interval"),
            "force_rebuild": Param(False, type="boolean", description="Rebuild every year's files, not only touched ones"),
            "allow_shrink": Param(False, type="boolean", description=ALLOW_SHRINK_HELP),
            **region_params(region),
        },
        doc_md=__doc__,
    ):
        actes_frequent(region)
