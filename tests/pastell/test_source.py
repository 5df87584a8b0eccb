"""The nightly incremental pull: raw layout, watermarks, idempotence, faults at each step."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml

from core.registry import load_registry
from extract.pastell_client import PastellAuthError
from extract.pastell_source import forget_states, load_state, night_cutoff, pull_night
from samples.actes import DEMO_NIGHTS
from tests.emulators.pastell import DocVersion
from tests.pastell.conftest import CONN_ID, REGISTRY_PATH, pull, raw_snapshot, set_connection
from transform.actes import transform_night

FIRST, SECOND, THIRD = DEMO_NIGHTS


def _expected(emulator, registry, after: str | None, until: str) -> dict[str, DocVersion]:
    """Documents of registered bodies whose latest version at ``until`` changed after ``after``."""
    emulator.clock = until
    ids_e = {b.pastell_id_e for b in registry.bodies if b.pastell_id_e}
    return {
        id_d: v for id_d, v in emulator.visible().items()
        if v.id_e in ids_e and (after is None or v.stamp > after)
    }


def _detail_ids(emulator) -> list[str]:
    return [c.path.rsplit("/", 1)[1] for c in emulator.calls("detail")]


def test_first_pull_writes_the_layout_the_transform_reads(store, registry, client, emulator):
    expected = _expected(emulator, registry, None, night_cutoff(FIRST))
    result = pull(store, registry, client, emulator, FIRST)
    assert not result.failed and not result.deleted and not result.body_errors
    assert {w["id_d"] for w in result.written} == set(expected)
    for id_d, version in expected.items():
        siren = registry.by_id_e(version.id_e).siren
        folder = f"raw/actes/pastell/date={FIRST}/siren={siren}/{id_d}/"
        metadata = json.loads(store.get_bytes(folder + "metadata.json"))
        assert metadata["id_e"] == version.id_e and metadata["data"] == version.data
        assert metadata["info"]["id_d"] == id_d and metadata["last_action"] == version.last_action
        for name, content in version.files.items():
            assert store.get_bytes(folder + name) == content
    rows = transform_night(store, registry, FIRST, "pastell")
    assert {r["source_id"] for r in rows.rows} | {r.source_id for r in rows.rejects} == set(expected)
    assert {r["source"] for r in rows.rows} == {"pastell"}
    summary = result.summary(store)
    assert summary["acts"] == len(expected) and sum(summary["by_body"].values()) == len(expected)


def test_incremental_pull_fetches_only_what_changed(store, registry, client, emulator):
    pull(store, registry, client, emulator, FIRST)
    expected = _expected(emulator, registry, night_cutoff(FIRST), night_cutoff(SECOND))
    emulator.reset_calls()
    result = pull(store, registry, client, emulator, SECOND)
    files = sum(len(v.files) for v in expected.values())
    missing = sum(
        1 for v in expected.values() for f in ("arrete", "acte_tamponne", "autre_document_attache", "aractes")
        for name in v.data.get(f) or [] if name not in v.files
    )
    assert missing == 1, "the sample has one act whose PDF is missing"
    assert sorted(set(_detail_ids(emulator))) == sorted(expected), "only the documents that changed"
    assert len(_detail_ids(emulator)) == len(expected), "Pastell's 400 for a lost file needs no second look"
    assert len(emulator.calls("file")) == files + missing
    bodies = sum(1 for b in registry.bodies if b.pastell_id_e)
    assert len(emulator.calls("list")) == 2 * bodies and len(emulator.calls("entities")) == 1
    assert all(c.query["last_state_begin"][0] < SECOND for c in emulator.calls("list"))
    assert {w["id_d"] for w in result.written} == set(expected)
    assert result.requests == len(emulator.calls())


def test_rerunning_a_night_gives_the_same_raw_keys(store, registry, client, emulator):
    for night in (FIRST, SECOND):
        pull(store, registry, client, emulator, night)
    before = raw_snapshot(store)
    emulator.reset_calls()
    again = pull(store, registry, client, emulator, SECOND)
    assert not emulator.calls("detail") and not again.written, "the watermark already covers the night"
    folders = {k.rsplit("/", 1)[0] for k in raw_snapshot(store, SECOND)}
    assert again.summary(store)["acts"] == len(folders) and raw_snapshot(store) == before
    forget_states(store)  # even from scratch, a night's pull finds the same documents and bytes
    replayed = pull(store, registry, client, emulator, FIRST)
    assert replayed.written and not replayed.failed and raw_snapshot(store) == before


def test_a_later_change_belongs_to_a_later_night(store, registry, client, emulator):
    emulator_now = None  # Pastell shows today's state: the corrected re-send exists already
    resent = [v for v in emulator.versions if sum(w.id_d == v.id_d for w in emulator.versions) > 1]
    assert len(resent) == 2
    first = pull(store, registry, client, emulator, FIRST, clock=emulator_now)
    assert resent[0].id_d not in {w["id_d"] for w in first.written}, "its last change is after the night"
    pull(store, registry, client, emulator, SECOND, clock=emulator_now)
    third = pull(store, registry, client, emulator, THIRD, clock=emulator_now)
    assert resent[0].id_d in {w["id_d"] for w in third.written}


def test_resent_document_is_stored_under_the_night_it_changed(store, registry, client, emulator):
    for night in DEMO_NIGHTS:
        pull(store, registry, client, emulator, night)
    id_d = next(v.id_d for v in emulator.versions if sum(w.id_d == v.id_d for w in emulator.versions) > 1)
    nights = sorted(k.split("date=")[1][:10] for k in raw_snapshot(store) if f"/{id_d}/metadata.json" in k)
    assert nights == [FIRST, THIRD]


def test_a_failing_document_is_reported_and_retried_next_night(store, registry, client, emulator):
    pull(store, registry, client, emulator, FIRST)
    expected = _expected(emulator, registry, night_cutoff(FIRST), night_cutoff(SECOND))
    victim = sorted(expected)[0]
    emulator.inject("error", status=500, path=rf"/document/{victim}$", times=None)
    second = pull(store, registry, client, emulator, SECOND)
    assert [p.id_d for p in second.failed] == [victim] and "HTTP 500" in second.failed[0].reason
    assert {w["id_d"] for w in second.written} == set(expected) - {victim}, "the others go on"
    siren = registry.by_id_e(expected[victim].id_e).siren
    assert second.pending == {siren: [victim]}
    state = load_state(store)[siren]
    assert state.pending[victim]["attempts"] == 1 and state.watermark <= night_cutoff(SECOND)
    emulator.clear_faults()
    emulator.reset_calls()
    third = pull(store, registry, client, emulator, THIRD)
    assert victim in {w["id_d"] for w in third.written} and not third.failed and not third.pending
    assert _detail_ids(emulator).count(victim) == 1
    assert store.exists(f"raw/actes/pastell/date={THIRD}/siren={siren}/{victim}/metadata.json")
    assert not load_state(store)[siren].pending


def test_a_document_deleted_between_list_and_detail_is_reported(store, registry, client, emulator):
    emulator.clock = night_cutoff(FIRST)
    victim = sorted(_expected(emulator, registry, None, night_cutoff(FIRST)))[3]
    emulator.inject("delete_after_list", id_d=victim)
    result = pull(store, registry, client, emulator, FIRST)
    assert [p.id_d for p in result.deleted] == [victim] and not result.failed and not result.pending
    assert not any(f"/{victim}/" in key for key in raw_snapshot(store))
    assert len(result.written) == len(_expected(emulator, registry, None, night_cutoff(FIRST)))


def test_a_file_missing_in_pastell_is_reported_once_as_incomplete_and_never_retried(store, registry, client, emulator):
    pull(store, registry, client, emulator, FIRST)
    result = pull(store, registry, client, emulator, SECOND)
    assert len(result.skipped_files) == 1 and "no such file" in result.skipped_files[0]["reason"]
    assert "HTTP 400" in result.skipped_files[0]["reason"] and "Ce fichier n'existe pas" in result.skipped_files[0]["reason"]
    folder = result.skipped_files[0]["folder"]
    id_d = folder.rstrip("/").rsplit("/", 1)[1]
    siren = folder.split("siren=")[1].split("/")[0]
    assert not result.failed and not result.pending, "a missing file is no failure to retry"
    incomplete = result.summary(store)["incomplete"]
    assert [(p["siren"], p["id_d"]) for p in incomplete] == [(siren, id_d)]
    assert "Ce fichier n'existe pas" in incomplete[0]["reason"]
    rejects = {r.raw_prefix: r.reason for r in transform_night(store, registry, SECOND, "pastell").rejects}
    assert "missing from the folder" in rejects[folder], "what the rules allow: the act without its file is rejected"
    emulator.reset_calls()
    third = pull(store, registry, client, emulator, THIRD)
    assert not third.summary(store)["incomplete"] and not third.failed and not third.pending
    assert not any(f"/document/{id_d}" in c.path for c in emulator.calls()), "reported once, never asked again"


def _paged_client(**changes):
    from extract.pastell_client import ClientOptions, PastellClient
    from tests.pastell.conftest import FAST

    return PastellClient.from_connection(CONN_ID, ClientOptions.from_mapping({**FAST, "page_size": 4, "page_overlap": 2,
                                                                              **changes}))


def _delete_first_page(emulator, id_e: str, night: str, count: int) -> list[str]:
    """Faults: the first ``count`` documents of the entity's first page are deleted right after that page is read."""
    emulator.clock = night_cutoff(night)
    rows = sorted((v for v in emulator.visible(id_e).values() if v.type == "actes-generique"),
                  key=lambda v: (v.stamp, v.id_d), reverse=True)
    victims = [v.id_d for v in rows[:count]]
    for victim in victims:
        emulator.inject("delete_after_list", id_d=victim)
    return victims


