"""Benchmark: what a short run of the actes chain costs Pastell at region size, listing every body
or reading the journal.

A registry of ``--bodies`` bodies (the sample region's mix, ``samples.region``) is served by the
Pastell emulator on loopback; every body has one act already pulled, then ``--changed`` bodies get
one new acknowledged act within the short run's interval. The same short run's pull is measured
twice on copies of one store: with the journal (what ``actes_frequent`` does) and with the journal
refused (the fallback: two listings per body). It prints the requests, the wall and CPU time of the
pull against the emulator (no rate limit) and the time the requests take at the default rate; it
asserts nothing:

    .venv/bin/python benchmarks/pastell_listings.py [--bodies 2500] [--changed 25]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import PASTELL_CLIENT_DEFAULTS  # noqa: E402
from core.registry import load_registry  # noqa: E402
from core.store import LocalStore  # noqa: E402
from extract.pastell_client import ClientOptions, PastellClient, PastellCredentials  # noqa: E402
from extract.pastell_source import pull_night  # noqa: E402
from samples.actes import Act, act_files  # noqa: E402
from samples.region import region_bodies, write_registry  # noqa: E402
from tests.emulators.pastell import DocVersion, PastellEmulator, entities_of  # noqa: E402

FLOWS = ("actes-generique", "actes-automatique")
DAY = "2025-11-19"


def _version(body: dict, id_d: str, at: str) -> DocVersion:
    moment = datetime.fromisoformat(at)
    act = Act(id_d=id_d, night=moment.date().isoformat(), body=body, nature="1", numero=id_d.upper()[:15],
              objet="Tarifs municipaux", classification="7.10.1 Tarifs", decided=date(2025, 11, 17),
              posted=moment.date(), created=moment, acknowledged=moment, modified=moment, open_data="3")
    files = act_files(act)
    metadata = json.loads(files.pop("metadata.json"))
    return DocVersion(id_d=id_d, id_e=str(body["pastell_id_e"]), type="actes-generique", stamp=at,
                      data=metadata["data"], last_action=metadata["last_action"], creation=at, files=files)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(label: str, store, registry, client, emulator, partition: str, end: str) -> dict:
    emulator.clock = end
    sent, wall, cpu = client.requests_sent, time.monotonic(), _cpu()
    result = pull_night(store, registry, client, partition, FLOWS, cutoff=end, journal=True)
    row = {"run": label, "requests": client.requests_sent - sent, "wall_s": round(time.monotonic() - wall, 2),
           "cpu_s": round(_cpu() - cpu, 2), "acts_pulled": len(result.written),
           "bodies_listed": result.listing.get("bodies_listed"), "by": result.listing.get("by")}
    rate = PASTELL_CLIENT_DEFAULTS["requests_per_second"]
    row["at_default_rate_s"] = round(row["requests"] / rate, 1)
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=2500)
    parser.add_argument("--changed", type=int, default=25)
    args = parser.parse_args()
    rng = random.Random(2500)
    work = Path(tempfile.mkdtemp(prefix="pastell-bench-"))
    try:
        bodies, _ = region_bodies(rng, args.bodies)
        write_registry(work / "registry.yaml", bodies)
        registry = load_registry(work / "registry.yaml")
        versions = [_version(b, f"old{i:05d}", f"2025-11-17 {9 + i % 8:02d}:00:00") for i, b in enumerate(bodies)]
        with PastellEmulator(entities_of(work / "registry.yaml"), versions) as emulator:
            options = ClientOptions.from_mapping({"requests_per_second": 0, "max_workers": 4})
            credentials = PastellCredentials("bench", emulator.url, "basic", emulator.login, emulator.password)
            with PastellClient(credentials, options) as client:
                store = LocalStore(work / "store")
                emulator.clock = "2025-11-19 02:00:00"
                pull_night(store, registry, client, "2025-11-18", FLOWS)  # the night: every body's first act
                _measure("first short run (no journal reading yet: every body)", store, registry, client, emulator,
                         f"{DAY}T1000", f"{DAY} 10:00:00")
                for index, body in enumerate(rng.sample(bodies, args.changed)):
                    at = datetime.fromisoformat(f"{DAY} 10:01:00") + timedelta(seconds=30 * index)
                    emulator.add(_version(body, f"new{index:05d}", at.isoformat(sep=" ")))
                shutil.copytree(work / "store", work / "store-refused")
                print(f"# {args.bodies} bodies, {args.changed} with a new act in the interval; "
                      f"load average {os.getloadavg()[0]:.1f}")
                _measure("short run, journal", store, registry, client, emulator, f"{DAY}T1015", f"{DAY} 10:15:00")
                emulator.journal_root = False
                _measure("short run, journal refused (two listings a body)", LocalStore(work / "store-refused"),
                         registry, client, emulator, f"{DAY}T1015", f"{DAY} 10:15:00")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
