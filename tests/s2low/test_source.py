"""The nightly incremental pull from S²LOW: raw layout, state, idempotence, faults at each step."""

from __future__ import annotations

import json

import pytest

from core.registry import load_registry
from extract.pastell_source import night_cutoff
from extract.s2low_client import S2lowAuthError
from extract.s2low_source import STATE_KEY, load_state
from samples.actes import DEMO_NIGHTS
from tests.s2low.conftest import KERDIGOR, conn_id, pull, raw_snapshot, registry_on_s2low, set_connection
from transform.actes import transform_night

FIRST, SECOND, THIRD = DEMO_NIGHTS


def _expected(emulator, after: str | None, until: str) -> dict:
    """Transactions acknowledged after ``after`` (a night's end) and up to ``until``."""
    emulator.clock = until
    return {t.id: t for t in emulator.visible().values()
            if t.status_at(until)[0] == 4 and (after is None or t.status_at(until)[1] > after)}


def _status_ids(emulator) -> list[str]:
    return [c.query["transaction"][0] for c in emulator.calls("status")]


def test_first_pull_writes_the_layout_the_transform_reads(store, registry, connections, emulator):
    expected = _expected(emulator, None, night_cutoff(FIRST))
    result = pull(store, registry, emulator, FIRST)
    assert not result.failed and not result.deleted and not result.body_errors
    assert {w["id_d"] for w in result.written} == set(expected)
    for transaction_id, transaction in expected.items():
        folder = f"raw/actes/s2low/date={FIRST}/siren={transaction.authority}/{transaction_id}/"
        metadata = json.loads(store.get_bytes(folder + "metadata.json"))
        assert metadata["source"] == "s2low" and metadata["siren"] == transaction.authority
        assert metadata["transaction"]["id"] == transaction_id and metadata["status"] == 4
        assert [f["id"] for f in metadata["files"]] == [f.id for f in transaction.files]
        act = transaction.files[1]
        assert store.get_bytes(folder + act.posted_filename) == act.content, "the agent's file name"
        if act.stamped and act.stamped != act.content:
            assert store.get_bytes(folder + metadata["stored"]["acte_tamponne"]) == act.stamped
        assert store.get_bytes(folder + "ARActe.xml") == transaction.aracte
    rows = transform_night(store, registry, FIRST, "s2low")
    assert {r["source_id"] for r in rows.rows} | {r.source_id for r in rows.rejects} == set(expected)
    assert {r["source"] for r in rows.rows} == {"s2low"} and rows.rows
    assert all(r["decision_source"] == "default-rule" for r in rows.rows), "S²LOW carries no open-data choice"
    summary = result.summary(store)
    assert summary["acts"] == len(expected) and sum(summary["by_body"].values()) == len(expected)


def test_incremental_pull_fetches_only_what_changed(store, registry, connections, emulator):
    pull(store, registry, emulator, FIRST)
    expected = _expected(emulator, night_cutoff(FIRST), night_cutoff(SECOND))
    emulator.reset_calls()
    emulator.inject("slow", path="get_status", delay=1.0, times=1)  # as a loaded machine's loopback can be
    result = pull(store, registry, emulator, SECOND)
    ids = _status_ids(emulator)
    assert set(ids) == set(expected), "only the transactions acknowledged since"
    assert len(ids) == len(expected) + 1, "the status that timed out asked again, once"
    assert {w["id_d"] for w in result.written} == set(expected)
    lists = emulator.calls("list")
    assert lists and all(c.query["min_date"] == [FIRST] and c.query["max_date"] == [THIRD] for c in lists)
    assert result.requests == len(emulator.calls())


