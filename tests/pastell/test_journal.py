"""Short runs learn from Pastell's journal what changed: one reading for every entity, then only the
bodies it names are listed (each from its own watermark). An act whose event lands while the journal
is read is the next run's; where the journal cannot be read, every body is listed as before."""

from __future__ import annotations

import json
from datetime import date, datetime

import yaml

from core.keys import PASTELL_JOURNAL_KEY
from extract.pastell_source import night_cutoff, pull_night
from samples.actes import DEMO_NIGHTS, Act, act_files
from tests.emulators.pastell import DocVersion
from tests.pastell.conftest import REGISTRY_PATH, raw_snapshot

FLOWS = ("actes-generique", "actes-automatique")
BODIES = {b["pastell_id_e"]: b for b in yaml.safe_load(REGISTRY_PATH.read_text(encoding="utf-8"))["bodies"]}
NIGHT = DEMO_NIGHTS[-1]
DAY = night_cutoff(NIGHT)[:10]  # the short runs after that night's interval ends


def _acknowledged(id_e: str, id_d: str, numero: str, at: str) -> DocVersion:
    moment = datetime.fromisoformat(at)
    act = Act(id_d=id_d, night=moment.date().isoformat(), body=BODIES[id_e], nature="1", numero=numero,
              objet="Tarifs de la piscine municipale", classification="7.10.1 Tarifs", decided=date(2025, 3, 5),
              posted=moment.date(), created=moment, acknowledged=moment, modified=moment, open_data="3")
    files = act_files(act)
    metadata = json.loads(files.pop("metadata.json"))
    return DocVersion(id_d=id_d, id_e=id_e, type="actes-generique", stamp=at, data=metadata["data"],
                      last_action=metadata["last_action"], creation=at, files=files)


def _short(store, registry, client, emulator, end: str, clock: str | None = None):
    """A short run whose interval ends at ``end``; Pastell's clock a little later (when it runs)."""
    emulator.clock = clock or end
    emulator.reset_calls()
    partition = f"{end[:10]}T{end[11:13]}{end[14:16]}"
    return pull_night(store, registry, client, partition, FLOWS, cutoff=end, journal=True)


def _listed(emulator) -> set[str]:
    return {c.path.split("/")[4] for c in emulator.calls("list")}


def test_a_short_run_lists_only_the_bodies_the_journal_names(store, registry, client, emulator):
    emulator.clock = night_cutoff(NIGHT)
    pull_night(store, registry, client, NIGHT, FLOWS)  # the night: every body from scratch
    first = _short(store, registry, client, emulator, f"{DAY} 10:00:00")
    assert first.listing["by"] == "bodies", "no reading of the journal yet: every body is listed once"
    assert _listed(emulator) == set(BODIES)
    emulator.add(_acknowledged("102", "J102a", "2025_J1", f"{DAY} 10:07:00"))
    second = _short(store, registry, client, emulator, f"{DAY} 10:15:00", f"{DAY} 10:15:20")
    assert second.listing["by"] == "journal" and _listed(emulator) == {"102"}
    assert [w["id_d"] for w in second.written] == ["J102a"]
    assert emulator.calls("journal") and len(emulator.calls()) < 2 * len(BODIES) + 8
    overlap = _short(store, registry, client, emulator, f"{DAY} 10:30:00")
    assert not overlap.written and _listed(emulator) <= {"102"}, "the overlap lists it again, its watermark keeps it"
    quiet = _short(store, registry, client, emulator, f"{DAY} 10:45:00")
    assert not quiet.written and not _listed(emulator), "nothing changed: no body listed"


def test_an_act_whose_event_lands_during_the_read_is_picked_up_by_the_next_run(store, registry, client, emulator):
    emulator.clock = night_cutoff(NIGHT)
    pull_night(store, registry, client, NIGHT, FLOWS)
    _short(store, registry, client, emulator, f"{DAY} 10:00:00")
    # Committed late: its date is inside the run's interval, its event appears once the journal was read.
    emulator.land_during_journal_read(_acknowledged("104", "J104a", "2025_J2", f"{DAY} 10:14:50"))
    during = _short(store, registry, client, emulator, f"{DAY} 10:15:00", f"{DAY} 10:15:30")
    assert not during.written and "104" not in _listed(emulator)
    after = _short(store, registry, client, emulator, f"{DAY} 10:30:00")
    assert [w["id_d"] for w in after.written] == ["J104a"] and _listed(emulator) == {"104"}
    assert any("/J104a/" in key for key in raw_snapshot(store, "2025-03-06T1030"))
    again = _short(store, registry, client, emulator, f"{DAY} 10:45:00")
    assert not again.written and not _listed(emulator), "pulled once"


def test_where_the_journal_is_refused_every_body_is_listed(store, registry, client, emulator):
    emulator.clock = night_cutoff(NIGHT)
    pull_night(store, registry, client, NIGHT, FLOWS)
    _short(store, registry, client, emulator, f"{DAY} 10:00:00")
    emulator.journal_root = False  # the user's roles give journal:lecture on its entities only
    emulator.add(_acknowledged("103", "J103a", "2025_J3", f"{DAY} 10:05:00"))
    refused = _short(store, registry, client, emulator, f"{DAY} 10:15:00")
    assert refused.listing["by"] == "bodies" and "403" in refused.listing["reason"]
    assert _listed(emulator) == set(BODIES) and [w["id_d"] for w in refused.written] == ["J103a"]
    assert json.loads(store.get_bytes(PASTELL_JOURNAL_KEY))["read_until"] == f"{DAY} 10:15:00"