def test_documents_deleted_between_two_page_reads_hide_no_other(store, registry, connection, emulator):
    expected = _expected(emulator, registry, None, night_cutoff(FIRST))
    victims = _delete_first_page(emulator, "101", FIRST, 3)
    with _paged_client() as client:
        result = pull(store, registry, client, emulator, FIRST)
    assert sorted(p.id_d for p in result.deleted) == sorted(victims)
    assert {w["id_d"] for w in result.written} == set(expected) - set(victims), "the fourth document is not lost"
    assert not result.summary(store)["unlisted"] and not result.failed


def test_a_listing_that_does_not_settle_keeps_the_watermark_and_is_reported(store, registry, connection, emulator):
    kerdigor = registry.by_id_e("101").siren
    _delete_first_page(emulator, "101", FIRST, 3)
    with _paged_client(max_listings=2) as client:
        result = pull(store, registry, client, emulator, FIRST)
    unlisted = result.summary(store)["unlisted"]
    assert [u["siren"] for u in unlisted] == [kerdigor] and "actes-generique" in unlisted[0]["reason"]
    states = load_state(store)
    assert states[kerdigor].watermark == "", "the watermark does not move past a range not fully listed"
    assert all(s.watermark for siren, s in states.items() if siren != kerdigor)
    with _paged_client() as client:
        second = pull(store, registry, client, emulator, SECOND)
    assert not second.summary(store)["unlisted"]
    assert load_state(store)[kerdigor].watermark > night_cutoff(FIRST)[:10]


