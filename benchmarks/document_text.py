"""Text extraction and OCR throughput of the acts' documents, and the libraries compared.

    .venv/bin/python benchmarks/document_text.py [--documents 200] [--scans 6]

The text layer: pypdf, pdfminer.six and pypdfium2 (``requirements-bench.txt``) on ``--documents``
generated born-digital acts (``samples.actes.minimal_pdf``, one page of 20 to 60 lines, as the demo's
acts; the reference samples hold no PDF), in this process: pages per second and quality as the share
of the known words found. Then digor's own path (``extract.document_text.read_document``: a bounded
child process per document) on the same acts, and OCR on ``--scans`` one-page scans at 150 dpi
(``tests/texts/pdfs.py``): pages per second on this machine. Figures only; the README keeps them.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import TextLimits  # noqa: E402
from extract.document_text import read_document  # noqa: E402
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


def _measure(name, read, acts) -> None:
    pages = found = wanted = 0
    start = time.perf_counter()
    for data, words in acts:
        text, count = read(data)
        pages += count
        seen = set(re.findall(r"\w+", text.lower()))
        found += len(words & seen)
        wanted += len(words)
    seconds = time.perf_counter() - start
    print(f"{name:<34} {pages / seconds:9.1f} pages/s   words found {100 * found / wanted:6.2f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--scans", type=int, default=6)
    args = parser.parse_args(argv)
    acts = _acts(args.documents)
    print(f"{args.documents} born-digital acts, one page each")
    for name, read in (("pypdf", _pypdf), ("pdfminer.six", _pdfminer), ("pypdfium2", _pdfium)):
        try:
            _measure(name, read, acts)
        except ImportError:
            print(f"{name:<34} not installed (pip install -r requirements-bench.txt)")
    limits = TextLimits()
    _measure("digor read_document (text layer)", lambda data: (lambda f: (f.text, f.pages))(read_document(data, limits)),
             acts[: max(1, args.documents // 4)])
    rng = random.Random(11)
    scans = []
    for _ in range(args.scans):
        lines = [" ".join(rng.choice(WORDS) for _ in range(5)) for _ in range(18)]
        scans.append((scanned_pdf([lines]), {w for line in lines for w in line.split()}))
    _measure(f"digor read_document (OCR fra, {limits.ocr_dpi} dpi)",
             lambda data: (lambda f: (f.text, f.pages))(read_document(data, limits)), scans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
