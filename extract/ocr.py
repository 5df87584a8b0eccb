"""OCR of one page image with Tesseract (Debian's ``tesseract-ocr`` and ``tesseract-ocr-fra``).

Tesseract is called directly, one process per page, on one thread (the machine's other cores
serve other tasks); the caller bounds the whole document's time and memory.
"""

from __future__ import annotations

import os
import shutil
import subprocess

TESSERACT = "tesseract"


class OcrUnavailable(Exception):
    """Tesseract or its language data is not installed: nothing can be OCR'd on this machine."""


def available(languages: str) -> bool:
    """Whether Tesseract and every language of ``languages`` (``fra+eng``) are installed."""
    if shutil.which(TESSERACT) is None:
        return False
    found = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, text=True, timeout=30)
    installed = set(found.stdout.split()[1:]) if found.returncode == 0 else set()
    return all(language in installed for language in languages.split("+"))


def ocr_png(png: bytes, languages: str, timeout: float) -> str:
    """The text Tesseract reads in a PNG image (stdin to stdout: no file left behind)."""
    if shutil.which(TESSERACT) is None:
        raise OcrUnavailable("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-fra)")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run([TESSERACT, "stdin", "stdout", "-l", languages, "--psm", "3"], input=png,
                          capture_output=True, timeout=timeout, env=env)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if any("Failed loading language" in line or "Error opening data file" in line for line in message):
            raise OcrUnavailable(f"Tesseract has no {languages!r} data (Debian: tesseract-ocr-{languages})")
        raise RuntimeError(message[-1] if message else f"tesseract exited with {done.returncode}")
    return done.stdout.decode("utf-8", "replace")
