"""The one JSON writer: same content, same bytes (keys sorted, UTF-8, final newline).

Files a person reads (reports, state, manifests of the private zone) are indented;
files a browser downloads (widget data) are compact.
"""

from __future__ import annotations

import json

import msgspec

_SORTED = msgspec.json.Encoder(order="sorted")


class _SpeltOtherwise(Exception):
    """A float msgspec writes otherwise than json (``1e16`` for ``1e+16``, ``0.00009`` for ``9e-05``)."""


def _float_as_json_writes_it(text: str) -> float:
    value = float(text)
    if repr(value) != text:
        raise _SpeltOtherwise
    return value


_READ_BACK = msgspec.json.Decoder(float_hook=_float_as_json_writes_it)


def _sorted_json(document) -> bytes | None:
    """The compact JSON that ``json.dumps(document, ensure_ascii=False, sort_keys=True,
    separators=(",", ":"))`` writes, by msgspec (20 times faster indented: a night writes a widget
    file, a digest and a version record for every body it touches); None when msgspec would write
    it otherwise: a float spelt otherwise, or a value that does not read back as itself (NaN, a
    date, a tuple, a key that is not a text: json spells those its own way, or refuses them)."""
    try:
        text = _SORTED.encode(document)
        if _READ_BACK.decode(text) != document:
            return None
    except (TypeError, ValueError, OverflowError, _SpeltOtherwise):
        return None
    return text


def json_bytes(document) -> bytes:
    """Indented, for files people read."""
    text = _sorted_json(document)
    if text is None:
        return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")
    return msgspec.json.format(text, indent=2) + b"\n"


def compact_json_bytes(document) -> bytes:
    """No whitespace, for files browsers download."""
    text = _sorted_json(document)
    if text is None:
        return (json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
    return text + b"\n"


def fragments_json_bytes(document) -> bytes:
    """``compact_json_bytes`` of a document made of texts, integers, lists, dicts with text keys and
    ``msgspec.Raw`` fragments that ``compact_json_bytes`` wrote: the fragments go in as they are, not
    read again (a widget switch puts a first page together from the acts its year digests keep)."""
    return _SORTED.encode(document) + b"\n"


def spaced_json_bytes(document) -> bytes:
    """``json.dumps(document, ensure_ascii=False, sort_keys=True, default=str)``, encoded: what a
    record's fingerprint hashes (``load.versions.fingerprint``)."""
    text = _sorted_json(document)
    if text is None:
        return json.dumps(document, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    return msgspec.json.format(text, indent=0)


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
