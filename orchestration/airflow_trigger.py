"""Trigger a DAG run through Airflow's REST API (v2), as a user of the deployment's auth manager.

The API server's base URL, user and password are the Airflow connection ``digor_airflow_api``
(``core.config.AIRFLOW_API_CONN_ID``), e.g. ``AIRFLOW_CONN_DIGOR_AIRFLOW_API='{"conn_type": "http",
"host": "http://127.0.0.1:8080", "login": "admin", "password": "..."}'``. A JWT comes from
``POST /auth/token`` (the simple and the FAB auth managers alike; ``GET /auth/token`` when the
connection has no login, for a simple auth manager with ``simple_auth_manager_all_admins``), the
run from ``POST /api/v2/dags/{dag_id}/dagRuns`` with its ``conf``.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from core.config import AIRFLOW_API_CONN_ID, AIRFLOW_API_TIMEOUT
from core.connections import ConnectionInfo, get_connection
from core.failures import ExpectedFailure
from core.http_manners import redact
from orchestration.regions import region_dag_id

DECISIONS_DAG = "actes_decisions"


class TriggerFailed(ExpectedFailure):
    """The run could not be created; the message says where and why, never with a secret."""


@dataclass(frozen=True)
class TriggeredRun:
    dag_id: str
    run_id: str
    state: str
    paused: bool


def trigger_decisions_run(acts: list[dict], store_url: str, region: str = "") -> TriggeredRun:
    """A run of ``actes_decisions`` (its region's, ``orchestration.regions``) for the acts decided on
    (``siren``, ``source_id``, ``year``), on the store the decisions were recorded in."""
    conf = {"years": sorted({a["year"] for a in acts}), "bodies": sorted({a["siren"] for a in acts}),
            "acts": [{"siren": a["siren"], "source_id": a["source_id"], "year": a["year"]} for a in acts],
            "store": store_url}
    return trigger_run(region_dag_id(DECISIONS_DAG, region), conf)


def trigger_run(dag_id: str, conf: dict, conn_id: str = AIRFLOW_API_CONN_ID) -> TriggeredRun:
    api = AirflowApi(get_connection(conn_id))
    dag = api.call("GET", f"/api/v2/dags/{dag_id}", f"look up the DAG {dag_id}")
    run = api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", f"trigger {dag_id}",
                   json={"logical_date": None, "conf": conf})
    if not run.get("dag_run_id"):
        raise TriggerFailed(f"Airflow API at {api.where} created no run of {dag_id} (no dag_run_id in its answer)")
    return TriggeredRun(dag_id, run["dag_run_id"], str(run.get("state", "?")), bool(dag.get("is_paused")))


class AirflowApi:
    """Calls to the REST API as the connection's user, failures as one-line ``TriggerFailed``."""

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        try:
            self.base = conn.base_url(default_scheme="http").rstrip("/")
        except ValueError as error:
            raise TriggerFailed(str(error), hint="set it to the Airflow API server's base URL") from None
        self.where = redact(self.base, [conn.password])
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self._token()}"

    def _fail(self, what: str, answer: requests.Response) -> TriggerFailed:
        detail = ""
        try:
            body = answer.json()
            detail = body.get("detail") if isinstance(body, dict) else ""
        except ValueError:
            pass
        detail = redact(" ".join(str(detail or answer.reason or "").split())[:300], [self.conn.password])
        if answer.status_code in (401, 403):
            return TriggerFailed(
                f"Airflow API at {self.where} refused to {what} as {self.conn.login or 'anonymous'} "
                f"(HTTP {answer.status_code}: {detail})",
                hint=f"check the login and password of the Airflow connection {self.conn.conn_id!r} and the user's role",
            )
        if answer.status_code == 404:
            return TriggerFailed(
                f"Airflow API at {self.where} cannot {what} (HTTP 404: {detail or 'not found'})",
                hint=f"the host of the connection {self.conn.conn_id!r} must be the API server's base URL, "
                     "and digor's DAGs deployed and parsed there",
            )
        return TriggerFailed(f"Airflow API at {self.where} refused to {what} (HTTP {answer.status_code}: {detail})")

    def _send(self, method: str, path: str, what: str, **options) -> requests.Response:
        try:
            return self.session.request(method, self.base + path, timeout=AIRFLOW_API_TIMEOUT, **options)
        except requests.RequestException as error:
            raise TriggerFailed(
                f"Airflow API at {self.where} cannot be reached to {what} ({type(error).__name__})",
                hint=f"start the Airflow API server (airflow api-server) or fix the host of the connection "
                     f"{self.conn.conn_id!r}",
            ) from None

    def _json(self, answer: requests.Response, what: str) -> dict:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TriggerFailed(f"Airflow API at {self.where} did not answer JSON to {what} (HTTP {answer.status_code})",
                                hint="is the connection's host an Airflow 3 API server?")
        return body

    def _token(self) -> str:
        what = "log in"
        if self.conn.login:
            answer = self._send("POST", "/auth/token", what,
                                json={"username": self.conn.login, "password": self.conn.password or ""})
        else:
            answer = self._send("GET", "/auth/token", what)
        if answer.status_code >= 400:
            raise self._fail(what, answer)
        token = self._json(answer, what).get("access_token")
        if not token:
            raise TriggerFailed(f"Airflow API at {self.where} gave no access token")
        return token

    def call(self, method: str, path: str, what: str, **options) -> dict:
        answer = self._send(method, path, what, **options)
        if answer.status_code >= 400:
            raise self._fail(what, answer)
        return self._json(answer, what)
