"""A night racing a decision, and two runs of a chain at once, with real processes of the digor CLI.

The night is stopped at the documented test hook ``DIGOR_TEST_HOLD`` (``core.test_hook``): right
after its ``publish_year`` read the ledger, before it writes anything. What a user sees is then
checked: the public files, the data.gouv.fr upload, ``digor ledger``, exit codes and messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from chains import actes as actes_chain
from core.config import PROJECT_ROOT, Settings
from core.publication_rule import Decision
from samples.actes import DEMO_NIGHTS
from tests.replay import Replay, nights_replayed

HOLD_POINT = "after-ledger-read-{year}"
WAIT_LIMIT = 300  # seconds a test waits for a process before failing (never reached when all is well)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Iterator[Replay]:
    yield from nights_replayed(tmp_path_factory.mktemp("races"))


@pytest.fixture
def replay(replayed, tmp_path, monkeypatch) -> Replay:
    copy = replayed.copy(tmp_path / "replay")
    copy.apply(monkeypatch)
    return copy


class Digor:
    """One ``digor`` command in its own process, its stderr collected line by line as it comes."""

    def __init__(self, replay: Replay, *args: str, **env: str):
        environment = {**os.environ, **replay.env, "PYTHONPATH": str(PROJECT_ROOT), **env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "digor.cli", *args], env=environment, cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[str] = []
        self.out: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                         for stream, into in ((self.process.stderr, self.lines), (self.process.stdout, self.out))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for_line(self, text: str) -> str | None:
        """The first stderr line holding ``text``, once written; None if the process ended without."""
        deadline = time.monotonic() + WAIT_LIMIT
        while time.monotonic() < deadline:
            found = [line for line in self.lines if text in line]
            if found:
                return found[0]
            if self.process.poll() is not None and not self._readers[0].is_alive():
                return None
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} after {WAIT_LIMIT} s; stderr: {self.lines}")

    def finish(self) -> tuple[int, str]:
        self.process.wait(timeout=WAIT_LIMIT)
        for reader in self._readers:
            reader.join(timeout=WAIT_LIMIT)
        return self.process.returncode, "\n".join(self.out)

    def errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("error:")]


def _held_at(gate: Path, year: int, point: str = HOLD_POINT) -> dict[str, str]:
    gate.touch()
    return {"DIGOR_TEST_HOLD": f"{point.format(year=year)}:{gate}"}


def _wait_until_reached(gate: Path, run: Digor) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not Path(f"{gate}.reached").exists():
        assert run.process.poll() is None, f"the night ended before the hold point: {run.lines[-5:]}"
        assert time.monotonic() < deadline, "the night never reached the hold point"
        time.sleep(0.05)


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _a_published_deliberation(store: Path, year: int) -> pd.Series:
    frame = _csv(store / f"public/deliberations/deliberations-{year}.csv")
    return frame[frame["DELIB_URL"] != ""].iloc[0]


def _online(store: Path, act: pd.Series, year: int) -> dict[str, bool]:
    """Where the act is visible: the regional files, its body's widget, its PDF, and whether the
    data.gouv.fr upload is the file now online."""
    siret, numero = act["COLL_SIRET"], act["DELIB_ID"]
    delib_csv = store / f"public/deliberations/deliberations-{year}.csv"
    widget = store / f"public/widgets/actes/{siret[:9]}/{year}.json"
    acts = json.loads(widget.read_text(encoding="utf-8"))["actes"] if widget.exists() else []
    upload = json.loads((store / f"private/datagouv/dry-run/deliberations/deliberations-{year}.csv.json").read_text())
    return {
        "deliberations": numero in set(_csv(delib_csv).query("COLL_SIRET == @siret")["DELIB_ID"]),
        "actes": numero in set(_csv(store / f"public/actes/actes-{year}.csv").query("COLL_SIRET == @siret")["ACTE_ID"]),
        "widget": numero in {a["numero"] for a in acts},
        "document": (store / "public" / act["DELIB_URL"].split("/", 3)[3]).exists(),
        "datagouv_upload_is_current":
            upload["metadata"]["checksum"]["value"] == hashlib.sha256(delib_csv.read_bytes()).hexdigest(),
    }


WITHDRAWN = {"deliberations": False, "actes": False, "widget": False, "document": False,
             "datagouv_upload_is_current": True}


def _ledger_says_withdrawn(replay: Replay, act: pd.Series) -> bool:
    shown = subprocess.run(
        [sys.executable, "-m", "digor.cli", "ledger", act["COLL_SIRET"][:9], act["DELIB_ID"]],
        env={**os.environ, **replay.env, "PYTHONPATH": str(PROJECT_ROOT)}, cwd=PROJECT_ROOT,
        capture_output=True, text=True, check=True,
    ).stdout
    return "offline (decision: withdrawn)" in shown


def test_a_withdrawal_during_a_night_that_read_the_ledger_waits_for_it_and_stays_withdrawn(replay, tmp_path):
    store, gate = replay.store, tmp_path / "gate"
    act = _a_published_deliberation(store, 2025)
    assert all(_online(store, act, 2025).values())

    night = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[-1], "--force-rebuild", **_held_at(gate, 2025))
    _wait_until_reached(gate, night)  # the night has read the ledger: the act is online for it
    unpublish = Digor(replay, "unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur de transmission")
    waiting = unpublish.wait_for_line("waiting:")
    gate.unlink()

    assert night.finish()[0] == 0, night.lines
    assert unpublish.finish()[0] == 0, unpublish.lines
    assert _online(store, act, 2025) == WITHDRAWN
    assert _ledger_says_withdrawn(replay, act)
    assert waiting and f"digor run actes --date {DEMO_NIGHTS[-1]} (pid {night.process.pid}" in waiting


def test_a_night_switching_after_a_decision_it_did_not_read_rebuilds_the_year_first(replay, tmp_path):
    """The decision's own republication gave up waiting: the night applies it before its switch."""
    store, gate = replay.store, tmp_path / "gate"
    act = _a_published_deliberation(store, 2025)
    night = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[-1], "--force-rebuild", **_held_at(gate, 2025))
    _wait_until_reached(gate, night)

    unpublish = Digor(replay, "unpublish", act["COLL_SIRET"][:9], act["DELIB_ID"], "--reason", "erreur",
                      DIGOR_LOCK_WAIT_SECONDS="0")
    code, _ = unpublish.finish()
    assert code == 1
    assert len(unpublish.errors()) == 1 and "the decision is in the ledger" in unpublish.errors()[0]
    assert "Traceback" not in "\n".join(unpublish.lines)
    gate.unlink()

    assert night.finish()[0] == 0, night.lines
    assert _online(store, act, 2025) == WITHDRAWN
    assert _ledger_says_withdrawn(replay, act)


