"""The house's layers point down only: import-linter's contract from pyproject.toml, and the DAG files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from core.config import PROJECT_ROOT


def test_the_layers_point_down_and_stages_never_import_each_other():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is in requirements-dev.txt"
    done = subprocess.run([lint, "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
