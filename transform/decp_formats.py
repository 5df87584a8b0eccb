"""Reading a DECP export: JSON or XML, 2022 or 2019 format, detected from the content.

A file is read into objects (marchés and contrats de concession) in a neutral shape: JSON as
parsed, XML as nested dicts (a repeated element becomes a list). JSON is streamed: the
envelope is walked by hand and each object decoded on its own by the C decoder, so that a
national consolidation (1.5 million objects) never sits in memory whole. The format of the
file is detected from the fields its first ``HEAD_OBJECTS`` objects use, never from its
name: the 2022 format (arrêtés du 22 décembre 2022) has fields the 2019 one never had
(techniques, considerations, offresRecues...) and lost some (names, lieuExecution.nom,
objetModification). A file that turns out broken after some objects raises
``UnreadableExport`` naming the object where it broke; the caller drops what it read.

Past its head, a large export read for worker processes (``open_export(..., fast=True)``) hands
them its objects as their texts (``RawTexts``), cut in runs at object boundaries that msgspec's C
scanner confirms, so that the reading process neither parses nor pickles them; each worker parses
its texts with the same decoder (``parsed_objects``). Anything unusual on that way (a syntax the
scanner refuses, such as ``NaN``; nesting too deep; a file broken after a run was handed out) raises
``NotStreamedFast``: the caller reads the file again the exact way, whose objects and reasons are
the reference.
"""

from __future__ import annotations

import codecs
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import msgspec
from lxml import etree

from core.jsonio import MAX_JSON_DEPTH, depth_exceeds
from core.safe_xml import XmlRefused, parse_xml

FORMAT_2022 = "2022"
FORMAT_2019 = "2019"
MARCHE = "marche"
CONCESSION = "contrat-concession"
KINDS = (MARCHE, CONCESSION)

# Fields only one of the two formats has (at the level of a marché or concession).
MARKERS_2022 = frozenset(
    {
        "techniques", "technique", "modalitesExecution", "modaliteExecution", "marcheInnovant", "ccag",
        "offresRecues", "attributionAvance", "tauxAvance", "typeGroupementOperateurs", "sousTraitanceDeclaree",
        "actesSousTraitance", "modificationsActesSousTraitance", "typesPrix", "typePrix", "origineUE",
        "origineFrance", "considerationsSociales", "considerationsEnvironnementales",
    }
)
MARKERS_2019 = frozenset({"uid", "acheteur.nom", "autoriteConcedante.nom", "lieuExecution.nom", "denominationSociale",
                          "objetModification"})
FORME_PRIX_2022 = frozenset({"Unitaire", "Forfaitaire", "Mixte"})
FORME_PRIX_2019 = frozenset({"Ferme", "Ferme et actualisable", "Révisable"})
NATURES_2019_ONLY = frozenset({"Accord-cadre", "Marché subséquent"})

CONTRACT_KEYS = frozenset({"acheteur", "acheteur.id", "autoriteConcedante", "titulaires", "concessionnaires",
                           "dateNotification", "dateSignature", "codeCPV"})

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
HEAD_OBJECTS = 1000  # objects read before the format is decided (a smaller file: all of it)
CHUNK_BYTES = 1 << 22
MAX_OBJECT_CHARS = 64 << 20  # one object larger than this is not a DECP object: the file is refused
NOT_DECP = "JSON sans « marches » ni objet de marché : ce n'est pas un export DECP"
# A comma between two objects of a list: where a run of texts may end (the scanner confirms it).
_BETWEEN_OBJECTS = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")
_TEXTS = msgspec.json.Decoder(list[msgspec.Raw])
FAST_TRIES = 12  # shorter and shorter runs tried before an object is decoded the usual way
FAST_MISSES = 3  # runs that could not be cut before the rest of the file is read the usual way


class UnreadableExport(ValueError):
    """The file cannot be read as a DECP export at all; it stays in raw, reported."""


class NotStreamedFast(Exception):
    """The fast reading of an export met something only the exact reading judges: read it again that way."""


