"""A region is a configuration: two regions served by one deployment never share an output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from core.config import PROJECT_ROOT, Settings
from digor.cli import main as digor
from samples.actes import DEMO_NIGHTS, generate_drop_folder

FIRST = PROJECT_ROOT / "config" / "registry-demo.yaml"
SECOND = PROJECT_ROOT / "config" / "registry-demo-centre.yaml"


def _identities(registry: Path) -> set[str]:
    document = yaml.safe_load(registry.read_text(encoding="utf-8"))
    return {value for body in document["bodies"] for value in (body["siren"], body["siret"], body["name"])} | {
        document["region"]["name"], document["region"]["publisher"]}


def _texts(root: Path, skip: Path | None = None):
    """(path, text) of every file under ``root`` (Parquet as its rows, gzip unpacked), ``skip`` left out."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip is not None and skip in path.parents:
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if path.suffix == ".parquet":
            yield path, json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
        else:
            yield path, data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory):
    root = tmp_path_factory.mktemp("regions")
    regions = root / "regions.yaml"
    regions.write_text(yaml.safe_dump({"regions": {"centre-demo": {
        "registry": str(SECOND), "drop_dir": str(root / "drop-centre"), "public_base_url": "http://127.0.0.1:8766",
        "alert_to": "centre@example.org"}}}), encoding="utf-8")
    generate_drop_folder(root / "drop", FIRST, DEMO_NIGHTS[:1])
    generate_drop_folder(root / "drop-centre", SECOND, DEMO_NIGHTS[:1])
    env = {"DIGOR_STORE": str(root / "store"), "DIGOR_DROP_DIR": str(root / "drop"), "DIGOR_REGIONS": str(regions),
           "DIGOR_REGISTRY": str(FIRST)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("DIGOR_REGION", raising=False)
        for night in DEMO_NIGHTS[:1]:
            assert digor(["run", "actes", "--date", night]) == 0
            assert digor(["--region", "centre-demo", "run", "actes", "--date", night]) == 0
        yield {"root": root, "env": env, "first": root / "store", "second": root / "store" / "regions" / "centre-demo"}


def test_nothing_of_one_region_is_in_the_other_s_files(two_regions):
    first, second = two_regions["first"], two_regions["second"]
    assert (first / "public/actes/actes-2025.csv").is_file() and (second / "public/actes/actes-2025.csv").is_file()
    for store, skip, foreign in ((first, second.parent, _identities(SECOND)), (second, None, _identities(FIRST))):
        for path, text in _texts(store, skip):
            found = sorted(value for value in foreign if value in text)
            assert not found, f"{path} holds {found} of the other region"


def test_each_region_s_widgets_serve_its_own_bodies_under_its_own_brand(two_regions):
    for store, registry in ((two_regions["first"], FIRST), (two_regions["second"], SECOND)):
        document = yaml.safe_load(registry.read_text(encoding="utf-8"))
        own = {body["siren"] for body in document["bodies"]}
        folders = {p.name for p in (store / "public/widgets/actes").iterdir() if p.is_dir()}
        assert folders and folders <= own
        catalogue = json.loads((store / "public/widgets/actes-organismes.json").read_text(encoding="utf-8"))
        assert catalogue["publie_par"] == document["region"]["publisher"]
        assert {entry["siren"] for entry in catalogue["organismes"]} <= own
        manifest = json.loads((store / f"public/widgets/actes/{sorted(folders)[0]}/index.json").read_text(encoding="utf-8"))
        assert document["region"]["publisher"] in json.dumps(manifest, ensure_ascii=False)


def test_a_region_s_settings_are_its_own_and_one_region_deployments_are_unchanged(two_regions, monkeypatch):
    for name, value in two_regions["env"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DIGOR_REGION", raising=False)
    alone = Settings.from_env()
    assert (alone.region, alone.store_url, alone.registry_path) == ("", str(two_regions["first"]), FIRST)
    monkeypatch.setenv("DIGOR_REGION", "centre-demo")
    centre = Settings.from_env()
    assert centre.store_url == str(two_regions["second"]) and centre.registry_path == SECOND
    assert centre.alert_to == "centre@example.org" and centre.public_base_url == "http://127.0.0.1:8766"


def test_an_unknown_region_is_one_line(two_regions, monkeypatch, capsys):
    for name, value in two_regions["env"].items():
        monkeypatch.setenv(name, value)
    assert digor(["--region", "atlantide", "run", "actes", "--date", DEMO_NIGHTS[0]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "region 'atlantide' is not in" in err and "centre-demo" in err
