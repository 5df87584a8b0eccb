"""A loopback HTTP server standing in for the stock files' host, and a generated extract.

The server serves a folder the test fills, the way a static file host does: ETag and
Last-Modified, conditional requests (304), byte ranges (206), and failures on demand
(an HTTP status, or a connection cut half-way through a file).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from extract.sirene_sample import establishment_record, unit_record, write_stock_file

# The sample region's bodies (config/registry-demo.yaml), as the register knows them.
BODIES = {
    "212900997": ("COMMUNE DE KERDIGOR", "00017", "29102", "29800", "KERDIGOR", 7210),
    "200099992": ("COMMUNAUTE DE COMMUNES DU PAYS DE DIGOR", "00014", "29102", "29800", "KERDIGOR", 7346),
    "252909999": ("SYNDICAT INTERCOMMUNAL DES EAUX DE L ABER", "00010", "29005", "29870", "LANDEDA", 7353),
    "222909996": ("DEPARTEMENT DE PENN AR BED DEMO", "00019", "29232", "29000", "QUIMPER", 7220),
    "212900989": ("COMMUNE DE LANVEZEC", "00014", "29140", "29200", "LANVEZEC", 7210),
}
SUPPLIER = "81234567400021"  # a company, siège elsewhere, SME
BIG_SUPPLIER = "55208131700028"  # a large company (GE)
PERSON_OPEN = "40123456700015"  # an individual entrepreneur who may be named
PERSON_HIDDEN = "49876543200011"  # an individual entrepreneur who asked not to be published
CLOSED = "33333333300016"  # a closed establishment of an active company
ABROAD = "44444444400011"  # an establishment abroad


def unit_records() -> list[dict]:
    records = [
        unit_record(siren, name, categorie_juridique=cj, nic_siege=nic, categorie_entreprise=None, tranche="21", naf="84.11Z")
        for siren, (name, nic, _, _, _, cj) in BODIES.items()
    ]
    records += [
        unit_record(SUPPLIER[:9], "ARMOR TRAVAUX", nic_siege="00013", categorie_entreprise="PME", tranche="12"),
        unit_record(BIG_SUPPLIER[:9], "GRANDE ENTREPRISE DE FRANCE", nic_siege="00028", categorie_entreprise="GE", tranche="53"),
        unit_record(PERSON_OPEN[:9], person=("MARIE", "LE GOFF"), categorie_juridique=1000, nic_siege="00015",
                    categorie_entreprise=None, tranche="NN", naf="71.11Z"),
        unit_record(PERSON_HIDDEN[:9], person=("JEAN", "SECRET"), categorie_juridique=1000, diffusion="P",
                    nic_siege="00011", categorie_entreprise=None, tranche=None, naf="43.34Z"),
        unit_record(CLOSED[:9], "ANCIENNE SCIERIE", nic_siege="00024", categorie_entreprise="PME"),
        unit_record(ABROAD[:9], "SOCIETE BELGE", categorie_juridique=3120, nic_siege="00011", categorie_entreprise="PME"),
    ]
    return records


def establishment_records() -> list[dict]:
    records = [
        establishment_record(siren + nic, code_commune=code, code_postal=cp, commune=commune, voie=("1", "PL", "DE LA MAIRIE"),
                             naf="84.11Z")
        for siren, (_, nic, code, cp, commune, _) in BODIES.items()
    ]
    records += [
        establishment_record(SUPPLIER[:9] + "00013", code_commune="35238", code_postal="35000", commune="RENNES"),
        establishment_record(SUPPLIER, siege=False, code_commune="29019", code_postal="29200", commune="BREST",
                             voie=("12", "BD", "JEAN MOULIN"), enseigne="ARMOR TRAVAUX BREST"),
        establishment_record(BIG_SUPPLIER, code_commune="75108", code_postal="75008", commune="PARIS 8"),
        establishment_record(PERSON_OPEN, code_commune="2A004", code_postal="20000", commune="AJACCIO", voie=("3", "RUE", "FESCH")),
        establishment_record(PERSON_HIDDEN, diffusion="P", code_commune="97411", code_postal="97400", commune="SAINT-DENIS",
                             voie=("7", "RUE", "DES PRIVES"), enseigne="CHEZ JEAN"),
        establishment_record(CLOSED, siege=False, etat="F", date_debut=dt.date(2023, 6, 30), code_commune="56121",
                             code_postal="56100", commune="LORIENT"),
        establishment_record(CLOSED[:9] + "00024", code_commune="56121", code_postal="56100", commune="LORIENT"),
        establishment_record(ABROAD, pays=("99131", "BELGIQUE")),
    ]
    return records


def write_extract(folder: Path, filler_rows: int = 2_000, units=None, establishments=None) -> dict[str, Path]:
    return {
        "unites_legales": write_stock_file(folder / "StockUniteLegale_utf8.parquet", "unites_legales",
                                           unit_records() if units is None else units, filler_rows=filler_rows),
        "etablissements": write_stock_file(folder / "StockEtablissement_utf8.parquet", "etablissements",
                                           establishment_records() if establishments is None else establishments,
                                           filler_rows=filler_rows),
    }


class FileHost:
    """What the handler serves and how it misbehaves; ``requests`` records what was asked."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[dict] = []
        self.fail_next: list[int] = []  # statuses to answer before serving normally
        self.cut_next: list[int] = []  # byte counts after which to drop the connection
        self.ranges = True
        self.last_modified = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.timezone.utc)


def _handler(host: FileHost):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            name = self.path.rsplit("/", 1)[-1]
            host.requests.append({"path": self.path, "headers": dict(self.headers)})
            if host.fail_next:
                status = host.fail_next.pop(0)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            path = host.root / name
            if not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            modified = email.utils.format_datetime(host.last_modified, usegmt=True)
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            start = 0
            range_header = self.headers.get("Range")
            if range_header and host.ranges and self.headers.get("If-Range") in (etag, modified):
                start = int(range_header.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.send_header("Accept-Ranges", "bytes" if host.ranges else "none")
            self.end_headers()
            if host.cut_next:
                cut = host.cut_next.pop(0)
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def file_host(tmp_path):
    host = FileHost(tmp_path / "served")
    host.root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host.base_url = f"http://127.0.0.1:{server.server_address[1]}/siren/stock"
    yield host
    server.shutdown()
    server.server_close()


@pytest.fixture
def sirene_settings(tmp_path, monkeypatch, file_host):
    """Settings on a fresh store whose SIRENE base URL is the loopback host, serving the extract (and the
    demo's legal populations, which the monthly run revalidates too)."""
    from core.config import PROJECT_ROOT, Settings
    from samples.populations import ARCHIVE, write_populations

    write_extract(file_host.root)
    write_populations(file_host.root, PROJECT_ROOT / "config" / "registry-demo.yaml")
    monkeypatch.setenv("DIGOR_POPULATIONS_URL", f"{file_host.base_url}/{ARCHIVE}")
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DIGOR_SIRENE_BASE_URL", file_host.base_url)
    monkeypatch.setenv("DIGOR_SIRENE_WORK_DIR", str(tmp_path / "sirene-work"))
    return Settings.from_env()
