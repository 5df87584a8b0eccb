"""Text extraction and OCR throughput of the acts' documents, and the libraries compared.

    .venv/bin/python benchmarks/document_text.py [--documents 200] [--scans 6]

The text layer: pypdf, pdfminer.six and pypdfium2 (``requirements-bench.txt``) on ``--documents``
generated born-digital acts (``samples.actes.minimal_pdf``, one page of 20 to 60 lines, as the demo's
acts; the reference samples hold no PDF), in this process: pages per second and quality as the share
of the known words found. Then digor's own path on the same acts: ``read_document`` (a document alone:
a reading server started for it) and ``TextReader`` (a night's batch: one reading server, a bounded
process forked per document), and OCR on ``--scans`` one-page scans (``tests/texts/pdfs.py``): pages per
second on this machine, and CPU per document with the reading processes. Figures only; the README
keeps them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import TextLimits  # noqa: E402
from extract.document_text import TextReader, read_document  # noqa: E402
from samples.actes import minimal_pdf  # noqa: E402
from tests.texts.pdfs import scanned_pdf  # noqa: E402

WORDS = ("deliberation conseil municipal commune budget subvention association travaux voirie rue place "
         "marche public attribution convention personnel tarif cantine ecole stationnement arrete maire "
         "urbanisme permis construire lotissement cession terrain parcelle cadastre euros montant").split()


def _acts(count: int, seed: int = 7) -> list[tuple[bytes, set[str]]]:
    rng = random.Random(seed)
    acts = []
    for _ in range(count):
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) for _ in range(rng.randint(20, 60))]
        acts.append((minimal_pdf(lines), {w for line in lines for w in line.split()}))
    return acts


def _pypdf(data: bytes) -> tuple[str, int]:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def _pdfminer(data: bytes) -> tuple[str, int]:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfpage import PDFPage

    return extract_text(io.BytesIO(data)), sum(1 for _ in PDFPage.get_pages(io.BytesIO(data)))


def _pdfium(data: bytes) -> tuple[str, int]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    pages = [document[i].get_textpage().get_text_bounded() for i in range(len(document))]
    return "\n".join(pages), len(pages)


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (digor's readers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextlib.contextmanager
def _each(read):
    yield read


def _measure(name, opened, acts) -> None:
    """``opened()``: a context giving the reading function (closed, its processes waited for, before
    the CPU is read)."""
    pages = found = wanted = 0
    start, cpu = time.perf_counter(), _cpu()
    with opened() as read:
        for data, words in acts:
            text, count = read(data)
            pages += count
            seen = set(re.findall(r"\w+", text.lower()))
            found += len(words & seen)
            wanted += len(words)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    print(f"{name:<44} {pages / seconds:9.1f} pages/s   {1000 * cpu / len(acts):7.1f} ms CPU a document   "
          f"words found {100 * found / wanted:6.2f} %")


@contextlib.contextmanager
def _batch(limits: TextLimits):
    """digor's path in a night: one reading server for the batch, a forked process per document."""
    with TextReader(limits) as reader:
        yield lambda data: (lambda f: (f.text, f.pages))(reader.read(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--scans", type=int, default=6)
    args = parser.parse_args(argv)
    acts = _acts(args.documents)
    print(f"{args.documents} born-digital acts, one page each")
    for name, read in (("pypdf", _pypdf), ("pdfminer.six", _pdfminer), ("pypdfium2", _pdfium)):
        try:
            _measure(name, lambda: _each(read), acts)
        except ImportError:
            print(f"{name:<44} not installed (pip install -r requirements-bench.txt)")
    limits = TextLimits()
    alone = lambda: _each(lambda data: (lambda f: (f.text, f.pages))(read_document(data, limits)))  # noqa: E731
    _measure("digor read_document (text layer, one alone)", alone, acts[: max(1, args.documents // 4)])
    _measure("digor TextReader (text layer, a batch)", lambda: _batch(limits), acts)
    rng = random.Random(11)
    scans = []
    for _ in range(args.scans):
        lines = [" ".join(rng.choice(WORDS) for _ in range(5)) for _ in range(18)]
        scans.append((scanned_pdf([lines]), {w for line in lines for w in line.split()}))
    _measure(f"digor TextReader (OCR fra, {limits.ocr_dpi} dpi, a batch)", lambda: _batch(limits), scans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
