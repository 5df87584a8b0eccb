"""Every real sample goes through the chain: objects read = published + rejected, file by file.

The files of ``reference/samples/decp-2022`` and ``decp-2019`` are converted with the chain's
own code (``chains.decp.convert_files``, what ``digor convert decp`` runs), every file of
each folder whatever its name or extension. Counts are checked against an independent count
of the objects in each file; the published JSON files are validated with the *official*
schemas; duplicates and modifications are checked on the real files that carry them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from jsonschema import Draft4Validator, Draft7Validator
from lxml import etree

from chains.decp import convert_files
from validate.table_validator import validate_table

NIGHT = "2025-06-30"
SCHEMA_202 = "schemas/decp-format-commande-publique-2.0.2/schema_decp_v2.0.2.json"
SCHEMA_203 = "schemas/decp-format-commande-publique-2.0.3/schema_decp_v2.0.3.json"
SCHEMA_150 = "schemas/decp-format-commande-publique-1.5.0/marches.json"


@pytest.fixture(scope="module")
def conversions(tmp_path_factory):
    """Converted folders, computed once per module (each test asks through ``reference_dir``)."""
    done: dict[str, tuple[Path, dict]] = {}

    def convert(reference_dir: Path, folder: str) -> tuple[Path, dict]:
        if folder not in done:
            paths = sorted(p for p in (reference_dir / "samples" / folder).rglob("*") if p.is_file())
            out = tmp_path_factory.mktemp(folder)
            done[folder] = (out, convert_files(paths, out, NIGHT)["report"])
        return done[folder]

    return convert


def independent_count(path: Path) -> int | None:
    """Objects in a file, counted without digor's reader (None: not an export)."""
    data = path.read_bytes()
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError:
            return None
        if etree.QName(root).localname in ("marche", "contrat-concession"):
            return 1
        return sum(1 for c in root if isinstance(c.tag, str) and etree.QName(c).localname in ("marche", "contrat-concession"))
    marches = document.get("marches") if isinstance(document, dict) else None
    if isinstance(marches, dict):
        return sum(len(v) if isinstance(v, list) else 1 for k, v in marches.items() if k in ("marche", "contrat-concession"))
    if isinstance(marches, list):
        return len(marches)
    return None


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder", ["decp-2022", "decp-2019"])
def test_every_file_balances_read_published_rejected(folder, reference_dir, conversions):
    out, report = conversions(reference_dir, folder)
    files = {Path(f["file"]).name: f for f in report["files"]}
    samples = sorted(p for p in (reference_dir / "samples" / folder).rglob("*") if p.is_file())
    assert len(files) == len(samples), "every sample file must be reported"
    for path in samples:
        entry = files[path.name]
        expected = independent_count(path)
        if expected is None:
            assert entry["error"] and entry["read"] == 0, f"{path.name} is not an export and must be reported unreadable"
            continue
        assert entry["read"] == expected, path.name
        assert entry["read"] == entry["published"] + entry["rejected"], path.name
        assert entry["balanced"]
    assert report["totals"]["read"] == report["totals"]["published"] + report["totals"]["rejected"]


def test_published_2022_json_is_valid_under_the_official_2_0_2_and_2_0_3(reference_dir, conversions):
    out, report = conversions(reference_dir, "decp-2022")
    files = sorted(out.glob("decp-[0-9][0-9][0-9][0-9].json"))
    assert files and report["totals"]["published"] > 0
    for schema in (SCHEMA_202, SCHEMA_203):
        validator = Draft7Validator(_load(reference_dir / schema))
        for path in files:
            document = _load(path)
            assert not list(validator.iter_errors(document)), f"{path.name} vs {schema}"
            for kind in document["marches"].values():
                assert all("_type" not in obj for obj in kind)


