"""``make bench`` ends with the goals of the scale work, each met or with its distance, from the figures
the benchmarks recorded (the figures here are made up: what is pinned is how they are judged)."""

from __future__ import annotations

import subprocess
import sys

from core.config import PROJECT_ROOT


def _rows(results) -> dict[str, str]:
    shown = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "verdicts.py"), "--results", str(results)],
                           capture_output=True, text=True, check=True).stdout
    return {line.split(" | ")[0].lstrip("| ").split(" (")[0]: line.rsplit(" | ", 1)[1].rstrip(" |")
            for line in shown.splitlines() if line.startswith("| ") and not line.startswith("| measure")}


def test_each_goal_reads_met_or_its_distance_and_a_benchmark_not_run_says_so(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
    from verdicts import record_figures

    record_figures("totem", tmp_path, files=9, cold_s=0.15, warm_s=0.11, yatotem_s=3.2, cold_ratio=21.3, floor_s=0.1,
                   floor_ratio=1.7, command_cpu_s=0.3, command_peak_mb=106)
    record_figures("decp", tmp_path, measured=False, objects=150_000, workers=2, wall_s=400.0, cpu_s=640.0, peak_mb=None)
    record_figures("region_night", tmp_path, history=10_000, wall_s=420.0, cpu_s=190.0, peak_mb=700, dags={})
    record_figures("actes_night", tmp_path, nights=[{"history": 10_000, "acts": 996, "wall_s": 6, "cpu_s": 6.0,
                                                     "peak_mb": 280},
                                                    {"history": 100_000, "acts": 996, "wall_s": 13, "cpu_s": 12.0,
                                                     "peak_mb": 340}])
    record_figures("s3_requests", tmp_path, nights=[
        {"history": 3_000, "acts": 100, "bodies": 300, "requests": 2_000, "by_operation": {"GetObject": 1_000}},
        {"history": 30_000, "acts": 100, "bodies": 300, "requests": 2_200, "by_operation": {"GetObject": 1_100}}])
    rows = _rows(tmp_path)
    assert rows["TOTEM -> SCDL budget"] == "cold met (21.3x); floor not met: 1.70x for 1.5x (1.13x the goal)"
    assert rows["DECP, national consolidation"].startswith("not met: 6.67 min for 3 min (2.22x the goal); memory: not")
    assert rows["the whole region's night through Airflow"] == "met (7.00 min); met (0.68 GB)"
    assert rows["actes night as history grows"] == "not met: x2.00 CPU from 10,000 to 100,000 acts of history"
    assert rows["object store requests of an actes night"] == "met (x1.10)"
    assert rows["SCDL délibérations validation"] == "not run"
