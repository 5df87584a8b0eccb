"""A documented pause point for the concurrency tests, inert unless ``DIGOR_TEST_HOLD`` is set.

``DIGOR_TEST_HOLD=<point>:<file>`` makes a process that reaches ``hold(point)`` create
``<file>.reached`` and wait while ``<file>`` exists (ten minutes at most), so that a test can run
another command at that exact moment, for real, in another process.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.config import hold_setting

MAX_HOLD_SECONDS = 600


def hold(point: str) -> None:
    wanted, _, file = hold_setting().partition(":")
    if wanted != point or not file:
        return
    gate = Path(file)
    Path(f"{file}.reached").touch()
    deadline = time.monotonic() + MAX_HOLD_SECONDS
    while gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
