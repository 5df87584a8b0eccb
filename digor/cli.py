"""``digor``: the engineers' command line (run a chain, validate a file, run the demo)."""

from __future__ import annotations

import argparse
import sys
import traceback
from datetime import date
from pathlib import Path

from core.config import CHAINS, DEFAULT_VAR_DIR, Settings
from core.failures import ExpectedFailure, is_disk_full, one_line


def _date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _waiting(message: str) -> None:
    """What a command says while another writer of the chain holds its lease."""
    print(message, file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from chains.chain import get_chain

    settings = _settings_for(args)
    chain = get_chain(args.chain)
    steps = ["extract", "transform", "publish", "widgets", "data.gouv.fr", "report"]
    # One lease for the night and its texts: a second run waits for both, never slips in between.
    with chain.lock(settings, f"digor run {args.chain} --date {args.date}", _waiting):
        with tqdm(total=len(steps), desc=f"{args.chain} {args.date}", unit="step") as bar:
            def progress(step: str) -> None:
                bar.set_postfix_str(step)
                if not step.startswith("publish ") or step == "publish":
                    bar.update(1)

            result = chain.run_night(settings, args.date, args.force_rebuild, progress,
                                     allow_shrink=args.allow_shrink, on_wait=_waiting)
            bar.update(bar.total - bar.n)
        for line in result["summary"]:
            print(line)
        if not args.no_texts:
            for line in chain.after_night(settings, _waiting):
                print(line)
    print(f"report: {settings.store_url}/{result['key']}")
    return 1 if result["totals"].get("deferred") else 0  # documents left for a rerun: not a finished night


def cmd_validate(args: argparse.Namespace) -> int:
    from validate.table_validator import validate_table

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    try:
        report = validate_table(path, args.schema)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.to_text())
    return 0 if report.valid else 1


def _settings_for(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "store", None):
        store = args.store if "://" in args.store else str(Path(args.store).resolve())
        settings = settings.with_overrides(store_url=store)
    return settings


def cmd_store_public(args: argparse.Namespace) -> int:
    """``digor store-public``: let browsers read the public prefix of an S3 store, and only it."""
    from core.store import S3Store, StoreError, open_store

    settings = _settings_for(args)
    try:
        store = open_store(settings.store_url)
        if not isinstance(store, S3Store):
            print(f"error: {settings.store_url} is a local folder; `digor serve` serves its public zone",
                  file=sys.stderr)
            return 2
        origins = args.origin or list(settings.public_origins)
        store.configure_public_access(origins)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{store.url}: public/ readable by anyone, from browsers of {', '.join(origins)}; the rest stays private")
    return 0


def cmd_deploy_widgets(args: argparse.Namespace) -> int:
    """``digor deploy-widgets``: the widget pages and bundled libraries to ``public/widgets/`` of the store."""
    from core.store import StoreError, open_store
    from load.widget_pages import WidgetAssetsMissing, deploy_widget_pages

    settings = _settings_for(args)
    try:
        written = deploy_widget_pages(open_store(settings.store_url))
    except (WidgetAssetsMissing, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(written)} widget file(s) updated in {settings.store_url}/public/widgets/ (unchanged ones left alone)")
    for key in written:
        print(f"  {key}")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """``digor unpublish`` / ``digor publish``: ledger first, then the outputs at once."""
    from chains import actes as actes_chain
    from core.publication_rule import Decision

    settings = _settings_for(args)
    decision = Decision.WITHDRAWN if args.command == "unpublish" else Decision.PUBLISHED
    try:
        recorded = actes_chain.record_engineer_decision(settings, args.siren, args.act_id, decision, args.reason)
    except (actes_chain.ActNotFound, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"ledger: {decision.value} {recorded['siren']}/{recorded['source_id']} recorded in {recorded['ledger_key']}")
    if args.via_airflow:
        from core.http_manners import redact
        from orchestration.airflow_trigger import trigger_decisions_run

        try:
            run = trigger_decisions_run([recorded], settings.store_url, settings.region)
        except ExpectedFailure as error:
            print(f"error: {redact(one_line(error))} (the decision is in the ledger: the next actes run applies it)",
                  file=sys.stderr)
            return 1
        print(f"airflow: triggered {run.dag_id} run {run.run_id} ({run.state})")
        if run.paused:
            print(f"warning: {run.dag_id} is paused in Airflow: the run waits until it is unpaused", file=sys.stderr)
        return 0
    from chains.chain import republish_decision
    from core.lease import LeaseLost, LockBusy

    try:
        results = republish_decision(settings, "actes", recorded, f"decision-{recorded['at'].replace(':', '')}",
                                     on_wait=_waiting)
    except (LockBusy, LeaseLost) as error:
        print(f"error: {error}: the decision is in the ledger, the next actes run applies it "
              "(or run the same command again later)", file=sys.stderr)
        return 1
    for result in results:
        for line in result["summary"]:
            print(line)
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from chains import actes as actes_chain

    try:
        history = actes_chain.act_history(_settings_for(args), args.siren, args.act_id)
    except actes_chain.ActNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    act = history["act"]
    status = "online" if history["online"] else f"offline ({history['offline_reason']})"
    print(f"{act['siren']} {act['numero']} [{act['source_id']}] {act['objet']}")
    print(f"  {status}; first publication: {history['publication_date'] or '-'}")
    for event in history["history"]:
        print(f"  {event['at']}  {event['decision']:<10} by {event['decided_by']} ({event['actor']}): {event['reason']}")
    return 0


