"""Airflow plugin: run reports served by the Airflow API server and linked from the UI.

Reports live in the private zone, which browsers cannot read; the API server serves them under
``/digor/reports/`` to its logged-in users only (the UI's session cookie or a bearer token, as for
the REST API; a run's report to who may read that DAG's runs). Every task gets a "Run report" link
to its run's report, and the navigation bar "Run reports", the list shown inside the UI.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import get_user, requires_access_dag
from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response

from chains.run_report import run_index_key
from core.config import Settings
from core.keys import REPORTS_PREFIX
from core.store import open_store
from orchestration.regions import dag_region

URL_PREFIX = "/digor"
# Who may read a run's report: who may read that DAG's runs (one dependency, which tests can override).
READ_RUNS = requires_access_dag("GET", DagAccessEntity.RUN)


def report_url(dag_id: str, run_id: str) -> str:
    return f"{URL_PREFIX}/reports/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


class RunReportLink(BaseOperatorLink):
    name = "Run report"

    def get_link(self, operator, *, ti_key) -> str:
        return report_url(ti_key.dag_id, ti_key.run_id)


def create_reports_app() -> FastAPI:
    app = FastAPI(title="digor run reports", dependencies=[Depends(get_user)])

    def store(region: str | None = None):
        return open_store(Settings.from_env(region).store_url)

    @app.get("/reports/", response_class=HTMLResponse)
    def list_reports() -> str:
        keys = [k for k in store().list_keys(REPORTS_PREFIX + "/") if k.endswith("/report.html")]
        items = "".join(
            f'<li><a href="{URL_PREFIX}/reports/file/{quote(k[len(REPORTS_PREFIX) + 1:])}">'
            f"{escape(k[len(REPORTS_PREFIX) + 1:])}</a></li>"
            for k in sorted(keys, reverse=True)
        )
        listing = f"<ul>{items}</ul>" if items else "<p>No run report yet: each DAG run writes one.</p>"
        return ('<!doctype html><html lang="en"><meta charset="utf-8"><title>digor run reports</title>'
                f"<h1>Run reports</h1>{listing}")

    @app.get("/reports/runs/{dag_id}/{run_id}", dependencies=[Depends(READ_RUNS)])
    def run_report(dag_id: str, run_id: str, format: str = "html") -> Response:
        index = run_index_key(dag_id, run_id)
        objects = store(dag_region(dag_id))  # a region's DAG reports into the region's store
        if not objects.exists(index):
            raise HTTPException(404, f"no report for run {run_id} of {dag_id} (yet)")
        key = json.loads(objects.get_bytes(index))["json" if format == "json" else "html"]
        media = "application/json" if format == "json" else "text/html; charset=utf-8"
        return Response(objects.get_bytes(key), media_type=media)

    @app.get("/reports/file/{path:path}")
    def report_file(path: str) -> Response:
        if not path.endswith((".html", ".json")) or ".." in path.split("/"):
            raise HTTPException(404)
        objects, key = store(), f"{REPORTS_PREFIX}/{path}"
        if not objects.exists(key):
            raise HTTPException(404)
        media = "text/html; charset=utf-8" if path.endswith(".html") else "application/json"
        return Response(objects.get_bytes(key), media_type=media)

    return app


class DigorPlugin(AirflowPlugin):
    name = "digor"
    global_operator_extra_links = [RunReportLink()]
    fastapi_apps = [{"app": create_reports_app(), "url_prefix": URL_PREFIX, "name": "digor run reports"}]
    external_views = [{"name": "Run reports", "href": f"{URL_PREFIX}/reports/", "destination": "nav",
                       "url_route": "digor-reports"}]
