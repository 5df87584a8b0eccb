"""A real ``digor`` command in another process, paused at one of its hold points (``core.test_hook``),
so that a test runs something else at that exact moment, or kills it there."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.config import PROJECT_ROOT

WAIT_LIMIT = 180


def start_digor(args: list[str], output: Path, **env: str) -> subprocess.Popen:
    """``digor <args>`` with the test's environment (and ``env``), its output in ``output``."""
    return subprocess.Popen([sys.executable, "-m", "digor.cli", *args], cwd=PROJECT_ROOT,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                            stdout=output.open("w"), stderr=subprocess.STDOUT)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        assert time.monotonic() < deadline, f"{what}: never happened"
        time.sleep(0.05)


@contextmanager
def held_at(point: str, args: list[str], folder: Path, **env: str) -> Iterator[subprocess.Popen]:
    """``digor <args>`` started and waiting at ``point`` for the block; let go (or already killed) at
    its end, then waited for. Its output: ``folder / "held.log"``."""
    gate, output = folder / "gate", folder / "held.log"
    gate.touch()
    process = start_digor(args, output, DIGOR_TEST_HOLD=f"{point}:{gate}", **env)
    try:
        wait_for(lambda: Path(f"{gate}.reached").exists() or process.poll() is not None, f"{args} at {point}")
        assert process.poll() is None, f"{args} ended before {point}: {output.read_text()}"
        yield process
    finally:
        gate.unlink(missing_ok=True)
        process.wait(timeout=WAIT_LIMIT)
