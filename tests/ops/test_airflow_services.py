"""``digor airflow up|down``: the real Airflow 3 services on embedded defaults. The scheduler runs a
DAG triggered through the REST API (and the DAG its Asset schedules), and the run's report is
reachable from that instance's UI, in chromium, after logging in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from core.keys import report_key
from digor.cli import main as digor
from orchestration.airflow_services import STATE_FILE, Services
from orchestration.airflow_trigger import AirflowApi
from samples.actes import DEMO_NIGHTS
from samples.budgets import write_demo_plans
from tests.ops.airflow_rest import (
    api_as,
    task_states,
    wait_for_dags,
    wait_for_run,
    wait_until_idle,
)
from tests.replay import demo_inputs

NIGHT = DEMO_NIGHTS[0]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Running:
    home: Path
    store: Path
    base: str
    output: str

    def password(self) -> str:
        return json.loads((self.home / "passwords.json").read_text(encoding="utf-8"))["admin"]

    def api(self) -> AirflowApi:
        return api_as(self.base, self.password())


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("airflow-up")
    write_demo_plans(root / "plans")
    replay = demo_inputs(root, DIGOR_PLANS_DIRS=str(root / "plans"), DIGOR_PLANS_BASE_URL="")
    home, port = root / "airflow-home", free_port()
    with replay.active(), pytest.MonkeyPatch.context() as patch:
        from contextlib import redirect_stdout
        from io import StringIO

        # The services' task logs must stay in their own home: nothing of this process's Airflow leaks in.
        patch.delenv("AIRFLOW__CORE__UNIT_TEST_MODE", raising=False)
        output = StringIO()
        with redirect_stdout(output):
            code = digor(["airflow", "up", "--home", str(home), "--port", str(port)])
        try:
            assert code == 0, output.getvalue()
            yield Running(home, replay.store, f"http://127.0.0.1:{port}", output.getvalue())
        finally:
            services = Services(home)
            groups = list(services.state()["components"].values())
            assert digor(["airflow", "down", "--home", str(home)]) == 0
            from orchestration.airflow_services import _group_alive

            assert not any(_group_alive(c["pid"]) for c in groups), "a component outlived digor airflow down"


def test_up_prints_the_ui_and_the_login_and_keeps_the_password_private(running):
    password = running.password()
    assert f"UI: {running.base}/" in running.output
    assert f"login: admin  password: {password}" in running.output
    assert oct((running.home / "passwords.json").stat().st_mode & 0o777) == "0o600"
    health = requests.get(f"{running.base}/api/v2/monitor/health", timeout=10).json()
    assert {health[n]["status"] for n in ("metadatabase", "scheduler", "triggerer", "dag_processor")} == {"healthy"}
    assert requests.get(f"{running.base}/api/v2/dags", timeout=10).status_code == 401


def test_up_again_says_it_runs_and_starts_nothing(running, capsys):
    before = Services(running.home).running()
    assert digor(["airflow", "up", "--home", str(running.home), "--port", running.base.rsplit(":", 1)[1]]) == 0
    assert "Airflow was already running" in capsys.readouterr().out
    assert Services(running.home).running() == before


def test_a_port_taken_is_one_line(running, tmp_path, capsys):
    assert digor(["airflow", "up", "--home", str(tmp_path / "other"), "--port", running.base.rsplit(":", 1)[1]]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: port {running.base.rsplit(':', 1)[1]} on 127.0.0.1 is taken: stop what listens there or pass --port"
    assert not (tmp_path / "other" / STATE_FILE).exists()


@pytest.fixture(scope="module")
def actes_run(running) -> dict:
    """A night of actes triggered through the REST API and run by the scheduler; budgets, unpaused
    too, follows on the Asset the actes run updates."""
    api = running.api()
    wait_for_dags(api, ("actes", "budgets"))
    for dag_id in ("actes", "budgets"):
        api.call("PATCH", f"/api/v2/dags/{dag_id}", f"unpause {dag_id}", json={"is_paused": False})
    run = api.call("POST", "/api/v2/dags/actes/dagRuns", "trigger actes", json={"logical_date": None, "conf": {"date": NIGHT}})
    return run


def test_the_scheduler_runs_a_dag_triggered_through_the_rest_api(running, actes_run):
    api = running.api()
    ended = wait_for_run(api, "actes", actes_run["dag_run_id"])
    assert ended["state"] == "success", task_states(api, "actes", actes_run["dag_run_id"])
    states = task_states(api, "actes", actes_run["dag_run_id"])
    assert set(states.values()) == {"success"} and any(not k.endswith("[-1]") for k in states), states
    assert sorted((running.store / "public/deliberations").glob("deliberations-2025.csv"))
    assert (running.store / report_key("actes", NIGHT)).is_file()


def test_the_asset_the_actes_run_updated_schedules_budgets(running, actes_run):
    api = running.api()
    wait_for_run(api, "actes", actes_run["dag_run_id"])
    runs = wait_until_idle(api, "budgets", (running.store / report_key("budgets", NIGHT)).is_file)
    assert {r["run_type"] for r in runs} == {"asset_triggered"}
    assert {r["state"] for r in runs} == {"success"}, [task_states(api, "budgets", r["dag_run_id"]) for r in runs]


def test_reports_are_private_to_the_ui_users(running, actes_run):
    wait_for_run(running.api(), "actes", actes_run["dag_run_id"])
    for path in ("/digor/reports/", f"/digor/reports/runs/actes/{actes_run['dag_run_id']}"):
        assert requests.get(running.base + path, timeout=10).status_code == 401, path
        token = requests.post(f"{running.base}/auth/token", json={"username": "admin", "password": running.password()},
                              timeout=10).json()["access_token"]
        answer = requests.get(running.base + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, path


@pytest.fixture(scope="module")
def browser():
    from tests.widgets.conftest import launched_chromium

    yield from launched_chromium()


def test_the_run_report_is_reachable_from_the_ui(running, actes_run, browser):
    wait_for_run(running.api(), "actes", actes_run["dag_run_id"])
    page = browser.new_page()
    try:
        page.goto(running.base + "/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(running.password())
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Run reports").click()
        reports = page.frame_locator("iframe")
        reports.get_by_role("link", name=f"actes/date={NIGHT}/report.html").click()
        assert "actes" in reports.locator("body").inner_text(timeout=30_000)
        # The task's "Run report" link: the report of that very run.
        page.goto(f"{running.base}/digor/reports/runs/actes/{actes_run['dag_run_id']}")
        text = page.locator("body").inner_text()
        report = json.loads((running.store / report_key("actes", NIGHT)).read_text(encoding="utf-8"))
        assert NIGHT in text and str(report["totals"]["extracted"]) in text
    finally:
        page.close()
