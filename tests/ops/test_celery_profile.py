"""The production profile for real: PostgreSQL metadata DB, CeleryExecutor with Redis, a scheduler,
a dag-processor, the API server and two Celery workers, configured by environment only, run a night
of each chain (actes, budgets through its Asset, decp) on the S3 store. Mapped tasks spread over
both workers (task instances' hostnames, read through the REST API) and the public outputs are there.

Skipped on a workstation without Debian's postgresql and redis-server, unless DIGOR_REQUIRE_CELERY
is set (as .ci/run does, which installs them)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from core.keys import report_key
from core.store import open_store
from orchestration.airflow_services import Component, Services, migrate
from orchestration.airflow_trigger import AirflowApi
from samples.actes import DEMO_NIGHTS
from samples.budgets import write_demo_plans
from samples.decp import generate_decp_exports
from tests.emulators.metadata_services import (
    REQUIRE_CELERY,
    WORKER_NAME_ENV,
    PostgresCluster,
    RedisServer,
    free_port,
    missing,
)
from tests.emulators.seaweedfs import BUCKET
from tests.environment import unavailable
from tests.ops.airflow_rest import (
    api_as,
    task_instances,
    task_states,
    wait_for_dags,
    wait_for_run,
    wait_until_idle,
)
from tests.replay import REGISTRY, demo_inputs

NIGHT = DEMO_NIGHTS[0]
WORKERS = ("worker-1", "worker-2")
CHAINS = ("actes", "budgets", "decp")


@pytest.fixture(scope="module")
def services_available():
    needs = missing()
    if needs:
        unavailable(REQUIRE_CELERY, f"no {' and no '.join(needs)} on this machine (apt-get install -y {' '.join(needs)}): "
                                    "the production profile (PostgreSQL + Celery with Redis) cannot be run")


@pytest.fixture(scope="module")
def postgres(services_available) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def redis(services_available) -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def production_environment(home: Path, port: int, postgres: PostgresCluster, redis: RedisServer,
                           digor: dict[str, str]) -> dict[str, str]:
    """What an operator sets (docs/deploy/digor.env.example): the profile is environment only."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AIRFLOW", "DIGOR_"))}  # nothing of this test process's own Airflow
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
        "DIGOR_DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "PYTHONPATH": str(PROJECT_ROOT),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url(),
        "AIRFLOW__CELERY__BROKER_URL": redis.url(),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + postgres.url("postgresql"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        **digor,
    })
    return env


@dataclass
class Deployment:
    base: str
    password: str
    store_url: str
    runs: dict[str, list[dict]]

    def api(self) -> AirflowApi:
        return api_as(self.base, self.password)


