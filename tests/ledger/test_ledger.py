"""Ledger replay: current decision and a first publication date that never moves."""

from datetime import date, datetime, timezone

from core.ledger import LedgerEvent, engineer_event, read_events, replay, write_command_event, write_night_events
from core.publication_rule import Decision
from core.store import LocalStore

ACT = ("212900997", "drop", "Ab12Cd3")


def night(day: str, decision: str = "published", sha: str = "pdf-v1", at: str | None = None) -> LedgerEvent:
    return LedgerEvent(*ACT, "DEL_1", decision, "default-rule", "nature 1", at or f"{day}T09:00:00", day, sha)


def engineer(moment: str, decision: Decision) -> LedgerEvent:
    when = datetime.fromisoformat(moment).replace(tzinfo=timezone.utc)
    return engineer_event(*ACT, "DEL_1", decision, "erreur de l'agent", now=when)


def test_first_publication_date_survives_reruns_and_later_nights():
    events = [night("2025-03-03"), night("2025-03-04"), night("2025-03-03")]
    state = replay(sorted(events, key=lambda e: e.at))[ACT]
    assert state.decision == "published" and state.publication_date == date(2025, 3, 3)


def test_withdrawal_then_republication_keeps_the_date_of_the_same_document():
    events = [
        night("2025-03-03"),
        engineer("2025-03-10T10:00:00", Decision.WITHDRAWN),
        engineer("2025-03-12T10:00:00", Decision.PUBLISHED),
    ]
    states = [replay(events[: i + 1])[ACT] for i in range(3)]
    assert [s.decision for s in states] == ["published", "withdrawn", "published"]
    assert states[2].publication_date == date(2025, 3, 3)
    assert states[1].decided_by == "engineer" and states[1].reason == "erreur de l'agent"


def test_a_new_document_is_a_new_publication():
    events = [night("2025-03-03"), night("2025-03-05", sha="pdf-v2")]
    assert replay(events)[ACT].publication_date == date(2025, 3, 5)


def test_flag_turned_to_non_in_the_source_withdraws():
    events = [night("2025-03-03"), night("2025-03-06", decision="refused")]
    state = replay(events)[ACT]
    assert state.decision == "refused" and state.decided_by == "default-rule"


def test_events_are_appended_and_rereadable(tmp_path):
    store = LocalStore(tmp_path)
    row = {
        "siren": ACT[0], "source": ACT[1], "source_id": ACT[2], "numero": "DEL_1", "decision": "published",
        "decision_source": "default-rule", "decision_reason": "nature 1", "version": "2025-03-03 09:00:00",
        "main_file_sha256": "pdf-v1", "date_decision": date(2025, 2, 27),
    }
    first = write_night_events(store, "2025-03-03", [row])
    assert write_night_events(store, "2025-03-03", [row]) == first
    write_command_event(store, 2025, engineer("2025-03-10T10:00:00", Decision.WITHDRAWN))
    events = read_events(store, 2025)
    assert [e.decision for e in events] == ["published", "withdrawn"]
    assert replay(events)[ACT].publication_date == date(2025, 3, 3)
