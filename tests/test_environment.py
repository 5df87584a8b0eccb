"""Missing reference material or chromium: a skip with its reason, a failure when CI requires them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.config import PROJECT_ROOT
from tests.environment import REQUIRE_BROWSER, REQUIRE_REFERENCE

# The project's own fixtures, the reference folder and the browser pointed at paths that do not exist.
CONFTEST = '''
from pathlib import Path

import tests.widgets.conftest as widgets
from tests.conftest import reference_dir  # noqa: F401
from tests.widgets.conftest import browser  # noqa: F401

widgets.CHROMIUM = Path(__file__).parent / "no-chromium"
'''
TESTS = '''
def test_needs_the_reference(reference_dir):
    pass


def test_needs_the_browser(browser):
    pass
'''


def _run(tmp_path: Path, **required: str) -> str:
    """Pytest on the two tests above in a child process; its summary with every skip and error reason."""
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_needs.py").write_text(TESTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in (REQUIRE_REFERENCE, REQUIRE_BROWSER)}
    env.update(required, DIGOR_REFERENCE_DIR=str(tmp_path / "no-reference"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsE", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    return result.stdout + result.stderr


def _summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_outside_ci_a_missing_reference_or_browser_skips_with_its_reason(tmp_path):
    out = _run(tmp_path)
    assert _summary(out).startswith("2 skipped in"), out
    assert f"{tmp_path / 'no-reference'} not present" in out and "no-chromium is missing" in out, out


def test_when_ci_requires_them_a_missing_reference_or_browser_fails(tmp_path):
    out = _run(tmp_path, **{REQUIRE_REFERENCE: "1", REQUIRE_BROWSER: "1"})
    assert _summary(out).startswith("2 errors in"), out
    assert f"{REQUIRE_REFERENCE} is set, so this cannot be skipped: {tmp_path / 'no-reference'} not present" in out, out
    assert f"{REQUIRE_BROWSER} is set, so this cannot be skipped:" in out and "no-chromium is missing" in out, out
