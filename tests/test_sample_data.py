"""Tests of the demo drop-folder generator: determinism, coverage, validity of every file."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import yaml
from lxml import etree

from core.nomenclature_actes import NATURE_ABBREVIATIONS, NATURES, parse_classification
from samples.actes import DEMO_NIGHTS, generate_drop_folder, minimal_pdf

REGISTRY = Path(__file__).resolve().parents[1] / "config" / "registry-demo.yaml"
BODIES = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["bodies"]
NS = {"actes": "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"}
FILE_KEYS = ("arrete", "acte_tamponne", "autre_document_attache", "aractes")


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    root = tmp_path_factory.mktemp("drop")
    return root, generate_drop_folder(root, REGISTRY)


@pytest.fixture(scope="module")
def acts(drop):
    """Every valid act folder: (night, folder, metadata)."""
    root, summary = drop
    return [
        (path.parent.parent.name, path.parent, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(root.glob("*/*/metadata.json"))
        if path.parent.name not in summary["broken"]
    ]


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_inputs_give_identical_bytes(tmp_path):
    first = generate_drop_folder(tmp_path / "a", REGISTRY)
    second = generate_drop_folder(tmp_path / "b", REGISTRY)
    assert first == second
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")


def test_regenerating_replaces_the_nights(tmp_path):
    generate_drop_folder(tmp_path, REGISTRY)
    before = _hashes(tmp_path)
    (tmp_path / DEMO_NIGHTS[0] / "stale00").mkdir()
    (tmp_path / DEMO_NIGHTS[0] / "stale00" / "metadata.json").write_text("{}")
    generate_drop_folder(tmp_path, REGISTRY)
    assert _hashes(tmp_path) == before


def test_layout(drop):
    root, summary = drop
    assert summary["nights"] == list(DEMO_NIGHTS)
    assert sorted(p.name for p in root.iterdir()) == list(DEMO_NIGHTS)
    folders = [p for p in root.glob("*/*") if p.is_dir()]
    assert len(folders) == summary["acts"]
    assert 60 <= summary["acts"] <= 90
    assert all(re.fullmatch(r"[A-Za-z0-9]{7}", p.name) for p in folders)


def test_coverage(acts):
    natures = Counter(meta["data"]["acte_nature"] for _, _, meta in acts)
    years = {meta["data"]["date_de_lacte"][:4] for _, _, meta in acts}
    id_es = {meta["id_e"] for _, _, meta in acts}
    assert set(natures) == set(NATURES)
    assert natures["1"] == max(natures.values())
    assert years == {"2024", "2025"}
    assert id_es == {body["pastell_id_e"] for body in BODIES}
    closed = {body["pastell_id_e"] for body in BODIES if not body["open_data"]}
    assert closed & id_es


def test_metadata_is_valid_pastell_shape(acts):
    sirens = {body["pastell_id_e"]: body["siren"] for body in BODIES}
    without_siren = 0
    for _, folder, meta in acts:
        data = meta["data"]
        assert meta["info"]["id_d"] == folder.name
        assert meta["info"]["type"] == "actes-generique"
        assert meta["info"]["titre"] == data["objet"]
        assert meta["last_action"]["action"] == "acquiter-tdt"
        for section in (meta["info"], data, meta["last_action"]):
            for value in section.values():
                assert isinstance(value, str) or all(isinstance(v, str) for v in value)
        assert isinstance(meta["id_e"], str)
        assert re.fullmatch(r"[0-9A-Z_]{2,15}", data["numero_de_lacte"])
        decided = date.fromisoformat(data["date_de_lacte"])
        assert decided <= date.fromisoformat(data["date_tdt_postage"])
        assert data["publication_open_data"] in {"", "1", "2", "3"}
        assert parse_classification(data["classification"]).code
        if "siren" in data:
            assert data["siren"] == sirens[meta["id_e"]]
        else:
            without_siren += 1
        for key in FILE_KEYS:
            for name in data.get(key, []):
                assert (folder / name).is_file(), f"{folder.name}: {name}"
    assert 1 <= without_siren <= 5


def test_mostly_three_level_classifications_and_messy_objets(acts):
    classifications = [meta["data"]["classification"].split()[0] for _, _, meta in acts]
    assert sum(code.count(".") == 2 for code in classifications) > len(classifications) / 2
    objets = [meta["data"]["objet"] for _, _, meta in acts]
    assert any("<script>alert(1)</script>" in objet for objet in objets)
    assert any("<img src=x onerror=alert(1)>" in objet for objet in objets)
    assert any(len(objet) > 256 for objet in objets)
    beyond_latin_1 = "".join(ch for objet in objets for ch in objet if ord(ch) > 255)
    assert set("’œ→€") <= set(beyond_latin_1)
    values = Counter(meta["data"]["publication_open_data"] for _, _, meta in acts)
    assert values.most_common(1)[0][0] == "" and {"1", "2", "3"} <= set(values)
    assert any("acte_tamponne" not in meta["data"] for _, _, meta in acts)
    assert any("autre_document_attache" in meta["data"] for _, _, meta in acts)


def test_act_numbers_are_unique_per_body_except_the_resent_act(drop, acts):
    _, summary = drop
    keys = Counter(
        (meta["id_e"], meta["data"]["numero_de_lacte"]) for _, folder, meta in acts
        if folder.name not in summary["resent"]
    )
    assert max(keys.values()) == 1


def test_resent_act_is_a_new_version(drop, acts):
    _, summary = drop
    (id_d,) = summary["resent"]
    versions = sorted((night, meta) for night, folder, meta in acts if folder.name == id_d)
    assert len(versions) == 2
    (first_night, old), (second_night, new) = versions
    assert first_night < second_night
    assert old["data"]["numero_de_lacte"] == new["data"]["numero_de_lacte"]
    assert old["data"]["objet"] != new["data"]["objet"]
    assert new["info"]["last_modification"] > old["info"]["last_modification"]


def test_pdfs_are_well_formed(drop):
    root, _ = drop
    pdfs = sorted(root.rglob("*.pdf"))
    assert pdfs
    for path in pdfs:
        content = path.read_bytes()
        assert content.startswith(b"%PDF-") and content.endswith(b"%%EOF"), path
        offset = int(content.rsplit(b"startxref", 1)[1].split()[0])
        assert content[offset:].startswith(b"xref"), path


def test_pdf_writer_escapes_and_offsets():
    content = minimal_pdf(["Délibération (n°1) \\ test — 10 €"])
    assert rb"(Deliberation \(n1\) \\ test - 10 EUR) Tj" in content
    xref = content[int(content.rsplit(b"startxref", 1)[1].split()[0]):].split(b"\n")
    for number, row in enumerate(xref[3:8], 1):
        assert content[int(row[:10]):].startswith(b"%d 0 obj" % number)


def test_aracte_is_iso_8859_1_and_matches_metadata(acts):
    for _, folder, meta in acts:
        data = meta["data"]
        raw = (folder / data["aractes"][0]).read_bytes()
        assert raw.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
        raw.decode("iso-8859-1")
        tree = etree.fromstring(raw).getroottree()
        assert tree.docinfo.encoding.upper() == "ISO-8859-1"
        root = tree.getroot()
        assert root.tag == "{%s}ARActe" % NS["actes"]
        siren = data.get("siren") or next(b["siren"] for b in BODIES if b["pastell_id_e"] == meta["id_e"])
        expected = "-".join((
            "029", siren, data["date_de_lacte"].replace("-", ""), data["numero_de_lacte"],
            NATURE_ABBREVIATIONS[data["acte_nature"]],
        ))
        assert root.get("{%s}IDActe" % NS["actes"]) == expected
        assert root.get("{%s}DateReception" % NS["actes"]) == data["date_tdt_postage"]
        matiere = parse_classification(data["classification"]).code.split(".")
        assert root.xpath("actes:ActeRecu/actes:CodeMatiere1/@actes:CodeMatiere", namespaces=NS) == matiere[:1]
        assert root.xpath("actes:ActeRecu/actes:CodeMatiere2/@actes:CodeMatiere", namespaces=NS) == matiere[1:]
        assert root.xpath("actes:ActeRecu/@actes:CodeNatureActe", namespaces=NS) == [data["acte_nature"]]
        assert root.xpath("string(actes:ActeRecu/actes:Objet)", namespaces=NS) == data["objet"]


def test_broken_acts_are_reported_and_each_has_its_defect(drop):
    root, summary = drop
    assert len(summary["broken"]) == 6 == len(set(summary["broken"]))
    assert set(summary["reasons"]) == set(summary["broken"])
    folders = {p.name: p for p in root.glob("*/*") if p.name in summary["broken"]}
    assert set(folders) == set(summary["broken"])
    known_sirens = {body["siren"] for body in BODIES}
    known_id_es = {body["pastell_id_e"] for body in BODIES}
    found = set()
    for folder in folders.values():
        text = (folder / "metadata.json").read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            found.add("truncated json")
            continue
        fields = data["data"]
        if "date_de_lacte" not in fields:
            found.add("no date")
        elif fields["date_de_lacte"] == "31/02/2025":
            found.add("impossible date")
        if fields["classification"].startswith("12.9"):
            found.add("unknown matière")
        if not (folder / fields["arrete"][0]).exists():
            found.add("missing pdf")
        if fields.get("siren") not in known_sirens and data["id_e"] not in known_id_es:
            found.add("unknown body")
    assert found == {"truncated json", "no date", "impossible date", "unknown matière", "missing pdf", "unknown body"}
