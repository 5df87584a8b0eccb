"""Droit à l'erreur: a withdrawal reaches every public output at once, and the ledger says why."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pendulum
import pytest
import yaml

from chains import actes as actes_chain
from core.config import PROJECT_ROOT, Settings
from core.store import plain_bytes
from digor.cli import main as digor
from samples.actes import DEMO_NIGHTS
from tests.replay import Replay, demo_inputs, nights_replayed, shared


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the actes chain, once for the module."""
    yield from nights_replayed(tmp_path_factory.mktemp("withdrawal"))


@pytest.fixture
def published(replayed, monkeypatch) -> Path:
    """The module's store, for tests that only read it."""
    replayed.apply(monkeypatch)
    return replayed.store


@pytest.fixture
def store(replayed, tmp_path, monkeypatch) -> Path:
    """A copy of the module's store, for a test that unpublishes, publishes or reruns."""
    copy = replayed.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    return copy.store


@pytest.fixture
def store_settings(store) -> Settings:
    """The settings of the copied store."""
    return Settings.from_env()


def _a_published_deliberation(store: Path) -> pd.Series:
    frame = _csv(store / "public/deliberations/deliberations-2025.csv")
    return frame[frame["DELIB_URL"] != ""].iloc[0]


def _everywhere(store: Path, siret: str, numero: str, url: str) -> dict[str, bool]:
    siren = siret[:9]
    actes = _csv(store / "public/actes/actes-2025.csv")
    widget = json.loads((store / f"public/widgets/actes/{siren}/2025.json").read_text(encoding="utf-8"))
    dry_run = json.loads((store / "private/datagouv/dry-run/deliberations/deliberations-2025.csv.json").read_text())
    delib_csv = store / "public/deliberations/deliberations-2025.csv"
    return {
        "deliberations": numero in set(_csv(delib_csv).query("COLL_SIRET == @siret")["DELIB_ID"]),
        "actes": numero in set(actes.query("COLL_SIRET == @siret")["ACTE_ID"]),
        "widget": numero in {a["numero"] for a in widget["actes"]},
        "document": (store / "public" / url.split("/", 3)[3]).exists(),
        "datagouv_upload_is_current": dry_run["metadata"]["checksum"]["value"]
        == __import__("hashlib").sha256(delib_csv.read_bytes()).hexdigest(),
    }


def test_unpublish_removes_the_act_everywhere_and_publish_restores_it_with_its_date(store, capsys):
    act = _a_published_deliberation(store)
    siret, numero, url = act["COLL_SIRET"], act["DELIB_ID"], act["DELIB_URL"]
    before = _csv(store / "public/actes/actes-2025.csv").query("ACTE_ID == @numero").iloc[0]["PUBLICATION_DATE"]
    assert all(_everywhere(store, siret, numero, url).values())

    assert digor(["unpublish", siret[:9], numero, "--reason", "données personnelles dans l'annexe"]) == 0
    where = _everywhere(store, siret, numero, url)
    assert where == {"deliberations": False, "actes": False, "widget": False, "document": False,
                     "datagouv_upload_is_current": True}

    capsys.readouterr()
    assert digor(["ledger", siret[:9], numero]) == 0
    shown = capsys.readouterr().out
    assert "offline (decision: withdrawn)" in shown and "données personnelles dans l'annexe" in shown

    assert digor(["publish", siret[:9], numero, "--reason", "annexe corrigée côté préfecture"]) == 0
    assert all(_everywhere(store, siret, numero, url).values())
    after = _csv(store / "public/actes/actes-2025.csv").query("ACTE_ID == @numero").iloc[0]["PUBLICATION_DATE"]
    assert after == before


def test_a_rerun_of_the_night_does_not_undo_a_withdrawal(store, store_settings):
    act = _a_published_deliberation(store)
    assert digor(["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur"]) == 0
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(store_settings, night)
    assert not _everywhere(store, act["COLL_SIRET"], act["DELIB_ID"], act["DELIB_URL"])["actes"]


