"""Benchmark: ``digor convert decp`` on national-size DECP files, time and peak memory per size.

Each size is a consolidated 2022-format export written by ``samples.decp.write_national_export``
(deterministic, streamed to disk), converted by the command a user runs, in a fresh process
whose address space is capped (``--memory-cap``, so that a size too big for the machine fails
instead of swamping it), once per number of worker processes (``--workers``, 1 and one per core by
default). Prints wall and CPU seconds and peak memory of the command and its workers together
(the peak sums their resident sets, so pages they share count once per process), the cost per
object, and the load average before and after, beside what the same sizes cost before the input was streamed (``BEFORE``, measured on the
same machine), and the national file (1.5 million objects) against the goal (< 3 min,
< 4 GB): measured with ``--national``, else extrapolated from the largest size run. It
prints figures, it asserts nothing:

    .venv/bin/python benchmarks/decp_conversion.py [--sizes 15000,150000] [--workers 1,2] [--national]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from verdicts import record_figures  # noqa: E402

from core.parallel import cpu_count  # noqa: E402
from samples.decp import write_national_export  # noqa: E402

NATIONAL = 1_500_000
GOAL_SECONDS, GOAL_MB = 180, 4096
# Wall seconds and peak MB of the same command before streaming (issue 15, 2 cores).
BEFORE = {15_000: (31, 400), 150_000: (244, 1900), 450_000: (655, 5100)}


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process] + process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def convert(path: Path, out: Path, cap_mb: int, workers: str) -> tuple[int, float, float, float]:
    """Exit status, wall seconds, CPU seconds and peak MB of ``digor convert decp`` on ``path``, the
    command and its worker processes together: each process's CPU as last sampled (every 0.1 s),
    the peak as the largest sum of their resident sets sampled (at least the command's own peak)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_mb * 1024 * 1024, cap_mb * 1024 * 1024))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if workers:
        env["DIGOR_DECP_WORKERS"] = workers
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "digor.cli", "convert", "decp", str(path), "--out", str(out),
                                "--date", "2025-06-01"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env, preexec_fn=limit)
    watched = psutil.Process(process.pid)
    peak, cpu = 0, {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        rss = 0
        for member in _tree(watched):
            try:
                with member.oneshot():
                    rss += member.memory_info().rss
                    times = member.cpu_times()
                    cpu[member.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                continue
        peak = max(peak, rss)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    cpu[process.pid] = usage.ru_utime + usage.ru_stime  # the command's own, to its end
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, wall, sum(cpu.values()), max(peak / 1024 / 1024, usage.ru_maxrss / 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="15000,150000", help="objects per file, comma-separated")
    parser.add_argument("--workers", default=f"1,{cpu_count()}",
                        help="DIGOR_DECP_WORKERS of each run, comma-separated (default: 1 and one per core)")
    parser.add_argument("--memory-cap", type=int, default=8192, help="MB of address space allowed to each process")
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated files (kept between runs)")
    parser.add_argument("--national", action="store_true",
                        help=f"also the national consolidation ({NATIONAL:,} objects, about 1.6 GB on disk)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size] + ([NATIONAL] if args.national else [])
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    print(f"{cpu_count()} cores; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="decp-bench-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        print(f"{'objects':>10} {'MB':>7} {'workers':>7} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'ms/object':>10} "
              f"{'KB/object':>10}   {'before: wall s':>14} {'peak MB':>8}")
        last = None
        for size in sizes:
            path = work / f"decp-national-{size}.json"
            if not path.exists():
                write_national_export(path, size)
            for count in workers:
                status, wall, cpu, peak = convert(path, Path(scratch) / f"out-{size}-{count}", args.memory_cap, count)
                note = "" if status in (0, 1) else f"  (failed: exit {status}, memory cap {args.memory_cap} MB?)"
                before = BEFORE.get(size)
                then = f"{before[0]:14.0f} {before[1]:8.0f}" if before else f"{'-':>14} {'-':>8}"
                print(f"{size:>10,} {path.stat().st_size / 1e6:7.0f} {count:>7} {wall:8.1f} {cpu:8.1f} {peak:8.0f} "
                      f"{cpu / size * 1000:10.3f} {peak * 1024 / size:10.2f}   {then}{note}", flush=True)
                if status in (0, 1):
                    last = (size, count, wall, cpu, peak)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if last and last[0] == NATIONAL:
        _, count, wall, cpu, peak = last
        print(f"national file ({NATIONAL:,} objects, {count} workers), measured: {wall / 60:.1f} min wall, "
              f"{cpu / 60:.1f} min CPU, {peak / 1024:.1f} GB (goal: < {GOAL_SECONDS // 60} min, < {GOAL_MB // 1024} GB)")
        record_figures("decp", measured=True, objects=NATIONAL, workers=count, wall_s=wall, cpu_s=cpu, peak_mb=peak)
    elif last:
        size, count, wall, cpu, peak = last
        print(f"national file ({NATIONAL:,} objects, {count} workers), extrapolated linearly from {size:,}: "
              f"~{wall / size * NATIONAL / 60:.1f} min wall, ~{cpu / size * NATIONAL / 60:.1f} min CPU "
              f"(goal: < {GOAL_SECONDS // 60} min, < {GOAL_MB // 1024} GB; peak memory: run it with --national)")
        record_figures("decp", measured=False, objects=size, workers=count, wall_s=wall / size * NATIONAL,
               cpu_s=cpu / size * NATIONAL, peak_mb=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
