"""Actes chain, nightly: acts from the télétransmission to SCDL files, widget files and data.gouv.fr.

Thin wiring only; the tasks are in ``orchestration.chain_tasks``, the logic in ``chains.actes``.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable

from core.config import (
    DAG_TIMEZONE,
    NIGHTLY_CRON,
    NIGHTLY_TIMEOUT,
    PARALLEL_PULLS,
)
from orchestration import chain_tasks as t
from orchestration.assets import ACTES_STAGED
from orchestration.digor_dag import digor_dag, run_params
from orchestration.regions import region_asset, served_regions

CHAIN = "actes"


def actes(region: str = "") -> None:
    # Shards of bodies (DIGOR_SHARD_BODIES, DIGOR_MAX_SHARDS): more workers, a shorter extract and transform.
    shards = t.plan_shards(CHAIN)
    pulling = t.extract_shard.override(max_active_tis_per_dagrun=PARALLEL_PULLS)
    extracted = t.merge_extracts(CHAIN, pulling.partial(chain=CHAIN).expand(job=shards))
    staged = t.transform_shard.partial(chain=CHAIN).expand(job=shards)
    extracted >> staged
    transformed = t.merge_transforms(CHAIN, staged)
    # Short runs stay off while the shards run, and come back once they are done, even failed.
    transformed >> t.end_shards(CHAIN).as_teardown(setups=shards)
    years = t.publish_year.partial(chain=CHAIN).expand(job=t.plan_years(CHAIN, transformed))
    widgets = t.publish_widgets(CHAIN, transformed, years)
    datagouv = t.publish_datagouv(CHAIN, years)
    widgets >> datagouv
    # Off the publication's path: an act is online before its text is read, findable by it once read.
    texts = t.read_texts.partial(chain=CHAIN).expand(job=t.plan_texts(CHAIN, years))
    widgets >> t.publish_texts(CHAIN, texts)
    t.report.override(outlets=[region_asset(ACTES_STAGED, region)])(CHAIN, extracted, transformed, years, widgets, datagouv)


# One DAG per region the deployment serves (orchestration.regions); today's id for its own.
for region in served_regions():
    with digor_dag(
        "actes", region,
        schedule=CronDataIntervalTimetable(NIGHTLY_CRON, timezone=DAG_TIMEZONE),
        dagrun_timeout=NIGHTLY_TIMEOUT,
        tags=["digor", "actes", "scdl-deliberations"],
        params=run_params(
            date="Night to process (YYYY-MM-DD); empty = the logical date",
            force_rebuild="Rebuild every year's files, not only touched ones",
        ),
        doc_md=__doc__,
    ):
        actes(region)
