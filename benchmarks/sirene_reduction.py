"""Peak memory and time of the SIRENE reduction on a large generated stock file.

    .venv/bin/python benchmarks/sirene_reduction.py [--rows 5000000] [--wanted 20000] [--full-load]

Writes a StockEtablissement-shaped file (the register's 54 columns and types) of
``--rows`` rows, then reduces it to ``--wanted`` SIRETs spread over the whole file (so
every row group holds a match, the national case) in a fresh process, and prints that
process's peak resident memory and wall time. ``--full-load`` also measures loading the
kept columns whole, for comparison. The national file has some 40 million rows: the
reduction's peak should not move with ``--rows``; loading grows with it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = """
import json, sys, time
import pyarrow.parquet as pq
from extract.sirene_reduce import Wanted, reduce_stock
from core.sirene_stock import KEPT_COLUMNS

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024

path, mode, rows, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
before, start = peak_mb(), time.monotonic()
if mode == "reduce":
    step = max(rows // wanted, 1)
    table, stats = reduce_stock(path, "etablissements", Wanted.of(f"{300_000_000 + i:09d}00012" for i in range(0, rows, step)))
    kept = table.num_rows
else:
    kept = pq.read_table(path, columns=list(KEPT_COLUMNS["etablissements"])).num_rows
print(json.dumps({"mode": mode, "rows_kept": kept, "seconds": round(time.monotonic() - start, 2),
                  "peak_mb": peak_mb(), "added_mb": peak_mb() - before}))
"""


def measure(path: Path, mode: str, rows: int, wanted: int) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path), mode, str(rows), str(wanted)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--wanted", type=int, default=20_000)
    parser.add_argument("--full-load", action="store_true", help="also measure loading the kept columns whole")
    parser.add_argument("--keep", help="write the generated file here and keep it")
    args = parser.parse_args()

    from extract.sirene_sample import write_stock_file

    folder = Path(args.keep).parent if args.keep else Path(tempfile.mkdtemp(prefix="digor-sirene-bench-"))
    path = Path(args.keep) if args.keep else folder / "StockEtablissement_utf8.parquet"
    start = time.monotonic()
    write_stock_file(path, "etablissements", filler_rows=args.rows)
    print(f"generated {args.rows} rows, {path.stat().st_size / 1e6:.0f} MB in {time.monotonic() - start:.1f} s: {path}")
    print(measure(path, "reduce", args.rows, args.wanted))
    if args.full_load:
        print(measure(path, "full", args.rows, args.wanted))
    if not args.keep:
        path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