def cmd_import_history(args: argparse.Namespace) -> int:
    """``digor import-history <folder>``: the previous system's acts with their original publication dates."""
    from chains.history import import_history
    from core.lease import LeaseLost, LockBusy

    settings = _settings_for(args)
    try:
        report = import_history(settings, Path(args.folder), on_wait=_waiting)
    except (LockBusy, LeaseLost) as error:
        print(f"error: {error}: run the same command again later (what was imported is kept)", file=sys.stderr)
        return 1
    if args.json:
        import json

        print(json.dumps(report, ensure_ascii=False, indent=2))
    print(report["summary"])
    print(f"report: {settings.store_url}/{report['key']}")
    for refused in report["refused"]:
        record = f" ({refused['record']})" if refused["record"] else ""
        print(f"  refused {refused['file']}{record}: {refused['reason']}", file=sys.stderr)
    if report["refused"]:
        print(f"warning: {len(report['refused'])} record(s) refused: fix them in the export and run the same command "
              "again (what was imported is kept, nothing is imported twice)", file=sys.stderr)
        return 1
    return 0


def cmd_registry_refresh(args: argparse.Namespace) -> int:
    """``digor registry refresh``: the bodies from the télétransmission's entities and the SIRENE register."""
    from chains.registry_source import refresh_registry
    from core.keys import REGISTRY_REPORT_KEY

    settings = _settings_for(args)
    summary = refresh_registry(settings)
    print(f"registry: {summary['bodies']} bodies from {summary['entities']} entities, "
          f"{len(summary['added'])} added, {len(summary['removed'])} gone, {len(summary['left_out'])} left out "
          f"(report: {settings.store_url}/{REGISTRY_REPORT_KEY})")
    for siren in summary["added"]:
        print(f"  added {siren}")
    for item in summary["left_out"]:
        print(f"  {item['severity']}: {item['message']}", file=sys.stderr)
    if settings.registry_source == "file":
        print("warning: DIGOR_REGISTRY_SOURCE is 'file': the nights read the file's bodies only",
              file=sys.stderr)
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from chains.backfill import run_backfill

    settings = _settings_for(args)
    with tqdm(desc=f"backfill {args.chain}", unit="step") as bar:
        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            bar.update(1)

        try:
            report = run_backfill(
                settings, args.chain, args.date_from, args.date_to, args.schema_version, args.dry_run,
                args.restart, progress,
            )
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    print(f"{len(report['nights'])} nights replayed from raw, years {report['years']}")
    for line in report["summary"]:
        print(f"  {line}")
    print(f"diff report: {settings.store_url}/{report['report_key']}")
    if args.dry_run:
        print("dry run: nothing published (rerun without --dry-run to publish)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from digor.demo import run_demo

    return run_demo(Path(args.store).resolve())


def cmd_sample_region(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from samples.region import SCALES, generate_region

    scale = replace(SCALES[args.scale], **{name: value for name, value in (
        ("bodies", args.bodies), ("history_acts", args.history_acts), ("years", args.years),
        ("night_acts", args.night_acts), ("contracts", args.contracts)) if value is not None})
    out = Path(args.out)
    if (out / "store").exists():
        print(f"error: {out / 'store'} exists: give an empty folder (or remove it)", file=sys.stderr)
        return 1
    summary = generate_region(out, scale, args.seed, args.night, publish=not args.no_publish,
                              progress=lambda line: print(line, flush=True))
    print(f"sample region in {out} (summary: {out / 'region.json'}); to run its night:")
    print("  " + " ".join(f"{k}={v}" for k, v in summary["environment"].items()) + f" digor run actes --date {args.night}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from core.store import open_store
    from digor.serve import make_server
    from load.widget_pages import missing_assets

    settings = Settings.from_env()
    store_url = str(Path(args.store).resolve()) if args.store else settings.store_url
    missing = missing_assets()
    if missing:
        print(f"warning: widget assets not built ({', '.join(missing)}): run `make widgets`", file=sys.stderr)
    try:
        server = make_server(open_store(store_url), args.host, args.port,
                             record_pages=settings.record_embedding_pages)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    server.verbose = args.verbose
    base = f"http://{args.host}:{server.server_address[1]}"
    print(f"serving the public zone of {store_url} and the widgets on {base} (Ctrl+C to stop)")
    print(f"  configurator: {base}/widgets/configurateur.html")
    print(f"  Actes widget: {base}/widgets/actes.html?siren=<SIREN>")
    print(f"  Budgets widget: {base}/widgets/budgets.html?siret=<SIRET>")
    print(f"  Focus marchés widget: {base}/widgets/marches.html?siret=<SIRET>")
    if settings.record_embedding_pages:
        print("  recording the pages that embed the widgets (origin and path of the Referer) for the map of reuses")
    if base != settings.public_base_url:
        print(f"  note: document links in the data point at DIGOR_PUBLIC_BASE_URL={settings.public_base_url}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_portail(args: argparse.Namespace) -> int:
    """``digor portail``: the agents' space; ``--demo`` with a loopback sign-in provider and sample agents."""
    import warnings
    from contextlib import nullcontext

    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)

    from core.config import PortailSettings
    from portail.app import create_app
    from portail.auth import oidc_client
    from portail.demo import SAMPLE_AGENTS, MockMissing, demo_provider
    from portail.server import Server

    settings = _settings_for(args)
    portail = PortailSettings.from_env()
    try:
        provider = demo_provider(portail, args.oidc_port) if args.demo else nullcontext(None)
        with provider as issuer:
            app = create_app(settings, portail, oidc_client(portail))
            try:
                server = Server(app, args.host, args.port, args.verbose)
            except OSError as error:
                print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
                return 2
            print(f"agents' space of {settings.store_url} on {server.url} (Ctrl+C to stop)")
            if issuer:
                print(f"  sign-in: the demo's OpenID Connect provider on {issuer}, sample agents (one button each):")
                for sub, agent in SAMPLE_AGENTS.items():
                    rights = ", ".join(agent["organismes"]) or "every body"
                    roles = f"; roles {', '.join(agent['roles'])}" if agent["roles"] else ""
                    print(f"    {sub}: {agent['name']} ({rights}{roles})")
            if portail.decisions == "in-process":
                print("  decisions: republished by this process, as `digor publish` does")
            print(f"  sessions and operations kept in {portail.state_url}")
            sys.stdout.flush()
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
    except MockMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_convert_totem(args: argparse.Namespace) -> int:
    """SCDL budget CSVs for TOTEM files, with the code the budgets DAG runs."""
    from tqdm import tqdm

    from chains.totem_files import convert_files
    from extract.plans_de_comptes import PlanSource
    from transform.totem_plans import PlanResolver

    settings = Settings.from_env()
    plans = PlanResolver(PlanSource(None, [Path(p) for p in args.plans] or settings.plans_dirs,
                                    "" if args.offline else settings.plans_base_url))
    failed = 0
    for result in tqdm(convert_files(args.files, Path(args.out), plans, settings.budget_max_amount), desc="totem", unit="file", disable=len(args.files) < 2):
        if "error" in result:
            failed += 1
            print(f"error: {result['file']}: {result['error']}", file=sys.stderr)
            continue
        print(f"{result['file']} -> {result['csv']}: {result['rows']} rows")
        for problem in result["problems"]:
            outcome = "kept" if problem["kept"] else "left out"
            print(f"  line {problem['line']} (account {problem['nature']}) {outcome}: {problem['reason']}")
    return 1 if failed else 0


def cmd_convert_decp(args: argparse.Namespace) -> int:
    """DECP 2.0.2 JSON, 2019-format history, flat table and rejects for local exports, with the DAG's code."""
    from tqdm import tqdm

    from chains.decp import convert_files

    paths = [Path(f) for f in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"error: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tqdm(total=len(paths), desc="decp", unit="file", disable=len(paths) < 2) as bar:
        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            if step.startswith("read "):
                bar.update(1)

        result = convert_files(paths, Path(args.out), args.date, progress=progress)
    for line in result["summary"]:
        print(line)
    print(f"files in {result['out_dir']} (report: rapport.json, rejects: rejets/)")
    totals = result["report"]["totals"]
    return 1 if totals["unreadable_files"] or not totals["published"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digor", description=__doc__)
    parser.add_argument("--region", help="the region to serve, of those DIGOR_REGIONS lists (default: DIGOR_REGION, "
                        "else the one region DIGOR_* describe)")
    parser.add_argument("--verbose", dest="show_traceback", action="store_true",
                        help="on an expected failure (credentials, platform, full disk), print the traceback too")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the sample region and run every nightly DAG through Airflow")
    demo.add_argument("--store", default=str(DEFAULT_VAR_DIR / "store"), help="local object store folder")
    demo.set_defaults(func=cmd_demo)

    region = commands.add_parser("sample-region", help="generate a sample region at real size (2,500 bodies, "
                                 "ten years of acts already published, the next night, budgets, contracts, SIRENE)")
    region.add_argument("--out", required=True, help="empty folder to write it to")
    region.add_argument("--seed", type=int, default=2500, help="same seed, same bytes (default 2500)")
    region.add_argument("--scale", choices=("region", "small"), default="region", help="sizes (default: region)")
    region.add_argument("--night", type=_date, default="2025-11-18", help="the night of new acts (YYYY-MM-DD)")
    for option, what in (("bodies", "bodies"), ("history-acts", "acts of history"), ("years", "years of history"),
                         ("night-acts", "new acts in the night"), ("contracts", "contracts")):
        region.add_argument(f"--{option}", type=int, help=f"number of {what} (overrides the scale)")
    region.add_argument("--no-publish", action="store_true", help="leave the history staged, not published")
    region.set_defaults(func=cmd_sample_region)

    run = commands.add_parser("run", help="run one chain for one night without a scheduler")
    run.add_argument("chain", choices=CHAINS)
    run.add_argument("--date", required=True, type=_date, help="night to process (YYYY-MM-DD)")
    run.add_argument("--force-rebuild", action="store_true", help="rebuild every year's files")
    run.add_argument("--allow-shrink", action="store_true",
                     help="send to data.gouv.fr files that lost more rows than DIGOR_MAX_SHRINK_RATIO allows")
    run.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    run.add_argument("--no-texts", action="store_true",
                     help="actes: leave the documents' texts (text layer, OCR) for the next run")
    run.set_defaults(func=cmd_run)

    for name, help_text in (
        ("unpublish", "withdraw an act from every public output now (droit à l'erreur)"),
        ("publish", "publish an act now (e.g. one waiting for a decision)"),
    ):
        decide = commands.add_parser(name, help=help_text)
        decide.add_argument("siren")
        decide.add_argument("act_id", help="act number (numero de l'acte) or source document id")
        decide.add_argument("--reason", required=True, help="why: kept in the ledger")
        decide.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
        decide.add_argument("--via-airflow", action="store_true", help="trigger the actes_decisions DAG instead")
        decide.set_defaults(func=cmd_decide)

    ledger = commands.add_parser("ledger", help="show an act's decisions and why it is (not) online")
    ledger.add_argument("siren")
    ledger.add_argument("act_id")
    ledger.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    ledger.set_defaults(func=cmd_ledger)

    serve = commands.add_parser("serve", help="serve the public zone and the widgets on loopback")
    serve.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765, as DIGOR_PUBLIC_BASE_URL)")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    portail = commands.add_parser("portail", help="the agents' space: decide, publish and withdraw acts in a browser")
    portail.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    portail.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    portail.add_argument("--port", type=int, default=8767, help="port (default 8767)")
    portail.add_argument("--demo", action="store_true",
                         help="sign in through a loopback OpenID Connect provider with the demo's sample agents")
    portail.add_argument("--oidc-port", type=int, default=8768, help="the demo provider's port (default 8768)")
    portail.add_argument("--verbose", action="store_true", help="log every request")
    portail.set_defaults(func=cmd_portail)

    backfill = commands.add_parser("backfill", help="replay the raw zone through today's code and republish")
    backfill.add_argument("chain", choices=CHAINS)
    backfill.add_argument("--from", dest="date_from", required=True, type=_date, help="first night (YYYY-MM-DD)")
    backfill.add_argument("--to", dest="date_to", required=True, type=_date, help="last night (YYYY-MM-DD)")
    backfill.add_argument("--schema-version", help="target version of the chain's national schema")
    backfill.add_argument("--dry-run", action="store_true", help="stop at the diff report, publish nothing")
    backfill.add_argument("--restart", action="store_true", help="drop what an earlier run of the same backfill left")
    backfill.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    backfill.set_defaults(func=cmd_backfill)

    history = commands.add_parser("import-history", help="import the previous system's published acts (an export "
                                  "folder: actes/ and scdl/) keeping their original publication dates")
    history.add_argument("folder", help="the export folder (format: README, \"Importing the history\")")
    history.add_argument("--json", action="store_true", help="print the whole report as JSON too")
    history.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    history.set_defaults(func=cmd_import_history)

    registry = commands.add_parser("registry", help="the registry of bodies from the télétransmission's entities")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True)
    refresh = registry_commands.add_parser("refresh", help="list Pastell's entities, keep those the SIRENE register "
                                           "knows (what each actes night does with DIGOR_REGISTRY_SOURCE=pastell)")
    refresh.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    refresh.set_defaults(func=cmd_registry_refresh)

    convert = commands.add_parser("convert", help="convert source files to national formats")
    formats = convert.add_subparsers(dest="format", required=True)
    totem = formats.add_parser("totem", help="TOTEM budget XML -> SCDL budget 0.8.3 CSV (one per file)")
    totem.add_argument("files", nargs="+", help="TOTEM files (DocumentBudgetaire or compte financier unique)")
    totem.add_argument("--out", required=True, help="folder for the CSV files")
    totem.add_argument("--plans", action="append", default=[], help="local plans de comptes folder <year>/<norme>/<declinaison>/ (repeatable; default DIGOR_PLANS_DIRS)")
    totem.add_argument("--offline", action="store_true", help="never download a missing plan de comptes")
    totem.set_defaults(func=cmd_convert_totem)
    decp = formats.add_parser("decp", help="DECP exports (2022/2019, JSON/XML) -> DECP 2.0.2 JSON, history, flat table, rejects")
    decp.add_argument("files", nargs="+", help="export files of the procurement platform (format read from the content)")
    decp.add_argument("--out", required=True, help="folder for the published files and rapport.json")
    decp.add_argument("--date", type=_date, help="reference date: later dates are in the future (default: today)")
    decp.set_defaults(func=cmd_convert_decp)

    public = commands.add_parser("store-public", help="S3 store: bucket policy and CORS so browsers read public/ only")
    public.add_argument("--store", help="store URL (default: DIGOR_STORE), e.g. s3://bucket/prefix")
    public.add_argument("--origin", action="append", help="origin allowed by CORS (default: DIGOR_PUBLIC_ORIGINS)")
    public.set_defaults(func=cmd_store_public)

    deploy = commands.add_parser("deploy-widgets", help="copy the widget pages and their libraries to public/widgets/ of the store")
    deploy.add_argument("--store", help="store URL or folder (default: DIGOR_STORE)")
    deploy.set_defaults(func=cmd_deploy_widgets)

    check = commands.add_parser("validate", help="validate a CSV or Parquet file against a schema")
    check.add_argument("file")
    check.add_argument("--schema", required=True, help="schema name (scdl-deliberations, actes) or JSON file")
    check.set_defaults(func=cmd_validate)

    from digor.airflow_cli import add_commands as add_airflow_commands
    from digor.sirene_cli import add_commands as add_sirene_commands

    add_sirene_commands(commands)
    add_airflow_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; an expected failure is one line on stderr (what failed, what to do) and exit 1."""
    args = build_parser().parse_args(argv)
    import os

    before = os.environ.get("DIGOR_REGION")
    if args.region:
        os.environ["DIGOR_REGION"] = args.region  # every Settings.from_env() of the command, and of what it starts
    try:
        return _run(args)
    finally:
        if before is None:
            os.environ.pop("DIGOR_REGION", None)
        else:
            os.environ["DIGOR_REGION"] = before


def _run(args: argparse.Namespace) -> int:
    try:
        Settings.from_env()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except Exception as error:
        if not (isinstance(error, ExpectedFailure) or is_disk_full(error)):
            raise
        from core.http_manners import redact

        if args.show_traceback:
            traceback.print_exc()
        print(f"error: {redact(one_line(error))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