def test_documents_are_pulled_once_they_are_acts(store, registry, client, emulator):
    template = next(v for v in emulator.versions if v.id_e == "101")
    draft_data = {k: v for k, v in template.data.items() if k not in ("aractes", "acte_tamponne")}
    drafts = [
        replace(template, id_d="draftTd", data=draft_data, stamp=f"{SECOND} 10:00:00",
                last_action={"action": "send-tdt", "message": "", "date": f"{SECOND} 10:00:00"}),
        replace(template, id_d="draftMo", data=draft_data, stamp=f"{SECOND} 11:00:00",
                last_action={"action": "modification", "message": "", "date": f"{SECOND} 11:00:00"}),
    ]
    for draft in drafts:
        emulator.add(draft)
        emulator.add(replace(template, id_d=draft.id_d, stamp=f"{THIRD} 09:30:00",
                             last_action={"action": "acquiter-tdt", "message": "", "date": f"{THIRD} 09:30:00"}))
    pull(store, registry, client, emulator, FIRST)
    emulator.reset_calls()
    second = pull(store, registry, client, emulator, SECOND)
    assert {p.id_d for p in second.waiting} == {"draftTd", "draftMo"}
    assert "draftTd" not in _detail_ids(emulator), "a document on its way to the préfecture is not fetched"
    assert not {"draftTd", "draftMo"} & {w["id_d"] for w in second.written}
    third = pull(store, registry, client, emulator, THIRD)
    assert {"draftTd", "draftMo"} <= {w["id_d"] for w in third.written}


def test_a_change_after_a_daytime_run_waits_for_the_next_night(store, registry, client, emulator):
    pull(store, registry, client, emulator, FIRST)
    noon = pull(store, registry, client, emulator, SECOND, clock=f"{SECOND} 12:00:00")  # run by hand at noon
    early = next(v for v in emulator.visible().values()
                 if v.id_d in {w["id_d"] for w in noon.written} and v.stamp > f"{SECOND} 00:00:00")
    objet = early.data["objet"] + " (rectifié)"
    emulator.add(replace(early, stamp=f"{SECOND} 15:00:00", data={**early.data, "objet": objet}))
    again = pull(store, registry, client, emulator, SECOND)  # the scheduled run of the same night
    assert [p.id_d for p in again.failed] == [early.id_d] and "next night" in again.failed[0].reason
    assert again.written, "the afternoon's other documents are stored"
    third = pull(store, registry, client, emulator, THIRD)
    assert early.id_d in {w["id_d"] for w in third.written}
    siren = registry.by_id_e(early.id_e).siren
    for night, expected in ((SECOND, early.data["objet"]), (THIRD, objet)):
        stored = json.loads(store.get_bytes(f"raw/actes/pastell/date={night}/siren={siren}/{early.id_d}/metadata.json"))
        assert stored["data"]["objet"] == expected


