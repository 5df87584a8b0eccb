from __future__ import annotations

import os

import pytest

from extract import ocr


@pytest.fixture(scope="session")
def ocr_ready() -> None:
    """Tesseract with its French data; skips with the reason when absent (fails under DIGOR_REQUIRE_OCR, as in CI)."""
    if not ocr.available("fra"):
        reason = "Tesseract with French data is not installed (apt-get install tesseract-ocr tesseract-ocr-fra)"
        if os.environ.get("DIGOR_REQUIRE_OCR") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
