"""The text layer of a PDF, page by page, with pypdfium2 (PDFium, the engine of Chromium's viewer).

Chosen over pypdf and pdfminer.six by measure (``benchmarks/document_text.py``, figures in the
README): same text on the acts' PDFs, many times faster, and it also renders a scanned page to an
image for ``extract.ocr``. Runs inside the bounded child process of ``extract.document_text``.
"""

from __future__ import annotations

import pypdfium2 as pdfium


class UnreadablePdf(Exception):
    """A document whose text cannot be read at all; ``reason`` is one of the reasons of the report."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def open_pdf(path: str | bytes) -> pdfium.PdfDocument:
    """The document, or ``UnreadablePdf`` saying why not: "encrypted" (a password is needed) or "broken"."""
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        message = str(error)
        if "password" in message.lower():
            raise UnreadablePdf("encrypted", "the PDF needs a password") from None
        raise UnreadablePdf("broken", message) from None


def page_text(page: pdfium.PdfPage) -> str:
    """The page's text layer, lines as PDFium lays them out."""
    text_page = page.get_textpage()
    try:
        return text_page.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        text_page.close()


def letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def render_page_png(page: pdfium.PdfPage, dpi: int) -> bytes:
    """The page as a grey PNG at ``dpi``, what Tesseract reads best."""
    import io

    image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
