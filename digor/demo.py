"""``digor demo``: the sample region through the real nightly DAGs, on embedded defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.config import PROJECT_ROOT, Settings
from core.keys import raw_prefix, report_key, widget_prefix
from core.store import LocalStore
from load.versions import is_version
from load.widget_catalogue import CATALOGUE_KEY
from load.widget_pages import deploy_widget_pages
from orchestration.airflow_env import airflow_environment

NIGHTLY_DAGS = ("actes", "budgets", "decp")


def _airflow(args: list[str], env: dict[str, str], log: Path) -> int:
    """Run one ``airflow`` command, its output kept in a log file the user can open."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ airflow {' '.join(args)}\n")
        handle.flush()
        return subprocess.call([sys.executable, "-m", "airflow", *args], env=env, stdout=handle, stderr=handle)


def demo_settings(store: Path) -> dict[str, str]:
    """The demo's ``DIGOR_*`` settings (without the prefix): inputs beside the store, in its parent folder."""
    var = store.parent
    return {"STORE": str(store), "DROP_DIR": str(var / "drop"),
            "PLANS_DIRS": str(var / "plans-de-comptes"),  # the demo's own small plans de comptes (samples.budgets)
            "DECP_DROP_DIR": str(var / "decp-drop")}  # the procurement platform's exports (samples.decp)


def run_demo(store: Path) -> int:
    from samples.actes import generate_drop_folder

    var = store.parent
    settings = demo_settings(store)
    drop, plans, decp_drop = (Path(settings[name]) for name in ("DROP_DIR", "PLANS_DIRS", "DECP_DROP_DIR"))
    env = airflow_environment(var / "airflow", settings)
    log = var / "demo-airflow.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")

    summary = generate_drop_folder(drop, Settings.from_env().registry_path)
    from samples.budgets import write_demo_plans

    write_demo_plans(plans)
    print(f"sample region: {summary['acts']} acts over nights {', '.join(summary['nights'])} in {drop}")
    from samples.decp import generate_decp_exports

    decp = generate_decp_exports(decp_drop, Settings.from_env().registry_path, summary["nights"])
    print(f"procurement platform exports: {decp['objects']} contracts in {decp['files']} files in {decp_drop}")
    print("airflow: migrating the metadata database (SQLite)…", flush=True)
    if _airflow(["db", "migrate"], env, log):
        print(f"error: airflow db migrate failed, see {log}", file=sys.stderr)
        return 1
    from samples.sirene import run_demo_month

    print("airflow: dags test sirene (a generated SIRENE extract served on loopback)…", flush=True)
    if run_demo_month(store, env, summary["nights"][0], lambda args, run_env: _airflow(args, run_env, log), var / "decp-drop"):
        print(f"error: DAG sirene failed, see {log}", file=sys.stderr)
        return 1
    for dag_id in NIGHTLY_DAGS:
        for night in summary["nights"]:
            print(f"airflow: dags test {dag_id} {night}…", flush=True)
            if _airflow(["dags", "test", dag_id, night], env, log):
                print(f"error: DAG {dag_id} failed for {night}, see {log}", file=sys.stderr)
                return 1
            report = json.loads((store / report_key(dag_id, night)).read_text(encoding="utf-8"))
            if dag_id == "decp":
                from chains.decp import summary_lines

                print("\n".join(f"  {line.strip()}" for line in summary_lines(report)))
                continue
            totals = report["totals"]
            print(
                f"  {totals['extracted']} extracted, {totals['transformed']} transformed, "
                f"{totals['rejected']} rejected, {totals['quarantined_rows']} rows quarantined"
            )
            for reject in report["rejected"]:
                print(f"  rejected {reject['raw_prefix']}: {reject['reason']}")
    _print_results(store, log)
    return _second_region(store, summary["nights"])


SECOND_REGION = "centre-demo"


