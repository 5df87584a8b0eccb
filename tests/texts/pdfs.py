"""PDFs the text tests generate: born-digital (a text layer), scanned (images only), encrypted, broken."""

from __future__ import annotations

import io
from collections.abc import Sequence

from samples.actes import minimal_pdf


def born_digital_pdf(lines: Sequence[str]) -> bytes:
    return minimal_pdf(list(lines))


def scanned_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """Each page's lines drawn on an A4 image at 150 dpi, the pages saved as an image-only PDF:
    what a scanner sends, with no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=40)
    images = []
    for lines in pages:
        image = Image.new("L", (1240, 1754), 255)
        draw = ImageDraw.Draw(image)
        for number, line in enumerate(lines):
            draw.text((120, 160 + 70 * number), line, fill=0, font=font)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """A PDF that opens only with a password."""
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("mot-de-passe")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def huge_page_pdf() -> bytes:
    """One blank page of the largest size PDF allows (200 × 200 inches): a scan to render at OCR's
    resolution needs far more memory than a page should."""
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(14400, 14400)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
