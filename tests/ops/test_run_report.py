"""Every run leaves a report, JSON and HTML, reachable from the Airflow UI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pendulum
from fastapi.testclient import TestClient

from chains.report_html import render_report
from core.config import PROJECT_ROOT
from core.keys import report_key
from orchestration.airflow_plugin import (
    READ_RUNS,
    DigorPlugin,
    RunReportLink,
    create_reports_app,
    report_url,
)


def logged_in_client() -> TestClient:
    """The reports app as a UI user allowed to read every DAG's runs (the auth manager's answer)."""
    from airflow.api_fastapi.core_api.security import get_user

    app = create_reports_app()
    app.dependency_overrides[get_user] = lambda: SimpleNamespace(username="admin")
    app.dependency_overrides[READ_RUNS] = lambda: None
    return TestClient(app)


def test_the_run_report_is_linked_and_served(airflow_db, demo_settings):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    run = dag.test(logical_date=pendulum.parse("2025-03-03"))
    store = Path(demo_settings.store_url)

    report = json.loads((store / report_key("actes", "2025-03-03")).read_text(encoding="utf-8"))
    assert report["bodies"] and report["rejected"] and report["files"]
    assert {"extract", "transform"} <= set(report["durations_s"])
    assert all(f["sha256"] and f["size"] and "rows" in f for f in report["files"])

    link = RunReportLink().get_link(None, ti_key=SimpleNamespace(dag_id="actes", run_id=run.run_id))
    assert link == report_url("actes", run.run_id)
    client = logged_in_client()
    page = client.get(link.removeprefix("/digor"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "metadata.json is not valid JSON" in page.text and "raw/actes/drop/date=2025-03-03/" in page.text
    listing = client.get("/reports/")
    assert "actes/date=2025-03-03/report.html" in listing.text
    assert client.get("/reports/runs/actes/unknown-run").status_code == 404
    assert client.get("/reports/file/../../raw/x.html").status_code == 404


def test_the_plugin_exposes_the_link_the_app_and_the_menu_entry():
    assert any(isinstance(link, RunReportLink) for link in DigorPlugin.global_operator_extra_links)
    assert DigorPlugin.fastapi_apps[0]["url_prefix"] == "/digor"
    assert DigorPlugin.external_views[0]["href"] == "/digor/reports/"


def test_reports_are_refused_without_a_login():
    """The private zone's reports never reach who has not logged in to Airflow (as the REST API)."""
    client = TestClient(create_reports_app())
    for path in ("/reports/", "/reports/runs/actes/manual__1", "/reports/file/actes/date=2025-03-03/report.html"):
        assert client.get(path).status_code == 401, path


def test_report_page_shows_values_as_text():
    page = render_report({"chain": "actes", "night": "2025-03-03", "rejected": [{"reason": "<script>alert(1)</script>"}]})
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_late_run_alerts_the_webhook(monkeypatch):
    from orchestration import alerts

    sent = []
    monkeypatch.setattr(alerts, "send", lambda alert: sent.append(alert) or ["webhook"])
    run = SimpleNamespace(dag_id="actes", run_id="scheduled__2025-03-03")
    alerts.on_run_failure({"dag_run": run, "reason": "timed_out", "ti": None})
    assert sent[0]["kind"] == "late" and sent[0]["subject"] == "[digor] actes late: run scheduled__2025-03-03"
