"""Plans de comptes: the labels, chapters and sections behind the codes of a TOTEM document.

A TOTEM line only carries codes (account ``Nature``, chapter ``ContNat``, ``Fonction``); the
labels, the chapter of an account when the line does not say it, and the section of a chapter
come from the *plan de comptes* of the document's nomenclature (M14, M4x, M52, M57, M61,
M71… and their déclinaisons) for its exercice, as published by odm-budgetaire.org
(``planDeCompte.xml``). Where the file is found is ``extract.plans_de_comptes``' business: the
resolver here reads what a source found, and a plan's bytes are parsed once per process: into a tree
walked by the C module ``transform/_totem_walk.c`` when the install built it, else without a tree, by
libxml2's callbacks (the same plan either way).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from lxml import etree

from core import safe_xml
from transform.totem_native import native_walk

THIRD_PARTY_CLASS = "45"


class PlanError(ValueError):
    """A plan de comptes that is missing or unreadable (reported, never a silent blank label)."""


@dataclass(frozen=True)
class Chapter:
    code: str
    label: str
    section: str  # "F" fonctionnement, "I" investissement, "" unknown


class Account(NamedTuple):
    """An account of a plan (a named tuple: a budget makes hundreds of them, several times faster
    than a frozen dataclass)."""

    code: str
    label: str
    # Chapter of the account by kind of operation: réelle (DR/RR), ordre de section à section
    # (DOES/ROES), ordre à l'intérieur de la section (DOIS/ROIS).
    chapters: dict[str, str]


class Accounts(Mapping):
    """A plan's accounts by code, each ``Account`` made when first asked for: a plan holds thousands
    of accounts and a budget uses a few hundred, so reading a plan only keeps each account's raw
    attributes, as the parser handed them (``safe_xml.attribute_value``, label cleaning and chapters
    wait for a budget that needs them)."""

    def __init__(self, raw: dict[str, tuple[str | None, ...]], handed: bool = True):
        self._raw = raw
        self._handed = handed  # values as a parser target got them (False: as the tree holds them)
        self._made: dict[str, Account] = {}

    def __getitem__(self, code: str) -> Account:
        account = self._made.get(code)
        if account is None:
            raw = self._raw[code]
            if self._handed and "&" in "".join(filter(None, raw)):  # see ``safe_xml.attribute_value``
                raw = map(safe_xml.attribute_value, raw)
            label, *chapters = raw
            account = self._made[code] = _new_account(Account, (code, clean_label(label), dict(zip(
                _CHAPTER_KEYS, [value.strip() if value else "" for value in chapters]
            ))))
        return account

    def get(self, code: str, default=None) -> Account | None:
        return self[code] if code in self._raw else default

    def __contains__(self, code) -> bool:
        return code in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@dataclass(frozen=True)
class PlanDeComptes:
    norme: str
    declinaison: str
    year: int
    chapters: dict[str, Chapter]
    accounts: Mapping[str, Account]
    function_chapters: dict[str, Chapter]
    functions: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.norme}/{self.declinaison} {self.year}"

    def chapter_of(self, nature: str, cod_rd: str, op_budg: str, typ_op_budg: str) -> str:
        """The nature chapter an account falls in for this kind of operation ("" when none)."""
        account = self.accounts.get(nature)
        if account is None:
            return ""
        chapters = account.chapters
        if op_budg != "1":
            return chapters.get(_REAL[cod_rd == "D"]) or ""
        first, second = _ORDER[cod_rd == "D", typ_op_budg == "1"]
        return chapters.get(first) or chapters.get(second) or ""

    def function_label(self, code: str) -> str:
        """Label of a function code: a function of the plan, the function after the "9" + section
        digit prefix that M57 files voted by function write (93020 = function 020), or a
        non-ventilated functional chapter (943); "" when unknown."""
        if code in self.functions:
            return self.functions[code]
        if len(code) > 2 and code[0] == "9" and code[2:] in self.functions:
            return self.functions[code[2:]]
        chapter = self.function_chapters.get(code)
        return chapter.label if chapter is not None else ""

    def chapter(self, code: str) -> Chapter | None:
        """The chapter of a code; a third-party operations chapter (class 45 account + operation
        number, e.g. 4581001 or 45411) is named after its account and is an investment chapter."""
        found = self.chapters.get(code) or self.function_chapters.get(code)
        if found is not None or not code.startswith(THIRD_PARTY_CLASS):
            return found
        for length in range(min(len(code), 6), 3, -1):
            account = self.accounts.get(code[:length])
            if account is not None and account.label:
                suffix = code[length:]
                label = f"{account.label} (opération n° {suffix})" if suffix else account.label
                return Chapter(code, label, "I")
        return None


_CHAPTER_KEYS = ("DR", "RR", "DOES", "ROES", "DOIS", "ROIS")
# The chapter keys ``chapter_of`` tries, by expense or not (and, for an ordre, intérieur or not).
_REAL = {True: "DR", False: "RR"}
_ORDER = {(True, True): ("DOIS", "DOES"), (True, False): ("DOES", "DOIS"),
          (False, True): ("ROIS", "ROES"), (False, False): ("ROES", "ROIS")}
_new_account = tuple.__new__  # ``Account``'s own ``__new__`` is Python
_RAW_ACCOUNT = ("Libelle", *_CHAPTER_KEYS)  # what ``Accounts`` keeps of a <Compte>
_C1_CONTROLS = {code: bytes([code]).decode("cp1252", errors="ignore") for code in range(0x80, 0xA0)}


def clean_label(text: str | None) -> str:
    """A label as published: Windows-1252 characters mis-stored as C1 controls (the "\x96"
    dash of some official plans) put back, blanks collapsed, no trailing space."""
    return " ".join((text or "").translate(_C1_CONTROLS).split())


_value = safe_xml.attribute_value  # an attribute value as the document means it


class _PlanReader(safe_xml.RefusingTarget):
    """What ``parse_plan`` keeps of a plan, taken from each element's tag and attributes as libxml2
    parses it (no tree: a plan holds thousands of accounts). Read: the root's attributes, in its
    first ``Nature`` child every ``Compte`` (any depth; the first of a code wins) and the
    ``Chapitres/Chapitre``, in its first ``Fonction`` child every ``RefFonc`` and the chapters."""

    def __init__(self):
        self.depth = 0
        self.root_tag = ""
        self.root: dict[str, str] = {}
        self.sections_met: set[str] = set()
        self.section = ""  # "Nature" or "Fonction" inside the first such child of the root, else ""
        self.in_chapters = False  # inside a ``Chapitres`` child of the section
        self.accounts: dict[str, tuple[str | None, ...]] = {}
        self.functions: dict[str, str] = {}
        self.chapters: dict[str, dict[str, Chapter]] = {"Nature": {}, "Fonction": {}}
        self.exact = False  # True: the values are the tree's, not as libxml2 hands them to a target

    def start(self, tag, attrib) -> None:
        depth = self.depth
        self.depth = depth + 1
        section = self.section
        if section == "Nature" and tag == "Compte":  # most elements of a plan
            code = attrib.get("Code")
            if code:
                code = _value(code).strip()
                if code and code not in self.accounts:
                    self.accounts[code] = tuple(map(attrib.get, _RAW_ACCOUNT))
            return
        if depth == 0:
            self.root_tag, self.root = tag, {name: _value(text) for name, text in attrib.items()}
        elif depth == 1:
            if tag in self.chapters and tag not in self.sections_met:
                self.sections_met.add(tag)
                self.section = tag
        elif not section:
            return
        elif depth == 2:
            self.in_chapters = tag == "Chapitres"
        elif depth == 3 and tag == "Chapitre" and self.in_chapters:
            self.chapter(section, _value(attrib.get("Code")), _value(attrib.get("Libelle")), _value(attrib.get("Section")))
        if section == "Fonction" and tag == "RefFonc":
            self.function(_value(attrib.get("Code")), _value(attrib.get("Libelle")))

    def chapter(self, section: str, code: str | None, label: str | None, chapter_section: str | None) -> None:
        """A ``Chapitre`` of ``section`` ("Nature" or "Fonction"), its values as the document means them."""
        code = (code or "").strip()
        if code:
            self.chapters[section].setdefault(code, Chapter(code, clean_label(label), (chapter_section or "").strip()))

    def function(self, code: str | None, label: str | None) -> None:
        code = (code or "").strip()
        if code:
            self.functions.setdefault(code, clean_label(label))

    def end(self, tag) -> None:
        self.depth -= 1
        if self.depth == 1:
            self.section = ""
        elif self.depth == 2:
            self.in_chapters = False

    def close(self) -> _PlanReader:
        return self


def _read_from_tree(data: bytes, walk) -> _PlanReader:
    """What ``_PlanReader`` keeps, taken by the C walk from the plan's tree (lxml's hardened parse,
    its DOCTYPE and entities refused by ``safe_xml.parse_xml``): each account's attributes without a
    Python object per element; the tree, a few MB, freed once read."""
    root = safe_xml.parse_xml(data, **safe_xml.ATTRIBUTES_ONLY)
    accounts, chapters, functions = walk.plan(root, _RAW_ACCOUNT, "Nature", "Fonction")
    plan = _PlanReader()
    plan.root_tag, plan.root, plan.accounts, plan.exact = root.tag, dict(root.attrib), accounts, True
    for section, code, label, chapter_section in chapters:
        plan.chapter(section, code, label, chapter_section)
    for code, label in functions:
        plan.function(code, label)
    return plan


def _read(data: bytes) -> _PlanReader:
    """The plan read by the C walk from its tree when the walk is built, else by libxml2's callbacks
    (``_PlanReader``); a plan the tree's parse refuses is read by the callbacks, which say why as before."""
    walk = native_walk()
    if walk is not None:
        try:
            return _read_from_tree(data, walk)
        except (safe_xml.XmlRefused, etree.XMLSyntaxError):
            pass
    return safe_xml.parse_with_target(data, _PlanReader())


