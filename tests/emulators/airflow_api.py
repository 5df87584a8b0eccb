"""A loopback emulator of the Airflow 3 REST API endpoints ``digor ... --via-airflow`` calls.

The same paths, status codes and JSON shapes as Airflow 3.3's API server with its simple auth
manager (checked against a real ``airflow api-server`` in ``tests/ops/test_airflow_trigger.py``):

- ``POST /auth/token``                       ``{"username", "password"}`` (JSON or form) -> 201 ``{"access_token"}``, 401
- ``GET  /api/v2/dags/{dag_id}``             the DAG (``is_paused``), 401 without a valid token, 404
- ``POST /api/v2/dags/{dag_id}/dagRuns``     ``{"logical_date": null, "conf": {...}}`` -> 200 the run, queued

Runs created are kept in ``runs``. Run by hand: ``python -m tests.emulators.airflow_api``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from samples.emulator_faults import LoopbackServer

USER, PASSWORD = "admin", "emulated-password-0123"


class ApiHandler(BaseHTTPRequestHandler):
    emulator: AirflowApiEmulator  # bound by LoopbackServer.start

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer ") and header[len("Bearer "):] in self.emulator.tokens:
            return True
        self._answer(401, {"detail": "Not authenticated"})
        return False

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/auth/token":
            return self._token(body)
        match = re.fullmatch(r"/api/v2/dags/([^/]+)/dagRuns", self.path)
        if not match:
            return self._answer(404, {"detail": "Not Found"})
        if not self._authorised():
            return None
        dag_id = match.group(1)
        if dag_id not in self.emulator.dags:
            return self._answer(404, {"detail": f"The Dag with ID: `{dag_id}` was not found"})
        request = json.loads(body or b"{}")
        if "logical_date" not in request:
            return self._answer(422, {"detail": [{"type": "missing", "loc": ["body", "logical_date"],
                                                  "msg": "Field required"}]})
        now = datetime.now(timezone.utc).isoformat()
        run = {"dag_run_id": request.get("dag_run_id") or f"manual__{now}", "dag_id": dag_id,
               "logical_date": request["logical_date"], "run_type": "manual", "state": "queued",
               "triggered_by": "rest_api", "conf": request.get("conf") or {}, "queued_at": now}
        self.emulator.runs.append(run)
        return self._answer(200, run)

    def _token(self, body: bytes) -> None:
        if self.headers.get("Content-Type", "").startswith("application/json"):
            given = json.loads(body or b"{}")
        else:
            given = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if self.emulator.users.get(given.get("username")) != given.get("password") or not given.get("password"):
            return self._answer(401, {"detail": "Invalid credentials"})
        token = uuid.uuid4().hex
        self.emulator.tokens.add(token)
        return self._answer(201, {"access_token": token})

    def do_GET(self) -> None:
        match = re.fullmatch(r"/api/v2/dags/([^/]+)", self.path)
        if not match:
            return self._answer(404, {"detail": "Not Found"})
        if not self._authorised():
            return None
        if match.group(1) not in self.emulator.dags:
            return self._answer(404, {"detail": f"The Dag with ID: `{match.group(1)}` was not found"})
        return self._answer(200, {"dag_id": match.group(1), "is_paused": self.emulator.dags[match.group(1)]})


class AirflowApiEmulator(LoopbackServer):
    handler = ApiHandler

    def __init__(self, dags: dict[str, bool] | None = None, users: dict[str, str] | None = None):
        self.dags = dict(dags if dags is not None else {"actes_decisions": False})  # dag_id -> is_paused
        self.users = dict(users or {USER: PASSWORD})
        self.tokens: set[str] = set()
        self.runs: list[dict] = []

    @property
    def base_url(self) -> str:
        return self.url

    def connection_json(self, login: str = USER, password: str = PASSWORD) -> str:
        """The ``AIRFLOW_CONN_DIGOR_AIRFLOW_API`` value of a connection to this emulator."""
        return json.dumps({"conn_type": "http", "host": self.base_url, "login": login, "password": password})


if __name__ == "__main__":  # pragma: no cover - manual use
    emulator = AirflowApiEmulator().start()
    print(f"export AIRFLOW_CONN_DIGOR_AIRFLOW_API='{emulator.connection_json()}'", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()
