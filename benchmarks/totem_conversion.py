"""Benchmark: digor's TOTEM -> SCDL budget conversion against Mégalis' yatotem2scdl and the parse floor.

Both convert the same real TOTEM files of the reference material with the same official plans
de comptes, several times each, to an in-memory CSV; the script prints rows per CPU second of
each and the ratio, then the floor (the files parsed whole by bare lxml, the plans de comptes
parsed once) and ``digor convert totem`` run as a user runs it (a fresh process: imports
included), with its CPU time and peak memory. It is a script that prints figures, not a test:

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python benchmarks/totem_conversion.py [--repeat 5] [--reference ../shared/reference]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from verdicts import record_figures  # noqa: E402

from core.safe_xml import xml_parser  # noqa: E402
from extract.plans_de_comptes import PlanSource  # noqa: E402
from transform.totem_plans import PlanResolver, forget_parsed_plans  # noqa: E402
from transform.totem_reader import read_totem  # noqa: E402
from transform.totem_scdl import convert_totem  # noqa: E402


def real_files(reference: Path) -> list[Path]:
    samples = reference / "samples" / "totem"
    return sorted(samples.glob("yatotem2scdl/*/totem.xml")) + sorted(samples.glob("*/*.xml"))


def digor_convert(path: Path, plans_dir: Path) -> int:
    """One file with a resolver of its own, as ``digor convert totem`` or a night converts file after
    file: each plan de comptes is parsed once per process (``transform.totem_plans.read_plan``)."""
    conversion = convert_totem(path.read_bytes(), PlanResolver(PlanSource(local_dirs=[plans_dir])))
    conversion.csv_bytes()
    return len(conversion.cells)


def yatotem_convert(path: Path, plans_dir: Path) -> int:
    from yatotem2scdl.conversion import ConvertisseurTotemBudget

    output = io.StringIO()
    ConvertisseurTotemBudget().totem_budget_vers_scdl(path, plans_dir, output)
    return output.getvalue().count("\n") - 1


def parse_floor(files: list[Path], plans_dir: Path) -> float:
    """Seconds for bare lxml (the hardened parser's options) to parse every file whole and each plan
    de comptes they use once: reading the bytes and parsing them, nothing of digor's own reading."""
    plans = {read_totem(path.read_bytes()).nomenclature + (read_totem(path.read_bytes()).year,) for path in files}
    source = PlanSource(local_dirs=[plans_dir])
    start = time.process_time()
    for path in files:
        etree.fromstring(path.read_bytes(), parser=xml_parser())
    for norme, declinaison, year in plans:
        try:
            etree.fromstring(source.find(norme, declinaison, year).data, parser=xml_parser())
        except LookupError:
            pass  # a plan the reference lacks: the conversion reports it too
    return time.process_time() - start


def command(files: list[Path], plans_dir: Path) -> tuple[float, float, float]:
    """``digor convert totem`` on every file in a fresh process: wall seconds, CPU seconds, peak MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "digor.cli", "convert", "totem", *map(str, files), "--out", out,
                        "--plans", str(plans_dir), "--offline"], check=False, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, after.ru_maxrss / 1024


def timed(convert, files: list[Path], plans_dir: Path, repeat: int,
          cold: bool = True) -> tuple[int, float, dict[str, float]]:
    """``repeat`` passes over every file: rows of a pass, CPU seconds per pass and per file (means).
    ``cold``: each pass starts with no plan parsed (one process converting the files); else the
    plans are parsed before (a night past its first documents)."""
    rows, per_file, total = 0, {}, 0.0
    if not cold:
        for path in files:
            convert(path, plans_dir)
    for _ in range(repeat):
        if cold:
            forget_parsed_plans()
        rows = 0
        for path in files:
            begin = time.process_time()
            rows += convert(path, plans_dir)
            spent = time.process_time() - begin
            name = path.parent.name if path.name == "totem.xml" else path.name
            per_file[name] = per_file.get(name, 0.0) + spent / repeat
            total += spent / repeat
    return rows, total, per_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(os.environ.get("DIGOR_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
    parser.add_argument("--reference", type=Path, default=default, help="reference material folder")
    parser.add_argument("--repeat", type=int, default=5, help="conversions of each file per converter")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    try:
        import yatotem2scdl  # noqa: F401
    except ImportError:
        print("yatotem2scdl is not installed: .venv/bin/pip install -r requirements-bench.txt", file=sys.stderr)
        return 2
    files, plans_dir = real_files(args.reference), args.reference / "totem" / "plans-de-comptes"
    if not files:
        print(f"no TOTEM files under {args.reference}", file=sys.stderr)
        return 2
    ours_rows, ours_time, ours_files = timed(digor_convert, files, plans_dir, args.repeat)
    _, warm_time, _ = timed(digor_convert, files, plans_dir, args.repeat, cold=False)
    theirs_rows, theirs_time, theirs_files = timed(yatotem_convert, files, plans_dir, args.repeat)
    print(f"{len(files)} real TOTEM files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB, {args.repeat} runs each")
    print(f"{'file':55} {'digor ms':>9} {'yatotem ms':>11} {'ratio':>6}")
    for name in ours_files:
        ratio = theirs_files[name] / ours_files[name]
        print(f"{name[:55]:55} {ours_files[name] * 1000:9.1f} {theirs_files[name] * 1000:11.1f} {ratio:6.1f}")
    yatotem = theirs_rows / theirs_time
    print(f"digor, each plan parsed once in the pass: {ours_rows} rows in {ours_time:.3f} s -> "
          f"{ours_rows / ours_time:,.0f} rows/s, {(ours_rows / ours_time) / yatotem:.1f}x yatotem2scdl (goal: 20x)")
    print(f"digor, plans already parsed (a night past its first documents): {warm_time:.3f} s -> "
          f"{ours_rows / warm_time:,.0f} rows/s, {(ours_rows / warm_time) / yatotem:.1f}x yatotem2scdl (goal: 20x)")
    print(f"yatotem2scdl (reads the plan de comptes for each file): {theirs_rows} rows in {theirs_time:.3f} s -> "
          f"{yatotem:,.0f} rows/s")
    pairs = []  # (floor, digor cold pass), one after the other: the same load for both
    for _ in range(args.repeat):
        floor = parse_floor(files, plans_dir)
        pairs.append((floor, timed(digor_convert, files, plans_dir, 1)[1]))
    floor, cold = (sorted(side)[len(side) // 2] for side in zip(*pairs))
    ratio = sorted(ours / floor for floor, ours in pairs)[len(pairs) // 2]
    print(f"floor, bare lxml parse of every file + each plan once: {floor:.3f} s (median); digor cold pass "
          f"right after each floor pass {cold:.3f} s (median): {ratio:.2f}x the floor, median of the pairs "
          f"(goal: within 1.5x)")
    wall, cpu, peak = command(files, plans_dir)
    print(f"digor convert totem, {len(files)} files in one fresh process (imports included): {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU, peak {peak:.0f} MB")
    record_figures("totem", files=len(files), cold_s=ours_time, warm_s=warm_time, yatotem_s=theirs_time,
           cold_ratio=(ours_rows / ours_time) / yatotem, floor_s=floor, floor_ratio=ratio, command_cpu_s=cpu,
           command_peak_mb=peak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