def parse_plan(data: bytes, source: str = "plan de comptes", year: int | None = None) -> PlanDeComptes:
    """Read a ``planDeCompte.xml`` (no DTD, no entities, no network).

    ``year`` is the exercice the plan was published for (its folder); some official files
    carry an older ``Exer`` attribute than the folder they are published in.
    """
    try:
        plan = _read(data)
    except safe_xml.XmlRefused as error:
        raise PlanError(f"{source}: {error}") from None
    except etree.XMLSyntaxError as error:
        raise PlanError(f"{source}: not well-formed XML ({error.msg})") from None
    if plan.root_tag != "Nomenclature":
        raise PlanError(f"{source}: root element <{plan.root_tag}> is not a plan de comptes <Nomenclature>")
    if year is None:
        try:
            year = int(plan.root.get("Exer") or 0)
        except ValueError:
            raise PlanError(f"{source}: Exer {plan.root.get('Exer')!r} is not a year") from None
    return PlanDeComptes(
        norme=(plan.root.get("Norme") or "").strip(),
        declinaison=(plan.root.get("Declinaison") or "").strip(),
        year=year,
        chapters=plan.chapters["Nature"],
        accounts=Accounts(plan.accounts, handed=not plan.exact),
        function_chapters=plan.chapters["Fonction"],
        functions=plan.functions,
    )


