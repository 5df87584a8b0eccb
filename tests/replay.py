"""Demo nights replayed once per test module, and cheap copies for the tests that change them.

Replaying the three demo nights through a chain or a DAG takes seconds; copying the resulting
folder takes milliseconds. A module replays once (a module-scoped fixture), the tests that only
read use that store as it is, and each test that writes (a rerun, a withdrawal, a backfill)
gets its own copy of the store and of the inputs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT, Settings

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"


@dataclass(frozen=True)
class Replay:
    """A store and its inputs under ``root``, and the ``DIGOR_*`` environment that points at them."""

    root: Path
    env: dict[str, str]

    @property
    def store(self) -> Path:
        return Path(self.env["DIGOR_STORE"])

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> Settings:
        """Point the environment (what the CLI and the DAGs' tasks read) at this replay."""
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)
        return Settings.from_env()

    @contextmanager
    def active(self) -> Iterator[Settings]:
        """``apply`` for a module-scoped fixture, where the function-scoped ``monkeypatch`` is not available."""
        with pytest.MonkeyPatch.context() as patch:
            yield self.apply(patch)

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """Size and modification time of every file and folder: enough to notice that a test wrote here."""
        return {path.relative_to(self.root).as_posix(): (stat.st_size, stat.st_mtime_ns)
                for path in sorted(self.root.rglob("*")) for stat in (path.stat(),)}

    def copy(self, destination: Path) -> Replay:
        """The same store and inputs under ``destination`` (metadata and times kept), for a test that writes."""
        shutil.copytree(self.root, destination, symlinks=True)
        return Replay(destination, {name: value.replace(str(self.root), str(destination)) for name, value in self.env.items()})


def demo_inputs(root: Path, **env: str) -> Replay:
    """A fresh store under ``root`` and a freshly generated sample drop folder; ``env`` adds variables."""
    from samples.actes import generate_drop_folder

    generate_drop_folder(root / "drop", REGISTRY)
    return Replay(root, {"DIGOR_STORE": str(root / "store"), "DIGOR_DROP_DIR": str(root / "drop"), **env})


def shared(replay: Replay) -> Iterator[Replay]:
    """Give ``replay`` to a module's tests (``yield from`` in its fixture); fail if one of them changed it."""
    before = replay.snapshot()
    yield replay
    assert replay.snapshot() == before, f"a test wrote to the shared replay {replay.root}: give it its own copy"


def nights_replayed(root: Path, chains: tuple[str, ...] = ("actes",)) -> Iterator[Replay]:
    """The demo nights through ``chains`` in order, each night (budgets with the demo's plans de comptes),
    given to a module's tests as ``shared`` does: ``yield from`` it in a module-scoped fixture."""
    from chains.chain import get_chain
    from samples.actes import DEMO_NIGHTS

    env = {}
    if "budgets" in chains:
        from samples.budgets import write_demo_plans

        write_demo_plans(root / "plans")
        env = {"DIGOR_PLANS_DIRS": str(root / "plans"), "DIGOR_PLANS_BASE_URL": ""}
    replay = demo_inputs(root, **env)
    with replay.active() as settings:
        for night in DEMO_NIGHTS:
            for chain in chains:
                get_chain(chain).run_night(settings, night)
    yield from shared(replay)