@dataclass
class RawObject:
    position: int  # 1-based, in reading order within the file
    kind: str
    data: dict


@dataclass
class RawTexts:
    """Consecutive objects of one list of an export, as their JSON texts (UTF-8), not parsed yet."""

    position: int  # of the first
    kind: str | None  # None: each object's kind is inferred from its fields
    texts: list[bytes]


def parsed_objects(piece: RawTexts) -> list[RawObject]:
    """The objects of ``piece``, as the exact reading gives them (same decoder, same checks);
    ``NotStreamedFast`` when one of them would need its reasons told."""
    objects = []
    for offset, raw in enumerate(piece.texts):
        text = raw.decode("utf-8")
        try:
            value, end = _DECODER.raw_decode(text)
        except (json.JSONDecodeError, RecursionError):
            raise NotStreamedFast() from None
        if end != len(text) or (isinstance(value, (dict, list)) and text.count("{") + text.count("[") > MAX_JSON_DEPTH
                                and depth_exceeds(value, MAX_JSON_DEPTH)):
            raise NotStreamedFast()
        kind = piece.kind or (_kind_of(value) if isinstance(value, dict) else MARCHE)
        objects.append(RawObject(piece.position + offset, kind, value if isinstance(value, dict) else {"__valeur__": value}))
    return objects


@dataclass
class ParsedExport:
    format: str
    syntax: str
    objects: list[RawObject]
    notes: list[str] = field(default_factory=list)
    scores: dict = field(default_factory=dict)


@dataclass
class StreamedExport:
    """An export whose format is known from its head; ``objects`` reads the rest lazily (and may
    raise ``UnreadableExport`` half-way: everything read from the file is then to be dropped)."""

    format: str
    syntax: str
    objects: Iterator[RawObject | RawTexts]  # texts only when opened ``fast``
    notes: list[str] = field(default_factory=list)
    scores: dict = field(default_factory=dict)


def _kind_of(item: dict, default: str = MARCHE) -> str:
    declared = str(item.get("_type") or "").lower()
    if "concession" in declared:
        return CONCESSION
    if any(item.get(key) not in (None, "", [], {}) for key in ("autoriteConcedante", "concessionnaires", "dateSignature")):
        return CONCESSION
    if item.get("acheteur") or item.get("titulaires") or "marché" in declared or "marche" in declared:
        return MARCHE
    return default


