"""What the tests of running Airflow services read through the REST API (as the UI's user)."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.connections import ConnectionInfo
from orchestration.airflow_trigger import AirflowApi


def api_as(base: str, password: str, user: str = "admin") -> AirflowApi:
    return AirflowApi(ConnectionInfo(conn_id="digor_airflow_api", conn_type="http", host=base, schema=None,
                                     port=None, login=user, password=password, extra={}))


def wait_for_dags(api: AirflowApi, dag_ids: tuple[str, ...], timeout: float = 600.0) -> None:
    """Once the dag-processor has parsed them: `digor airflow up` returns when the services are healthy,
    and on a loaded machine the first parse of every DAG file can take minutes more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        known = {d["dag_id"] for d in api.call("GET", "/api/v2/dags?limit=100", "list the DAGs")["dags"]}
        if set(dag_ids) <= known:
            return
        time.sleep(2)
    raise AssertionError(f"DAGs {sorted(set(dag_ids) - known)} not parsed within {timeout:.0f} s")


def wait_for_run(api: AirflowApi, dag_id: str, run_id: str | None = None, timeout: float = 900.0) -> dict:
    """The run (or the first run of the DAG to end) once it ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run_id:
            runs = [api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", "read the run")]
        else:
            runs = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns", "list the runs")["dag_runs"]
        ended = [r for r in runs if r["state"] in ("success", "failed")]
        if ended:
            return ended[0]
        time.sleep(2)
    raise AssertionError(f"no run of {dag_id} ended within {timeout:.0f} s")


def wait_until_idle(api: AirflowApi, dag_id: str, done: Callable[[], bool], timeout: float = 900.0) -> list[dict]:
    """Every run of the DAG once ``done()`` holds and none is queued or running: the scheduler may add
    runs of its own (the latest interval of a nightly DAG once unpaused, a run per Asset event batch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns", "list the runs")["dag_runs"]
        if runs and done() and all(r["state"] in ("success", "failed") for r in runs):
            return runs
        time.sleep(2)
    raise AssertionError(f"runs of {dag_id} still going (or the expected one missing) after {timeout:.0f} s")


def task_instances(api: AirflowApi, dag_id: str, run_id: str) -> list[dict]:
    return api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", "list task instances")["task_instances"]


def task_states(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, str]:
    return {f"{t['task_id']}[{t['map_index']}]": t["state"] for t in task_instances(api, dag_id, run_id)}
