"""Airflow Assets between the DAGs: what one chain produces and another waits for.

The actes DAG's report task updates ``ACTES_STAGED`` once a night's acts are staged and the
ledger written, with the night in the event's extra (and ``nights`` when it finished short runs
that had failed); the short runs' ``announce`` task (``actes_frequent``) updates it only when the
run staged budget documents, so that budgets do not run every few minutes for nothing. The budgets
DAG is scheduled on it and reads its nights from the triggering events (an asset-triggered run
has no logical date).
"""

from __future__ import annotations

from airflow.sdk import Asset

ACTES_STAGED = Asset(name="digor_actes_staged", uri="digor://staging/actes", group="digor")
SIRENE_CACHE = Asset(name="digor_sirene_cache", uri="digor://private/sirene", group="digor")
