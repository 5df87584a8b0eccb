"""The text of one document (act or annex PDF): its text layer, and OCR of the pages that have none.

Every document is read in a child process bounded in time (``timeout_seconds``, the whole process
group killed past it) and address space (``memory_bytes``, Tesseract included), so that a hostile
or huge PDF costs at most that and ends with a reason instead of stopping the night. The child
is this module run as ``python -m extract.document_text <pdf> <limits as JSON>``; it prints one
JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from core.config import TextLimits

# How a document's text was obtained; "illisible" has a reason.
TEXT_LAYER, OCR, MIXED, UNREADABLE = "texte", "ocr", "mixte", "illisible"
# Reasons a document has no (or only part of its) text.
REASONS = {
    "too_big": "larger than the text extraction's bound",
    "encrypted": "protected by a password",
    "broken": "not a readable PDF",
    "timeout": "took longer than the text extraction's bound",
    "memory": "needed more memory than the text extraction's bound",
    "crashed": "the PDF reader stopped on it",
    "partial": "more scanned pages than the OCR's bound: the last ones are left out",
}
# Temporary: this machine cannot OCR (Tesseract or its French data missing); tried again next night.
OCR_UNAVAILABLE = "ocr_unavailable"
PAGE_BREAK = "\f"
_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DocumentText:
    status: str
    pages: int = 0
    ocr_pages: int = 0
    text: str = ""
    reason: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DocumentText":
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})

    @property
    def temporary(self) -> bool:
        """A failure that says nothing of the document: try it again later, record nothing."""
        return self.reason == OCR_UNAVAILABLE


def _unreadable(reason: str, detail: str) -> DocumentText:
    return DocumentText(status=UNREADABLE, reason=reason, detail=detail)


def read_document(data: bytes, limits: TextLimits) -> DocumentText:
    """The text of a PDF's bytes, within ``limits``; never raises for a bad document."""
    if len(data) > limits.max_bytes:
        return _unreadable("too_big", f"{len(data)} bytes, more than {limits.max_bytes}")
    with tempfile.TemporaryDirectory(prefix="digor-text-") as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(data)
        return _run_child(path, limits)


def read_own_document(data: bytes, limits: TextLimits) -> DocumentText:
    """The text of a PDF digor wrote itself (the sample region's history), in this process: no child,
    no bounds, a few milliseconds instead of a process each. Never for a source's document."""
    return _read(data, limits)


def _limit_child(limits: TextLimits):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        cpu = int(limits.timeout_seconds) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    return apply


def _run_child(path: Path, limits: TextLimits) -> DocumentText:
    command = [sys.executable, "-m", "extract.document_text", str(path), json.dumps(asdict(limits))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(_ROOT),
                             start_new_session=True, preexec_fn=_limit_child(limits))
    try:
        out, err = child.communicate(timeout=limits.timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return _unreadable("timeout", f"stopped after {limits.timeout_seconds:g} s")
    if child.returncode == 0:
        try:
            return DocumentText.from_dict(json.loads(out))
        except (ValueError, TypeError):
            return _unreadable("crashed", "the reader printed no result")
    last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
    if child.returncode == -signal.SIGXCPU:
        return _unreadable("timeout", "used more CPU time than its bound")
    if "MemoryError" in last[0] or "std::bad_alloc" in err.decode("utf-8", "replace"):
        return _unreadable("memory", f"more than {limits.memory_bytes} bytes")
    return _unreadable("crashed", last[0][:300])


def _read(path: str | bytes, limits: TextLimits) -> DocumentText:
    """In the child: the text layer of every page, OCR for pages without one."""
    from extract import ocr
    from extract.pdf_text import UnreadablePdf, letters, open_pdf, page_text, render_page_png

    try:
        document = open_pdf(path)
    except UnreadablePdf as error:
        return _unreadable(error.reason, error.detail)
    pages, scanned, left_out = [], 0, 0
    per_page_timeout = max(1.0, limits.timeout_seconds)
    for number in range(len(document)):
        page = document[number]
        text = page_text(page)
        if letters(text) < limits.min_page_letters:
            if scanned >= limits.max_ocr_pages:
                left_out += 1
            else:
                try:
                    text = ocr.ocr_png(render_page_png(page, limits.ocr_dpi), limits.ocr_languages, per_page_timeout)
                except ocr.OcrUnavailable as error:
                    return _unreadable(OCR_UNAVAILABLE, str(error))
                scanned += 1
        pages.append(text.strip())
        page.close()
    count = len(pages)
    document.close()
    status = OCR if scanned == count and count else MIXED if scanned else TEXT_LAYER
    return DocumentText(
        status=status, pages=count, ocr_pages=scanned, text=PAGE_BREAK.join(pages),
        reason="partial" if left_out else None,
        detail=f"{left_out} scanned pages past the first {limits.max_ocr_pages} not read" if left_out else None,
    )


def main(argv: list[str]) -> int:
    path, limits = argv[0], TextLimits(**json.loads(argv[1]))
    try:
        result = _read(path, limits)
    except MemoryError:
        result = _unreadable("memory", f"more than {limits.memory_bytes} bytes")
    sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
