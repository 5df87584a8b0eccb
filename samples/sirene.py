"""The demo's SIRENE month: a generated extract served on loopback, refreshed by the real sirene DAG.

The same server serves the demo's legal populations (``samples.populations``), which the DAG's
populations task caches for the Budgets widget.

The national files cannot be fetched here, so the demo writes stock files of the real
shape covering the sample region's bodies and every buyer and titulaire of the sample
DECP exports, serves them from a loopback HTTP server, and runs ``airflow dags test
sirene`` against it: the same download, reduction and cache as in production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from core.config import Settings
from core.identifiers import luhn_valid
from core.sirene_stock import ETABLISSEMENTS, STOCK_FILE_NAMES, UNITES_LEGALES
from extract.sirene_sample import establishment_record, unit_record, write_stock_file

# Where the demo's companies are: (code commune, code postal, commune); one outside Brittany.
PLACES = (
    ("29019", "29200", "BREST"), ("29232", "29000", "QUIMPER"), ("29103", "29800", "LANDERNEAU"),
    ("35238", "35000", "RENNES"), ("56121", "56100", "LORIENT"), ("22278", "22000", "SAINT-BRIEUC"),
    ("75108", "75008", "PARIS 8"),
)
# Lambert-93 coordinates (metres) of the town halls of the first places, where the demo's bodies sit.
TOWN_HALLS = (("145869.3", "6837708.1"), ("171251.6", "6789445.9"), ("166892.7", "6836276.4"))
CATEGORIES = ("PME", "PME", "ETI", "PME", "GE", "PME")
STREETS = (("12", "RUE", "DE SIAM"), ("4", "BD", "DE LA LIBERTE"), ("27", "AV", "JEAN JAURES"), ("3", "PL", "DU MARCHE"))
# The demo serves the extract on this loopback port when it is free (so that the source URL,
# recorded in the manifest, and hence the cache's bytes are the same from one demo to the next).
DEMO_PORT = 8779
_SIRET = re.compile(r"(?<!\d)\d{14}(?!\d)")


def _plain_upper(name: str) -> str:
    """A name the way the register writes it: capitals, no accents, no apostrophes."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return " ".join(plain.replace("'", " ").replace("’", " ").split())


def _named_identifiers(value, found: dict[str, str | None]) -> None:
    """SIRETs in a JSON document, with the ``denominationSociale`` sent beside them (DECP 2019)."""
    if isinstance(value, dict):
        identifier = str(value.get("id") or "")
        if _SIRET.fullmatch(identifier) and value.get("denominationSociale"):
            found[identifier] = str(value["denominationSociale"])
        for item in value.values():
            _named_identifiers(item, found)
    elif isinstance(value, list):
        for item in value:
            _named_identifiers(item, found)


def identifiers_in(folder: Path) -> dict[str, str | None]:
    """Every Luhn-valid SIRET written in the files of ``folder``, with a name when one is sent."""
    found: dict[str, str | None] = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", "replace")
        for siret in _SIRET.findall(text):
            if luhn_valid(siret):
                found.setdefault(siret, None)
        if path.suffix == ".json":
            with contextlib.suppress(ValueError):
                _named_identifiers(json.loads(text), found)
    return found


