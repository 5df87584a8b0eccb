"""A year's ledger read in one request whatever its number of nights, and still exactly the events
of its files: after reruns, decisions, a night moving year, and files written by other means."""

from __future__ import annotations

from datetime import date, datetime, timezone

from core.ledger import (
    engineer_event,
    read_events,
    replay,
    write_command_event,
    write_night_events,
)
from core.publication_rule import Decision
from core.store import LocalStore


class CountingStore:
    """The store, counting the objects of the ledger read."""

    def __init__(self, base):
        self.base, self.url, self.read = base, base.url, []

    def get_bytes(self, key):
        if key.startswith("private/ledger/"):
            self.read.append(key)
        return self.base.get_bytes(key)

    def __getattr__(self, name):
        return getattr(self.base, name)


def _row(source_id: str, night: str, decided: date, decision: str = "published") -> dict:
    return {"siren": "212900997", "source": "drop", "source_id": source_id, "numero": f"N-{source_id}",
            "decision": decision, "decision_source": "default-rule", "decision_reason": "nature 1",
            "version": f"{night} 09:00:00", "main_file_sha256": f"pdf-{source_id}", "date_decision": decided}


def _from_files(store, year: int) -> list[str]:
    lines = []
    for key in store.list_keys(f"private/ledger/actes/annee={year}/"):
        lines += [line for line in store.get_bytes(key).decode().splitlines() if line.strip()]
    return sorted(lines)


def _as_lines(events) -> list[str]:
    import json
    from dataclasses import asdict

    return sorted(json.dumps(asdict(e), ensure_ascii=False, sort_keys=True) for e in events)


def test_a_year_is_read_in_one_request_and_holds_every_event_of_its_files(tmp_path):
    store = CountingStore(LocalStore(tmp_path))
    for day in range(3, 23):
        night = f"2025-03-{day:02d}"
        write_night_events(store, night, [_row(f"A{day}", night, date(2025, 3, day - 1)),
                                          _row(f"B{day}", night, date(2024, 12, 30))])
    when = datetime(2025, 3, 24, 10, tzinfo=timezone.utc)
    write_command_event(store, 2025, engineer_event("212900997", "drop", "A5", "N-A5", Decision.WITHDRAWN,
                                                    "erreur", now=when))
    store.read.clear()
    events = read_events(store, 2025)
    assert store.read == ["private/ledger/cache/actes/annee=2025.jsonl"]
    assert _as_lines(events) == _from_files(store, 2025) and len(events) == 21
    assert replay(events)[("212900997", "drop", "A5")].decision == "withdrawn"

    # A rerun of a night that now says otherwise, and one whose acts moved to the other year.
    write_night_events(store, "2025-03-10", [_row("A10", "2025-03-10", date(2025, 3, 9), "refused"),
                                             _row("B10", "2025-03-10", date(2024, 12, 30))])
    write_night_events(store, "2025-03-11", [_row("A11", "2025-03-11", date(2024, 12, 31))])
    for year in (2024, 2025):
        assert _as_lines(read_events(store, year)) == _from_files(store, year)
    assert replay(read_events(store, 2025))[("212900997", "drop", "A10")].decision == "refused"
    assert ("212900997", "drop", "A11") not in replay(read_events(store, 2025))

    # A ledger file written by other means (a restore): read from the files, never missed.
    store.base.put_bytes("private/ledger/actes/annee=2025/night=2025-03-30.jsonl",
                         store.base.get_bytes("private/ledger/actes/annee=2025/night=2025-03-12.jsonl"))
    assert _as_lines(read_events(store, 2025)) == _from_files(store, 2025)
    assert _as_lines(read_events(store)) == sorted(_from_files(store, 2024) + _from_files(store, 2025))