def test_unknown_act_or_missing_reason_is_a_clear_error(store, capsys):
    assert digor(["unpublish", "212900997", "NOPE_1", "--reason", "x"]) == 2
    assert "no act 'NOPE_1' for SIREN 212900997" in capsys.readouterr().err
    act = _a_published_deliberation(store)
    assert digor(["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "  "]) == 2


def test_to_be_decided_acts_are_listed_in_the_report_never_online(published):
    report = json.loads((published / f"private/reports/actes/date={DEMO_NIGHTS[-1]}/report.json").read_text())
    pending = {(item["siren"], item["source_id"]) for item in report["to_decide"]}
    assert pending, "the sample region has contracts without a decision"
    online = pd.concat(_csv(p) for p in (published / "public/actes").glob("*.csv"))
    assert not pending & {(s[:9], i) for s, i in zip(online["COLL_SIRET"], online["SOURCE_ID"])}


def test_body_modes_individual_acts_and_metadata_only(demo_settings, tmp_path):
    registry = yaml.safe_load((PROJECT_ROOT / "config/registry-demo.yaml").read_text(encoding="utf-8"))
    registry["bodies"][0]["metadata_only"] = True
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    settings = demo_settings.with_overrides(registry_path=path)
    for night in DEMO_NIGHTS:
        actes_chain.CHAIN.run_night(settings, night)
    store = Path(settings.store_url)
    actes = pd.concat(_csv(p) for p in (store / "public/actes").glob("*.csv"))
    first = actes[actes["COLL_SIRET"] == registry["bodies"][0]["siret"]]
    assert len(first) and (first["ACTE_URL"] == "").all(), "metadata-only body: rows without documents"
    assert "3" not in set(actes["ACTE_NATURE_CODE"]), "no body opted in to individual acts"


def test_decisions_dag_republishes_through_airflow(airflow_db, store, store_settings):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    act = _a_published_deliberation(store)
    actes_chain.record_engineer_decision(store_settings, act["COLL_SIRET"][:9], act["DELIB_ID"],
                                         __import__("core.publication_rule").publication_rule.Decision.WITHDRAWN,
                                         "test")
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes_decisions")
    run = dag.test(logical_date=pendulum.now("UTC"), run_conf={"years": [2025], "bodies": [act["COLL_SIRET"][:9]]})
    assert run.state == DagRunState.SUCCESS
    assert not _everywhere(store, act["COLL_SIRET"], act["DELIB_ID"], act["DELIB_URL"])["actes"]


def test_budget_xml_documents_are_never_published_as_files(published):
    actes = pd.concat(_csv(p) for p in (published / "public/actes").glob("*.csv"))
    budgets = actes[actes["ACTE_NATURE_CODE"] == "5"]
    assert len(budgets), "the sample region sends budgets"
    assert not budgets["ACTE_URL"].str.endswith(".xml").any()
    assert not list((published / "public/documents").rglob("*.xml"))


# ---- every copy goes: retained versions, caches, data.gouv.fr, a re-sent act in another year ------

SIREN = "212900997"


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory) -> Iterator[Replay]:
    """The first two demo nights: the second only adds acts, so the first night's versions are retained
    (the third corrects an act, which no retained version may keep showing)."""
    replay = demo_inputs(tmp_path_factory.mktemp("two-nights"))
    with replay.active() as settings:
        for night in DEMO_NIGHTS[:2]:
            actes_chain.CHAIN.run_night(settings, night)
    yield from shared(replay)


@pytest.fixture
def early_store(two_nights, tmp_path, monkeypatch) -> Path:
    copy = two_nights.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    return copy.store


def _table(path: Path) -> pd.DataFrame:
    return _csv(path) if path.suffix == ".csv" else pd.read_parquet(path).astype(str)


def _holders(store: Path, siren: str, source_id: str, numero: str) -> list[str]:
    """Every public file, under any name (content-addressed versions too), that still shows the act."""
    found = []
    for path in sorted(p for p in (store / "public").rglob("*") if p.is_file()):
        name = path.relative_to(store / "public").as_posix()
        if path.suffix in (".csv", ".parquet") and name.split("/")[0] in ("actes", "deliberations"):
            rows = _table(path)
            rows = rows[rows["COLL_SIRET"].str[:9] == siren]
            shown = rows["SOURCE_ID"] == source_id if "SOURCE_ID" in rows else rows["DELIB_ID"] == numero
            found += [name] if shown.any() else []
        elif name.startswith(f"widgets/actes/{siren}/") and source_id in plain_bytes(path.read_bytes()).decode("utf-8"):
            found.append(name)
    return found


def _retained(store: Path, names: list[str]) -> list[str]:
    """Those of ``names`` that are versions no manifest names any more (kept for readers of an old one)."""
    from load.versions import is_version

    named = set()
    for manifest in (store / "public").rglob("index.json"):
        text = manifest.read_text(encoding="utf-8")
        named |= {p.name for p in manifest.parent.iterdir() if p.name in text}
    return [n for n in names if is_version(n.rsplit("/", 1)[1]) and n.rsplit("/", 1)[1] not in named]


def _first_night_deliberation(store: Path) -> pd.Series:
    """A deliberation of ``SIREN`` published on the first night: every later version of its year shows it."""
    current = _csv(store / "public/actes/actes-2025.csv")
    delibs = set(_csv(store / "public/deliberations/deliberations-2025.csv")["DELIB_ID"])
    for _, act in current[current["COLL_SIRET"].str[:9] == SIREN].iterrows():
        holders = _holders(store, SIREN, act["SOURCE_ID"], act["ACTE_ID"])
        kinds = {h.split("/")[0] for h in _retained(store, holders)}
        if act["ACTE_ID"] in delibs and {"actes", "deliberations", "widgets"} <= kinds:
            return act
    raise AssertionError("the demo has a first-night deliberation of 212900997 in retained versions")


def test_unpublish_leaves_no_retained_version_that_shows_the_act(early_store):
    store = early_store
    act = _first_night_deliberation(store)
    source_id, numero, url = act["SOURCE_ID"], act["ACTE_ID"], act["ACTE_URL"]
    assert digor(["unpublish", SIREN, source_id, "--reason", "nom d'un particulier dans l'objet"]) == 0
    assert _holders(store, SIREN, source_id, numero) == []
    assert not (store / "public" / url.split("/", 3)[3]).exists(), "the PDF is gone too"


def test_a_withdrawal_deletes_the_retained_versions_on_s3_and_caches_let_go_within_minutes(
        s3_store_url, tmp_path, monkeypatch):
    from core.store import CACHE_WITHDRAWABLE, open_store
    from load.versions import is_version

    replay = demo_inputs(tmp_path / "s3", DIGOR_STORE=s3_store_url)
    settings = replay.apply(monkeypatch)
    for night in DEMO_NIGHTS[:2]:
        actes_chain.CHAIN.run_night(settings, night)
    s3 = open_store(s3_store_url)
    local = tmp_path / "copy"
    for key in s3.list_keys("public/"):
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        (local / key).write_bytes(s3.get_bytes(key))
    act = _first_night_deliberation(local)
    retained = _retained(local, _holders(local, SIREN, act["SOURCE_ID"], act["ACTE_ID"]))
    assert all(s3.exists(f"public/{name}") for name in retained)

    assert digor(["unpublish", SIREN, act["SOURCE_ID"], "--reason", "erreur"]) == 0
    assert [name for name in retained if s3.exists(f"public/{name}")] == []
    withdrawable = [k for k in s3.list_keys("public/") if is_version(k.rsplit("/", 1)[1]) or k.startswith("public/documents/")]
    assert {k.split("/")[1] for k in withdrawable} >= {"actes", "deliberations", "widgets", "documents"}
    for key in withdrawable:
        cache = s3.head(key)["CacheControl"]
        assert cache == CACHE_WITHDRAWABLE and "immutable" not in cache, key


def _dry_run_is_current(store: Path, name: str) -> bool:
    import hashlib

    request = json.loads((store / f"private/datagouv/dry-run/{name}.json").read_text())
    return request["metadata"]["checksum"]["value"] == hashlib.sha256((store / "public" / name).read_bytes()).hexdigest()


def test_withdrawals_that_empty_a_file_reach_data_gouv(store):
    """Rows that leave because the ledger says so are expected: down to an empty file, none is held back."""
    name = "deliberations/deliberations-2024.csv"
    acts = _csv(store / "public" / name)
    assert len(acts) > 2
    for _, act in acts.iterrows():
        assert digor(["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "retrait demandé"]) == 0
        assert _dry_run_is_current(store, name), f"{act['DELIB_ID']}: the file sent is the file published"
    assert _csv(store / "public" / name).empty


def test_an_accidental_shrink_is_still_held_back_from_data_gouv(store, store_settings):
    """Acts gone without a decision (staging lost for two nights): the guard still stops the upload."""
    for night in DEMO_NIGHTS[1:]:
        (store / f"staging/actes/annee=2025/date={night}.parquet").unlink()
    result = actes_chain.CHAIN.republish(store_settings, [2025], None, "accident")
    report = json.loads((store / result["key"]).read_text())
    held = {o["resource"] for o in report["datagouv"] if o["status"] == "held-back"}
    assert "deliberations/deliberations-2025.csv" in held
    assert not _dry_run_is_current(store, "deliberations/deliberations-2025.csv")


def _resend_a_year_earlier(store: Path, night: str) -> dict:
    """A night re-sending a first-night deliberation of ``SIREN`` with its decision date in the year before."""
    drop = store.parent / "drop"
    online = set(_csv(store / "public/deliberations/deliberations-2025.csv")["DELIB_ID"])
    for folder in sorted((drop / DEMO_NIGHTS[0]).iterdir()):
        metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        data = metadata["data"]
        if data["siren"] == SIREN and data["numero_de_lacte"] in online:
            break
    target = drop / night / folder.name
    __import__("shutil").copytree(folder, target)
    data["date_de_lacte"] = "2024-12-20"
    metadata["info"]["last_modification"] = f"{night} 09:00:00"
    metadata["last_action"]["date"] = f"{night} 09:00:00"
    (target / "metadata.json").write_text(json.dumps(metadata, ensure_ascii=False, indent=4), encoding="utf-8")
    return {"source_id": folder.name, "numero": data["numero_de_lacte"]}


def _years_showing(store: Path, numero: str) -> dict[str, set[int]]:
    widget = {int(p.stem): p for p in (store / f"public/widgets/actes/{SIREN}").glob("20??.json")}
    return {
        "deliberations": {y for y in (2024, 2025)
                          if numero in set(_csv(store / f"public/deliberations/deliberations-{y}.csv")["DELIB_ID"])},
        "actes": {y for y in (2024, 2025) if numero in set(_csv(store / f"public/actes/actes-{y}.csv")["ACTE_ID"])},
        "widget": {y for y, p in widget.items() if numero in {a["numero"] for a in json.loads(p.read_text())["actes"]}},
    }


def test_an_act_resent_in_another_year_is_shown_in_that_year_only_and_its_source_id_names_it(store, capsys):
    act = _resend_a_year_earlier(store, "2025-03-06")
    assert digor(["run", "actes", "--date", "2025-03-06"]) == 0
    assert _years_showing(store, act["numero"]) == {"deliberations": {2024}, "actes": {2024}, "widget": {2024}}
    capsys.readouterr()
    assert digor(["ledger", SIREN, act["source_id"]]) == 0
    assert "  online;" in capsys.readouterr().out
    assert digor(["unpublish", SIREN, act["source_id"], "--reason", "erreur de date"]) == 0
    assert _holders(store, SIREN, act["source_id"], act["numero"]) == []


def test_a_withdrawal_holds_when_the_act_is_resent_in_another_year(store):
    act = _resend_a_year_earlier(store, "2025-03-06")
    assert digor(["unpublish", SIREN, act["source_id"], "--reason", "retrait"]) == 0
    assert digor(["run", "actes", "--date", "2025-03-06"]) == 0
    assert _holders(store, SIREN, act["source_id"], act["numero"]) == []


def _acts_found_by_text(store: Path, siren: str) -> dict[str, set[str]]:
    """Term -> ids of the acts the body's widget finds by it in their documents' text, decoded as the
    widget does (in each year's index, ranks among the sorted ids of its year file; none when the counts differ)."""
    folder = store / "public" / "widgets" / "actes" / siren
    manifest = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for year, entry in manifest["recherche"]["annees"].items():
        if "texte" not in entry:
            continue
        year_file = json.loads(plain_bytes((folder / manifest["annees"][year]["fichier"]).read_bytes()))
        ids = sorted({a["id"] for a in year_file["actes"]})
        index = json.loads(plain_bytes((folder / entry["texte"]).read_bytes()))
        assert index["actes"] == len(ids), "the text index follows the year file it is published with"
        for shard in (part for part in index["tranches"] if "fichier" in part):
            for term, deltas in json.loads(plain_bytes((folder / shard["fichier"]).read_bytes()))["termes"].items():
                ranks = [sum(deltas[:n + 1]) for n in range(len(deltas))]
                found.setdefault(term, set()).update(ids[r] for r in ranks)
    return found


def test_a_withdrawal_takes_the_documents_text_with_it_and_a_publication_brings_it_back(store, store_settings):
    from load.widget_files import search_tokens

    act = _a_published_deliberation(store)
    siren, numero, url = act["COLL_SIRET"][:9], act["DELIB_ID"], act["DELIB_URL"]
    text = store / "public" / url.split("/", 3)[3].replace(".pdf", ".txt")

    def read_and_publish_texts() -> None:
        batches = [actes_chain.CHAIN.read_texts(store_settings, **job) for job in actes_chain.CHAIN.text_jobs(store_settings)]
        actes_chain.CHAIN.publish_texts(store_settings, batches)

    def in_side_file() -> bool:
        """Whether the year's text side file (valid against its schema) has the act's document's text."""
        from validate.table_validator import validate_table

        side = store / "public/actes-textes/actes-textes-2025.csv"
        report = validate_table(side, "actes-textes")
        assert report.valid, report.to_text()
        frame = _csv(side)
        rows = frame[(frame["ACTE_ID"] == numero) & (frame["DOCUMENT_URL"] == url)]
        return len(rows) == 1 and numero in rows.iloc[0]["TEXTE"] and rows.iloc[0]["TEXTE_URL"].endswith(".txt")

    def found_by_text() -> set[str]:
        """The acts the widget finds by every word of the act's text."""
        terms = _acts_found_by_text(store, siren)
        return set.intersection(*[terms.get(term, set()) for term in words])

    read_and_publish_texts()
    assert numero in text.read_text(encoding="utf-8")
    words = set(search_tokens(text.read_text(encoding="utf-8")))
    widget = json.loads((store / f"public/widgets/actes/{siren}/2025.json").read_text(encoding="utf-8"))
    act_id = next(a["id"] for a in widget["actes"] if a["numero"] == numero)
    assert act_id in found_by_text()
    assert in_side_file()

    assert digor(["unpublish", siren, numero, "--reason", "données personnelles dans l'acte"]) == 0
    assert not text.exists()
    assert act_id not in found_by_text()
    assert not in_side_file()
    read_and_publish_texts()  # the next texts' run never brings back a withdrawn act's text
    assert not text.exists()
    assert act_id not in found_by_text()

    assert digor(["publish", siren, numero, "--reason", "acte corrigé"]) == 0
    read_and_publish_texts()
    assert numero in text.read_text(encoding="utf-8")
    assert act_id in found_by_text()
    assert in_side_file()


def _private_parts(store: Path, siren: str) -> dict[str, bytes]:
    """What a body's Actes widget keeps privately between switches (year digests, search and text
    parts, documents' terms), plain bytes."""
    from core.keys import widget_body_drafts

    folder = store / widget_body_drafts("actes", siren)
    return {p.relative_to(folder).as_posix(): plain_bytes(p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_withdrawn_act_stays_in_no_private_part_of_its_body_widget(store, store_settings):
    """A withdrawal (a private person's name in the act) leaves nothing of the act in the parts a
    body's widget keeps from night to night: not its id, numero or document, in any year's digest
    (with its search and text parts) or documents' terms; the parts left are those a switch from scratch makes."""
    from core.keys import widget_body_drafts
    from core.registry import body_registry
    from load.widget_files import publish_index

    batches = [actes_chain.CHAIN.read_texts(store_settings, **job) for job in actes_chain.CHAIN.text_jobs(store_settings)]
    actes_chain.CHAIN.publish_texts(store_settings, batches)
    frame = _csv(store / "public/deliberations/deliberations-2025.csv")
    online = frame[frame["DELIB_URL"] != ""]
    act = online[online["COLL_SIRET"] == online["COLL_SIRET"].value_counts().index[0]].iloc[0]  # its body keeps others
    siren, numero, sha256 = act["COLL_SIRET"][:9], act["DELIB_ID"], act["DELIB_URL"].rsplit("/", 1)[1].split(".")[0]
    widget = json.loads((store / f"public/widgets/actes/{siren}/2025.json").read_text(encoding="utf-8"))
    act_id = next(a["id"] for a in widget["actes"] if a["numero"] == numero)
    marks = (act_id.encode(), f'"{numero}"'.encode(), sha256.encode())

    def holding(parts: dict[str, bytes]) -> set[str]:
        return {name.split("/")[0] for name, data in parts.items() if any(mark in data for mark in marks)}

    assert "termes" in holding(_private_parts(store, siren)), "the parts held the act's document"
    assert digor(["unpublish", siren, act["DELIB_ID"], "--reason", "nom d'un particulier dans l'objet"]) == 0
    kept = _private_parts(store, siren)
    assert kept and holding(kept) == set()

    shutil.rmtree(store / widget_body_drafts("actes", siren))
    registry = body_registry(store_settings)
    publish_index(actes_chain.CHAIN.store(store_settings), registry.by_siren(siren), registry.publisher,
                  store_settings.public_url)
    assert _private_parts(store, siren) == kept


def _widget_files(store: Path) -> dict[str, bytes]:
    """Every body's Actes widget files as a reader gets them: the manifest, the feed, the stable
    year names and every file the manifest names (plain bytes)."""
    files = {}
    for manifest_path in sorted((store / "public/widgets/actes").glob("*/index.json")):
        folder = manifest_path.parent
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        named = [y["fichier"] for y in manifest["annees"].values()] + [manifest["premiere_page"]["fichier"]]
        for year in manifest["recherche"]["annees"].values():
            named.append(year["fichier"])
            if "texte" in year:
                named.append(year["texte"])
                index = json.loads(plain_bytes((folder / year["texte"]).read_bytes()))
                named += [shard["fichier"] for shard in index["tranches"] if "fichier" in shard]
        named += ["index.json", "actes.atom", *(f"{year}.json" for year in manifest["annees"])]
        for name in named:
            files[f"{folder.name}/{name}"] = plain_bytes((folder / name).read_bytes())
    return files


def _regional_files(store: Path) -> dict[str, bytes]:
    """Every regional file as downloaders get it: each dataset's manifest, the versions it names and
    their stable names."""
    files = {}
    for manifest_path in sorted(store.glob("public/*/index.json")):
        folder = manifest_path.parent
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for formats in manifest["fichiers"].values():
            for entry in formats.values():
                for name in (entry["fichier"], entry["permanent"]):
                    files[f"{folder.name}/{name}"] = (folder / name).read_bytes()
        files[f"{folder.name}/index.json"] = manifest_path.read_bytes()
    return files


def test_public_files_kept_up_night_by_night_are_those_a_full_rebuild_writes(store, store_settings, monkeypatch):
    """Each night updates a body's widget from the years it touched (their digests, search and text
    parts) and the years' regional files from the night's acts; a rebuild from scratch, every part lost, gives the same
    files, after a move between years, texts read and a withdrawal."""
    from core.keys import widget_drafts

    moved = _resend_a_year_earlier(store, "2025-03-06")
    assert digor(["run", "actes", "--date", "2025-03-06"]) == 0
    batches = [actes_chain.CHAIN.read_texts(store_settings, **job) for job in actes_chain.CHAIN.text_jobs(store_settings)]
    actes_chain.CHAIN.publish_texts(store_settings, batches)
    act = _a_published_deliberation(store)
    assert digor(["unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur"]) == 0
    nightly = _widget_files(store)
    regional = _regional_files(store)
    assert {"deliberations/deliberations-2025.csv", "actes/actes-2024.parquet",
            "actes-textes/actes-textes-2025.csv"} <= set(regional), "the comparison covers every dataset"
    assert not any(f'{act["COLL_SIRET"]},{act["DELIB_ID"]},'.encode() in data for name, data in regional.items()
                   if name.startswith("deliberations/") and name.endswith(".csv")), "withdrawn from every file"
    assert any(b'"texte"' in data for name, data in nightly.items() if name.endswith("index.json")), \
        "the comparison covers the text index"
    shown = (f'"{act["DELIB_ID"]}"'.encode(), f'>{act["DELIB_ID"]} :'.encode())
    mine = [name for name, data in nightly.items() if name.startswith(act["COLL_SIRET"][:9]) and any(m in data for m in shown)]
    assert not mine, "withdrawn from every file"
    assert any(moved["numero"].encode() in data for name, data in nightly.items() if name.endswith("/2024.json"))

    rebuilt = store.parent / "rebuilt"
    shutil.copytree(store, rebuilt)
    kept = sorted(rebuilt.glob(f"{widget_drafts('actes')}/*"))
    assert {"annees", "termes"} <= {part.name for body in kept for part in body.iterdir()}, \
        "the nights kept year parts"
    for folder in kept:
        shutil.rmtree(folder)
    monkeypatch.setenv("DIGOR_STORE", str(rebuilt))
    actes_chain.CHAIN.run_night(Settings.from_env(), "2025-03-06", force_rebuild=True)
    assert _widget_files(rebuilt) == nightly
    assert _regional_files(rebuilt) == regional
