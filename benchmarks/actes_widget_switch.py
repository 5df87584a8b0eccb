"""Benchmark: what one night costs a body's Actes widget, by the size of the body's history.

For each size, a body of that many acts over ten years (``samples/widget_bodies.py``, with the text
of every document) is written and switched once (not timed); then, in a fresh process, a night adds
one act to its latest year and switches the body (``write_year_entries`` then ``publish_index``, as
the actes chain's year and widgets steps do). Prints the night's CPU time and peak memory; asserts
nothing. ``--code DIR`` runs another checkout's code (before/after figures):

    .venv/bin/python benchmarks/actes_widget_switch.py [--sizes 2000,20000] [--code DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETUP = r"""
import sys
from core.store import LocalStore
from samples.widget_bodies import publish_big_body, write_big_body_texts
store = LocalStore(sys.argv[1])
write_big_body_texts(store, int(sys.argv[2]))
publish_big_body(store, "https://donnees.example/", lambda key: "https://donnees.example/" + key, "Région", int(sys.argv[2]))
"""

NIGHT = r"""
import json, sys, time
from core.store import LocalStore
from load.widget_files import body_folder, publish_index, read_widget_json, write_year_entries
from samples.widget_bodies import BIG_BODY

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024

store = LocalStore(sys.argv[1])
manifest = json.loads(store.get_bytes(f"{body_folder(BIG_BODY.siren)}/index.json"))
year, entry = next(iter(manifest["annees"].items()))
acts = read_widget_json(store, f"{body_folder(BIG_BODY.siren)}/{entry['fichier']}")["actes"]
newest = dict(acts[0], id=acts[0]["id"] + "-nouveau", numero=acts[0]["numero"] + "-N", objet="Acte publié ce soir")
start, cpu = time.monotonic(), time.process_time()
write_year_entries(store, BIG_BODY.siren, int(year), [newest, *acts])
publish_index(store, BIG_BODY, "Région", lambda key: "https://donnees.example/" + key)
print(json.dumps({"wall_s": time.monotonic() - start, "cpu_s": time.process_time() - cpu, "peak_mb": peak_mb(),
                  "year_acts": len(acts) + 1}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000", help="acts of the body's history, comma-separated")
    parser.add_argument("--code", default=str(ROOT), help="checkout whose code runs")
    args = parser.parse_args()
    code = Path(args.code).resolve()
    env = {**os.environ, "PYTHONPATH": str(code)}
    print(f"one body's Actes widget switch after a night adding one act, code {code}, load {os.getloadavg()[0]:.1f}")
    for size in (int(s) for s in args.sizes.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="digor-switch-") as scratch:
            store = str(Path(scratch) / "store")
            subprocess.run([sys.executable, "-c", SETUP, store, str(size)], check=True, cwd=code, env=env)
            answer = subprocess.run([sys.executable, "-c", NIGHT, store], check=True, cwd=code, env=env,
                                    capture_output=True, text=True)
            night = json.loads(answer.stdout.strip().splitlines()[-1])
            print(f"history {size:>6,} acts (latest year {night['year_acts']:,}) | {night['wall_s']:5.1f} s wall "
                  f"{night['cpu_s']:5.1f} s CPU | peak {night['peak_mb']} MB | load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
