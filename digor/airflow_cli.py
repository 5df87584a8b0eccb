"""``digor airflow up|down``: the real Airflow services on embedded defaults (``make airflow``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from core.config import DEFAULT_VAR_DIR, ENV_PREFIX


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home).resolve()


def cmd_up(args: argparse.Namespace) -> int:
    from digor.demo import demo_settings
    from orchestration.airflow_services import EMBEDDED_COMPONENTS, login, up

    home = _home(args)
    store = args.store or os.environ.get(ENV_PREFIX + "STORE") or str(DEFAULT_VAR_DIR / "store")
    store = store if "://" in store else str(Path(store).resolve())
    # The demo's inputs (beside a local store) unless the environment names others; --store always wins.
    inputs = demo_settings(Path(store) if "://" not in store else DEFAULT_VAR_DIR / "store")
    settings = {name: value for name, value in inputs.items() if ENV_PREFIX + name not in os.environ}
    if args.store:
        settings["STORE"] = store
    base_url, already = up(home, args.port, settings, lambda step: print(f"airflow: {step}…", flush=True))
    user, password = login(home)
    print(f"Airflow {'was already' if already else 'is'} running ({', '.join(EMBEDDED_COMPONENTS)}), home {home}")
    print(f"  UI: {base_url}/")
    print(f"  login: {user}  password: {password}  (generated, kept in {home / 'passwords.json'})")
    print(f"  run reports: {base_url}/digor/reports/")
    print(f"  store: {store}")
    print(f"  logs: {home / 'logs'}")
    print("  DAGs are paused when first parsed: unpause them in the UI to let the scheduler run them on their schedule")
    print("  stop: .venv/bin/digor airflow down")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from orchestration.airflow_services import down

    stopped = down(_home(args))
    print(f"airflow: stopped {', '.join(stopped)}" if stopped else "airflow: nothing was running")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The ``airflow`` command group of ``digor``."""
    airflow = commands.add_parser("airflow", help="start or stop the Airflow services (scheduler, UI) on embedded defaults")
    actions = airflow.add_subparsers(dest="airflow_command", required=True)
    home = {"default": str(DEFAULT_VAR_DIR / "airflow"), "help": "AIRFLOW_HOME: metadata DB, logs, secrets (default var/airflow)"}

    start = actions.add_parser("up", help="migrate the metadata DB, start scheduler, dag-processor, triggerer and API server")
    start.add_argument("--port", type=int, default=8080, help="API server and UI port on 127.0.0.1 (default 8080)")
    start.add_argument("--store", help="object store folder or URL (default: DIGOR_STORE or var/store)")
    start.add_argument("--home", **home)
    start.set_defaults(func=cmd_up)

    stop = actions.add_parser("down", help="stop the services digor airflow up started")
    stop.add_argument("--home", **home)
    stop.set_defaults(func=cmd_down)
