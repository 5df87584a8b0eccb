"""What some tests need from the machine: the reference material, Debian's chromium and Tesseract.

Outside CI a missing piece skips the tests that need it, with the reason. ``.ci/run`` sets
``DIGOR_REQUIRE_REFERENCE``, ``DIGOR_REQUIRE_BROWSER`` and ``DIGOR_REQUIRE_OCR`` (as ``DIGOR_REQUIRE_S3`` for the
S3 server), so that CI fails instead of passing with those tests silently skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

from core.config import PROJECT_ROOT

REQUIRE_REFERENCE = "DIGOR_REQUIRE_REFERENCE"
REQUIRE_BROWSER = "DIGOR_REQUIRE_BROWSER"
REQUIRE_OCR = "DIGOR_REQUIRE_OCR"


def reference_root() -> Path:
    """``../shared/reference``, or ``DIGOR_REFERENCE_DIR``, present or not."""
    return Path(os.environ.get("DIGOR_REFERENCE_DIR", PROJECT_ROOT.parent / "shared" / "reference"))


def unavailable(variable: str, reason: str) -> NoReturn:
    """Skip for ``reason``, or fail when ``variable`` says this run must have what is missing."""
    if os.environ.get(variable):
        pytest.fail(f"{variable} is set, so this cannot be skipped: {reason}", pytrace=False)
    pytest.skip(reason)


def reference_missing(reason: str) -> NoReturn:
    unavailable(REQUIRE_REFERENCE, reason)


def reference_path(relative: str = "") -> Path:
    """A path under the reference material; skips (fails in CI) when it is not there."""
    root = reference_root()
    if not root.is_dir():
        reference_missing(f"{root} not present: cannot compare with the official reference material")
    path = root / relative if relative else root
    if not path.exists():
        reference_missing(f"{path} not present: cannot compare with the official reference material")
    return path