def test_the_next_night_applies_a_decision_whose_republication_never_ran(replay):
    """A decision in the ledger (``--via-airflow`` before its DAG ran, or a republication killed) on
    an act of 2024, and a night that brings nothing for 2024: the night rebuilds 2024 all the same."""
    store = replay.store
    act = _a_published_deliberation(store, 2024)
    settings = Settings.from_env()
    actes_chain.record_engineer_decision(settings, act["COLL_SIRET"][:9], act["DELIB_ID"], Decision.WITHDRAWN, "erreur")
    assert all(_online(store, act, 2024).values()), "nothing republished yet"

    report = actes_chain.CHAIN.run_night(settings, DEMO_NIGHTS[-1])
    assert _online(store, act, 2024) == WITHDRAWN
    assert _ledger_says_withdrawn(replay, act)
    published = json.loads((store / report["key"]).read_text())
    assert "deliberations-2024.csv" in json.dumps(published["files"])


@pytest.mark.parametrize("point", [HOLD_POINT, "before-texts"], ids=["publishing", "before-its-texts"])
def test_two_runs_of_a_chain_for_one_night_never_interleave(replay, tmp_path, point):
    """Held while it publishes a year, or once published before it reads the documents' texts: the
    second run waits for the whole of the first, never slips in between."""
    gate = tmp_path / "gate"
    first = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[0], **_held_at(gate, 2025, point))
    _wait_until_reached(gate, first)

    refused = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[0], DIGOR_LOCK_WAIT_SECONDS="0")
    assert refused.finish()[0] == 1
    [message] = refused.errors()
    assert f"actes is being written by digor run actes --date {DEMO_NIGHTS[0]} (pid {first.process.pid}" in message

    second = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[0])
    assert second.wait_for_line(f"waiting: actes is being written by digor run actes --date {DEMO_NIGHTS[0]} "
                                f"(pid {first.process.pid}")
    assert second.process.poll() is None, "the second run went on while the first held the chain"
    gate.unlink()

    assert first.finish()[0] == 0, first.lines
    code, out = second.finish()
    assert code == 0, second.lines
    assert "report:" in out
    lease = json.loads((replay.store / "private/locks/actes.json").read_text())
    assert lease["released"] and lease["pid"] == second.process.pid


def test_a_run_killed_with_sigkill_blocks_the_chain_only_until_its_lease_expires(replay, tmp_path):
    gate = tmp_path / "gate"
    killed = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[0], DIGOR_LOCK_TTL_SECONDS="2",
                   **_held_at(gate, 2025))
    _wait_until_reached(gate, killed)
    killed.process.send_signal(signal.SIGKILL)
    killed.finish()

    after = Digor(replay, "run", "actes", "--date", DEMO_NIGHTS[0])
    code, _ = after.finish()
    assert code == 0, after.lines
    assert any("took over an expired lease" in line and f"pid {killed.process.pid}" in line for line in after.lines)