@pytest.fixture(scope="module")
def night(tmp_path_factory, postgres, redis, seaweedfs) -> Iterator[Deployment]:
    """The deployment started, the three chains' DAGs unpaused, actes and decp triggered for one night
    (every year rebuilt, so that each publishes several years), budgets following on its Asset."""
    root = tmp_path_factory.mktemp("celery-profile")
    home = root / "airflow-home"
    home.mkdir()
    password = os.urandom(12).hex()
    (home / "passwords.json").write_text(json.dumps({"admin": password}), encoding="utf-8")
    write_demo_plans(root / "plans")
    generate_decp_exports(root / "decp-drop", REGISTRY, DEMO_NIGHTS)
    store_url = f"s3://{BUCKET}/celery-{os.urandom(6).hex()}"
    digor = {**demo_inputs(root).env, "DIGOR_STORE": store_url, "DIGOR_PLANS_DIRS": str(root / "plans"),
             "DIGOR_PLANS_BASE_URL": "", "DIGOR_DECP_DROP_DIR": str(root / "decp-drop"),
             "AIRFLOW_CONN_DIGOR_S3": seaweedfs.connection_json(),
             "DIGOR_SHARD_BODIES": "2"}  # the sample region's bodies in shards: mapped extract and transform
    port = free_port()
    env = production_environment(home, port, postgres, redis, digor)
    services = Services(home)
    migrate(env, services.logs / "migrate.log")
    hostname = "tests.emulators.metadata_services.worker_hostname"
    workers = [Component(name, ("celery", "worker", "--skip-serve-logs", "--concurrency", "1"),
                         ((WORKER_NAME_ENV, name), ("AIRFLOW__CORE__HOSTNAME_CALLABLE", hostname)))
               for name in WORKERS]
    services.start([Component("scheduler", ("scheduler", "--skip-serve-logs")),
                    Component("dag-processor", ("dag-processor",)),
                    Component("api-server", ("api-server", "--host", "127.0.0.1", "--port", str(port))),
                    *workers], env)
    try:
        base = f"http://127.0.0.1:{port}"
        services.wait_healthy(base, ["scheduler", "dag-processor"])
        deployment = Deployment(base, password, store_url, {})
        api = deployment.api()
        wait_for_dags(api, tuple(CHAINS))
        for dag_id in CHAINS:
            api.call("PATCH", f"/api/v2/dags/{dag_id}", f"unpause {dag_id}", json={"is_paused": False})
        for dag_id in ("actes", "decp"):
            run = api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", f"trigger {dag_id}",
                           json={"logical_date": None, "conf": {"date": NIGHT, "force_rebuild": True}})
            deployment.runs[dag_id] = [wait_for_run(api, dag_id, run["dag_run_id"])]
        # Unpaused, the nightly DAGs also ran their latest interval; budgets runs on every actes run's Asset event.
        with pytest.MonkeyPatch.context() as patch:  # this process reads the store too
            patch.setenv("AIRFLOW_CONN_DIGOR_S3", seaweedfs.connection_json())
            store = open_store(store_url)
            for dag_id in CHAINS:
                deployment.runs[dag_id] = wait_until_idle(api, dag_id, lambda: store.exists(report_key("budgets", NIGHT)))
        yield deployment
    finally:
        services.stop()


def test_a_night_of_each_chain_succeeds_through_celery_workers(night):
    api = night.api()
    for dag_id in CHAINS:
        for run in night.runs[dag_id]:
            assert run["state"] == "success", (dag_id, run["dag_run_id"], task_states(api, dag_id, run["dag_run_id"]))
    assert {r["run_type"] for r in night.runs["budgets"]} == {"asset_triggered"}


def test_mapped_tasks_ran_on_both_workers(night):
    api = night.api()
    hosts: dict[str, set[str]] = {}
    for dag_id in CHAINS:
        found = [ti for run in night.runs[dag_id] for ti in task_instances(api, dag_id, run["dag_run_id"])
                 if ti["state"] != "skipped"]  # skipped (e.g. a map over no year): never sent to a worker
        assert {t["hostname"] for t in found} <= set(WORKERS), "every task ran on a Celery worker"
        assert {t["executor"] or "CeleryExecutor" for t in found} == {"CeleryExecutor"}
        for ti in found:
            if ti["map_index"] >= 0:
                hosts.setdefault(ti["hostname"], set()).add(f"{dag_id}.{ti['task_id']}[{ti['map_index']}]")
    assert set(hosts) == set(WORKERS), f"mapped tasks by worker: {hosts}"
    shards = {task for tasks in hosts.values() for task in tasks if task.startswith("actes.extract_shard[")}
    assert len(shards) > 1, f"the actes night's extract ran in shards: {hosts}"


def test_the_public_outputs_are_on_the_s3_store(night, seaweedfs, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", seaweedfs.connection_json())
    store = open_store(night.store_url)
    public = set(store.list_keys("public/"))
    for dataset in ("deliberations", "actes", "budgets", "decp"):
        assert f"public/{dataset}/index.json" in public, dataset
        manifest = json.loads(store.get_bytes(f"public/{dataset}/index.json"))
        assert manifest, dataset
    for chain in CHAINS:
        assert store.exists(report_key(chain, NIGHT)), chain
