"""The text of one document (act or annex PDF): its text layer, and OCR of the pages that have none.

Every document is read in a process of its own bounded in time (``timeout_seconds``, its whole
process group killed past it) and address space (``memory_bytes``, Tesseract included), so that a
hostile or huge PDF costs at most that and ends with a reason instead of stopping the night. Those
processes are forked, one per document, from a reading server (this module run as
``python -m extract.document_text --serve <limits as JSON>``) that has imported the PDF reader once:
a document costs a fork, not an interpreter's start (``TextReader``: one server for a batch of
documents). The server takes a PDF's path per line on its input and answers one JSON line; a server
that dies or stops answering is replaced and asked again once, then the document is "crashed".
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
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
    with TextReader(limits) as reader:
        return reader.read(data)


class TextReader:
    """Reads documents one after the other, each in its own bounded process forked from one reading
    server started at the first document."""

    # What the server may take beyond a document's own bound before it is taken for dead.
    GRACE_SECONDS = 30.0

    def __init__(self, limits: TextLimits):
        self.limits = limits
        self._folder = tempfile.TemporaryDirectory(prefix="digor-text-")
        self._server: subprocess.Popen | None = None

    def __enter__(self) -> "TextReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop()
        self._folder.cleanup()

    def read(self, data: bytes) -> DocumentText:
        """The text of a PDF's bytes, within the limits; never raises for a bad document."""
        if len(data) > self.limits.max_bytes:
            return _unreadable("too_big", f"{len(data)} bytes, more than {self.limits.max_bytes}")
        path = Path(self._folder.name) / "document.pdf"
        path.write_bytes(data)
        for _ in range(2):  # a server found dead (killed between documents) is replaced once
            answer = self._ask(path)
            if answer is not None:
                return answer
            self._stop()
        return _unreadable("crashed", "the text reader stopped while reading it")

    def _ask(self, path: Path) -> DocumentText | None:
        """The server's answer for one document; None if it stopped without one. A document cannot stop
        the server (its own process can only end itself), so a stopped server says nothing of it."""
        server = self._start()
        try:
            server.stdin.write(f"{path}\n".encode())
            server.stdin.flush()
        except OSError:
            return None
        ready, _, _ = select.select([server.stdout], [], [], self.limits.timeout_seconds + self.GRACE_SECONDS)
        try:
            return DocumentText.from_dict(json.loads(server.stdout.readline() if ready else b""))
        except (ValueError, TypeError):
            return None

    @property
    def server_pid(self) -> int | None:
        """The reading server's process, once started (what an operator or a test may kill)."""
        return None if self._server is None else self._server.pid

    def _start(self) -> subprocess.Popen:
        if self._server is None or self._server.poll() is not None:
            env = {**os.environ,
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
            self._server = subprocess.Popen(
                [sys.executable, "-m", "extract.document_text", "--serve", json.dumps(asdict(self.limits))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(_ROOT), start_new_session=True)
        return self._server

    def _stop(self) -> None:
        if self._server is not None:
            if self._server.poll() is None:
                os.killpg(self._server.pid, signal.SIGKILL)
            self._server.communicate()
            self._server = None


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


def _read_forked(path: str, limits: TextLimits) -> DocumentText:
    """In the server: one document read in a forked child with the document's bounds."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own process group, bounded, then gone without running the server's code
        try:
            os.setsid()
            os.close(out_read)
            os.close(err_read)
            os.dup2(err_write, 2)
            nowhere = os.open(os.devnull, os.O_RDWR)  # the server's protocol streams are not the child's
            os.dup2(nowhere, 0)
            os.dup2(nowhere, 1)
            _limit_child(limits)()
            try:
                result = _read(path, limits)
            except MemoryError:
                result = _unreadable("memory", f"more than {limits.memory_bytes} bytes")
            data = json.dumps(result.to_dict(), ensure_ascii=False).encode()
            while data:
                data = data[os.write(out_write, data):]
            os._exit(0)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
    os.close(out_write)
    os.close(err_write)
    out, err, timed_out = _collect(pid, out_read, err_read, time.monotonic() + limits.timeout_seconds)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return _unreadable("timeout", f"stopped after {limits.timeout_seconds:g} s")
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        try:
            return DocumentText.from_dict(json.loads(out))
        except (ValueError, TypeError):
            return _unreadable("crashed", "the reader printed no result")
    message = err.decode("utf-8", "replace")
    last = message.strip().splitlines()[-1:] or [f"exit status {code}"]
    if code == -signal.SIGXCPU:
        return _unreadable("timeout", "used more CPU time than its bound")
    if "MemoryError" in last[0] or "std::bad_alloc" in message:
        return _unreadable("memory", f"more than {limits.memory_bytes} bytes")
    return _unreadable("crashed", last[0][:300])


def _collect(pid: int, out_fd: int, err_fd: int, deadline: float) -> tuple[bytes, bytes, bool]:
    """A child's output and error streams to their end, or its process group killed at the deadline."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    open_fds = [out_fd, err_fd]
    timed_out = False
    while open_fds:
        left = None if timed_out else deadline - time.monotonic()
        if left is not None and left <= 0:
            timed_out = True  # then read what is left until the streams close
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            continue
        ready, _, _ = select.select(open_fds, [], [], left)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                open_fds.remove(fd)
                os.close(fd)
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd]), timed_out


def _serve(limits: TextLimits) -> int:
    """The reading server: one PDF path per input line, one JSON line out per document."""
    from extract import ocr, pdf_text  # noqa: F401 - imported once here, not in each child

    for line in sys.stdin:
        result = _read_forked(line.rstrip("\n"), limits)
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


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
    if argv[:1] != ["--serve"] or len(argv) != 2:
        print("usage: python -m extract.document_text --serve <limits as JSON>", file=sys.stderr)
        return 2
    return _serve(TextLimits(**json.loads(argv[1])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
