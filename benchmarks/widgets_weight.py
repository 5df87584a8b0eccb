"""What a citizen on a phone downloads and waits for before Focus marchés and Budgets first show,
for the largest bodies of a sample region.

    .venv/bin/python benchmarks/widgets_weight.py [--work DIR] [--scale small|region] [--bodies 3] [--no-throttle]
        [--from-region DIR]

Uses the sample region in ``--work`` (``digor sample-region``, generated there with ``--scale`` and
100 acts of history when absent; or, with ``--from-region``, the largest body's budget documents and
the largest buyer's contracts of a region generated already, copied with its registry, plans and
SIRENE files: the same files at the same size without a whole region's night), runs its night for budgets (the TOTEM documents of
``budgets-drop/`` through the actes chain, then the budgets chain) and contracts (the decp chain)
once, picks the ``--bodies`` bodies with the most widget data (bytes of their files, uncompressed),
serves the store with ``digor serve`` and opens each widget in Debian's chromium under emulated 4G
(9 Mbit/s, 60 ms) and a 4x slower CPU (``benchmarks/browser.py``). Prints, per widget and body: the
bytes its files take uncompressed and as stored; what the browser had received when the widget was
first drawn (``body[data-etat=pret]``; DevTools' bytes, compressed bodies and headers, of the
responses finished by then) and the time to it from navigation start; when its charts were drawn
(ECharts comes after the first render); what the whole page received once scrolled to its end
(Focus marchés fetches its list of contracts then); for Focus marchés, the time a search in the
list takes once loaded; and what a revisit transfers (the browser's cache kept). Figures only, no
verdict: the goals are in issue 17 (first render under 1 s and 300 KB on emulated 4G, a search
under 300 ms, a revisit that transfers only what changed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import FIRST_RENDER, Network, chromium, conditions, kb, served  # noqa: E402 - the widget benchmarks' browser

WIDGETS = {"marches": "marches.html?siret={}", "budgets": "budgets.html?siret={}"}
# Searches in the list of Focus marchés (words of the generated contracts' objects).
QUERIES = ("travaux", "maitrise d'oeuvre", "entretien espaces verts")
# One search, timed by the page: the form's submit handler filters and draws the list at once.
SEARCH = """(q) => {
  document.getElementById("recherche").value = q;
  const start = performance.now();
  document.getElementById("formulaire-recherche").requestSubmit();
  return performance.now() - start;
}"""


def region(work: Path, scale: str) -> dict:
    summary = work / "region.json"
    if not summary.exists():
        from dataclasses import replace

        from samples.region import SCALES, generate_region

        print(f"generating a sample region ({scale}) into {work}", flush=True)
        generate_region(work, replace(SCALES[scale], history_acts=100, night_acts=10), publish=False,
                        progress=lambda line: print("  " + line, flush=True))
    return json.loads(summary.read_text(encoding="utf-8"))


def contracts_of(path: Path) -> tuple[object, list]:
    """A DECP export (2022 JSON or XML, 2019 JSON) and, for each contract in it, (its container, the contract)."""
    if path.suffix == ".xml":
        from lxml import etree

        tree = etree.parse(str(path))
        return tree, [(tree.getroot(), c) for c in tree.getroot()]
    data = json.loads(path.read_text(encoding="utf-8"))
    lists = [data["marches"]] if isinstance(data["marches"], list) else list(data["marches"].values())
    return data, [(contracts, c) for contracts in lists for c in contracts]


def buyer_of(contract) -> str | None:
    if hasattr(contract, "findtext"):
        return contract.findtext("acheteur/id") or contract.findtext("autoriteConcedante/id")
    return (contract.get("acheteur") or contract.get("autoriteConcedante") or {}).get("id")


def copy_largest(source: Path, work: Path) -> None:
    """``work`` as a region holding only ``source``'s largest body's budget documents (bytes of its
    TOTEM files) and its largest buyer's contracts (count), with its registry, plans and SIRENE files."""
    import shutil
    from collections import Counter, defaultdict

    described = json.loads((source / "region.json").read_text(encoding="utf-8"))
    night = described["night"]
    documents = defaultdict(list)
    for folder in sorted((source / "budgets-drop" / night).iterdir()):
        siren = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["data"]["siren"]
        documents[siren].append((folder, sum(f.stat().st_size for f in folder.iterdir())))
    body = max(documents, key=lambda siren: sum(n for _, n in documents[siren]))
    for folder, _ in documents[body]:
        shutil.copytree(folder, work / "budgets-drop" / night / folder.name)
    exports = sorted((source / "decp-drop" / night).iterdir())
    buyers = Counter(buyer_of(c) for path in exports for _, c in contracts_of(path)[1])
    buyer, count = buyers.most_common(1)[0]
    (work / "decp-drop" / night).mkdir(parents=True)
    for path in exports:
        document, contracts = contracts_of(path)
        others = [(container, contract) for container, contract in contracts if buyer_of(contract) != buyer]
        if path.suffix == ".xml":
            for container, contract in others:
                container.remove(contract)
        else:
            for container in {id(c): c for c, _ in contracts}.values():
                container[:] = [c for c in container if buyer_of(c) == buyer]
        out = work / "decp-drop" / night / path.name
        if path.suffix == ".xml":
            document.write(str(out), xml_declaration=True, encoding="UTF-8")
        else:
            out.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    for name in ("plans-de-comptes", "sirene"):
        shutil.copytree(source / name, work / name)
    shutil.copy(source / "registry.yaml", work / "registry.yaml")
    (work / "drop").mkdir()
    described["environment"] = {"DIGOR_STORE": str(work / "store"), "DIGOR_REGISTRY": str(work / "registry.yaml"),
                                "DIGOR_DROP_DIR": str(work / "drop"), "DIGOR_DECP_DROP_DIR": str(work / "decp-drop"),
                                "DIGOR_PLANS_DIRS": str(work / "plans-de-comptes")}
    described["copied_from"] = {"region": str(source), "budgets_of": body, "documents": len(documents[body]),
                                "contracts_of": buyer, "contracts": count}
    print(f"from {source}: the {len(documents[body])} budget documents of SIREN {body}, "
          f"the {count} contracts of buyer {buyer}", flush=True)
    (work / "region.json").write_text(json.dumps(described, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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


def open_page(context, url: str, throttle: bool) -> tuple:
    """A new page of ``context`` at ``url``, drawn; the page, its network and the figures of its first render."""
    page = context.new_page()
    network = Network(context, page, throttle)
    page.goto(url)
    # Polled every 250 ms: Playwright's default (each animation frame) takes the throttled CPU the page waits for.
    page.wait_for_function("() => window.__dessine !== undefined && window.__graphiques !== undefined",
                           polling=250, timeout=120_000)
    page.wait_for_timeout(200)  # the last network events reach this process
    received, files = network.of(set(page.evaluate("window.__recus")))
    return page, network, {"bytes": received, "files": files, "ms": page.evaluate("window.__dessine"),
                           "charts_ms": page.evaluate("window.__graphiques")}


def visit(browser, url: str, throttle: bool, search: bool) -> dict:
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    context.add_init_script(FIRST_RENDER)
    page, network, drawn = open_page(context, url, throttle)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(200)
    page.wait_for_load_state("networkidle", timeout=120_000)
    figures = {"drawn": drawn, "whole": {"bytes": network.total(), "files": len(network.answers)}}
    if search:
        page.wait_for_selector("body[data-liste=pret]", state="attached", timeout=120_000)
        figures["search_ms"] = [page.evaluate(SEARCH, query) for query in QUERIES]
    page.close()
    again, network, drawn = open_page(context, url, throttle)
    figures["revisit"] = {"bytes": network.total(), "summary": network.summary()}
    context.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(ROOT / "var" / "bench" / "widgets"), help="the sample region's folder")
    parser.add_argument("--scale", choices=("small", "region"), default="region", help="when the region is generated")
    parser.add_argument("--bodies", type=int, default=3, help="largest bodies measured per widget")
    parser.add_argument("--no-throttle", action="store_true", help="loopback speed, full CPU")
    parser.add_argument("--from-region", help="a generated region (read only): its largest bodies' files into --work")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    if args.from_region and not (work / "region.json").exists():
        copy_largest(Path(args.from_region).resolve(), work)
    described = region(work, args.scale)
    publish(work, described)
    store = Path(described["environment"]["DIGOR_STORE"])
    throttle = not args.no_throttle
    with served(store) as base, chromium() as browser:
        print(f"digor serve on {base}; chromium, a phone's viewport, {conditions(throttle)}")
        for widget, page in WIDGETS.items():
            print(f"\n{widget}.html")
            for siret, plain, stored in largest(store, widget, args.bodies):
                figures = visit(browser, f"{base}/widgets/{page.format(siret)}", throttle, widget == "marches")
                drawn, whole, revisit = figures["drawn"], figures["whole"], figures["revisit"]
                print(f"  {siret}: files {kb(plain)} ({kb(stored)} as stored); before the first render "
                      f"{kb(drawn['bytes'])} in {drawn['files']} requests, drawn at {drawn['ms']:.0f} ms, charts at "
                      f"{drawn['charts_ms']:.0f} ms; the whole page {kb(whole['bytes'])} in {whole['files']} requests")
                if "search_ms" in figures:
                    print("    a search in the list: " + ", ".join(f"{t:.0f}" for t in figures["search_ms"])
                          + f" ms ({', '.join(QUERIES)})")
                print(f"    revisit: {kb(revisit['bytes'])}; {revisit['summary']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
