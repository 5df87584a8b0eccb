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


# Deep enough for every document digor reads (DECP, Pastell metadata, reports), shallow
# enough that the code walking a document recursively never meets Python's recursion limit.
MAX_JSON_DEPTH = 64


class JsonTooDeep(ValueError):
    """A JSON document nested deeper than ``MAX_JSON_DEPTH``: refused whole, never half read."""


def depth_exceeds(document, limit: int) -> bool:
    """Iterative, so that checking a hostile document cannot itself overflow the stack."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def load_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` for documents from outside: ``JsonTooDeep`` instead of a ``RecursionError``
    (in the parser, or later in code that walks the document); ``json.JSONDecodeError`` and
    ``UnicodeDecodeError`` as ``json.loads`` raises them."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels") from None
    if depth_exceeds(document, max_depth):
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    return document
