"""The real Airflow 3 services of a deployment, started and stopped as process groups.

``digor airflow up`` runs the embedded profile (``embedded_environment``: the project's
``airflow.cfg``, SQLite metadata DB, LocalExecutor, the local store) with the scheduler, the
dag-processor, the triggerer and the API server (REST API + UI + digor's plugin). Every component
runs in a session of its own, so that stopping one stops the processes it forked (executor
workers, API workers, log server) and nothing else; ``services.json`` in ``AIRFLOW_HOME`` records
their ids for ``digor airflow down``. The production profile runs the same components (plus Celery
workers) from its own environment: see ``docs/deploy/``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from core.config import PROJECT_ROOT
from core.failures import ExpectedFailure
from orchestration.airflow_env import airflow_environment

EMBEDDED_COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
# Components the health endpoint reports on, by the name of their command.
HEALTH_NAMES = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
STATE_FILE = "services.json"
PASSWORDS_FILE = "passwords.json"
SECRETS_FILE = "secrets.json"
USER = "admin"
START_TIMEOUT = 300.0
STOP_TIMEOUT = 30.0


class ServicesFailed(ExpectedFailure):
    """A component did not start or answer; the message names it and its log."""


@dataclass(frozen=True)
class Component:
    """One long-running Airflow command, under a name unique in its deployment."""

    name: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "airflow", *self.args]


def embedded_components(port: int) -> list[Component]:
    """One machine: task logs are files the API server reads itself, so no log server listens."""
    return [Component("scheduler", ("scheduler", "--skip-serve-logs")), Component("dag-processor", ("dag-processor",)),
            Component("triggerer", ("triggerer", "--skip-serve-logs")),
            Component("api-server", ("api-server", "--host", "127.0.0.1", "--port", str(port)))]


def _private_json(path: Path, make) -> dict:
    """A JSON file only its owner reads, made once (generated secrets never go to the repo or a log)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(make(), handle)
    return json.loads(path.read_text(encoding="utf-8"))


