"""The README's first command: ``digor demo`` runs every nightly DAG through Airflow and says where to look."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core.config import ENV_PREFIX, PROJECT_ROOT
from tests.regions import region_identities, stored_texts


def test_demo_runs_every_nightly_dag_and_prints_where_the_results_are(tmp_path):
    var = tmp_path / "var"
    store = var / "store"
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
    # The demo's second region: its own bodies, on S²LOW, in its own store prefix; nothing of either region
    # in the other's outputs, and the output says where each region's results are.
    region = store / "regions" / "centre-demo"
    second = region / "public"
    assert "Second region centre-demo" in out and "on S²LOW" in out
    centre = {"214500993", "200099885", "254500994"}
    assert {p.name for p in (second / "widgets" / "actes").iterdir() if p.is_dir()} <= centre
    assert str(second / "actes" / "actes-2025.csv") in out
    assert {p.name for p in (region / "raw" / "actes").iterdir()} == {"s2low"}
    pulled = [json.loads(p.read_text(encoding="utf-8")) for p in (region / "private/reports/actes").rglob("s2low-pull.json")]
    assert len(pulled) == 3 and sum(report["pulled"] for report in pulled) > 0
    assert str(region / "private/reports/actes") in out
    assert not (store / "raw" / "actes" / "s2low").exists()
    assert (var / "s2low-centre" / "pki" / "ca.pem").is_file()  # made by the demo, beside its store
    for root, foreign in ((public, region_identities(PROJECT_ROOT / "config" / "registry-demo-centre.yaml")),
                          (second, region_identities(PROJECT_ROOT / "config" / "registry-demo.yaml"))):
        for path, text in stored_texts(root):
            assert not sorted(v for v in foreign if v in text), f"{path} holds something of the other region"
