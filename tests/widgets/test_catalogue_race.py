"""Two chains switching widget files at once (each under its own lease) both leave their bodies in
the widget catalogue: neither rewrites it from a reading the other has made stale."""

from __future__ import annotations

import json

from chains import actes as actes_chain
from core.config import Settings
from core.registry import body_registry
from core.store import open_store
from load.widget_catalogue import CATALOGUE_KEY, widgets_of
from samples.actes import DEMO_NIGHTS
from samples.budgets import write_demo_plans
from samples.decp import generate_decp_exports
from tests.held_runs import WAIT_LIMIT, held_at, start_digor, wait_for
from tests.replay import REGISTRY


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

    budgets_log = tmp_path / "budgets.log"
    with held_at("catalogue-write", ["run", "decp", "--date", night], tmp_path) as decp:
        budgets = start_digor(["run", "budgets", "--date", night], budgets_log)
        # Either the budgets run is done (nothing keeps it off the catalogue) or it waits for it.
        wait_for(lambda: budgets.poll() is not None or "waiting:" in budgets_log.read_text(), "budgets")
    budgets.wait(timeout=WAIT_LIMIT)
    assert decp.returncode == 0, (tmp_path / "held.log").read_text()
    assert budgets.returncode == 0, budgets_log.read_text()

    store = open_store(settings.store_url)
    listed = {entry["siren"]: entry["widgets"] for entry in json.loads(store.get_bytes(CATALOGUE_KEY))["organismes"]}
    held = {body.siren: widgets for body in body_registry(settings).bodies
            if (widgets := widgets_of(store, body.siren, body.siret))}
    assert any("budgets" in widgets for widgets in held.values()) and any("marches" in w for w in held.values())
    assert listed == held, "the catalogue lists every widget the store holds"