def test_rerunning_a_night_gives_the_same_raw_keys(store, registry, connections, emulator):
    for night in (FIRST, SECOND):
        pull(store, registry, emulator, night)
    before = raw_snapshot(store)
    emulator.reset_calls()
    again = pull(store, registry, emulator, SECOND)
    assert not emulator.calls("status") and not again.written, "the state already covers the night"
    assert again.summary(store)["acts"] == len({k.rsplit("/", 1)[0] for k in raw_snapshot(store, SECOND)})
    assert raw_snapshot(store) == before
    store.delete(STATE_KEY)  # even from scratch, a night's pull finds the same transactions and bytes
    replayed = pull(store, registry, emulator, FIRST)
    assert replayed.written and not replayed.failed and raw_snapshot(store) == before


def test_an_act_moving_on_to_the_archive_is_not_pulled_twice(store, registry, connections, emulator):
    pull(store, registry, emulator, FIRST)
    stored = next(t for t in emulator.visible(KERDIGOR).values() if t.status_at(night_cutoff(FIRST))[0] == 4)
    stored.statuses += [(19, f"{SECOND} 11:00:00"), (12, f"{SECOND} 11:30:00")]
    late = next(t for t in emulator.visible(KERDIGOR).values() if t.status_at(night_cutoff(SECOND))[1] > FIRST
                and t.id != stored.id)
    late.statuses += [(19, f"{SECOND} 23:00:00")]  # acknowledged and sent to the SAE before the night ran
    emulator.reset_calls()
    result = pull(store, registry, emulator, SECOND)
    assert stored.id not in _status_ids(emulator)
    assert late.id in {w["id_d"] for w in result.written}, "listed under its archiving status"
    assert {int(c.query["status_id"][0]) for c in emulator.calls("list")} >= {4, 19, 12, 13}


def test_a_failing_transaction_is_reported_and_retried_next_night(store, registry, connections, emulator):
    pull(store, registry, emulator, FIRST)
    expected = _expected(emulator, night_cutoff(FIRST), night_cutoff(SECOND))
    victim = sorted(expected, key=int)[0]
    siren = expected[victim].authority
    emulator.inject("error", status=500, path=rf"get_files_list\.php\?transaction={victim}$", times=None)
    second = pull(store, registry, emulator, SECOND)
    assert [p.id_d for p in second.failed] == [victim] and "HTTP 500" in second.failed[0].reason
    assert {w["id_d"] for w in second.written} == set(expected) - {victim}, "the others go on"
    assert second.pending == {siren: [victim]} and load_state(store)[siren].pending[victim]["attempts"] == 1
    emulator.clear_faults()
    emulator.reset_calls()
    third = pull(store, registry, emulator, THIRD)
    assert victim in {w["id_d"] for w in third.written} and not third.failed and not third.pending
    assert _status_ids(emulator).count(victim) == 1
    assert store.exists(f"raw/actes/s2low/date={THIRD}/siren={siren}/{victim}/metadata.json")


def test_a_file_s2low_lost_is_reported_once_as_incomplete_and_never_retried(store, registry, connections, emulator):
    pull(store, registry, emulator, FIRST)
    result = pull(store, registry, emulator, SECOND)
    assert len(result.skipped_files) == 1 and "S²LOW cannot give it" in result.skipped_files[0]["reason"]
    folder = result.skipped_files[0]["folder"]
    transaction_id = folder.rstrip("/").rsplit("/", 1)[1]
    assert not result.failed and not result.pending, "a lost file is no failure to retry"
    assert [p["id_d"] for p in result.summary(store)["incomplete"]] == [transaction_id]
    rejects = {r.raw_prefix: r.reason for r in transform_night(store, registry, SECOND, "s2low").rejects}
    assert "missing from the folder" in rejects[folder], "the act without its file is rejected by the rules"
    emulator.reset_calls()
    third = pull(store, registry, emulator, THIRD)
    assert not third.summary(store)["incomplete"] and transaction_id not in _status_ids(emulator)


