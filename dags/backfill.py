"""Backfill: replay the raw zone of a chain through today's code, diff, then republish.

Triggered by hand with params; ``dry_run`` stops after the diff report.
The same functions run behind ``digor backfill``.
"""

from __future__ import annotations

from airflow.sdk import Param

from core.config import CHAINS
from orchestration import backfill_tasks as t
from orchestration.digor_dag import digor_dag
from orchestration.regions import served_regions


def backfill() -> None:
    plan = t.plan()
    years = t.replay.partial(plan=plan).expand(night=t.nights(plan))
    built = t.build(plan, years)
    t.promote(plan, built)


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "backfill", region,
        schedule=None,
        tags=["digor", "backfill", "operations"],
        params={
            "chain": Param("actes", type="string", enum=list(CHAINS)),
            "date_from": Param("2024-01-01", type="string", format="date", description="First night to replay"),
            "date_to": Param("2024-12-31", type="string", format="date", description="Last night to replay"),
            "schema_version": Param("", type="string", description="Target version of the national schema"),
            "dry_run": Param(True, type="boolean", description="Stop at the diff report"),
        },
        doc_md=__doc__,
    ):
        backfill()
