"""Benchmark: the whole region's night through Airflow (``airflow dags test``), every chain in turn.

On the sample region (``digor sample-region``, generated once into ``--work``, or ``--region``: a
folder generated before, only read), a copy of the region in service (the store as hard links) runs what a night
runs: the SIRENE month (its files served on loopback, as the demo does), then the ``actes``,
``budgets`` and ``decp`` DAGs, each ``airflow dags test`` in its own process (every task in that
process, one after the other: one worker) on a fresh SQLite metadata database.

A region in service has read the text of its history's documents: a region generated before
``digor sample-region`` did so (``region.json`` without ``texts``) is brought to that state once,
in a kept copy (``samples.region.read_history_texts``), so that the night's text tasks read the
night's documents only. The night carries ``--budgets`` of the year's budget documents (TOTEM,
nature 5; default 40, a working night's share of 10,000 a year; ``--budgets all``: every body's
year, the first night after a region adopts digor).

It prints each DAG's wall time, CPU time (user + system, with the task processes it waited for)
and peak resident memory; then each task (mapped tasks: instances, total and largest), measured
by a listener plugin in the DAG's process (CPU from ``getrusage``, peak from ``VmHWM`` reset at
each task's start); the load average while it ran (the machine may be shared: CPU seconds are the
figure to compare); the night's totals beside the goal (< 10 min, < 2 GB). The per-task records
go to ``--json`` for the scaling estimate. It prints; it asserts nothing:

    .venv/bin/python benchmarks/region_night.py [--history 10000] [--work var/bench/actes]
        [--region DIR] [--budgets 40|all] [--json var/bench/region-night.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from actes_night import machine, region  # noqa: E402
from verdicts import record_figures  # noqa: E402

NIGHTLY = ("actes", "budgets", "decp")
GOAL_SECONDS, GOAL_MB = 600, 2048
REGION_PARTS = ("store", "drop", "budgets-drop", "decp-drop", "plans-de-comptes", "sirene", "registry.yaml",
                "region.json")
# An Airflow listener written into the run's plugins folder: each task instance's wall time, CPU
# (the process and the children it waited for) and peak memory (VmHWM, reset when the task starts).
PROBE = '''
import json, os, resource, time
from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


def _now():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _status(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith(field))


class Probe:
    started = {}

    @hookimpl
    def on_task_instance_running(self, previous_state, task_instance):
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            pass
        self.started[(task_instance.task_id, task_instance.map_index)] = _now()

    def _record(self, task_instance, state):
        wall, cpu = _now()
        begun = self.started.pop((task_instance.task_id, task_instance.map_index), None)
        if begun is None:
            return
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        with open(os.environ["DIGOR_BENCH_TASKS"], "a") as out:
            out.write(json.dumps({"dag": task_instance.dag_id, "task": task_instance.task_id,
                                  "map_index": task_instance.map_index, "state": state,
                                  "wall": wall - begun[0], "cpu": cpu - begun[1], "peak_mb": _status("VmHWM:"),
                                  "children_peak_mb": children}) + "\\n")

    @hookimpl
    def on_task_instance_success(self, previous_state, task_instance):
        self._record(task_instance, "success")

    @hookimpl
    def on_task_instance_failed(self, previous_state, task_instance, error):
        self._record(task_instance, "failed")

    @hookimpl
    def on_task_instance_skipped(self, previous_state, task_instance):
        self._record(task_instance, "skipped")


class RegionNightProbe(AirflowPlugin):
    name = "region_night_probe"
    listeners = [Probe()]
'''


class LoadWatch:
    """The 1-minute load average, sampled every few seconds while the benchmark runs."""

    def __init__(self, every: float = 5.0):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(every,), daemon=True)

    def _watch(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> "LoadWatch":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()

    def line(self) -> str:
        if not self.samples:
            return "load not sampled"
        return (f"load average (1 min) while it ran: mean {sum(self.samples) / len(self.samples):.1f}, "
                f"max {max(self.samples):.1f} on {os.cpu_count()} cores (this benchmark adds ~1)")


def timed(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run one command; its wall time, CPU time and peak memory (it and the children it waited for)."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ {' '.join(command)}\n")
        handle.flush()
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=handle)
        _, status, usage = os.wait4(process.pid, 0)
    return {"status": os.waitstatus_to_exitcode(status), "wall": time.monotonic() - started,
            "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss // 1024}


def in_service(folder: Path, work: Path) -> Path:
    """The region as a region in service: its history's texts read. A region generated so already is
    used as it is; an older one is copied once into ``work`` and brought to that state there."""
    summary = json.loads((folder / "region.json").read_text(encoding="utf-8"))
    if summary.get("texts") is not None or not summary.get("published"):
        return folder
    kept = work / f"{folder.name}-in-service"
    if (kept / "region.json").is_file() and json.loads((kept / "region.json").read_text()).get("texts") is not None:
        return kept
    shutil.rmtree(kept, ignore_errors=True)
    copy_region(folder, kept)
    environment = _moved(summary["environment"], folder, kept)
    print(f"reading the history's texts once into {kept} (a region in service has read them)…", flush=True)
    started = time.monotonic()
    from samples.region import read_history_texts

    texts = read_history_texts(environment)
    print(f"  {texts['read']} documents read, {texts['published']} texts published in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    (kept / "region.json").write_text(json.dumps({**summary, "texts": texts, "environment": environment},
                                                 indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return kept


def copy_region(folder: Path, target: Path) -> None:
    """The store as hard links (its objects are only ever replaced, never written in place, so the night
    leaves the region as it was: a 300,000-act store is ~20 GB), the rest copied."""
    target.mkdir(parents=True)
    for part in REGION_PARTS:
        subprocess.run(["cp", "-al" if part == "store" else "-a", str(folder / part), str(target / part)],
                       check=True)


def _moved(environment: dict[str, str], old: Path, new: Path) -> dict[str, str]:
    return {key: value.replace(str(old), str(new)) for key, value in environment.items()}


def add_budgets(folder: Path, drop: Path, night: str, budgets: str) -> int:
    """Add the year's budget documents to the night's drop folder: every one (``all``) or that many,
    spread over the bodies (every k-th folder in name order)."""
    source = folder / "budgets-drop" / night
    entries = sorted(source.iterdir()) if source.is_dir() else []
    if budgets != "all":
        wanted = int(budgets)
        entries = entries[::max(1, len(entries) // wanted)][:wanted] if wanted else []
    for entry in entries:
        subprocess.run(["cp", "-a", str(entry), str(drop / night / entry.name)], check=True)
    return len(entries)


def run(folder: Path, scratch: Path, budgets: str, tasks_file: Path) -> list[tuple[str, dict]]:
    from orchestration.airflow_env import airflow_environment
    from samples.populations import ARCHIVE, write_populations
    from samples.sirene import serve_folder

    summary = json.loads((folder / "region.json").read_text(encoding="utf-8"))
    night = summary["night"]
    copy = scratch / "region"
    started = time.monotonic()
    copy_region(folder, copy)
    print(f"  copied in {time.monotonic() - started:.0f} s; "
          f"{add_budgets(folder, copy / 'drop', night, budgets)} budget documents in the night", flush=True)
    environment = _moved(summary["environment"], folder, copy)
    settings = {key.removeprefix("DIGOR_"): value for key, value in environment.items()}
    settings.update(DATAGOUV_MODE="dry-run")
    home = scratch / "airflow"
    env = {**airflow_environment(home, settings), "PYTHONPATH": str(ROOT), "DIGOR_BENCH_TASKS": str(tasks_file)}
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    (home / "plugins" / "region_night_probe.py").write_text(PROBE, encoding="utf-8")
    log = tasks_file.with_suffix(".log")
    log.write_text("", encoding="utf-8")
    airflow = [sys.executable, "-m", "airflow"]
    if timed([*airflow, "db", "migrate"], env, log)["status"]:
        raise SystemExit(f"airflow db migrate failed, see {log}")
    results = []
    sirene = scratch / "sirene-served"
    shutil.copytree(copy / "sirene", sirene)
    write_populations(sirene / "populations", Path(environment["DIGOR_REGISTRY"]))
    with serve_folder(sirene) as base_url:
        sirene_env = {**env, "DIGOR_SIRENE_BASE_URL": base_url, "DIGOR_SIRENE_WORK_DIR": str(scratch / "sirene"),
                      "DIGOR_POPULATIONS_URL": f"{base_url}/populations/{ARCHIVE}"}
        results.append(("sirene", timed([*airflow, "dags", "test", "sirene", night], sirene_env, log)))
    print(f"  sirene: {results[-1][1]['wall']:.0f} s", flush=True)
    for dag_id in NIGHTLY:
        results.append((dag_id, timed([*airflow, "dags", "test", dag_id, night], env, log)))
        print(f"  {dag_id}: {results[-1][1]['wall']:.0f} s", flush=True)
    for dag_id, result in results:
        if result["status"]:
            print(f"  {dag_id} FAILED (exit {result['status']}), see {log}")
    failed = [r for r in _records(tasks_file) if r["state"] == "failed"]
    for record in failed:
        print(f"  task {record['dag']}.{record['task']}[{record['map_index']}] failed, see {log}")
    return results


def _records(tasks_file: Path) -> list[dict]:
    if not tasks_file.is_file():
        return []
    return [json.loads(line) for line in tasks_file.read_text(encoding="utf-8").splitlines() if line]


def task_table(records: list[dict]) -> list[str]:
    """One row per task (mapped instances together), in the order they ran."""
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        grouped[(record["dag"], record["task"])].append(record)
    lines = ["| DAG | task | instances | wall (total / largest) | CPU (total / largest) | peak memory |",
             "|---|---|---|---|---|---|"]
    for (dag, task), runs in grouped.items():
        mapped = len(runs) > 1 or runs[0]["map_index"] not in (-1, None)
        lines.append(
            f"| {dag} | {task} | {len(runs) if mapped else 1} | "
            f"{sum(r['wall'] for r in runs):.1f} s" + (f" / {max(r['wall'] for r in runs):.1f} s" if mapped else "")
            + f" | {sum(r['cpu'] for r in runs):.1f} s" + (f" / {max(r['cpu'] for r in runs):.1f} s" if mapped else "")
            + f" | {max(r['peak_mb'] for r in runs)} MB |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=10_000, help="acts of history of the sample region")
    parser.add_argument("--work", default=str(ROOT / "var" / "bench" / "actes"), help="where regions are kept")
    parser.add_argument("--region", help="an already generated region folder, only read (instead of --history)")
    parser.add_argument("--budgets", default="40", help="budget documents in the night: a number, or all")
    parser.add_argument("--json", default=str(ROOT / "var" / "bench" / "region-night.json"),
                        help="where to write the per-task records (JSON lines)")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    folder = in_service(Path(args.region).resolve() if args.region else region(work, args.history), work)
    summary = json.loads((folder / "region.json").read_text(encoding="utf-8"))
    print(f"machine: {machine()}, load {os.getloadavg()[0]:.1f}")
    print(f"region {folder}: {sum(summary['bodies'].values())} bodies, {summary['history']['acts']} acts of history, "
          f"night {summary['night']} ({summary['night_acts']}), {summary['contracts']['objects']} contracts")
    tasks_file = Path(args.json)
    tasks_file.parent.mkdir(parents=True, exist_ok=True)
    tasks_file.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="digor-region-night-", dir=work) as scratch, LoadWatch() as load:
        results = run(folder, Path(scratch), args.budgets, tasks_file)
    records = _records(tasks_file)
    for dag_id, result in results:  # a task's peak reset (VmHWM) also lowers what wait4 reports at exit
        result["peak_mb"] = max([result["peak_mb"], *(r["peak_mb"] for r in records if r["dag"] == dag_id)])
    print("\n| DAG | wall | CPU | peak memory |\n|---|---|---|---|")
    for dag_id, result in results:
        print(f"| {dag_id} | {result['wall']:.1f} s | {result['cpu']:.1f} s | {result['peak_mb']} MB |")
    wall = sum(result["wall"] for _, result in results)
    peak = max(result["peak_mb"] for _, result in results)
    print(f"| night (in turn) | {wall:.1f} s | {sum(r['cpu'] for _, r in results):.1f} s | {peak} MB |\n")
    print("\n".join(task_table(records)))
    print(f"\n{load.line()}")
    print(f"goal < {GOAL_SECONDS // 60} min, < {GOAL_MB // 1024} GB: "
          f"{'met' if wall < GOAL_SECONDS and peak < GOAL_MB else 'not met'}; per-task records in {tasks_file}")
    record_figures("region_night", history=summary["history"]["acts"], wall_s=wall,
           cpu_s=sum(r["cpu"] for _, r in results), peak_mb=peak, dags={dag: r for dag, r in results})


if __name__ == "__main__":
    main()