def test_a_document_s2low_changes_after_a_night_stored_it_waits_for_the_next_night(store, registry, connections,
                                                                                  emulator):
    first = pull(store, registry, emulator, FIRST)
    transaction = emulator.visible()[sorted((w["id_d"] for w in first.written), key=int)[0]]
    annex = transaction.files[1]
    emulator.inject("changed", file_id=annex.id, content=b"%PDF-1.4 regenerated by S2LOW\n", times=1)
    store.delete(STATE_KEY)  # the night is run again from scratch: S²LOW now gives other bytes
    again = pull(store, registry, emulator, FIRST)
    assert transaction.id not in {p.id_d for p in again.failed}, "a stored transaction is never fetched again"
    siren = transaction.authority
    assert store.get_bytes(f"raw/actes/s2low/date={FIRST}/siren={siren}/{transaction.id}/"
                           f"{annex.posted_filename}") != b"%PDF-1.4 regenerated by S2LOW\n"


def test_transactions_not_acknowledged_yet_are_left_until_they_are(store, registry, connections, emulator):
    transaction = next(t for t in emulator.visible(KERDIGOR).values() if t.status_at(night_cutoff(SECOND))[1] > FIRST
                       and t.status_at(night_cutoff(SECOND))[1] < night_cutoff(SECOND))
    acknowledged = transaction.statuses[-1]
    transaction.statuses[-1] = (3, acknowledged[1])  # still "Transmis" at the second night
    pull(store, registry, emulator, FIRST)
    second = pull(store, registry, emulator, SECOND)
    assert transaction.id not in {w["id_d"] for w in second.written}
    transaction.statuses.append((4, f"{THIRD} 10:00:00"))
    third = pull(store, registry, emulator, THIRD)
    assert transaction.id in {w["id_d"] for w in third.written}


def test_a_body_whose_certificate_is_refused_is_reported_and_the_others_pulled(store, registry, connections,
                                                                                monkeypatch, emulator):
    set_connection(monkeypatch, emulator, KERDIGOR, user="intruder")
    result = pull(store, registry, emulator, FIRST)
    errors = {e["siren"]: e["reason"] for e in result.body_errors}
    assert list(errors) == [KERDIGOR] and conn_id(KERDIGOR) in errors[KERDIGOR]
    assert result.written and KERDIGOR not in {w["siren"] for w in result.written}
    assert KERDIGOR not in load_state(store), "its state waits for a working certificate"


def test_when_every_body_is_refused_the_night_fails_naming_the_connection(store, connections, monkeypatch, emulator,
                                                                           tmp_path):
    registry = load_registry(registry_on_s2low(tmp_path / "one.yaml", {KERDIGOR}, default="drop"))
    set_connection(monkeypatch, emulator, KERDIGOR, user="not-enrolled")
    with pytest.raises(S2lowAuthError, match=conn_id(KERDIGOR)):
        pull(store, registry, emulator, FIRST)
    assert not raw_snapshot(store) and not store.exists(STATE_KEY)


def test_budgets_are_listed_for_the_budgets_chain(store, registry, connections, emulator):
    result = pull(store, registry, emulator, FIRST)
    budgets = result.summary(store)["budgets"]
    assert budgets and all(p.startswith(f"raw/actes/s2low/date={FIRST}/") for p in budgets)


@pytest.mark.parametrize("workers", [1, 3])
def test_transactions_are_fetched_with_bounded_concurrency(store, registry, connections, emulator, workers):
    emulator.transactions = [t for t in emulator.transactions if t.authority == KERDIGOR]
    emulator.inject("slow", path="get_status", delay=0.1, times=None)
    emulator.clock = night_cutoff(FIRST)
    from extract.s2low_source import pull_night
    from tests.s2low.conftest import open_client

    result = pull_night(store, registry, lambda conn: open_client(conn), FIRST, default_source="drop",
                        default_conn_id="digor_s2low", max_workers=workers)
    assert result.written and not result.failed
    assert emulator.max_in_flight == workers


