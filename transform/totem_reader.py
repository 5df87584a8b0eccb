"""Hardened reader of TOTEM budget documents, streaming the large ones.

A TOTEM file is a ``DocumentBudgetaire`` (namespace ``…/cp/demat/docbudgetaire``), or a
*compte financier unique* (``CompteFinancierUnique``) that wraps one next to the accounting
part. Real files are ISO-8859-1 with CRLF, follow many XSD versions (the reader is lenient:
it needs a handful of elements, whatever the ``VersionSchema``), write French numbers in
``InformationsGenerales`` and can weigh several MB (the CFU carries the whole balance).

Each ``LigneBudget`` is turned into a small record, and the annexes (personal data: staff,
subsidies to persons, loans) are never read. A file up to ``WHOLE_TREE_BYTES`` is parsed whole
(libxml2's one-shot parse is the cheapest) and, when the install step built it, walked by the C
module ``transform/_totem_walk.c``, which hands each line's fields without a Python object per child
(the same records as the Python reading, which a machine without the module uses); a larger one is
parsed as a stream whose elements read are freed (lines by batches of ``_LINES_FREED_TOGETHER``,
skipped blocks as they end).
Nothing from the outside is loaded: the parser is ``core.safe_xml``'s (a DOCTYPE, the door to
entity bombs and external entities, is refused wherever the prologue puts it and whatever its
encoding; entities are never resolved, the network is never touched), and the input size is capped.
Any problem raises ``TotemError`` with a reason an engineer can act on.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from lxml import etree

from core import safe_xml
from core.config import BUDGET_MAX_AMOUNT
from core.identifiers import siret_is_valid
from transform.totem_native import native_walk

DOCBUDG_NS = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
CFU_ROOT = "CompteFinancierUnique"
DOC_ROOT = "DocumentBudgetaire"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# Up to this size a document is parsed whole: its tree, about 9 times its size (~70 MB at most), is freed
# once read. Real files weigh a few MB at most; a streamed one of that size already holds its annexes
# until they end.
WHOLE_TREE_BYTES = 8 * 1024 * 1024

# NatDec codes (CommunBudget.xsd; 10 = compte financier unique, newer than the V95 XSD).
NATDEC_CODES = {
    "01": "budget primitif",
    "02": "décision modificative",
    "03": "budget supplémentaire",
    "09": "compte administratif",
    "10": "compte financier unique",
}
AMOUNT_FIELDS = ("MtReal", "MtBudgPrec", "MtRARPrec", "MtPropNouv", "MtPrev", "CredOuv", "MtRAR3112")
LINE_TEXT_FIELDS = (
    "Nature", "ContNat", "Fonction", "ContFon", "Operation", "ContOp", "CodRD", "OpBudg",
    "TypOpBudg", "ArtSpe", "LibCpte",
)  # fmt: skip
# Blocks that are never read: freed as soon as they end so that memory stays flat.
_SKIPPED_BLOCKS = {"Annexes", "DocumentComptable", "Signatures", "DocumentRapport", "PJRef"}
_BLOC_BUDGET_FIELDS = ("NatDec", "Exer", "DteDec", "CodTypBud", "IdEtabPal", "LibelleEtabPal", "NatVote", "NatFonc")
_EN_TETE_BUDGET_FIELDS = ("LibelleEtab", "IdEtab", "CodColl", "CodBud", "Nomenclature", "CodInseeColl")
_EN_TETE_DOC_FIELDS = ("LibelleColl", "IdColl", "NatCEPL", "Departement", "DteStr")
_FRENCH_NUMBER = re.compile(r"^[+-]?\d{1,3}(?:[ \u00a0\u202f]?\d{3})*(?:,\d+)?$|^[+-]?\d+(?:[.,]\d+)?$")
_YEAR = re.compile(r"^\d{4}$")


class TotemError(ValueError):
    """A TOTEM file that cannot be read or converted; the message says why."""


class BudgetLine(NamedTuple):
    """One ``LigneBudget`` as written in the document (codes as text, amounts as Decimal); a named
    tuple: as unchangeable as a frozen dataclass, made several times faster (a file has thousands)."""

    number: int
    nature: str
    cont_nat: str
    fonction: str
    cont_fon: str
    operation: str
    cod_rd: str
    op_budg: str
    typ_op_budg: str
    art_spe: str
    lib_cpte: str
    section: str
    amounts: dict[str, Decimal | None]  # every name of AMOUNT_FIELDS, in that order (None: not in the line)


@dataclass
class TotemDocument:
    """The facts of one budget document that the SCDL file and the widgets need."""

    root: str
    schema_version: str = ""
    sealed_at: str = ""
    header: dict[str, str] = field(default_factory=dict)
    informations: dict[str, Decimal | str] = field(default_factory=dict)
    lines: list[BudgetLine] = field(default_factory=list)
    skipped_calculated: int = 0

    @property
    def is_cfu(self) -> bool:
        return self.root == CFU_ROOT

    @property
    def natdec(self) -> str:
        return self.header.get("NatDec", "")

    @property
    def year(self) -> int:
        return int(self.header["Exer"])

    @property
    def siret(self) -> str:
        return self.header.get("IdEtab") or self.header.get("IdColl", "")

    @property
    def nomenclature(self) -> tuple[str, str]:
        """(norme, déclinaison), e.g. ("M14", "M14_COM_500_3500") from "M14-M14_COM_500_3500"."""
        value = self.header.get("Nomenclature", "")
        norme, _, declinaison = value.partition("-")
        return norme, declinaison or norme

    @property
    def is_annex(self) -> bool:
        """An annex budget (CodTypBud A), which carries its own SIRET."""
        return self.header.get("CodTypBud", "") == "A"


_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def parse_french_number(text: str) -> Decimal | None:
    """``"3 446"``, ``"58,04"``, ``"591,78 %"`` or ``"1234.5"`` -> Decimal; None when not a number."""
    if _PLAIN_NUMBER.fullmatch(text):  # how line amounts are written: no clean-up needed
        return Decimal(text)
    value = text.strip().removesuffix("%").strip()
    if not value or not _FRENCH_NUMBER.match(value):
        return None
    value = re.sub(r"[ \u00a0\u202f]", "", value).replace(",", ".")
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def plausible_amount(value: Decimal, bound: Decimal | None) -> bool:
    """Whether a line amount is one a budget can hold (``bound``: the largest, either sign; None: any)."""
    return value.is_finite() and (bound is None or abs(value) <= bound)


def _amount(text: str, name: str, number: int, bound: Decimal | None) -> Decimal:
    value = parse_french_number(text)
    if value is None or not value.is_finite():
        raise TotemError(f"LigneBudget #{number}: {name} {text!r} is not an amount")
    if not plausible_amount(value, bound):
        raise TotemError(
            f"LigneBudget #{number}: {name} {text} is not a plausible amount for a budget line "
            f"(beyond {bound:,.0f} euros either way, the configured bound)"
        )
    return value


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1]
        if len(_LOCAL_NAMES) < 4096:  # the format's few names; a hostile file's endless ones are not kept
            _LOCAL_NAMES[tag] = name
    return name


def read_totem(
    data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, max_amount: Decimal | None = BUDGET_MAX_AMOUNT
) -> TotemDocument:
    """Parse TOTEM bytes into a ``TotemDocument`` (raises ``TotemError``); ``max_amount``: the
    plausibility bound of a line amount (the run's ``Settings.budget_max_amount``; None: no bound)."""
    if len(data) > max_bytes:
        raise TotemError(f"the file is {len(data)} bytes, above the {max_bytes}-byte limit for a TOTEM document")
    if not data or data.isspace():  # not ``data.strip()``: no copy of a big file
        raise TotemError("the file is empty")
    try:
        document = _read(data, max_amount)
    except safe_xml.XmlRefused as error:
        raise TotemError(str(error)) from None
    except etree.XMLSyntaxError as error:
        raise TotemError(f"not well-formed XML: {error.msg} (line {error.lineno})") from None
    _check_header(document)
    return document


_HEADER_PARENTS = {"EnTeteDocBudgetaire": _EN_TETE_DOC_FIELDS, "EnTeteBudget": _EN_TETE_BUDGET_FIELDS,
                   "BlocBudget": _BLOC_BUDGET_FIELDS}
# The only elements the reader looks at, selected by libxml2 (any namespace): the rest of the
# document never becomes a Python event.
_SELECTED = sorted({"LigneBudget", "Information", "VersionSchema", "Scellement", "Budget", *_SKIPPED_BLOCKS,
                    *_EN_TETE_DOC_FIELDS, *_EN_TETE_BUDGET_FIELDS, *_BLOC_BUDGET_FIELDS})


def _read(data: bytes, max_amount: Decimal | None) -> TotemDocument:
    """The document read by the C walk when it is built and the file is parsed whole, else in Python.
    A document the C walk finds wrong is read again in Python, which says what is wrong with it as it
    always did: the first problem in document order (the walk reads every line's amounts first)."""
    walk = native_walk()
    if walk is None or len(data) > WHOLE_TREE_BYTES:
        return _stream(data, max_amount)
    try:
        return _stream(data, max_amount, walk)
    except TotemError:
        return _stream(data, max_amount)


def _root_name(data: bytes) -> str:
    """The root element's name, read from the first event only (the DOCTYPE check runs there)."""
    for _, element in safe_xml.iterparse(io.BytesIO(data), events=("start",)):
        return _local(element.tag)
    raise TotemError("no root element")


def _elements(data: bytes, walk=None, max_amount: Decimal | None = None, amounts_read: dict | None = None):
    """The elements the reader looks at (``_SELECTED``, any namespace), and whether they come as a
    stream. A document up to ``WHOLE_TREE_BYTES`` is parsed whole and its elements taken from the
    tree in document order: libxml2's one-shot parse costs a third less than following a stream's
    events, and the tree is small. A larger one is streamed (end events, lines and skipped blocks
    freed as they end): memory stays flat whatever its size. Blank text between elements is never
    made a node (nothing is read from text, only from attributes): a quarter less to parse and free;
    nor is an ``xml:id`` indexed (nothing is looked up by id). With the C ``walk``, a whole tree's
    lines come as tuples (``_native_line``), their children never made Python objects, and the
    skipped blocks are not entered."""
    options = safe_xml.ATTRIBUTES_ONLY
    tags = [f"{{*}}{name}" for name in _SELECTED]
    if len(data) <= WHOLE_TREE_BYTES:
        root = safe_xml.parse_xml(data, **options)
        if walk is None:
            return root.iter(tags), False
        return walk.walk(root, "LigneBudget", _SELECTED_NAMES, _SKIPPED_NAMES, _NATIVE_TEXT_FIELDS, AMOUNT_FIELDS,
                         "CaracSup", amounts_read, lambda text, name: _amount(text, name, 0, max_amount)), False
    return (element for _, element in safe_xml.iterparse(io.BytesIO(data), tag=tags, **options)), True


def _stream(data: bytes, max_amount: Decimal | None = None, walk=None) -> TotemDocument:
    # Whether an element lies in a skipped block is read from its ancestors, once per parent for
    # the lines; when streaming, what was read is freed (the whole tree is freed at once).
    document = None
    budgets: list = []  # the Budget blocks met (one expected), kept alive: compared by identity
    holder = None  # the parent of the last lines, and whether lines there are read
    reading = False
    lines = 0
    amounts_read: dict[str, Decimal] = {}  # amount texts already read in this document (most repeat)
    try:
        elements, streaming = _elements(data, walk, max_amount, amounts_read)
        for element in elements:
            if type(element) is tuple:  # a line the C walk read: (parent, fields…) or (parent,) when calculated
                parent = element[0]
                if document is None:  # no parent: the line is the root
                    document = _document(_local(parent.getroottree().getroot().tag) if parent is not None else "")
                if parent is not holder:
                    holder, reading = parent, _read_here(parent, budgets, True)
                if reading:
                    _native_line(document, element)
                continue
            if document is None:
                document = _document(_local(element.getroottree().getroot().tag))
            tag = element.tag
            name = _LOCAL_NAMES.get(tag) or _local(tag)
            if name == "LigneBudget":
                parent = element.getparent()
                if parent is not holder:
                    holder, reading = parent, _read_here(parent, budgets, True)
                if reading:
                    _line(document, element, max_amount, amounts_read)
                    lines += 1
                    if streaming and lines % _LINES_FREED_TOGETHER == 0:
                        _free_before(element)
                elif streaming:
                    element.clear(keep_tail=False)
                continue
            if name in _SKIPPED_BLOCKS:
                if streaming:
                    _free(element)
                continue
            if not _read_here(element, budgets, False):
                if streaming:
                    element.clear(keep_tail=False)
                continue
            if name == "Budget":
                continue
            parent = element.getparent()
            parent_name = _local(parent.tag) if parent is not None else ""
            if name == "Information" and parent_name == "InformationsGenerales":
                _information(document, element)
                if streaming:
                    _free(element)
            elif name == "VersionSchema" and parent_name == DOC_ROOT:
                document.schema_version = _v(element)
            elif name == "Scellement" and parent_name == DOC_ROOT:
                document.sealed_at = (element.get("date") or "").strip()
            elif name in _HEADER_PARENTS.get(parent_name, ()):
                document.header.setdefault(name, _v(element))
    except etree.XMLSyntaxError:
        if document is None:  # nothing read yet: a document that is not TOTEM says so first
            _document(_root_name(data))
        raise
    return document if document is not None else _document(_root_name(data))


def _document(root: str) -> TotemDocument:
    if root not in (DOC_ROOT, CFU_ROOT):
        raise TotemError(f"root element <{root}> is not a TOTEM DocumentBudgetaire or CompteFinancierUnique")
    return TotemDocument(root=root)


def _read_here(element, budgets: list, below: bool) -> bool:
    """Whether ``element`` (``below``: what it holds) is read, not in a skipped block; a Budget
    block on the way is counted, and a second one refused."""
    found = []
    node = element if below or _local(element.tag) == "Budget" else element.getparent()
    while node is not None:
        name = _local(node.tag)
        if name in _SKIPPED_BLOCKS:
            return False
        if name == "Budget":
            found.append(node)
        node = node.getparent()
    for budget in found:
        if not any(budget is seen for seen in budgets):
            budgets.append(budget)
            if len(budgets) > 1:
                raise TotemError("the document holds several Budget blocks; one document per budget is expected")
    return True


def _v(element) -> str:
    return " ".join((element.get("V") or "").split())


# Lines read are freed in batches: one call drops them all, where freeing each line as it ends costs
# about as much as parsing it; memory stays flat all the same.
_LINES_FREED_TOGETHER = 64


def _free_before(element) -> None:
    """Drop the siblings before ``element`` (lines already read) in one step."""
    parent = element.getparent()
    if parent is not None:
        del parent[:parent.index(element)]


def _free(element) -> None:
    """Drop a finished element and the siblings before it (constant memory on big files)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _information(document: TotemDocument, element) -> None:
    code = (element.get("Code") or "").strip()
    if not code:
        return
    raw = (element.get("V") or "").strip()
    number = parse_french_number(raw)
    document.informations[code] = number if number is not None else raw


# What a LigneBudget child is to ``_line``: an amount, a code or text, a supplementary characteristic.
_AMOUNT, _TEXT, _CARAC = 0, 1, 2
_LINE_CHILDREN = {**dict.fromkeys(AMOUNT_FIELDS, _AMOUNT), **dict.fromkeys(LINE_TEXT_FIELDS, _TEXT), "CaracSup": _CARAC}
# A child's (local name, kind) by its full tag: one look-up per child where the name and then the kind took two.
_LINE_CHILD_TAGS: dict[str, tuple[str, int | None]] = {}
_new_line = tuple.__new__  # ``BudgetLine``'s own ``__new__`` is Python: a line is made in C this way


def _line_child(tag) -> tuple[str, int | None]:
    name = _local(tag)
    found = (name, _LINE_CHILDREN.get(name))
    if isinstance(tag, str) and len(_LINE_CHILD_TAGS) < 4096:  # bounded as ``_LOCAL_NAMES``
        _LINE_CHILD_TAGS[tag] = found
    return found


def _line(document: TotemDocument, element, max_amount: Decimal | None, amounts_read: dict[str, Decimal]) -> None:
    if (element.get("calculated") or "").strip().lower() == "true":
        document.skipped_calculated += 1
        return
    number = len(document.lines) + document.skipped_calculated + 1
    values: dict[str, str] = {}
    amounts: dict[str, Decimal | None] = dict.fromkeys(AMOUNT_FIELDS)
    section = ""
    for child in element:
        name, kind = _LINE_CHILD_TAGS.get(child.tag) or _line_child(child.tag)
        if kind == _TEXT:
            if name not in values:  # a code has no blank to collapse: most values are taken as they are
                text = child.get("V") or ""
                values[name] = text if text.isalnum() else " ".join(text.split())
        elif kind == _AMOUNT:
            text = child.get("V") or ""
            value = amounts_read.get(text)
            if value is None:
                stripped = text.strip()
                value = _amount(stripped, name, number, max_amount) if stripped else None
                if value is not None:
                    amounts_read[text] = value
            amounts[name] = value
        elif kind == _CARAC and (child.get("Code") or "") == "Section":
            section = " ".join((child.get("V") or "").split()).upper()
    get = values.get
    _add_line(document, number, (
        get("Nature", ""), get("ContNat", ""), get("Fonction", ""), get("ContFon", ""), get("Operation", ""),
        get("CodRD"), get("OpBudg", "0"), get("TypOpBudg", ""), get("ArtSpe", "").lower(), get("LibCpte", ""),
        section if section in ("I", "F") else "", amounts,
    ))


def _add_line(document: TotemDocument, number: int, fields: tuple) -> None:
    """A line's fields (``BudgetLine``'s after its number), checked: a line without an account or
    of an unknown direction or kind of operation refuses the document."""
    nature, cod_rd, op_budg = fields[0], fields[5], fields[6]
    if not nature:
        raise TotemError(f"LigneBudget #{number} has no Nature (account)")
    if cod_rd not in ("R", "D"):
        raise TotemError(f"LigneBudget #{number}: CodRD {cod_rd!r} is neither R nor D")
    if op_budg not in ("0", "1"):
        raise TotemError(f"LigneBudget #{number}: OpBudg {op_budg!r} is neither 0 nor 1")
    document.lines.append(_new_line(BudgetLine, (number, *fields)))


# What the C walk is given: the names it selects and those whose subtree it skips, and the text fields
# of a line in ``BudgetLine``'s order (ContOp is read by neither).
_SELECTED_NAMES = tuple(_SELECTED)
_SKIPPED_NAMES = tuple(sorted(_SKIPPED_BLOCKS))
_NATIVE_TEXT_FIELDS = ("Nature", "ContNat", "Fonction", "ContFon", "Operation", "CodRD", "OpBudg", "TypOpBudg",
                       "ArtSpe", "LibCpte")


def _native_line(document: TotemDocument, fields: tuple) -> None:
    """A line the C walk read: its fields as ``_line`` makes them (text collapsed, ArtSpe lowered,
    Section kept when I or F, amounts read), checked as ``_line`` checks them."""
    if len(fields) == 1:
        document.skipped_calculated += 1
        return
    _add_line(document, len(document.lines) + document.skipped_calculated + 1, fields[1:])


def _check_header(document: TotemDocument) -> None:
    header = document.header
    missing = [name for name in ("NatDec", "Exer", "Nomenclature") if not header.get(name)]
    if not document.siret:
        missing.append("IdEtab")
    if missing:
        raise TotemError(f"the budget header lacks {', '.join(missing)}")
    if document.natdec not in NATDEC_CODES:
        raise TotemError(f"NatDec {document.natdec!r} is not a known budget stage ({', '.join(NATDEC_CODES)})")
    if not _YEAR.match(header["Exer"]):
        raise TotemError(f"Exer {header['Exer']!r} is not a year")
    if not siret_is_valid(document.siret):
        raise TotemError(f"IdEtab {document.siret!r} is not a valid SIRET")