def _second_region(store: Path, nights: list[str]) -> int:
    """The demo's second region (config/regions-demo.yaml): its own bodies, on S²LOW (served on loopback
    over mutual TLS, certificates made now under var/), its own store prefix, run by the same code
    (in-process: the Airflow DAGs above serve the first region)."""
    import os

    from chains.actes import CHAIN
    from extract.pastell_source import night_cutoff
    from samples.s2low_platform import sample_platform

    settings = Settings.from_env().with_overrides(store_url=str(store))
    settings = settings.for_region(SECOND_REGION, PROJECT_ROOT / "config" / "regions-demo.yaml")
    platform = store.parent / "s2low-centre"
    region_store = Path(settings.store_url)
    print(f"\nSecond region {SECOND_REGION}: bodies of {settings.registry_path.name}, on S²LOW (emulated on loopback, "
          f"mutual TLS, certificates in {platform / 'pki'}), store {region_store}")
    with sample_platform(platform, settings.registry_path, nights) as (s2low, connections):
        saved = {name: os.environ.get(name) for name in connections}
        os.environ.update(connections)
        try:
            for night in nights:
                s2low.clock = night_cutoff(night)
                report = CHAIN.run_night(settings, night)
                print(f"  {report['summary'][0]}")
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name)
                else:
                    os.environ[name] = value
    deploy_widget_pages(LocalStore(region_store))
    _print_region_results(region_store, nights)
    print(f"  run `.venv/bin/digor --region {SECOND_REGION} serve --store {region_store} --port 8766`, then open "
          f"{settings.public_base_url}/widgets/configurateur.html (nothing of the first region is in its store)")
    return 0


def _print_region_results(region_store: Path, nights: list[str]) -> None:
    """Where the second region's results are: its own tables, pulls from S²LOW, widgets."""
    public = region_store / "public"
    for folder in ("deliberations", "actes"):
        for path in sorted((public / folder).glob("*.csv")):
            if not is_version(path.name):
                print(f"  {path}")
    print(f"  acts as S²LOW gave them: {region_store / raw_prefix('actes', 's2low')}")
    for night in nights:
        print(f"  what night {night} pulled from S²LOW: {region_store / report_key('actes', night, 's2low-pull.json')}")
    print(f"  Actes widget data per body: {region_store / widget_prefix('actes')}")


def _print_results(store: Path, log: Path) -> None:
    public = store / "public"
    print("\nResults")
    for folder in ("deliberations", "actes", "budgets", "decp"):
        # Stable "latest" names; the manifest names the content-addressed versions behind them.
        print(f"  {public / folder / 'index.json'} (manifest: current version of each file)")
        for path in sorted((public / folder).glob("*.*")):
            if path.name != "index.json" and not is_version(path.name):
                print(f"  {path}")
    print(f"  Actes widget data per body: {public / 'widgets' / 'actes'}")
    print(f"  Budgets widget data per body: {public / 'widgets' / 'budgets'} (index.json naming budget-<siret>-<year>-<stage>.<hash>.json)")
    print(f"  budget versions kept (history): {store / 'private' / 'budgets' / 'versions'}")
    print(f"  DECP rejects (one row per error, duplicates, unreadable files): {public / 'decp' / 'rejets'}")
    print(f"  Focus marchés data per buyer: {public / 'widgets' / 'marches'} (index.json, indicateurs.json, contrats-<year>.json)")
    print(f"  documents (by content hash): {public / 'documents'}")
    print(f"  run reports: {store / 'private' / 'reports'}")
    print(f"  data.gouv.fr dry run (what would be sent): {store / 'private' / 'datagouv' / 'dry-run'}")
    print(f"  quarantine: {store / 'private' / 'quarantine'}")
    print(f"  airflow output: {log}")
    print(f"  validate a file: digor validate {public / 'deliberations'}/deliberations-2025.csv --schema scdl-deliberations")
    _print_widget_urls(store)


def _print_widget_urls(store: Path) -> None:
    """Where to look at the widgets of each demo body once ``digor serve`` runs."""
    catalogue = store / CATALOGUE_KEY
    if not catalogue.is_file():
        return
    deploy_widget_pages(LocalStore(store))
    base = Settings.from_env().public_base_url
    print(f"\nWidgets (pages and libraries copied to {store / 'public' / 'widgets'}, as production serves them):")
    print(f"run `.venv/bin/digor serve --store {store}`, then open")
    print(f"  configurator (choose a widget and a body, preview, copy the iframe code): {base}/widgets/configurateur.html")
    print(f"  map of reuses (bodies at their siège, their widgets; GeoJSON for uMap): {base}/widgets/carte.html")
    pages = {"actes": ("Actes", "actes.html?siren={siren}"), "budgets": ("Budgets", "budgets.html?siret={siret}"),
             "marches": ("Focus marchés", "marches.html?siret={siret}")}
    for body in json.loads(catalogue.read_text(encoding="utf-8"))["organismes"]:
        print(f"  {body['nom']}")
        for widget in body["widgets"]:
            label, page = pages[widget]
            print(f"    {label}: {base}/widgets/{page.format(**body)}")
