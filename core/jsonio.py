"""The one JSON writer: same content, same bytes (keys sorted, UTF-8, final newline).

Files a person reads (reports, state, manifests of the private zone) are indented;
files a browser downloads (widget data) are compact.
"""

from __future__ import annotations

import json


def json_bytes(document) -> bytes:
    """Indented, for files people read."""
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def compact_json_bytes(document) -> bytes:
    """No whitespace, for files browsers download."""
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
