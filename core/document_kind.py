"""What an act's document is, from its bytes: digor publishes PDFs, and serves them as PDFs only.

A file's name says nothing (an annex named ``.pdf`` may be HTML with a script, one named
``.html`` may be a PDF): the public zone takes a document only when its bytes are a PDF,
stores it under a ``.pdf`` key, and every server (``digor serve``, the S3 object's headers)
gives the content type from the bytes, so a browser never runs a document as a page.
"""

from __future__ import annotations

from core.keys import DOCUMENT_TEXT_SUFFIX

PDF_MAGIC = b"%PDF-"
PDF_CONTENT_TYPE = "application/pdf"
# Anything else found among the documents: a download, never rendered. Not application/octet-stream,
# which some S3 services (SeaweedFS) replace by a guess from the key's extension (text/html).
OTHER_CONTENT_TYPE = "binary/octet-stream"


def is_pdf(data: bytes) -> bool:
    return data[: len(PDF_MAGIC)] == PDF_MAGIC


def carries_private_annexes(file_name: str) -> bool:
    """A TOTEM budget document (XML) holds annexes with personal data (staff, elected
    officials' allowances): its row is published, the file is not; its figures reach the
    public through the budgets chain, which never reads those annexes."""
    return file_name.lower().endswith(".xml")


TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def document_headers(data: bytes, key: str = "") -> dict[str, str]:
    """HTTP headers of a public document: a PDF as a PDF, the text digor read from one (``.txt``
    key) as plain text; anything else as a download that no browser renders, whatever its name said."""
    if key.endswith(DOCUMENT_TEXT_SUFFIX):
        return {"Content-Type": TEXT_CONTENT_TYPE, "X-Content-Type-Options": "nosniff"}
    if is_pdf(data):
        return {"Content-Type": PDF_CONTENT_TYPE}
    return {"Content-Type": OTHER_CONTENT_TYPE, "Content-Disposition": "attachment",
            "Content-Security-Policy": "sandbox; default-src 'none'"}
