"""The JSON writer gives the bytes ``json.dumps`` gave, whatever the document: files already published
keep their version names, and version records written before keep matching (``load.versions``)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from decimal import Decimal

import msgspec
import pytest

from core.jsonio import compact_json_bytes, fragments_json_bytes, json_bytes, spaced_json_bytes
from core.store import sha256_hex
from load.versions import HASH_LENGTH, fingerprint

CHARACTERS = [chr(c) for c in range(0, 0x180)] + ["\u2028", "\u2029", "\ufeff", "\ufffd", "😀", "\U0010ffff", "e", "1"]
AWKWARD = [
    1e16, 1e-7, 1.5e300, -0.0, 0.1, 2.5, float("nan"), float("inf"), 10 ** 30, -(2 ** 63), 2 ** 64, True, False, None,
    "1e5", "2e-3 près", "", "\x00\x1f\x7f", "é\"\\/", (1, "a"), date(2024, 2, 29), datetime(2024, 1, 2, 3, 4),
    Decimal("1.50"), {}, [], [[]], {"": {}},
]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 10)))


def _value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    if depth < 3 and roll < 0.3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.45:
        return rng.choice(AWKWARD)
    if roll < 0.6:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-25, 25)
    if roll < 0.7:
        return rng.randint(-10 ** 12, 10 ** 12)
    return _text(rng)


def _documents(count: int) -> list:
    rng = random.Random(20261207)
    return [{_text(rng): _value(rng) for _ in range(rng.randint(1, 6))} for _ in range(count)]


def _or_error(write, document):
    try:
        return write(document)
    except (TypeError, ValueError) as error:
        return type(error)


WRITERS = {
    "indented": (json_bytes, lambda d: (json.dumps(d, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()),
    "compact": (compact_json_bytes, lambda d: (json.dumps(d, ensure_ascii=False, sort_keys=True,
                                                          separators=(",", ":")) + "\n").encode()),
    "spaced": (spaced_json_bytes, lambda d: json.dumps(d, ensure_ascii=False, sort_keys=True, default=str).encode()),
}


@pytest.mark.parametrize("spelling", sorted(WRITERS))
def test_the_writer_gives_the_bytes_json_gave(spelling):
    write, reference = WRITERS[spelling]
    for number, document in enumerate(_documents(4000)):
        assert _or_error(write, document) == _or_error(reference, document), f"document {number}: {document!r}"


def test_a_record_keeps_the_fingerprint_it_was_recorded_with():
    act = {"id": "a1", "objet": "Budget primitif 2025 : 1e5 € (près)", "montant": 1.5e-7, "annexes": [{"nom": "é.pdf"}],
           "date": date(2025, 1, 2), "numero": "2025-001"}
    recorded = sha256_hex(json.dumps(act, ensure_ascii=False, sort_keys=True, default=str).encode())[:HASH_LENGTH]
    assert fingerprint(act) == recorded


def test_a_document_put_together_from_fragments_is_the_one_written_whole():
    """A first page put together from the JSON its year digests keep of each act is what writing its
    acts whole gives, escapes, accents and key order included."""
    acts = [{"objet": 'Vœu "urgent" <b>\u2028 é\ttab', "id": "1", "numero": None, "annexes": [{"nom": "a.pdf"}]},
            {"z": 1, "a": ["x", 2, True, {"b": "\U0001f600"}]}]
    fragments = [msgspec.Raw(compact_json_bytes(act)[:-1]) for act in acts]
    document = {"siren": "200000016", "comptes": {"1": {"7": 3}}, "actes": acts}
    assert fragments_json_bytes(dict(document, actes=fragments)) == compact_json_bytes(document)
