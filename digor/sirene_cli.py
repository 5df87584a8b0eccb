"""``digor sirene …``: refresh the SIRENE cache, check the registry against it, look identifiers up."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from core.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "store", None):
        settings = settings.with_overrides(store_url=str(Path(args.store).resolve()))
    if getattr(args, "base_url", None):
        settings = settings.with_overrides(sirene_base_url=args.base_url.rstrip("/"))
    return settings


def _month(value: str) -> str:
    from chains.sirene import month_of

    try:
        return month_of(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_refresh(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from chains import sirene as sirene_chain
    from core.sirene_stock import StockFormatError
    from extract.sirene_download import DownloadError

    settings = _settings(args)
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        bar = bars.get(stage)
        if bar is None or (total is not None and bar.total != total):
            if bar is not None:
                bar.close()
            unit, scale = ("B", True) if stage == "download" else ("row group", False)
            bar = bars[stage] = tqdm(total=total, desc=f"sirene {stage}", unit=unit, unit_scale=scale, leave=False)
        bar.update(done - bar.n)

    try:
        result = sirene_chain.run_month(settings, args.month, args.force_rebuild, progress)
    except (DownloadError, StockFormatError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        for bar in bars.values():
            bar.close()
    for line in result["summary"]:
        print(line)
    print(f"report: {settings.store_url}/{result['key']}")
    return 1 if result["registry_errors"] else 0


def cmd_populations(args: argparse.Namespace) -> int:
    from chains import populations
    from core.populations import PopulationFormatError
    from extract.sirene_download import DownloadError

    settings = _settings(args)
    if args.url:
        settings = settings.with_overrides(populations_url=args.url)
    if args.year:
        settings = settings.with_overrides(populations_year=args.year)
    try:
        result = populations.refresh_step(settings, args.force_rebuild)
    except (DownloadError, PopulationFormatError, OSError) as error:
        print(f"error: {error}; the legal populations already cached stay in use "
              "(check DIGOR_POPULATIONS_URL and DIGOR_POPULATIONS_YEAR)", file=sys.stderr)
        return 2
    print(populations.summary_line(result))
    return 0


def _write_filled_registry(settings: Settings, target: Path) -> int:
    """A copy of the registry file with each body's SIRET and name as the register has them."""
    import yaml

    from chains.sirene import load_lookup
    from core.registry import body_registry
    from transform.sirene_registry import filled_registry

    registry = body_registry(settings)
    filled = {b.siren: b for b in filled_registry(registry, load_lookup(settings)).bodies}
    document = yaml.safe_load(Path(settings.registry_path).read_text(encoding="utf-8"))
    changed = 0
    for entry in document.get("bodies") or []:
        body = filled.get(str(entry.get("siren")))
        if body and (entry.get("siret") != body.siret or entry.get("name") != body.name):
            entry["siret"], entry["name"] = body.siret, body.name
            changed += 1
    target.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return changed


def cmd_check_registry(args: argparse.Namespace) -> int:
    from chains import sirene as sirene_chain

    settings = _settings(args)
    try:
        result = sirene_chain.check_registry_step(settings, args.month)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"registry {settings.registry_path} against SIRENE {result['month']}: "
          f"{result['errors']} error(s), {result['warnings']} warning(s)")
    for finding in result["findings"]:
        print(f"  {finding['severity']:<7} {finding['siren']} {finding['body']}: {finding['message']}")
    if args.write:
        changed = _write_filled_registry(settings, Path(args.write))
        print(f"filled registry written to {args.write} ({changed} bodies changed)")
    return 1 if result["errors"] else 0


def cmd_lookup(args: argparse.Namespace) -> int:
    from chains.sirene import load_lookup

    lookup = load_lookup(_settings(args))
    if lookup is None:
        print("error: no SIRENE cache yet: run `digor sirene refresh` first", file=sys.stderr)
        return 2
    found = 0
    for identifier in args.identifiers:
        entity = lookup.lookup(identifier)
        found += entity.trouve
        if args.json:
            print(json.dumps(entity.to_json(), ensure_ascii=False, sort_keys=True))
            continue
        if not entity.trouve and not entity.nom:
            print(f"{identifier}: not in the SIRENE cache of {lookup.month}")
            continue
        flags = ", ".join(
            part
            for part in (
                entity.categorie_juridique_libelle,
                entity.activite_principale,
                {True: "PME", False: "non PME"}.get(entity.pme),
                "siège" if entity.siege else None,
                entity.etat + (f" le {entity.date_fermeture}" if entity.date_fermeture else ""),
            )
            if part
        )
        place = entity.adresse or " ".join(p for p in (entity.code_postal, entity.commune) if p) or "-"
        print(f"{identifier}: {entity.nom} — {place} ({flags})" + ("" if entity.trouve else " [SIRET absent du cache]"))
    return 0 if found == len(args.identifiers) else 1


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The ``sirene`` command group of ``digor``."""
    sirene = commands.add_parser("sirene", help="SIRENE register: refresh the cache, check the registry, look up")
    actions = sirene.add_subparsers(dest="sirene_command", required=True)

    refresh = actions.add_parser("refresh", help="download and reduce the stock files of a month (no scheduler)")
    refresh.add_argument("--month", type=_month, default=date.today().strftime("%Y-%m"), help="YYYY-MM (default: this month)")
    refresh.add_argument("--force-rebuild", action="store_true", help="download again even if unchanged")
    refresh.add_argument("--base-url", help="where the stock files are (default: DIGOR_SIRENE_BASE_URL)")
    refresh.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    refresh.set_defaults(func=cmd_refresh)

    populations = actions.add_parser("populations", help="download and cache INSEE's legal populations (per inhabitant)")
    populations.add_argument("--url", help="the millésime's file (default: DIGOR_POPULATIONS_URL)")
    populations.add_argument("--year", type=int, help="its millésime (default: DIGOR_POPULATIONS_YEAR)")
    populations.add_argument("--force-rebuild", action="store_true", help="download again even if unchanged")
    populations.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    populations.set_defaults(func=cmd_populations)

    check = actions.add_parser("check-registry", help="check each body's SIREN, SIRET (siège) and name")
    check.add_argument("--month", type=_month, help="cache month (default: the current one)")
    check.add_argument("--write", metavar="FILE", help="also write a copy of the registry with SIRETs and names filled")
    check.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    check.set_defaults(func=cmd_check_registry)

    lookup = actions.add_parser("lookup", help="what digor shows of SIRENs / SIRETs")
    lookup.add_argument("identifiers", nargs="+")
    lookup.add_argument("--json", action="store_true", help="one JSON object per identifier")
    lookup.add_argument("--store", help="object store folder (default: DIGOR_STORE or var/store)")
    lookup.set_defaults(func=cmd_lookup)