def _listify(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _objects_from_container(container) -> list[tuple[str, object]]:
    """(kind, item) pairs of a ``marches`` value: an object of lists (2022) or a list (2019)."""
    if isinstance(container, dict):
        if any(key in container for key in KINDS):
            pairs = [(MARCHE, item) for item in _listify(container.get(MARCHE))]
            pairs += [(CONCESSION, item) for item in _listify(container.get(CONCESSION))]
            return pairs
        return [(_kind_of(container), container)]
    return [(_kind_of(item) if isinstance(item, dict) else MARCHE, item) for item in _listify(container)]


def _looks_like_contract(item) -> bool:
    return isinstance(item, dict) and bool(set(item) & CONTRACT_KEYS)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def element_value(element) -> object:
    """An XML element as JSON-like data: its text, or a dict of its children (repeated -> list)."""
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        text = (element.text or "").strip()
        return text or None
    grouped: dict[str, list] = {}
    for child in children:
        grouped.setdefault(_local(child.tag), []).append(element_value(child))
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def _parse_xml(data: bytes):
    """The root element; a document declaring a DTD or using entities is refused (``core.safe_xml``)."""
    try:
        return parse_xml(data, remove_comments=True)
    except XmlRefused as error:
        raise UnreadableExport(f"XML refusé : {error}") from None


def _read_xml(data: bytes, notes: list[str]) -> list[tuple[str, object]]:
    try:
        root = _parse_xml(data)
    except etree.XMLSyntaxError as error:
        stripped = _CONTROL.sub(b"", data)
        if stripped == data:
            raise UnreadableExport(f"XML illisible : {error}") from None
        try:
            root = _parse_xml(stripped)
        except etree.XMLSyntaxError as second:
            raise UnreadableExport(f"XML illisible : {second}") from None
        notes.append("caractères de contrôle interdits en XML retirés avant lecture")
    if _local(root.tag) in KINDS:
        value = element_value(root)
        return [(_local(root.tag), value if isinstance(value, dict) else {})]
    if _local(root.tag) != "marches":
        raise UnreadableExport(f"XML dont la racine est <{_local(root.tag)}> et non <marches>")
    pairs = []
    for child in root:
        name = _local(child.tag)
        if name in KINDS:
            value = element_value(child)
            pairs.append((name, value if isinstance(value, dict) else {}))
        elif name:
            notes.append(f"élément <{name}> inconnu sous <marches> ignoré")
    return pairs


def _marker_keys(item: dict) -> set[str]:
    keys = set(item)
    for parent in ("acheteur", "autoriteConcedante", "lieuExecution"):
        if isinstance(item.get(parent), dict):
            keys |= {f"{parent}.{key}" for key in item[parent]}
    for holder in _listify(item.get("titulaires")) + _listify(item.get("concessionnaires")):
        if isinstance(holder, dict):
            keys |= set(holder)
            for inner in holder.values():
                if isinstance(inner, dict):
                    keys |= set(inner)
    for modification in _listify(item.get("modifications")):
        if isinstance(modification, dict):
            keys |= set(modification)
            if isinstance(modification.get("modification"), dict):
                keys |= set(modification["modification"])
    return keys


def detect_format(objects: list[dict]) -> tuple[str, dict]:
    """2022 or 2019, by counting the fields only one format has, over the whole file.

    Returns the format and the scores. A file with no marker at all is read as 2022, the
    format in force since 2024.
    """
    scores: Counter = Counter()
    for item in objects:
        if not isinstance(item, dict):
            continue
        keys = _marker_keys(item)
        scores[FORMAT_2022] += len(keys & MARKERS_2022)
        scores[FORMAT_2019] += len(keys & MARKERS_2019)
        forme = item.get("formePrix")
        scores[FORMAT_2022] += forme in FORME_PRIX_2022
        scores[FORMAT_2019] += forme in FORME_PRIX_2019
        scores[FORMAT_2019] += item.get("nature") in NATURES_2019_ONLY
    chosen = FORMAT_2019 if scores[FORMAT_2019] > scores[FORMAT_2022] else FORMAT_2022
    return chosen, {FORMAT_2022: scores[FORMAT_2022], FORMAT_2019: scores[FORMAT_2019]}


def _raw_objects(pairs) -> Iterator[RawObject | RawTexts]:
    position = 1
    for kind, item in pairs:
        if isinstance(item, RawTexts):
            yield RawTexts(position, kind, item.texts)
            position += len(item.texts)
        else:
            yield RawObject(position, kind, item if isinstance(item, dict) else {"__valeur__": item})
            position += 1


def _is_utf8(stream: BinaryIO) -> bool:
    """Checked in chunks, without a decoded copy of a whole large file; the stream is rewound."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)
    return True


def _first_byte(stream: BinaryIO) -> bytes:
    """The first byte past a BOM and whitespace (b"" for an empty file); the stream is rewound."""
    try:
        while chunk := stream.read(CHUNK_BYTES):
            start = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
            if start:
                return start
        return b""
    finally:
        stream.seek(0)


def open_export(source: bytes | BinaryIO, fast: bool = False) -> StreamedExport:
    """Open one export file (its bytes, or a seekable binary file read lazily), its format decided
    from its head; raises ``UnreadableExport`` with a French reason (at once, or while ``objects``
    is read). ``fast``: past the head, objects may come as ``RawTexts`` (see the module docstring)."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    start = _first_byte(stream)
    notes: list[str] = []
    if start in (b"{", b"["):
        if not _is_utf8(stream):
            notes.append("fichier non UTF-8 : lu en Windows-1252")
        text = _JsonText(stream, "utf-8-sig" if not notes else "cp1252", fast and not notes)
        pairs, syntax = _json_pairs(text), "json"
    elif start == b"<":
        pairs, syntax = iter(_read_xml(stream.read(), notes)), "xml"
    elif not start:
        raise UnreadableExport("fichier vide")
    else:
        raise UnreadableExport("ni JSON ni XML")
    objects = _raw_objects(pairs)
    head = list(itertools.islice(objects, HEAD_OBJECTS))
    fmt, scores = detect_format([o.data for o in head])
    return StreamedExport(fmt, syntax, itertools.chain(head, objects), notes, scores)


def read_export(data: bytes) -> ParsedExport:
    """Parse one (small) export file whole; raises ``UnreadableExport`` with a French reason."""
    export = open_export(data)
    return ParsedExport(export.format, export.syntax, list(export.objects), export.notes, export.scores)


class _JsonText:
    """A JSON text read chunk by chunk and decoded value by value with the C decoder."""

    def __init__(self, stream: BinaryIO, encoding: str, fast: bool = False):
        self._stream = stream
        self.fast, self.took_fast, self._misses = fast, False, 0
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict" if encoding != "cp1252" else "replace")
        self.buffer, self.pos, self.eof = "", 0, False
        self._lines, self._column = 0, 0  # newlines and current column of the text already dropped
        self.objects = 0  # objects decoded so far (for the error message)
        self.inside = False  # an object of a list is being decoded

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self._stream.read(CHUNK_BYTES)
        text = self._decoder.decode(chunk, final=not chunk)
        if not chunk:
            self.eof = True
        dropped = self.buffer[:self.pos]
        newlines = dropped.count("\n")
        self._lines += newlines
        self._column = len(dropped) - dropped.rfind("\n") - 1 if newlines else self._column + len(dropped)
        self.buffer, self.pos = self.buffer[self.pos:] + text, 0
        return bool(text) or not self.eof

    def peek(self) -> str:
        """The next significant character ('' at the end of the text)."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def expect(self, characters: str) -> str:
        found = self.peek()
        if not found or found not in characters:
            self.fail(f"Expecting {' or '.join(repr(c) for c in characters)}", self.pos)
        self.pos += 1
        return found

    def value(self):
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except RecursionError:
                self._refuse(f"JSON refusé : imbrication au-delà de {MAX_JSON_DEPTH} niveaux{self._where()}")
            except json.JSONDecodeError as error:
                truncated = error.msg.startswith("Unterminated string") or error.pos >= len(self.buffer) - 1024
                if truncated and len(self.buffer) - self.pos < MAX_OBJECT_CHARS and self._fill():
                    continue
                self.fail(error.msg, error.pos)
            if end == len(self.buffer) and isinstance(value, (int, float)) and self._fill():
                continue  # a number cut by the chunk's end
            start, self.pos = self.pos, end
            if isinstance(value, (dict, list)) and self._nests_deep(start, end) and depth_exceeds(value, MAX_JSON_DEPTH):
                self._refuse(f"JSON refusé : imbrication au-delà de {MAX_JSON_DEPTH} niveaux{self._where()}")
            return value

    def _refuse(self, reason: str):
        """``UnreadableExport``; once texts were handed out, the exact reading must tell where."""
        if self.took_fast:
            raise NotStreamedFast()
        raise UnreadableExport(reason)

    def _nests_deep(self, start: int, end: int) -> bool:
        """Whether the value's text has brackets enough to nest past ``MAX_JSON_DEPTH`` (counted in C;
        brackets inside strings count too): most objects are not walked to measure their depth."""
        return self.buffer.count("{", start, end) + self.buffer.count("[", start, end) > MAX_JSON_DEPTH

    def _where(self) -> str:
        if self.inside:
            return f", objet n°{self.objects + 1}"
        return f", après l'objet n°{self.objects}" if self.objects else ""

    def fail(self, message: str, pos: int):
        before = self.buffer[:pos]
        newlines = before.count("\n")
        line = self._lines + newlines + 1
        column = (pos - before.rfind("\n") if newlines else self._column + pos + 1)
        self._refuse(f"JSON illisible : {message} (ligne {line}, colonne {column}){self._where()}")

    def items(self, texts: Callable[[], bool] = lambda: True) -> Iterator:
        """The values of the array starting here; past the head of a ``fast`` reading, when ``texts()``,
        runs of them as ``RawTexts`` (their kind and position set by the caller)."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            if self.fast and self.objects >= HEAD_OBJECTS and texts():
                run = self._run()
                if run:
                    self.took_fast = True
                    self.objects += len(run)
                    yield RawTexts(0, None, run)
                    if self.expect(",]") == "]":
                        return
                    continue
            self.inside = True
            item = self.value()
            self.objects += 1
            self.inside = False
            yield item
            if self.expect(",]") == "]":
                return

    def _run(self) -> list[bytes] | None:
        """The texts of the list's next objects, up to the last one that ends in the buffer before a comma,
        cut where msgspec's scanner reads them as whole values (a cut inside a string or an object never
        does: the run would end unterminated); None when no run can be cut here."""
        if len(self.buffer) - self.pos < CHUNK_BYTES // 2:
            self._fill()
        end = len(self.buffer)
        for _ in range(FAST_TRIES):
            cut = self.buffer.rfind("}", self.pos, end)
            while cut > self.pos and not _BETWEEN_OBJECTS.match(self.buffer, cut):
                cut = self.buffer.rfind("}", self.pos, cut)
            if cut <= self.pos:
                break
            try:
                run = _TEXTS.decode("[" + self.buffer[self.pos:cut + 1] + "]")
            except (msgspec.DecodeError, RecursionError):
                end = self.pos + (cut - self.pos) // 2
                continue
            self.pos = cut + 1
            return [bytes(text) for text in run]
        self._misses += 1
        self.fast = self._misses < FAST_MISSES
        return None

    def keys(self) -> Iterator[str]:
        """The keys of the object starting here; the caller reads each key's value before the next."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                self.fail("Expecting property name enclosed in double quotes", self.pos)
            key = self.value()
            self.expect(":")
            yield key
            if self.expect(",}") == "}":
                return


def _is_array(text: _JsonText) -> bool:
    return text.peek() == "["


def _container_pairs(text: _JsonText) -> Iterator[tuple[str, object]]:
    """(kind, item) pairs of a ``marches`` value: an object of lists (2022) or a list (2019)."""
    if _is_array(text):
        for item in text.items():
            yield (None if isinstance(item, RawTexts) else _kind_of(item) if isinstance(item, dict) else MARCHE), item
        return
    if text.peek() != "{":
        yield from _objects_from_container(text.value())
        return
    others, kinds = {}, False
    for key in text.keys():
        if key in KINDS:
            kinds = True
            yield from ((key, item) for item in (text.items() if _is_array(text) else _listify(text.value())))
        else:
            others[key] = text.value()
    if not kinds:
        yield from _objects_from_container(others)


def _json_pairs(text: _JsonText) -> Iterator[tuple[str, object]]:
    """(kind, item) pairs of a JSON export, streamed; ``UnreadableExport`` when it is not one."""
    if _is_array(text):
        found = False
        for item in text.items(lambda: found):  # texts once the file is known to hold contracts
            if isinstance(item, RawTexts):
                yield None, item
                continue
            found = found or _looks_like_contract(item)
            yield (_kind_of(item) if isinstance(item, dict) else MARCHE), item
        if not found:
            raise UnreadableExport(NOT_DECP)
    else:
        found = False
        for key in text.keys():
            if key == "marches" or key in KINDS:
                found = True
                yield from (_container_pairs(text) if key == "marches" else
                            ((key, item) for item in (text.items() if _is_array(text) else _listify(text.value()))))
            else:
                text.value()
        if not found:
            raise UnreadableExport(NOT_DECP)
    if text.peek():
        text.fail("Extra data", text.pos)