def demo_records(registry_path: Path, companies: dict[str, str | None]) -> tuple[list[dict], list[dict]]:
    """Stock rows for the registry's bodies and the given companies (SIRET -> sent name)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # a region's registry has thousands of bodies
    document = yaml.load(Path(registry_path).read_text(encoding="utf-8"), Loader=loader)
    units, establishments = [], []
    bodies = {}
    for index, body in enumerate(document.get("bodies") or []):
        siren, siret = str(body["siren"]), str(body["siret"])
        bodies[siren] = siret
        kind = body.get("kind")
        category = {"commune": 7210, "epci": 7346, "syndicat": 7353, "departement": 7220, "region": 7230}.get(kind, 7490)
        units.append(unit_record(siren, _plain_upper(body["name"]), categorie_juridique=category, nic_siege=siret[9:],
                                 categorie_entreprise=None, tranche="22", naf="84.11Z"))
        code, postal, commune = PLACES[index % 3]
        establishments.append(establishment_record(siret, code_commune=code, code_postal=postal, commune=commune,
                                                   voie=("1", "PL", "DE LA MAIRIE"), naf="84.11Z",
                                                   lambert=TOWN_HALLS[index % 3]))
    hidden_done = False
    for index, (siret, sent) in enumerate(sorted(companies.items())):
        siren = siret[:9]
        if siren in bodies:
            if siret != bodies[siren]:
                establishments.append(establishment_record(siret, siege=False, code_commune=PLACES[0][0],
                                                           code_postal=PLACES[0][1], commune=PLACES[0][2], naf="84.11Z"))
            continue
        code, postal, commune = PLACES[index % len(PLACES)]
        street = STREETS[index % len(STREETS)]
        if not sent and not hidden_done:
            # An individual entrepreneur who asked not to be published: never named by digor.
            hidden_done = True
            units.append(unit_record(siren, person=("YANN", "KERMARREC"), categorie_juridique=1000, diffusion="P",
                                     nic_siege=siret[9:], categorie_entreprise="PME", tranche="NN", naf="43.34Z"))
            establishments.append(establishment_record(siret, diffusion="P", code_commune=code, code_postal=postal,
                                                       commune=commune, voie=street, naf="43.34Z"))
            continue
        name = _plain_upper(sent) if sent else f"ENTREPRISE {siren[-4:]}"
        category = CATEGORIES[index % len(CATEGORIES)]
        tranche = {"PME": "12", "ETI": "41", "GE": "53"}[category]
        units.append(unit_record(siren, name, nic_siege=siret[9:], categorie_entreprise=category, tranche=tranche))
        establishments.append(establishment_record(siret, code_commune=code, code_postal=postal, commune=commune,
                                                   voie=street, tranche=tranche))
    return units, establishments


def write_demo_extract(
    folder: Path, registry_path: Path, companies: dict[str, str | None], night: str = "2025-03-03"
) -> dict[str, Path]:
    """The two stock files, dated the 1st of ``night``'s month (as INSEE publishes), same bytes on every run."""
    units, establishments = demo_records(registry_path, companies)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        UNITES_LEGALES: write_stock_file(folder / STOCK_FILE_NAMES[UNITES_LEGALES], UNITES_LEGALES, units, filler_rows=5_000),
        ETABLISSEMENTS: write_stock_file(folder / STOCK_FILE_NAMES[ETABLISSEMENTS], ETABLISSEMENTS, establishments,
                                         filler_rows=5_000),
    }
    published = dt.datetime.fromisoformat(f"{night[:7]}-01T06:00:00+00:00").timestamp()
    for path in files.values():
        os.utime(path, (published, published))
    return files


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_folder(folder: Path, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` over HTTP on loopback for the time of the block (on ``port`` if free); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sample_decp_identifiers(registry_path: Path, decp_drop: Path | None = None) -> dict[str, str | None]:
    """Buyers and titulaires of the demo's DECP exports (generated the same way as the demo does)."""
    if decp_drop is not None and Path(decp_drop).is_dir():
        return identifiers_in(decp_drop)
    from samples.decp import generate_decp_exports

    with tempfile.TemporaryDirectory(prefix="digor-sirene-demo-") as scratch:
        generate_decp_exports(Path(scratch), registry_path)
        return identifiers_in(Path(scratch))


def run_demo_month(
    store: Path, env: dict[str, str], night: str, airflow: Callable[[list[str], dict[str, str]], int],
    decp_drop: Path | None = None,
) -> int:
    """Generate, serve and refresh the demo's SIRENE month through the sirene DAG; 0 when it worked."""
    from chains.sirene import manifest_key, month_of, register_identifiers

    settings = Settings.from_env().with_overrides(store_url=str(store))
    companies = sample_decp_identifiers(settings.registry_path, decp_drop)
    register_identifiers(settings, companies, "decp")
    from samples.populations import ARCHIVE, write_populations

    folder = store.parent / "sirene-demo"
    write_demo_extract(folder, settings.registry_path, companies, night)
    populations = write_populations(folder / "populations", settings.registry_path)
    published = dt.datetime.fromisoformat("2024-12-19T12:00:00+00:00").timestamp()
    os.utime(populations, (published, published))
    with serve_folder(folder, DEMO_PORT) as base_url:
        run_env = {**env, "DIGOR_SIRENE_BASE_URL": base_url, "DIGOR_SIRENE_WORK_DIR": str(store.parent / "sirene"),
                   "DIGOR_POPULATIONS_URL": f"{base_url}/populations/{ARCHIVE}"}
        failed = airflow(["dags", "test", "sirene", night], run_env)
    manifest = store / manifest_key(month_of(night))
    if not failed and manifest.is_file():
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        print(f"  SIRENE {month_of(night)}: {files['unites_legales']['rows']} units, "
              f"{files['etablissements']['rows']} establishments cached in {manifest.parent}")
    return failed