def test_bodies_unknown_to_pastell_are_reported_and_the_others_pulled(store, client, emulator, tmp_path):
    document = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    document["bodies"][0]["pastell_id_e"] = "777"
    document["bodies"][1]["pastell_id_e"] = "105"
    document["bodies"][4]["pastell_id_e"] = None
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    registry = load_registry(path)
    result = pull(store, registry, client, emulator, FIRST)
    reasons = {e["siren"]: e["reason"] for e in result.body_errors}
    assert "id_e=777 is not visible" in reasons["212900997"]
    assert "id_e=105 has SIREN 212900989, the registry says 200099992" in reasons["200099992"]
    assert {w["siren"] for w in result.written} == {"252909999", "222909996"}


def test_refused_credentials_stop_the_pull_and_keep_the_watermarks(store, registry, monkeypatch, emulator):
    from extract.pastell_client import ClientOptions, PastellClient
    from tests.pastell.conftest import FAST

    set_connection(monkeypatch, emulator)
    with PastellClient.from_connection(CONN_ID, ClientOptions.from_mapping(FAST)) as client:
        pull(store, registry, client, emulator, FIRST)
    state = load_state(store)
    emulator.inject("403", path="/document$", times=None)
    with PastellClient.from_connection(CONN_ID, ClientOptions.from_mapping(FAST)) as client:
        with pytest.raises(PastellAuthError, match=CONN_ID):
            pull(store, registry, client, emulator, SECOND)
    assert load_state(store) == state and not raw_snapshot(store, SECOND)


def test_budgets_are_listed_for_the_budgets_chain(store, registry, client, emulator):
    result = pull(store, registry, client, emulator, FIRST)
    budgets = result.summary(store)["budgets"]
    assert budgets and all(json.loads(store.get_bytes(p + "metadata.json"))["data"]["acte_nature"] == "5"
                           for p in budgets)


@pytest.mark.parametrize("workers", [1, 3])
def test_documents_are_fetched_with_bounded_concurrency(store, registry, client, emulator, workers):
    emulator.versions = [v for v in emulator.versions if v.id_e == "101"]
    emulator.inject("slow", path=r"/document/[^/]+$", delay=0.1, times=None)
    emulator.clock = night_cutoff(FIRST)
    result = pull_night(store, registry, client, FIRST, ("actes-generique",), max_workers=workers)
    assert result.written and not result.failed
    assert emulator.max_in_flight == workers


def test_an_entity_mapped_to_the_wrong_body_brings_nothing_filed_under_it(store, sample_drop, tmp_path):
    """The registry gives Kerdigor the entity of another body, whose SIREN Pastell does not show: every act
    of that entity names the other SIREN in its acknowledgement, so none is filed under Kerdigor; one alert."""
    from extract.pastell_client import ClientOptions, PastellClient
    from tests.emulators.pastell import entities_of, sample_emulator
    from tests.pastell.conftest import FAST

    document = yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))
    kerdigor = next(b for b in document["bodies"] if b["siren"] == "212900997")
    owner = next(b for b in document["bodies"] if b.get("pastell_id_e") and b["siren"] != "212900997")
    kerdigor["pastell_id_e"] = owner["pastell_id_e"]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    registry = load_registry(path)
    with sample_emulator(sample_drop, REGISTRY_PATH) as emulator:
        emulator.entities = [{**e, "siren": ""} if e in entities_of(REGISTRY_PATH) else e for e in emulator.entities]
        connection = {"conn_type": "http", "host": emulator.url, "login": emulator.login, "password": emulator.password}
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
            monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
            with PastellClient.from_connection(CONN_ID, ClientOptions.from_mapping(FAST)) as client:
                result = pull(store, registry, client, emulator, FIRST)
    theirs = {w["id_d"] for w in result.written if w["siren"] == owner["siren"]}
    assert theirs and {p.id_d for p in result.foreign if p.siren == "212900997"} == theirs
    assert len(result.alerts) == 1 and f"id_e={owner['pastell_id_e']}" in result.alerts[0]
    assert owner["siren"] in result.alerts[0] and "entity" in result.alerts[0]
    rows = transform_night(store, registry, FIRST, "pastell")
    assert not [r for r in rows.rows if r["siren"] == "212900997"], "nothing filed under Kerdigor"
    refused = [r for r in rows.rejects if r.siren == "212900997"]
    assert {r.source_id for r in refused} == theirs
    own_reasons = {r.reason for r in rows.rejects if r.siren == owner["siren"]}
    assert all(f"SIREN {owner['siren']}" in r.reason or f"body {owner['siren']}" in r.reason or r.reason in own_reasons
               for r in refused), "refused as another body's act (or for what its own copy is refused for)"
    assert {r["source_id"] for r in rows.rows if r["siren"] == owner["siren"]}, "the owner's acts go on"
