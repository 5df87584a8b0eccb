"""A region is a configuration: two regions served by one deployment never share an output, each from
its own source kind (the first from its drop folder, the second from S²LOW over mutual TLS)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from core.config import PROJECT_ROOT, Settings
from core.keys import raw_prefix
from digor.cli import main as digor
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS, generate_drop_folder
from samples.s2low_platform import sample_platform
from tests.regions import region_identities, stored_texts

FIRST = PROJECT_ROOT / "config" / "registry-demo.yaml"
SECOND = PROJECT_ROOT / "config" / "registry-demo-centre.yaml"


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory):
    root = tmp_path_factory.mktemp("regions")
    regions = root / "regions.yaml"
    regions.write_text(yaml.safe_dump({"regions": {"centre-demo": {
        "registry": str(SECOND), "source": "s2low", "public_base_url": "http://127.0.0.1:8766",
        "alert_to": "centre@example.org"}}}), encoding="utf-8")
    generate_drop_folder(root / "drop", FIRST, DEMO_NIGHTS[:1])
    env = {"DIGOR_STORE": str(root / "store"), "DIGOR_DROP_DIR": str(root / "drop"), "DIGOR_REGIONS": str(regions),
           "DIGOR_REGISTRY": str(FIRST)}
    with pytest.MonkeyPatch.context() as patch, sample_platform(root / "s2low", SECOND, DEMO_NIGHTS[:1]) as (s2low, conns):
        for name, value in {**env, **conns, "NO_PROXY": "127.0.0.1,localhost"}.items():
            patch.setenv(name, value)
        patch.delenv("DIGOR_REGION", raising=False)
        for night in DEMO_NIGHTS[:1]:
            assert digor(["run", "actes", "--date", night]) == 0
            s2low.clock = night_cutoff(night)
            assert digor(["--region", "centre-demo", "run", "actes", "--date", night]) == 0
        yield {"root": root, "env": env, "first": root / "store", "second": root / "store" / "regions" / "centre-demo",
               "s2low": s2low}


def test_nothing_of_one_region_is_in_the_other_s_files(two_regions):
    first, second = two_regions["first"], two_regions["second"]
    assert (first / "public/actes/actes-2025.csv").is_file() and (second / "public/actes/actes-2025.csv").is_file()
    for store, skip, foreign in ((first, second.parent, region_identities(SECOND)), (second, None, region_identities(FIRST))):
        for path, text in stored_texts(store, skip):
            found = sorted(value for value in foreign if value in text)
            assert not found, f"{path} holds {found} of the other region"


def test_the_second_region_s_acts_came_through_s2low_each_body_with_its_own_certificate(two_regions):
    first, second, s2low = two_regions["first"], two_regions["second"], two_regions["s2low"]
    sirens = {body["siren"] for body in yaml.safe_load(SECOND.read_text(encoding="utf-8"))["bodies"]}
    assert {p.name for p in (second / "raw" / "actes").iterdir()} == {"s2low"}
    assert not (first / raw_prefix("actes", "s2low")).exists()
    assert {r.user for r in s2low.calls("list")} == sirens  # each body listed with its own certificate
    published = pd.read_csv(second / "public/actes/actes-2025.csv", dtype=str, keep_default_na=False)
    transactions = {t.id: t.authority for t in s2low.transactions}
    assert len(published) and set(published["SOURCE_ID"]) <= set(transactions)
    assert all(transactions[row.SOURCE_ID] == row.COLL_SIRET[:9] for row in published.itertuples())


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
