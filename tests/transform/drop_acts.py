"""A tiny drop folder written by the tests: a few good acts beside the hostile one under test.

Each helper writes what the télétransmission exporter would (``<drop>/<night>/<id_d>/``),
so a test runs the real actes chain on it and asserts on what a user sees: the public
files, the quarantine, the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.config import PROJECT_ROOT, Settings
from core.keys import quarantine_key, report_key
from samples.actes import minimal_pdf

NIGHT = "2025-03-03"
SIREN, SIRET, ID_E = "212900997", "21290099700017", "101"
REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"


def act_data(numero: str, **changes) -> dict:
    """The form of a délibération of Kerdigor decided on 2025-02-27 (``None`` removes a field)."""
    data = {
        "acte_nature": "1",
        "numero_de_lacte": numero,
        "objet": f"Délibération {numero}",
        "date_de_lacte": "2025-02-27",
        "classification": "5.2 Fonctionnement des assemblees",
        "publication_open_data": "",
        "arrete": [f"{numero}.pdf"],
        "date_tdt_postage": "2025-02-28",
        "siren": SIREN,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def write_act(drop: Path, id_d: str, data: dict, files: dict[str, bytes] | None = None, *,
              night: str = NIGHT, metadata: bytes | None = None, flow: str = "actes-generique") -> Path:
    """An act folder: ``metadata.json`` (or the given bytes), then a PDF for every file its form names
    unless ``files`` gives the folder's files."""
    folder = drop / night / id_d
    folder.mkdir(parents=True, exist_ok=True)
    if metadata is None:
        document = {"info": {"id_d": id_d, "type": flow, "last_modification": f"{night} 09:00:00"},
                    "data": data, "id_e": ID_E}
        metadata = json.dumps(document, ensure_ascii=False).encode("utf-8")
    (folder / "metadata.json").write_bytes(metadata)
    if files is None:
        names = [n for field in ("arrete", "acte_tamponne", "autre_document_attache") for n in data.get(field, [])]
        files = {name: minimal_pdf([f"{id_d} {name}"]) for name in names}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def settings_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    """A fresh store on the drop folder ``tmp_path/drop``; ``env``: more ``DIGOR_*`` variables."""
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DIGOR_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("DIGOR_REGISTRY", str(REGISTRY))
    for name, value in env.items():
        monkeypatch.setenv(f"DIGOR_{name}", value)
    (tmp_path / "drop").mkdir(exist_ok=True)
    return Settings.from_env()


def run_night(settings: Settings, night: str = NIGHT) -> dict:
    return actes_chain.CHAIN.run_night(settings, night)


def store_root(settings: Settings) -> Path:
    return Path(settings.store_url)


def public_csv(settings: Settings, name: str) -> pd.DataFrame:
    """A regional file (``actes/actes-2025.csv``) as text cells; empty when it was not published."""
    path = store_root(settings) / "public" / name
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def quarantine(settings: Settings, night: str = NIGHT) -> dict:
    return json.loads((store_root(settings) / quarantine_key("actes", night)).read_text(encoding="utf-8"))


def report(settings: Settings, night: str = NIGHT) -> dict:
    return json.loads((store_root(settings) / report_key("actes", night)).read_text(encoding="utf-8"))


def rejected_reasons(settings: Settings, night: str = NIGHT) -> dict[str, str]:
    """Source id -> reason of every act the night rejected."""
    return {r["source_id"]: r["reason"] for r in quarantine(settings, night)["rejects"]}
