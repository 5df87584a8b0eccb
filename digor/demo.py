"""``digor demo``: the sample region through the real nightly DAGs, on embedded defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from digor.airflow_env import airflow_environment
from digor.config import Settings
from digor.run_report import report_key

NIGHTLY_DAGS = ("actes",)


def _airflow(args: list[str], env: dict[str, str], log: Path) -> int:
    """Run one ``airflow`` command, its output kept in a log file the user can open."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ airflow {' '.join(args)}\n")
        handle.flush()
        return subprocess.call([sys.executable, "-m", "airflow", *args], env=env, stdout=handle, stderr=handle)


def run_demo(store: Path) -> int:
    from digor.sample_data import generate_drop_folder

    var = store.parent
    drop = var / "drop"
    settings = {"STORE": str(store), "DROP_DIR": str(drop)}
    env = airflow_environment(var / "airflow", settings)
    log = var / "demo-airflow.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")

    summary = generate_drop_folder(drop, Settings.from_env().registry_path)
    print(f"sample region: {summary['acts']} acts over nights {', '.join(summary['nights'])} in {drop}")
    print("airflow: migrating the metadata database (SQLite)…", flush=True)
    if _airflow(["db", "migrate"], env, log):
        print(f"error: airflow db migrate failed, see {log}", file=sys.stderr)
        return 1
    for dag_id in NIGHTLY_DAGS:
        for night in summary["nights"]:
            print(f"airflow: dags test {dag_id} {night}…", flush=True)
            if _airflow(["dags", "test", dag_id, night], env, log):
                print(f"error: DAG {dag_id} failed for {night}, see {log}", file=sys.stderr)
                return 1
            report = json.loads((store / report_key(dag_id, night)).read_text(encoding="utf-8"))
            totals = report["totals"]
            print(
                f"  {totals['extracted']} extracted, {totals['transformed']} transformed, "
                f"{totals['rejected']} rejected, {totals['quarantined_rows']} rows quarantined"
            )
            for reject in report["rejected"]:
                print(f"  rejected {reject['raw_prefix']}: {reject['reason']}")
    _print_results(store, log)
    return 0


def _print_results(store: Path, log: Path) -> None:
    public = store / "public"
    print("\nResults")
    for folder in ("deliberations", "actes"):
        for path in sorted((public / folder).glob("*")):
            print(f"  {path}")
    print(f"  widget data per body: {public / 'widgets' / 'actes'}")
    print(f"  documents (by content hash): {public / 'documents'}")
    print(f"  run reports: {store / 'private' / 'reports'}")
    print(f"  data.gouv.fr dry run (what would be sent): {store / 'private' / 'datagouv' / 'dry-run'}")
    print(f"  quarantine: {store / 'private' / 'quarantine'}")
    print(f"  airflow output: {log}")
    print(f"  validate a file: digor validate {public / 'deliberations'}/deliberations-2025.csv --schema scdl-deliberations")
