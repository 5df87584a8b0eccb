"""The goals of the scale work, each beside the last figures its benchmark recorded: met, or how far.

    .venv/bin/python benchmarks/verdicts.py [--results var/bench/results]

Each benchmark of ``make bench`` ends by recording its figures (``record_figures``: one JSON file per
measure, with the machine, the load average and the time); this prints the table of goals from
those files, so that ``make bench`` ends with what is met and the distance to what is not. A measure
whose benchmark has not run says so. It prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "var" / "bench" / "results"


def record_figures(measure: str, results: Path | None = None, **figures) -> Path:
    """Keep a benchmark's figures for the table of goals (``measure``: one of ``VERDICTS``)."""
    from actes_night import machine

    folder = results or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{measure}.json"
    path.write_text(json.dumps({"measure": measure, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                "machine": machine(), "load": round(os.getloadavg()[0], 1), **figures},
                               indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _at_least(value: float, goal: float, unit: str = "x") -> str:
    if value >= goal:
        return f"met ({value:,.1f}{unit})"
    return f"not met: {value:,.1f}{unit} for {goal:g}{unit} ({goal / value:.2f}x short)"


def _at_most(value: float, goal: float, unit: str) -> str:
    if value <= goal:
        return f"met ({value:,.2f}{unit})"
    return f"not met: {value:,.2f}{unit} for {goal:g}{unit} ({value / goal:.2f}x the goal)"


def _decp(r: dict) -> tuple[str, str, str, str]:
    how = "measured" if r["measured"] else f"extrapolated from {r['objects']:,} objects"
    digor = f"{r['wall_s'] / 60:.1f} min wall, {r['cpu_s'] / 60:.1f} min CPU ({how}, {r['workers']} workers)" + (
        f", {r['peak_mb'] / 1024:.1f} GB" if r.get("peak_mb") else "")
    verdicts = [_at_most(r["wall_s"] / 60, 3, " min")]
    if r.get("peak_mb"):
        verdicts.append(_at_most(r["peak_mb"] / 1024, 4, " GB"))
    else:
        verdicts.append("memory: not measured (DECP_NATIONAL=1)")
    return digor, "-", "1.5 million objects in < 3 min, < 4 GB", "; ".join(verdicts)


def _scdl(r: dict) -> tuple[str, str, str, str]:
    digor = ", ".join(f"{case['name']} {case['digor_s']:.2f} s" for case in r["cases"])
    anchor = ", ".join(f"validata-table {case['validata_s']:.1f} s ({case['validata_s'] / case['digor_s']:.0f}x, "
                       f"same rows and fields flagged: {case['same']})" for case in r["cases"] if case.get("validata_s"))
    if not anchor:
        return digor, "validata-table not run", ">= 10x validata-table", "not judged: run with --validata"
    worst = min(case["validata_s"] / case["digor_s"] for case in r["cases"] if case.get("validata_s"))
    return digor, anchor, ">= 10x validata-table, same findings", _at_least(worst, 10)


def _totem(r: dict) -> tuple[str, str, str, str]:
    digor = (f"cold pass {r['cold_s']:.3f} s, warm {r['warm_s']:.3f} s CPU; fresh process {r['command_cpu_s']:.2f} s, "
             f"{r['command_peak_mb']:.0f} MB")
    anchor = f"yatotem2scdl {r['yatotem_s']:.2f} s; bare parse floor {r['floor_s']:.3f} s"
    verdict = f"cold {_at_least(r['cold_ratio'], 20)}; floor {_at_most(r['floor_ratio'], 1.5, 'x')}"
    return digor, anchor, ">= 20x yatotem2scdl cold, within 1.5x of the parse floor", verdict


def _actes(r: dict) -> tuple[str, str, str, str]:
    nights = r["nights"]
    digor = ", ".join(f"{n['history']:,}: {n['cpu_s']:.1f} s CPU, {n['peak_mb']} MB" for n in nights)
    if len(nights) < 2:
        return digor, "-", "a night's cost grows with the night, not the history", "not judged: one history size"
    growth = nights[-1]["cpu_s"] / nights[0]["cpu_s"]
    verdict = "met" if growth <= 1.25 else (
        f"not met: x{growth:.2f} CPU from {nights[0]['history']:,} to {nights[-1]['history']:,} acts of history")
    return digor, "-", "same night, history x10 or more: CPU within 1.25x", verdict


def _region(r: dict) -> tuple[str, str, str, str]:
    digor = f"{r['wall_s'] / 60:.1f} min wall, {r['cpu_s'] / 60:.1f} min CPU, {r['peak_mb']} MB ({r['history']:,} acts)"
    verdicts = [_at_most(r["wall_s"] / 60, 10, " min"), _at_most(r["peak_mb"] / 1024, 2, " GB")]
    return digor, "-", "the whole region's night < 10 min, < 2 GB", "; ".join(verdicts)


def _requests(r: dict) -> tuple[str, str, str, str]:
    nights = r.get("nights") or [r]  # records before two history sizes were measured: one night
    per_act = [n["requests"] / max(n["acts"], 1) for n in nights]
    digor = "; ".join(
        f"{n['history']:,} acts of history: {n['requests']:,} requests, {each:.1f} an act ("
        + ", ".join(f"{op} {count:,}" for op, count in sorted(n.get("by_operation", {}).items(), key=lambda i: -i[1]))
        + ")" for n, each in zip(nights, per_act))
    digor += f" (night of {nights[0]['acts']} acts, {nights[0]['bodies']} bodies)"
    goal = "requests proportional to what changed: per act of the night, within 1.25x as history grows x10"
    if len(nights) < 2:
        return digor, "-", goal, "not judged: one history size"
    growth = per_act[-1] / per_act[0]
    verdict = f"met (x{growth:.2f})" if growth <= 1.25 else (
        f"not met: x{growth:.2f} requests per act from {nights[0]['history']:,} to {nights[-1]['history']:,} "
        "acts of history")
    return digor, "-", goal, verdict


# measure -> (what is measured, how its record reads as digor | anchor | goal | verdict)
VERDICTS: dict[str, tuple[str, Callable[[dict], tuple[str, str, str, str]]]] = {
    "decp": ("DECP, national consolidation", _decp),
    "scdl_deliberations": ("SCDL délibérations validation", _scdl),
    "scdl_budget": ("SCDL budget validation", _scdl),
    "totem": ("TOTEM -> SCDL budget", _totem),
    "actes_night": ("actes night as history grows", _actes),
    "region_night": ("the whole region's night through Airflow", _region),
    "s3_requests": ("object store requests of an actes night", _requests),
}


def table(results: Path) -> list[str]:
    lines = ["| measure | digor | anchor, same run | goal | verdict |", "|---|---|---|---|---|"]
    machines = set()
    for measure, (title, read) in VERDICTS.items():
        path = results / f"{measure}.json"
        if not path.is_file():
            lines.append(f"| {title} | - | - | - | not run |")
            continue
        found = json.loads(path.read_text(encoding="utf-8"))
        machines.add(found["machine"])
        digor, anchor, goal, verdict = read(found)
        lines.append(f"| {title} ({found['at'][:16]}, load {found['load']}) | {digor} | {anchor} | {goal} | {verdict} |")
    return lines + [f"measured on: {machine}" for machine in sorted(machines)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    print("\n".join(table(args.results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
