"""What a citizen on a phone downloads and waits for before Focus marchés and Budgets first show,
for the largest bodies of a sample region.

    .venv/bin/python benchmarks/widgets_weight.py [--work DIR] [--scale small|region] [--bodies 3] [--no-throttle]

Uses the sample region in ``--work`` (``digor sample-region``, generated there with ``--scale`` and
100 acts of history when absent), runs its night for budgets (the TOTEM documents of
``budgets-drop/`` through the actes chain, then the budgets chain) and contracts (the decp chain)
once, picks the ``--bodies`` bodies with the most widget data (bytes of their files, uncompressed),
serves the store with ``digor serve`` and opens each widget in Debian's chromium under emulated 4G
(9 Mbit/s, 60 ms) and a 4x slower CPU. Prints, per widget and body: the bytes its files take
uncompressed and as stored, what the browser received before the widget was drawn
(``body[data-etat=pret]``; DevTools' bytes: compressed bodies and headers) and the time to it from
navigation start, then what the whole page received once scrolled to its end (Focus marchés
fetches its list of contracts then). Figures only, no verdict: the goals are in issue 17 (first
render under 1 s and 300 KB on emulated 4G).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from actes_widget import CHROMIUM, Network, free_port, kb  # noqa: E402 - the same browser and measures

# The moments the widget is drawn and its charts are (Focus marchés draws them once ECharts is
# there), taken by the page itself: an observer set before its scripts run.
DRAWN = """
new MutationObserver(() => {
  const body = document.body;
  if (body && body.dataset.etat && window.__dessine === undefined) window.__dessine = performance.now();
  if (body && body.dataset.graphiques && window.__graphiques === undefined) window.__graphiques = performance.now();
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-etat", "data-graphiques"] });
"""
# Page, and whether it draws its charts after its first render (ECharts fetched then).
WIDGETS = {"marches": ("marches.html?siret={}", True), "budgets": ("budgets.html?siret={}", False)}


def region(work: Path, scale: str) -> dict:
    summary = work / "region.json"
    if not summary.exists():
        from samples.region import SCALES, generate_region
        from dataclasses import replace

        print(f"generating a sample region ({scale}) into {work}", flush=True)
        generate_region(work, replace(SCALES[scale], history_acts=100, night_acts=10), publish=False,
                        progress=lambda line: print("  " + line, flush=True))
    return json.loads(summary.read_text(encoding="utf-8"))


def publish(work: Path, described: dict) -> None:
    """The region's night for budgets and contracts, once (a marker file says it ran)."""
    done = work / "widgets-published"
    if done.exists():
        return
    from chains import actes, budgets, decp
    from samples.region import region_settings

    settings = region_settings(described["environment"])
    night = described["night"]
    started = time.monotonic()
    actes.CHAIN.run_night(settings.with_overrides(drop_dir=work / "budgets-drop"), night)
    budgets.CHAIN.run_night(settings, night)
    decp.CHAIN.run_night(settings, night)
    print(f"budgets and contracts of the night {night} published in {time.monotonic() - started:.0f} s", flush=True)
    done.write_text(night + "\n")


def largest(store: Path, widget: str, count: int) -> list[tuple[str, int, int]]:
    """(SIRET, bytes uncompressed, bytes as stored) of the ``count`` bodies with the most widget data."""
    from core.store import plain_bytes

    sizes = []
    for folder in sorted((store / "public" / "widgets" / widget).iterdir()):
        files = [p for p in folder.iterdir() if p.is_file() and (p.name.count(".") == 2 or p.name == "index.json")]
        sizes.append((folder.name, sum(len(plain_bytes(p.read_bytes())) for p in files), sum(p.stat().st_size for p in files)))
    return sorted(sizes, key=lambda s: -s[1])[:count]


def visit(browser, url: str, throttle: bool, later_charts: bool) -> dict:
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    context.add_init_script(DRAWN)
    page = context.new_page()
    network = Network(context, page, throttle)
    page.goto(url)
    page.wait_for_selector("body[data-etat]", state="attached", timeout=120_000)
    page.wait_for_timeout(200)  # the last network events reach this process
    drawn = {"bytes": network.total(), "files": len(network.answers), "ms": page.evaluate("window.__dessine")}
    if later_charts:
        page.wait_for_function("() => window.__graphiques !== undefined", timeout=120_000)
    drawn["charts_ms"] = page.evaluate("window.__graphiques === undefined ? window.__dessine : window.__graphiques")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(200)
    page.wait_for_load_state("networkidle", timeout=120_000)
    whole = {"bytes": network.total(), "files": len(network.answers)}
    context.close()
    return {"drawn": drawn, "whole": whole}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(ROOT / "var" / "bench" / "widgets"), help="the sample region's folder")
    parser.add_argument("--scale", choices=("small", "region"), default="region", help="when the region is generated")
    parser.add_argument("--bodies", type=int, default=3, help="largest bodies measured per widget")
    parser.add_argument("--no-throttle", action="store_true", help="loopback speed, full CPU")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(args.work).resolve()
    described = region(work, args.scale)
    publish(work, described)
    store = Path(described["environment"]["DIGOR_STORE"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "digor.cli", "serve", "--store", str(store), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env=os.environ | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    try:
        server.stdout.readline()
        conditions = "loopback, full CPU" if args.no_throttle else "emulated 4G (9 Mbit/s, 60 ms), CPU 4x slower"
        print(f"digor serve on {base}; chromium, a phone's viewport, {conditions}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            for widget, (page, later_charts) in WIDGETS.items():
                print(f"\n{widget}.html")
                for siret, plain, stored in largest(store, widget, args.bodies):
                    figures = visit(browser, f"{base}/widgets/{page.format(siret)}", not args.no_throttle, later_charts)
                    drawn, whole = figures["drawn"], figures["whole"]
                    print(f"  {siret}: files {kb(plain)} ({kb(stored)} as stored); before the first render "
                          f"{kb(drawn['bytes'])} in {drawn['files']} requests, drawn at {drawn['ms']:.0f} ms, charts at "
                          f"{drawn['charts_ms']:.0f} ms; "
                          f"the whole page {kb(whole['bytes'])} in {whole['files']} requests")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