def embedded_environment(home: Path, port: int, digor_settings: dict[str, str]) -> dict[str, str]:
    """The services' environment on embedded defaults: ``airflow_environment`` (the project's
    ``airflow.cfg``, SQLite in ``home``) plus what the split components must agree on: the API
    server's address, one JWT secret, the simple auth manager's generated password."""
    env = airflow_environment(home, digor_settings)
    keys = _private_json(home / SECRETS_FILE, lambda: {"jwt_secret": secrets.token_urlsafe(32)})
    _private_json(home / PASSWORDS_FILE, lambda: {USER: secrets.token_urlsafe(12)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", keys["jwt_secret"])
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(home / PASSWORDS_FILE)
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    env["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}/"
    return env


def login(home: Path) -> tuple[str, str]:
    """The UI's user and its generated password (from the passwords file, readable by its owner only)."""
    passwords = json.loads((home / PASSWORDS_FILE).read_text(encoding="utf-8"))
    return USER, passwords[USER]


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process has exited
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _started(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with its id, what tells it from a later
    process that reused the id. Command lines do not: Celery's worker renames itself."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _is_ours(entry: dict) -> bool:
    return _alive(entry["pid"]) and _started(entry["pid"]) == entry.get("started")


class Services:
    """The components recorded in ``<home>/services.json``: start, wait for health, stop."""

    def __init__(self, home: Path):
        self.home = home
        self.logs = home / "logs" / "services"
        self.state_path = home / STATE_FILE

    def state(self) -> dict:
        if not self.state_path.exists():
            return {"components": {}}
        return json.loads(self.state_path.read_text(encoding="utf-8"))

    def _save(self, state: dict) -> None:
        self.state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def running(self) -> dict[str, int]:
        return {name: c["pid"] for name, c in self.state()["components"].items() if _is_ours(c)}

    def log_of(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, components: list[Component], env: dict[str, str], base_url: str | None = None) -> None:
        """Start each component in its own session, its output in ``logs/services/<name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        state = self.state()
        if base_url:
            state["base_url"] = base_url
        for component in components:
            with self.log_of(component.name).open("ab") as log:
                process = subprocess.Popen(component.argv(), env={**env, **dict(component.env)}, cwd=self.home,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            state["components"][component.name] = {"pid": process.pid, "started": _started(process.pid),
                                                   "log": str(self.log_of(component.name))}
            self._save(state)

    def _check_alive(self) -> None:
        for name, entry in self.state()["components"].items():
            if not _alive(entry["pid"]):
                raise ServicesFailed(f"airflow {name} stopped while starting: see {entry['log']}",
                                     hint="fix what its log says, then run digor airflow down and up again")

    def wait_healthy(self, base_url: str, expected: list[str], timeout: float = START_TIMEOUT) -> dict:
        """Wait until the API server answers and reports every expected component healthy."""
        checked = [name for name in expected if name in HEALTH_NAMES]
        deadline = time.monotonic() + timeout
        health: dict = {}
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                answer = requests.get(f"{base_url}/api/v2/monitor/health", timeout=5)
                health = answer.json() if answer.ok else {}
            except (requests.RequestException, ValueError):
                health = {}
            if health and not _unhealthy(health, checked):
                return health
            time.sleep(1.0)
        waiting = _unhealthy(health, checked) if health else []
        raise ServicesFailed(f"Airflow at {base_url} not healthy after {timeout:.0f} s "
                             f"(waiting for: {', '.join(waiting) or 'the API server'}); logs in {self.logs}",
                             hint="run digor airflow down, then look at the logs")

    def stop(self, timeout: float = STOP_TIMEOUT) -> list[str]:
        """Stop every recorded component with its process group: SIGTERM, then SIGKILL after ``timeout``."""
        state = self.state()
        groups = {name: c["pid"] for name, c in state["components"].items() if _is_ours(c)}
        for pid in groups.values():
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_group_alive(pid) for pid in groups.values()):
            time.sleep(0.3)
        for pid in groups.values():
            if _group_alive(pid):
                _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_group_alive(pid) for pid in groups.values()):
            time.sleep(0.3)
        if self.state_path.exists():
            self.state_path.unlink()
        return sorted(groups)


def _unhealthy(health: dict, names: list[str]) -> list[str]:
    return [name for name in names if (health.get(HEALTH_NAMES[name]) or {}).get("status") != "healthy"]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """Any process of the group is still running (the leader or a child it forked)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def migrate(env: dict[str, str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        code = subprocess.call([sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=handle,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if code:
        raise ServicesFailed(f"airflow db migrate failed: see {log}")


def up(home: Path, port: int, digor_settings: dict[str, str], on_step=lambda message: None) -> tuple[str, bool]:
    """Start the embedded services (once): the UI's base URL, and whether they were already running."""
    services = Services(home)
    running = services.running()
    if running:
        base_url = services.state().get("base_url", "")
        if set(running) >= set(EMBEDDED_COMPONENTS):
            return base_url, True
        raise ServicesFailed(f"only {', '.join(sorted(running))} of Airflow's services run from {home}",
                             hint="run digor airflow down, then up again")
    if not port_free(port):
        raise ServicesFailed(f"port {port} on 127.0.0.1 is taken", hint="stop what listens there or pass --port")
    env = embedded_environment(home, port, digor_settings)
    on_step("migrating the metadata database (SQLite)")
    migrate(env, services.logs / "migrate.log")
    base_url = f"http://127.0.0.1:{port}"
    on_step("starting the scheduler, dag-processor, triggerer and API server")
    services.start(embedded_components(port), env, base_url)
    try:
        services.wait_healthy(base_url, list(EMBEDDED_COMPONENTS))
    except BaseException:
        services.stop()
        raise
    return base_url, False


def down(home: Path) -> list[str]:
    return Services(home).stop()
