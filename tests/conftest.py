"""Test environment: Airflow on a throwaway home and SQLite DB, the project config."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="digor-airflow-test-"))
# Set before anything imports airflow.
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW_CONFIG": str(ROOT / "airflow.cfg"),
        "DIGOR_DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
)

import pytest  # noqa: E402

from core.config import Settings  # noqa: E402

# Loopback services shared by several test folders: seaweedfs, s3_store_url, udata.
from tests.emulators.fixtures import s3_store_url, seaweedfs, udata  # noqa: E402,F401
from tests.environment import reference_path  # noqa: E402
from tests.replay import demo_inputs  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.resetdb()
    yield


@pytest.fixture
def reference_dir() -> Path:
    """The official material; skips with the reason when absent (fails under DIGOR_REQUIRE_REFERENCE)."""
    return reference_path()


@pytest.fixture
def demo_settings(tmp_path, monkeypatch) -> Settings:
    """Settings pointing at a fresh store and a freshly generated sample drop folder."""
    return demo_inputs(tmp_path).apply(monkeypatch)


@pytest.fixture(scope="session")
def ocr_ready() -> None:
    """Tesseract with its French data (Debian's tesseract-ocr, tesseract-ocr-fra); skips with the reason
    when absent, fails under DIGOR_REQUIRE_OCR (as in CI)."""
    from extract import ocr
    from tests.environment import REQUIRE_OCR, unavailable

    if not ocr.available("fra"):
        unavailable(REQUIRE_OCR, "Tesseract with its French data is missing: apt-get install -y tesseract-ocr "
                                 "tesseract-ocr-fra")
