"""The agents' space reads one body's index, not all of staging and the whole ledger: the same acts
as computed from them, a decision recorded since shown at once, nothing of another body read."""

from __future__ import annotations

import pytest

from chains import actes as actes_chain
from core.keys import LEDGER_PREFIX, STAGING
from core.ledger import agent_actor
from core.publication_rule import Decision
from core.store import LocalStore
from portail.acts import Acts
from portail.auth import Agent
from tests.portail.conftest import BODY, OTHER_BODY

AGENT = Agent(sub="s-1", name="Agent", identity="agent.eaux-aber", sirens=(BODY,), hr=True, admin=False)
COLUMNS = ["siren", "source_id", "numero", "decision", "online", "offline_reason", "year"]


@pytest.fixture
def settings(replayed, tmp_path, monkeypatch):
    return replayed.copy(tmp_path / "replay").apply(monkeypatch)


def _reads(monkeypatch) -> list[str]:
    read: list[str] = []
    original = LocalStore.get_bytes

    def get_bytes(self, key):
        read.append(key)
        return original(self, key)

    monkeypatch.setattr(LocalStore, "get_bytes", get_bytes)
    return read


def _sorted(frame) -> list[dict]:
    rows = frame[COLUMNS].sort_values(["year", "source_id"]).to_dict("records")
    return [{k: (bool(v) if k == "online" else int(v) if k == "year" else v) for k, v in row.items()} for row in rows]


def test_a_body_s_page_reads_its_index_only_and_shows_what_staging_and_the_ledger_say(settings, monkeypatch):
    expected = actes_chain.acts_of_bodies(settings, (BODY,))
    read = _reads(monkeypatch)
    acts = Acts(settings, AGENT)
    assert not [k for k in read if k.startswith(STAGING + "/") or k.startswith(LEDGER_PREFIX + "/")]
    assert not [k for k in read if OTHER_BODY in k]
    assert any(f"siren={BODY}" in k for k in read)
    assert _sorted(acts.frame) == _sorted(expected)
    act = acts.find(f"{BODY}/{expected.iloc[0]['source_id']}")
    history = acts.history(act)
    assert history and history[0]["by"] in ("règle par défaut selon la nature de l'acte",
                                            "choix transmis avec l'acte (télétransmission)")


def test_a_decision_recorded_since_the_index_was_written_shows_at_once(settings, monkeypatch):
    acts = Acts(settings, AGENT)
    online = acts.frame[acts.frame["online"]].iloc[0]
    actes_chain.record_decision(settings, int(online["year"]), online, Decision.WITHDRAWN, "erreur",
                                agent_actor("agent.eaux-aber"))
    read = _reads(monkeypatch)
    again = Acts(settings, AGENT).find(online["id"])
    assert (again["decision"], bool(again["online"]), again["state"]) == ("withdrawn", False, "retire")
    assert Acts(settings, AGENT).history(again)[-1]["reason"] == "erreur"
    ledger_reads = [k for k in read if k.startswith(LEDGER_PREFIX + "/")]
    assert ledger_reads and all("/command=" in k and f"-{BODY}-" in k for k in ledger_reads), "only its decision"
    assert _sorted(Acts(settings, AGENT).frame) == _sorted(actes_chain.acts_of_bodies(settings, (BODY,)))


def test_an_index_written_before_in_parquet_is_read_until_its_year_is_written_again(settings, monkeypatch):
    """Body-years indexed before the Arrow files (Parquet then) show the same acts; none is lost."""
    from core.keys import body_index_prefix
    from core.store import read_arrow, table_to_parquet_bytes

    expected = _sorted(Acts(settings, AGENT).frame)
    store = LocalStore(settings.store_url)
    tables = [key for key in store.list_keys(body_index_prefix(BODY)) if key.endswith(".arrow")]
    assert tables
    for key in tables:
        store.put_bytes(key.removesuffix(".arrow") + ".parquet", table_to_parquet_bytes(read_arrow(store, key)))
        store.delete(key)
    read = _reads(monkeypatch)
    assert _sorted(Acts(settings, AGENT).frame) == expected
    assert not [k for k in read if k.startswith(STAGING + "/") or k.startswith(LEDGER_PREFIX + "/")], "from the index"


def test_a_body_without_an_index_yet_is_computed_from_its_own_acts_and_events(settings, monkeypatch):
    """A body the agents' space has no index for (a store from before it): computed from staging and
    the ledger, reading its own events only, the acts the region's whole ledger gives (replaying the
    whole ledger took 7 s at 300,000 acts of history, for each page)."""
    import core.ledger as ledger
    from core.keys import body_index_prefix

    everyone = actes_chain.acts_of_bodies(settings)
    expected = _sorted(everyone[everyone["siren"] == BODY])
    store = LocalStore(settings.store_url)
    for key in store.list_keys(body_index_prefix(BODY)):
        store.delete(key)
    parsed, parse = [], ledger._parsed
    monkeypatch.setattr(ledger, "_parsed", lambda lines, sirens: parsed.extend(
        event.siren for event in parse(lines, sirens)) or parse(lines, sirens))
    acts = Acts(settings, AGENT)
    assert _sorted(acts.frame) == expected
    assert parsed and set(parsed) == {BODY}, "no other body's ledger events read"
    history = acts.history(acts.find(f"{BODY}/{acts.frame.iloc[0]['source_id']}"))
    assert history, "each act with its ledger history"