def test_a_change_after_the_night_belongs_to_a_later_night(store, registry, connections, emulator):
    later = {t.id for t in emulator.visible().values() if t.status_at(None)[1] >= SECOND}
    assert later
    first = pull(store, registry, emulator, FIRST, clock=None)  # S²LOW shows today's state
    assert not later & {w["id_d"] for w in first.written}, "acknowledged after the night: not its act"
    second = pull(store, registry, emulator, SECOND, clock=None)
    assert later & {w["id_d"] for w in second.written}


def test_a_transaction_deleted_between_the_list_and_the_status_is_reported(store, registry, connections, emulator):
    victim = sorted(_expected(emulator, None, night_cutoff(FIRST)), key=int)[3]

    def delete(page):
        if any(t.id == victim for t in page):
            emulator.transactions = [t for t in emulator.transactions if t.id != victim]

    emulator.after_list = delete
    result = pull(store, registry, emulator, FIRST)
    assert [p.id_d for p in result.deleted] == [victim] and not result.failed and not result.pending
    assert not any(f"/{victim}/" in key for key in raw_snapshot(store))


def test_transactions_moving_on_between_two_page_reads_hide_no_other(store, registry, connections, emulator):
    emulator.transactions = [t for t in emulator.transactions if t.authority == KERDIGOR]
    expected = _expected(emulator, None, night_cutoff(FIRST))
    newest = sorted(expected, key=int, reverse=True)[:3]
    moved = []

    def archive_first_page(page):  # right after the first page of status 4, its acts go to the SAE
        if not moved and page and page[0].id == newest[0]:
            for transaction in (t for t in emulator.transactions if t.id in newest):
                transaction.statuses.append((19, f"{FIRST} 23:59:00"))
                moved.append(transaction.id)

    emulator.after_list = archive_first_page
    result = pull(store, registry, emulator, FIRST, page_size=4)
    assert moved and {w["id_d"] for w in result.written} == set(expected), "the fifth is not lost"
    assert not result.failed and not result.deleted


def test_a_listing_that_does_not_settle_is_reported_and_listed_again(store, registry, connections, emulator):
    from dataclasses import replace

    pull(store, registry, emulator, FIRST)
    template = next(t for t in emulator.visible(KERDIGOR).values())
    added = []

    def new_act_at_each_reading(page):  # S²LOW receives acts while we page: each reading differs
        if page and page[0].authority == KERDIGOR and len(added) < 6:
            added.append(replace(template, id=str(9000 + len(added)), statuses=[(4, f"{SECOND} 12:00:00")]))
            emulator.transactions.append(added[-1])

    emulator.after_list = new_act_at_each_reading
    second = pull(store, registry, emulator, SECOND, page_size=2, max_listings=2)
    unlisted = second.summary(store)["unlisted"]
    assert [u["siren"] for u in unlisted] == [KERDIGOR] and "listed again next night" in unlisted[0]["reason"]
    assert load_state(store)[KERDIGOR].since == FIRST, "its days are listed again"
    assert all(s.since == SECOND for siren, s in load_state(store).items() if siren != KERDIGOR)
    emulator.after_list = None
    third = pull(store, registry, emulator, THIRD)
    assert not third.summary(store)["unlisted"] and {t.id for t in added} <= {w["id_d"] for w in second.written + third.written}


def test_an_act_cancelled_on_s2low_is_stored_again_as_withdrawn_and_its_annulation_is_no_act(store, registry,
                                                                                           connections, emulator):
    pull(store, registry, emulator, FIRST)
    stored = sorted(load_state(store)[KERDIGOR].known, key=int)
    annulation = emulator.cancel(stored[0], f"{SECOND} 11:00:00")
    result = pull(store, registry, emulator, SECOND)
    assert not result.failed and not result.body_errors
    assert result.summary(store)["cancelled"] == [{"siren": KERDIGOR, "id_d": stored[0],
                                                   "reason": "cancelled on S²LOW: withdrawn"}]
    folder = f"raw/actes/s2low/date={SECOND}/siren={KERDIGOR}/"
    assert json.loads(store.get_bytes(folder + f"{stored[0]}/metadata.json"))["status"] == 0
    assert not store.list_keys(folder + f"{annulation.id}/"), "the annulation transaction is not an act"
    rows = transform_night(store, registry, SECOND, "s2low")
    cancelled = next(r for r in rows.rows if r["source_id"] == stored[0])
    assert (cancelled["decision"], cancelled["decision_source"]) == ("withdrawn", "teletransmission")
    assert "annulation-s2low" in cancelled["decision_reason"]
    assert load_state(store)[KERDIGOR].cancelled == [stored[0]]
    emulator.reset_calls()
    again = pull(store, registry, emulator, THIRD)
    assert not again.cancelled and stored[0] not in _status_ids(emulator), "a cancellation is stored once"