def test_history_stays_in_the_2019_format_valid_under_the_official_1_5_0(reference_dir, conversions):
    out, report = conversions(reference_dir, "decp-2019")
    files = sorted(out.glob("decp-*-format-2019.json"))
    assert files and not list(out.glob("decp-[0-9][0-9][0-9][0-9].json")), "2019 records are never converted to 2.0.2"
    validator = Draft4Validator(_load(reference_dir / SCHEMA_150))
    published = 0
    for path in files:
        document = _load(path)
        # The official schema object by object, then its uniqueItems on the whole list by canonical
        # text: the same verdict as validating the file at once, whose pairwise uniqueItems check
        # takes minutes on thousands of objects.
        for obj in document["marches"]:
            assert not list(validator.iter_errors({"marches": [obj]})), (path.name, obj.get("id"))
        texts = [json.dumps(obj, sort_keys=True) for obj in document["marches"]]
        assert len(set(texts)) == len(texts)
        published += len(document["marches"])
    assert published == report["totals"]["published"]


def test_flat_tables_are_valid_with_one_current_row_per_contract_and_titulaire(reference_dir, conversions):
    for folder in ("decp-2022", "decp-2019"):
        out, _ = conversions(reference_dir, folder)
        for path in sorted(out.glob("decp-*.csv")):
            assert validate_table(path, "decp-table").valid, path.name
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            current = table[table["donneesActuelles"] == "True"]
            assert not current.duplicated().any(), path.name
            assert set(current["uid"]) == set(table["uid"]), "every contract has a current version"


def test_duplicates_in_real_files_are_removed_and_reported(reference_dir, conversions):
    _, report = conversions(reference_dir, "decp-2022")
    by_name = {f["name"]: f for f in report["files"]}
    assert by_name["Marche.xml"]["duplicates"] == 1  # the same marché twice in the official example
    assert by_name["Contrat-concession-modification.xml"]["duplicates"] == 1
    _, report = conversions(reference_dir, "decp-2019")
    assert report["totals"]["duplicates"] > 100  # the 2019 sources overlap (PES, AWS, AIFE)
    assert all(r["message"].startswith("doublon") for r in report["rejected"] if r["statut"] == "doublon")


def test_modifications_of_real_files_are_applied(reference_dir, conversions):
    out, _ = conversions(reference_dir, "decp-2022")
    table = pd.read_csv(out / "decp-2024.csv", dtype=str, keep_default_na=False)
    concession = table[(table["id"] == "0612202306122023") & (table["donneesActuelles"] == "True")]
    assert set(concession["valeurGlobale"]) == {"25.0"} and set(concession["dureeMois"]) == {"14"}
    assert set(concession["modification_id"]) == {"1"}
    out, _ = conversions(reference_dir, "decp-2019")
    table = pd.read_csv(out / "decp-2007.csv", dtype=str, keep_default_na=False)
    marche = table[(table["id"] == "2010345211203") & (table["donneesActuelles"] == "True")]
    # Three modifications, ordered by publication date: holders end as Garami + Jullié, 30 months.
    assert set(marche["titulaire_denominationSociale"]) == {"Garami SARL", "Jullié SA"}
    assert set(marche["dureeMois"]) == {"30"} and set(marche["modification_id"]) == {"3"}


def test_rejects_name_the_reason_of_every_rejected_object(reference_dir, conversions):
    out, report = conversions(reference_dir, "decp-2022")
    rejects = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted((out / "rejets").glob("*.csv")))
    rejected = rejects[rejects["statut"] != "illisible"]
    assert rejected[["fichier", "position"]].drop_duplicates().shape[0] == report["totals"]["rejected"]
    maximilien = rejects[rejects["fichier"] == "decp-13001845000028-2024-10-06-01.json"]
    assert {"techniques", "procedure", "offresRecues"} <= set(maximilien["champ"])
    assert (rejects[rejects["statut"] == "illisible"]["fichier"]).tolist() == [
        "result_decp-13001845000028-2024-02-29-01.txt", "source_datasets.json"]
