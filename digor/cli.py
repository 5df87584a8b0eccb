"""``digor``: the engineers' command line (run a chain, validate a file, run the demo)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from tqdm import tqdm

from digor.config import DEFAULT_VAR_DIR, Settings

CHAINS = ("actes",)


def _date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_run(args: argparse.Namespace) -> int:
    from digor import actes_chain

    settings = Settings.from_env()
    if args.store:
        settings = settings.with_overrides(store_url=str(Path(args.store).resolve()))
    steps = ["extract", "transform", "publish", "widgets", "data.gouv.fr", "report"]
    with tqdm(total=len(steps), desc=f"{args.chain} {args.date}", unit="step") as bar:
        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            if not step.startswith("publish ") or step == "publish":
                bar.update(1)

        result = actes_chain.run_night(settings, args.date, args.force_rebuild, progress)
        bar.update(bar.total - bar.n)
    for line in result["summary"]:
        print(line)
    print(f"report: {settings.store_url}/{result['key']}")
    return 0


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


def cmd_demo(args: argparse.Namespace) -> int:
    from digor.demo import run_demo

    return run_demo(Path(args.store).resolve())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the sample region and run every nightly DAG through Airflow")
    demo.add_argument("--store", default=str(DEFAULT_VAR_DIR / "store"), help="local object store folder")
    demo.set_defaults(func=cmd_demo)

    run = commands.add_parser("run", help="run one chain for one night without a scheduler")
    run.add_argument("chain", choices=CHAINS)
    run.add_argument("--date", required=True, type=_date, help="night to process (YYYY-MM-DD)")
    run.add_argument("--force-rebuild", action="store_true", help="rebuild every year's files")
    run.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    run.set_defaults(func=cmd_run)

    check = commands.add_parser("validate", help="validate a CSV or Parquet file against a schema")
    check.add_argument("file")
    check.add_argument("--schema", required=True, help="schema name (scdl-deliberations, actes) or JSON file")
    check.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
