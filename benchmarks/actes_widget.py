"""What a citizen on a phone waits for and downloads when opening the Actes widget.

    .venv/bin/python benchmarks/actes_widget.py [--acts 20000] [--no-demo] [--no-throttle] [--keep DIR]

Generates a body with ``--acts`` acts (``samples/widget_bodies.py``), publishes it through the
pipeline's writers (``load/widget_files.py``) into a local store, with the demo region's bodies
unless ``--no-demo`` (three demo nights of ``run_night``), serves the store with ``digor serve``
and opens the widget in Debian's chromium under emulated 4G (9 Mbit/s, 60 ms) and a 4x slower
CPU (``benchmarks/browser.py``). Prints, per body: bytes transferred before the first act shows
and the time to it (from navigation start), the search index's load and a search's time once
it is loaded (the acts its fields give, drawn at once; then with those its documents' text gives, once
the text index's shards have come), what a search inside the documents' text downloads (the generated body's documents
get generated texts, ``samples.widget_bodies.write_big_body_texts``: the index shards its words
fall in, and the ``.txt`` of the results on screen, for their passages), and what revisits transfer (unchanged; after one new act; the whole list, which
reads every year file). Byte counts are the browser's own (DevTools' bytes received per request:
compressed bodies and headers; nothing for what its cache answered). Figures only, no verdict: the
goals are in issue 17 (first render under 1 s and 300 KB, a search under 300 ms).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import Network, chromium, conditions, free_port, kb, served  # noqa: E402 - the widget benchmarks' browser

QUERIES = ("voirie kerdigor", "budget primitif 2019", "arrete police", "maitrise d'oeuvre")


def publish(root: Path, base: str, acts: int, demo: bool) -> list[tuple[str, str]]:
    """The store the benchmark serves; returns (siren, name) of the bodies to measure."""
    from core.config import PROJECT_ROOT, Settings
    from core.registry import load_registry
    from core.store import LocalStore
    from samples.widget_bodies import publish_big_body, write_big_body_texts

    settings = Settings.from_env().with_overrides(store_url=str(root / "store"), public_base_url=base,
                                                  drop_dir=root / "drop", plans_dirs=(root / "plans",),
                                                  decp_drop_dir=root / "decp-drop")
    bodies = []
    if demo:
        from chains import actes as actes_chain
        from samples.actes import DEMO_NIGHTS, generate_drop_folder

        registry = PROJECT_ROOT / "config" / "registry-demo.yaml"
        generate_drop_folder(root / "drop", registry)
        for night in DEMO_NIGHTS:
            actes_chain.CHAIN.run_night(settings, night)
        bodies += [(b.siren, b.name) for b in load_registry(registry).bodies if b.open_data]
    written = write_big_body_texts(LocalStore(root / "store"), acts)
    print(f"texts of the generated body's documents: {kb(written)}")
    body = publish_big_body(LocalStore(root / "store"), base, settings.public_url,
                            "Syndicat numérique de démonstration", acts)
    return [(body.siren, f"{body.name} ({acts:,} actes)".replace(",", "\u202f"))] + bodies


def add_an_act(root: Path, base: str, siren: str) -> None:
    """One more act in the body's latest year, published as a night would (year file, then manifest)."""
    import json

    from core.config import Settings
    from core.registry import Body
    from core.store import LocalStore
    from load.widget_files import body_folder, publish_index, read_widget_json, write_year_entries

    store = LocalStore(root / "store")
    manifest = json.loads(store.get_bytes(f"{body_folder(siren)}/index.json"))
    year, entry = next(iter(manifest["annees"].items()))
    acts = read_widget_json(store, f"{body_folder(siren)}/{entry['fichier']}")["actes"]
    newest = dict(acts[0], id=acts[0]["id"] + "-nouveau", numero=acts[0]["numero"] + "-N", objet="Acte publié ce soir")
    write_year_entries(store, siren, int(year), [newest, *acts])
    settings = Settings.from_env().with_overrides(store_url=str(root / "store"), public_base_url=base)
    body = Body(siren=siren, siret=manifest["siret"], name=manifest["nom"], kind=manifest["type"], widget=manifest["widget"])
    publish_index(store, body, manifest["publie_par"], settings.public_url, identity=manifest.get("identite"))


def visit(context, url: str, throttle: bool) -> dict:
    """One visit in ``context`` (its cache is the visitor's): figures up to the first render."""
    page = context.new_page()
    network = Network(context, page, throttle)
    page.goto(url)
    # Polled every 250 ms: Playwright's default (each animation frame) takes the throttled CPU the page waits for.
    page.wait_for_function("() => document.body && document.body.dataset.etat === 'pret' &&"
                           " document.querySelector('#resultats').getAttribute('aria-busy') === 'false'",
                           polling=250, timeout=120_000)
    page.wait_for_timeout(200)  # the last network events reach this process
    return {"page": page, "network": network, "bytes": network.total(), "files": len(network.answers),
            "first_render_ms": page.evaluate("window.digorActes.timings.premierAffichage")}


