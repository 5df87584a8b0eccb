"""One deployment, several regions: each region's DAGs, and the settings of the region a task serves.

``core.config.served_regions`` names the regions a deployment schedules: ``""`` (the one the
``DIGOR_*`` variables describe) keeps today's DAG ids; every region of ``DIGOR_REGIONS`` gets each
DAG again, its id suffixed (``actes__centre-demo``), its Assets its own, and a fixed ``region``
param that its tasks read their settings from (``task_settings``) and its alerts their recipients.
"""

from __future__ import annotations

from core.config import Settings, served_regions  # noqa: F401 (re-exported for the DAG files)

REGION_PARAM = "region"
SEPARATOR = "__"


def region_dag_id(dag_id: str, region: str) -> str:
    return f"{dag_id}{SEPARATOR}{region}" if region else dag_id


def region_params(region: str) -> dict:
    """The ``region`` param of a region's DAG: its one allowed value, so that no trigger points it elsewhere."""
    from airflow.sdk import Param

    if not region:
        return {}
    return {REGION_PARAM: Param(region, type="string", enum=[region], description="The region this DAG serves")}


def region_tags(region: str) -> list[str]:
    return [f"region:{region}"] if region else []


def region_asset(asset, region: str):
    """A region's own Asset: the budgets DAG of a region waits for the actes DAG of that region only."""
    from airflow.sdk import Asset

    if not region:
        return asset
    return Asset(name=region_dag_id(asset.name, region), uri=f"{asset.uri}/regions/{region}", group=asset.group)


def dag_region(dag_id: str) -> str | None:
    """The region a DAG id serves (None: the deployment's own, or no region's)."""
    base, separator, region = dag_id.rpartition(SEPARATOR)
    return region if separator and base and region in served_regions() else None


def param_region(params) -> str | None:
    """The region a run's params name (None: the deployment's own)."""
    return (params or {}).get(REGION_PARAM) or None


def task_settings() -> Settings:
    """The settings of the region the running task's DAG serves, else the deployment's."""
    from airflow.sdk import get_current_context

    return Settings.from_env(param_region(get_current_context()["params"]))