def test_a_connection_holding_another_authoritys_certificate_brings_nothing_filed_under_the_body(
        store, registry, connections, emulator, monkeypatch):
    """The emulator serves the other authority's acts through Kerdigor's connection: each is reported and
    refused by the transform, one alert says what to do, the body's state stays; its own certificate back,
    the next night brings Kerdigor's acts of the same days."""
    other = "252909999"
    set_connection(monkeypatch, emulator, KERDIGOR, user=other)
    result = pull(store, registry, emulator, FIRST)
    theirs = {t.id for t in emulator.visible(other).values() if t.status_at(emulator.clock)[0] == 4}
    assert theirs and {p.id_d for p in result.foreign if p.siren == KERDIGOR} == theirs
    assert all(other in p.reason and conn_id(KERDIGOR) in p.reason for p in result.foreign)
    assert len(result.alerts) == 1 and conn_id(KERDIGOR) in result.alerts[0] and other in result.alerts[0]
    assert result.summary(store)["alerts"] == result.alerts
    rows = transform_night(store, registry, FIRST, "s2low")
    assert not [r for r in rows.rows if r["siren"] == KERDIGOR], "nothing filed under the body"
    assert {r["source_id"] for r in rows.rows if r["siren"] == other} | {
        r.source_id for r in rows.rejects if r.siren == other} == theirs, "the other body's own copies are read"
    refused = {r.source_id: r.reason for r in rows.rejects if r.siren == KERDIGOR}
    assert set(refused) == theirs
    assert all(f"SIREN {other}" in reason and f"body {KERDIGOR}" in reason and conn_id(KERDIGOR) in reason
               for reason in refused.values())
    assert load_state(store)[KERDIGOR].since == "", "the body's days are listed again"

    set_connection(monkeypatch, emulator, KERDIGOR)
    again = pull(store, registry, emulator, SECOND)
    own = {t.id for t in emulator.visible(KERDIGOR).values() if t.status_at(emulator.clock)[0] == 4}
    assert own and {w["id_d"] for w in again.written if w["siren"] == KERDIGOR} == own
    assert not again.alerts and not again.foreign


def test_a_mixed_connection_refuses_the_foreign_act_only(store, registry, connections, emulator):
    """One act whose acknowledgement names another SIREN among the body's own: refused, no alert, the rest goes on."""
    from dataclasses import replace as changed

    mine = sorted((t for t in emulator.transactions if t.authority == KERDIGOR), key=lambda t: int(t.id))
    odd = mine[0]
    forged = odd.aracte.replace(f"-{KERDIGOR}-".encode(), b"-252909999-", 1)
    emulator.transactions = [changed(t, aracte=forged) if t is odd else t for t in emulator.transactions]
    result = pull(store, registry, emulator, FIRST)
    assert [p.id_d for p in result.foreign] == [odd.id] and not result.alerts
    rows = transform_night(store, registry, FIRST, "s2low")
    assert odd.id in {r.source_id for r in rows.rejects} and odd.id not in {r["source_id"] for r in rows.rows}
    assert {r["source_id"] for r in rows.rows if r["siren"] == KERDIGOR}
    assert load_state(store)[KERDIGOR].since == FIRST
