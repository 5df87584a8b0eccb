"""Two chains switching widget files at once (each under its own lease) both leave their bodies in
the widget catalogue: neither rewrites it from a reading the other has made stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from chains import actes as actes_chain
from core.config import PROJECT_ROOT, Settings
from core.registry import body_registry
from core.store import open_store
from load.widget_catalogue import CATALOGUE_KEY, widgets_of
from samples.actes import DEMO_NIGHTS
from samples.budgets import write_demo_plans
from samples.decp import generate_decp_exports
from tests.replay import REGISTRY

WAIT_LIMIT = 180


def _start(command: list[str], log: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "digor.cli", *command], cwd=PROJECT_ROOT,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        assert time.monotonic() < deadline, f"{what}: never happened"
        time.sleep(0.05)


def test_two_chains_switching_widgets_at_once_both_reach_the_catalogue(demo_settings, tmp_path, monkeypatch):
    write_demo_plans(tmp_path / "plans")
    generate_decp_exports(tmp_path / "decp-drop", REGISTRY)
    monkeypatch.setenv("DIGOR_PLANS_DIRS", str(tmp_path / "plans"))
    monkeypatch.setenv("DIGOR_PLANS_BASE_URL", "")
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(tmp_path / "decp-drop"))
    settings = Settings.from_env()
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(settings, night)
    night = DEMO_NIGHTS[0]

    gate = tmp_path / "gate"
    gate.touch()
    decp_log, budgets_log = tmp_path / "decp.log", tmp_path / "budgets.log"
    decp = _start(["run", "decp", "--date", night], decp_log, DIGOR_TEST_HOLD=f"catalogue-write:{gate}")
    budgets = None
    try:
        _wait_for(lambda: Path(f"{gate}.reached").exists() or decp.poll() is not None, "decp at the catalogue")
        assert decp.poll() is None, decp_log.read_text()
        budgets = _start(["run", "budgets", "--date", night], budgets_log)
        # Either the budgets run is done (nothing keeps it off the catalogue) or it waits for it.
        _wait_for(lambda: budgets.poll() is not None or "waiting:" in budgets_log.read_text(), "budgets")
    finally:
        gate.unlink(missing_ok=True)
        for process in (decp, budgets):
            if process is not None:
                process.wait(timeout=WAIT_LIMIT)
    assert decp.returncode == 0, decp_log.read_text()
    assert budgets.returncode == 0, budgets_log.read_text()

    store = open_store(settings.store_url)
    listed = {entry["siren"]: entry["widgets"] for entry in json.loads(store.get_bytes(CATALOGUE_KEY))["organismes"]}
    held = {body.siren: widgets for body in body_registry(settings).bodies
            if (widgets := widgets_of(store, body.siren, body.siret))}
    assert any("budgets" in widgets for widgets in held.values()) and any("marches" in w for w in held.values())
    assert listed == held, "the catalogue lists every widget the store holds"
