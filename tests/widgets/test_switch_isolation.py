"""One body's widget files that cannot be read never keep the other bodies' widgets, the regional
files or the report back: the body keeps its previous widget, the report names it and the file, and
the next run tries it again."""

from __future__ import annotations

import json

import pytest

from chains.actes import CHAIN
from core.config import PROJECT_ROOT, Settings
from core.keys import widget_year_digest_key
from core.store import LocalStore
from load.versions import read_pointers
from load.widget_files import body_folder, index_key, pending_bodies, read_widget_json
from samples.actes import DEMO_NIGHTS, generate_drop_folder

GARBLED = "212900997"


@pytest.fixture
def two_nights(tmp_path, monkeypatch) -> tuple[Settings, LocalStore]:
    generate_drop_folder(tmp_path / "drop", PROJECT_ROOT / "config" / "registry-demo.yaml")
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DIGOR_DROP_DIR", str(tmp_path / "drop"))
    settings = Settings.from_env()
    for night in DEMO_NIGHTS[:2]:
        CHAIN.run_night(settings, night)
    return settings, LocalStore(tmp_path / "store")


def _garble_year_file(store: LocalStore, siren: str, year: str) -> str:
    """The year file version the body's manifest names, garbled by hand, and its private digest gone."""
    name = read_pointers(store, body_folder(siren))[year]["fichier"]
    key = f"{body_folder(siren)}/{name}"
    store.put_bytes(key, b"\x00garbled")
    store.delete(widget_year_digest_key("actes", siren, name))
    return key


def _indexes(store: LocalStore) -> dict[str, bytes]:
    """Each body's widget manifest (what a widget reads first), as it is now."""
    return {key.split("/")[3]: store.get_bytes(key) for key in store.list_keys("public/widgets/actes/")
            if key.endswith("/index.json")}


def test_a_garbled_year_file_stops_only_its_body_and_the_report_names_it(two_nights):
    settings, store = two_nights
    garbled = _garble_year_file(store, GARBLED, "2024")
    before = _indexes(store)

    result = CHAIN.run_night(settings, DEMO_NIGHTS[2])

    after = _indexes(store)
    assert after[GARBLED] == before[GARBLED]  # its widget still reads the previous set of files, whole
    assert all(after[siren] != before[siren] for siren in before if siren != GARBLED)  # the night's acts are shown
    assert pending_bodies(store) == {GARBLED}
    report = json.loads(store.get_bytes(result["key"]))
    assert report["totals"]["years_published"] and report["datagouv"]
    [failure] = report["widget_failures"]
    assert failure["body"] == GARBLED and garbled in failure["error"]
    assert [line for line in result["summary"] if GARBLED in line and garbled in line]


def test_the_body_is_tried_again_and_switched_once_its_file_is_made_again(two_nights):
    settings, store = two_nights
    _garble_year_file(store, GARBLED, "2024")
    CHAIN.run_night(settings, DEMO_NIGHTS[2])

    again = CHAIN.run_night(settings, DEMO_NIGHTS[2])  # nothing repaired: still failing, still named
    assert [f["body"] for f in json.loads(store.get_bytes(again["key"]))["widget_failures"]] == [GARBLED]

    repaired = CHAIN.run_night(settings, DEMO_NIGHTS[2], force_rebuild=True)
    assert "widget_failures" not in json.loads(store.get_bytes(repaired["key"]))
    assert not [line for line in repaired["summary"] if GARBLED in line and "widget" in line]
    assert pending_bodies(store) == set()
    manifest = json.loads(store.get_bytes(index_key(GARBLED)))
    for year, entry in manifest["annees"].items():
        assert len(read_widget_json(store, f"{body_folder(GARBLED)}/{entry['fichier']}")["actes"]) == entry["actes"]


def test_a_buyer_s_garbled_draft_stops_only_its_marches_widget(tmp_path, monkeypatch):
    from chains.decp import CHAIN as DECP, WIDGET_DRAFTS, buyer_prefix
    from samples.decp import generate_decp_exports

    nights = generate_decp_exports(tmp_path / "drop", PROJECT_ROOT / "config" / "registry-demo.yaml")["nights"]
    monkeypatch.setenv("DIGOR_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(tmp_path / "drop"))
    settings, store = Settings.from_env(), LocalStore(tmp_path / "store")
    DECP.run_night(settings, nights[0])
    buyer = "21290099700017"
    draft = f"{WIDGET_DRAFTS}/{buyer}/contrats-2021.json"  # a year the next night leaves alone
    store.put_bytes(draft, b'{"contrats": [')
    manifests = {key: store.get_bytes(key) for key in store.list_keys("public/widgets/marches/")
                 if key.endswith("/index.json")}

    result = DECP.run_night(settings, nights[1])

    ours = f"{buyer_prefix(buyer)}index.json"
    assert store.get_bytes(ours) == manifests[ours]
    assert any(store.get_bytes(key) != data for key, data in manifests.items() if key != ours)
    [failure] = json.loads(store.get_bytes(result["key"]))["widget_failures"]
    assert failure["body"] == buyer and draft in failure["error"]

    repaired = DECP.run_night(settings, nights[1], force_rebuild=True)
    assert "widget_failures" not in json.loads(store.get_bytes(repaired["key"]))
    assert json.loads(store.get_bytes(draft))["contrats"]


def test_a_failure_of_the_store_stops_the_switch_at_once(tmp_path):
    """The store refusing is no body's fault: it would fail every body, so the step fails (and Airflow retries)."""
    from chains.body_switches import failed_switches, switch_each
    from core.store import StoreUnreachable

    store, tried = LocalStore(tmp_path), []

    def switch(siren: str) -> list[str]:
        tried.append(siren)
        raise StoreUnreachable("the object store at http://127.0.0.1:9 did not answer")

    with pytest.raises(StoreUnreachable):
        switch_each(store, "actes", ["212900997", "200099992"], switch, str)
    assert tried == ["212900997"] and failed_switches(store, "actes") == []


def test_the_record_keeps_when_a_body_first_failed_and_forgets_a_body_gone(tmp_path):
    from chains.body_switches import failed_switches, switch_each

    store = LocalStore(tmp_path)

    def switch(siren: str) -> list[str]:
        if siren == GARBLED:
            raise ValueError(f"public/widgets/actes/{siren}/2024.0123456789ab.json cannot be read")
        return [f"public/widgets/actes/{siren}/index.json"]

    switched = switch_each(store, "actes", [GARBLED, "200099992"], switch, str)
    assert switched == ["public/widgets/actes/200099992/index.json"]
    [first] = failed_switches(store, "actes")
    switch_each(store, "actes", [GARBLED], switch, str)
    assert failed_switches(store, "actes") == [first]  # still failing: since the first night it did
    switch_each(store, "actes", ["200099992"], switch, str)  # the body left the registry
    assert failed_switches(store, "actes") == []
