"""The README's first command: ``digor demo`` runs every nightly DAG through Airflow and says where to look."""

from __future__ import annotations

import os
import subprocess
import sys

from core.config import ENV_PREFIX, PROJECT_ROOT


def test_demo_runs_every_nightly_dag_and_prints_where_the_results_are(tmp_path):
    store = tmp_path / "var" / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith((ENV_PREFIX, "AIRFLOW"))}  # embedded defaults
    done = subprocess.run([sys.executable, "-m", "digor.cli", "demo", "--store", str(store)], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for dag_id in ("sirene", "actes", "budgets", "decp"):
        assert f"airflow: dags test {dag_id} " in out
    public = store / "public"
    for path in ("deliberations/deliberations-2025.csv", "actes/actes-2025.parquet", "budgets/budgets-2024.csv",
                 "decp/decp-2025.json", "decp/decp-2025.csv", "widgets/actes-organismes.json",
                 "widgets/budgets.html", "widgets/marches.html", "widgets/vendor/echarts.min.js"):
        assert (public / path).is_file(), path
        assert str(public / path) in out or path.startswith("widgets/"), f"{path} not listed in the output"
    assert f"digor serve --store {store}" in out
    for widget in ("configurateur.html", "actes.html?siren=212900997", "budgets.html?siret=21290099700017",
                   "marches.html?siret=21290099700017"):
        assert f"/widgets/{widget}" in out, widget
    assert (public / "widgets" / "budgets" / "21290099700017" / "index.json").is_file()
    assert (public / "widgets" / "marches" / "21290099700017" / "index.json").is_file()
    # The demo's second region: its own bodies, in its own store prefix, none in the first region's outputs.
    second = store / "regions" / "centre-demo" / "public"
    assert "Second region centre-demo" in out
    centre = {"214500993", "200099885", "254500994"}
    assert {p.name for p in (second / "widgets" / "actes").iterdir() if p.is_dir()} <= centre
    assert (second / "actes" / "actes-2025.csv").is_file()
    assert not centre & {p.name for p in (public / "widgets" / "actes").iterdir()}