# Plans parsed in this process, by exercice and bytes: converting file after file (``digor convert
# totem``, a night's documents, each with its resolver) parses each plan once, and a plan whose file
# changed is parsed again. The bytes themselves are the key (a dict hashes them once per read and
# compares them byte for byte: cheaper than a digest, and exact; each kept plan keeps its bytes, a few
# hundred KB). A few dozen plans serve a region.
_PARSED: OrderedDict[tuple[int, bytes], PlanDeComptes] = OrderedDict()
PARSED_PLANS_KEPT = 64


def read_plan(data: bytes, source: str, year: int) -> PlanDeComptes:
    """``parse_plan``, once per process for the same bytes and exercice (its result is shared: never
    changed by its readers)."""
    key = (int(year), bytes(data))
    plan = _PARSED.get(key)
    if plan is None:
        plan = _PARSED[key] = parse_plan(data, source, year)
        while len(_PARSED) > PARSED_PLANS_KEPT:
            _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(key)
    return plan


def forget_parsed_plans() -> None:
    """Empty the process's parsed plans (a benchmark's cold start)."""
    _PARSED.clear()


class FoundPlanBytes(Protocol):
    data: bytes
    where: str


class PlanSource(Protocol):
    """Finds a plan's bytes (``extract.plans_de_comptes.PlanSource``); raises ``LookupError`` when it cannot."""

    def find(self, norme: str, declinaison: str, year: int) -> FoundPlanBytes: ...

    def keep(self, found: FoundPlanBytes) -> None: ...


class PlanResolver:
    """Plans by (norme, déclinaison, year), each found once per resolver (and parsed once per process)."""

    def __init__(self, source: PlanSource):
        self.source = source
        self._plans: dict[tuple[str, str, int], PlanDeComptes | PlanError] = {}

    def get(self, norme: str, declinaison: str, year: int) -> PlanDeComptes:
        key = (norme, declinaison, int(year))
        if key not in self._plans:
            try:
                self._plans[key] = self._load(*key)
            except PlanError as error:
                self._plans[key] = error
        found = self._plans[key]
        if isinstance(found, PlanError):
            raise found
        return found

    def _load(self, norme: str, declinaison: str, year: int) -> PlanDeComptes:
        try:
            found = self.source.find(norme, declinaison, year)
        except LookupError as error:
            raise PlanError(str(error)) from None
        plan = read_plan(found.data, found.where, year)
        self.source.keep(found)
        return plan