def search(page, network: Network) -> dict:
    page.focus("#recherche")
    page.wait_for_selector("body[data-index=pret]", state="attached", timeout=120_000)
    loaded = page.evaluate("window.digorActes.timings.index")
    times, with_texts = [], []
    for query in QUERIES:
        page.fill("#recherche", query)
        page.press("#recherche", "Enter")
        page.wait_for_function("q => new URLSearchParams(location.search).get('recherche') === q"
                               " && document.querySelector('#resultats').getAttribute('aria-busy') === 'false'"
                               " && window.digorActes.timings.recherche !== undefined", arg=query, polling=250)
        timings = page.evaluate("window.digorActes.timings")
        times.append(timings["recherche"])
        with_texts.append(timings.get("rechercheTextes"))
        page.evaluate("delete window.digorActes.timings.recherche; delete window.digorActes.timings.rechercheTextes")
    return {"index_ms": loaded, "search_ms": times, "texts_ms": with_texts, "bytes": network.total()}


def text_queries() -> tuple[str, ...]:
    """Words only in the generated documents' text: a rare one, a frequent one, two words together."""
    from samples.widget_bodies import text_word

    return (text_word(20_000), text_word(5), f"{text_word(40)} {text_word(300)}")


def text_search(page, network: Network) -> list[str]:
    """Each text query's download: what the page received for it (index shards, passages' texts)."""
    lines = []
    for query in text_queries():
        before, seen = network.total(), set(network.answers)
        page.fill("#recherche", query)
        page.press("#recherche", "Enter")
        page.wait_for_function("q => new URLSearchParams(location.search).get('recherche') === q"
                               " && document.body.dataset.extraits === 'pret'", arg=query, timeout=120_000)
        page.wait_for_timeout(300)
        files = [network.answers[r][0].rsplit("/", 1)[-1] for r in network.answers if r not in seen]
        shards = sum(1 for f in files if f.startswith("texte"))
        texts = sum(1 for f in files if f.endswith(".txt"))
        total = page.locator("#total").text_content()
        lines.append(f"«{query}»: {kb(network.total() - before)} in {len(files)} files ({shards} of the index, "
                     f"{texts} texts for passages); {total}")
    return lines


def measure(browser, base: str, siren: str, name: str, throttle: bool, root: Path, change: bool) -> None:
    url = f"{base}/widgets/actes.html?siren={siren}"
    print(f"\n{name} (SIREN {siren})")
    context = browser.new_context(locale="fr-FR")
    first = visit(context, url, throttle)
    print(f"  first visit: {kb(first['bytes'])} in {first['files']} files before the first render, "
          f"first render at {first['first_render_ms']:.0f} ms after navigation start")
    searched = search(first["page"], first["network"])
    print(f"  search: index, MiniSearch and year files loaded in {searched['index_ms']:.0f} ms "
          f"(the page has then received {kb(searched['bytes'])}); a search then shows what the acts' fields give in "
          + ", ".join(f"{t:.0f}" for t in searched["search_ms"]) + f" ms ({', '.join(QUERIES)})")
    if any(t is not None for t in searched["texts_ms"]):
        print("    and the acts found by their documents' text joined them (the index's shards fetched) at "
              + ", ".join("-" if t is None else f"{t:.0f}" for t in searched["texts_ms"]) + " ms")
    from samples.widget_bodies import BIG_SIREN

    if siren == BIG_SIREN:
        for line in text_search(first["page"], first["network"]):
            print(f"  text search {line}")
    first["page"].close()
    again = visit(context, url, throttle)
    print(f"  revisit: {kb(again['bytes'])}; {again['network'].summary()}")
    again["page"].close()
    if change:
        add_an_act(root, base, siren)
        changed = visit(context, url, throttle)
        print(f"  revisit after one new act: {kb(changed['bytes'])}; {changed['network'].summary()}")
        changed["page"].close()
        whole = visit(context, url + "&tri=decision", throttle)
        print(f"  then the list by decision date (reads every year file): {kb(whole['bytes'])}; {whole['network'].summary()}")
        whole["page"].close()
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acts", type=int, default=20_000)
    parser.add_argument("--no-demo", action="store_true", help="only the generated body")
    parser.add_argument("--no-throttle", action="store_true", help="loopback speed, full CPU")
    parser.add_argument("--keep", help="build the store in this folder and keep it")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="digor-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    bodies = publish(root, base, args.acts, not args.no_demo)
    print(f"store built in {time.monotonic() - started:.0f} s: {root / 'store'}")
    try:
        throttle = not args.no_throttle
        with served(root / "store", port), chromium() as browser:
            print(f"digor serve on {base}; chromium, {conditions(throttle)}")
            for n, (siren, name) in enumerate(bodies):
                measure(browser, base, siren, name, throttle, root, change=n == 0)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
