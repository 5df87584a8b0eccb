"""Trigger a DAG run from the CLI, through the Airflow command line of this deployment."""

from __future__ import annotations

import json
import subprocess
import sys

DECISIONS_DAG = "actes_decisions"


def trigger_decisions_run(years: list[int], bodies: list[str]) -> str:
    conf = json.dumps({"years": sorted(set(years)), "bodies": sorted(set(bodies))})
    completed = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "trigger", DECISIONS_DAG, "--conf", conf, "--output", "json"],
        capture_output=True, text=True, check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"airflow dags trigger {DECISIONS_DAG} failed: {completed.stderr.strip()[-2000:]}")
    runs = json.loads(completed.stdout[completed.stdout.index("["):]) if "[" in completed.stdout else [{}]
    return runs[0].get("dag_run_id", "?")
