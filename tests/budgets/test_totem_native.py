"""The TOTEM reader's C walk (``transform/_totem_walk.c``) against its pure-Python reading: hostile and
odd documents read alike (the same document, the same CSV bytes, or the same refusal), and a machine
without the built module reads in Python and says so once in the log."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from core.config import PROJECT_ROOT
from extract.plans_de_comptes import PlanSource, plan_path
from samples.budgets import plan_xml
from tests.budgets.conftest import REQUIRE_NATIVE
from tests.budgets.test_totem_reader import LINE, NS, totem
from tests.environment import unavailable
from transform import totem_native
from transform.totem_plans import PlanError, PlanResolver
from transform.totem_reader import TotemError, read_totem
from transform.totem_scdl import convert_totem


def _line(**fields: str) -> str:
    """LINE with fields replaced: a value, or None to drop the element."""
    text = LINE
    for name, value in fields.items():
        start = text.index(f"<{name} ")
        end = text.index("/>", start) + 2
        text = text[:start] + (value or "") + text[end:]
    return text


def _encoded(lines: str, encoding: str) -> bytes:
    """``totem(lines)`` declared and written in ``encoding``."""
    text = totem("@LINES@").decode("iso-8859-1").replace("@LINES@", lines)
    return text.replace('encoding="ISO-8859-1"', f'encoding="{encoding}"').encode(encoding)


def _nested(depth: int) -> str:
    return "<Bloc>" * depth + LINE + "</Bloc>" * depth


WRONG_AMOUNT = _line(MtPrev='<MtPrev V="z"/>')
INNER_LINE = _line(Nature='<Nature V="7"/>')
HOSTILE = {
    "deep nesting around a line": totem(_nested(240)),
    "nesting past the parser's limit": totem(_nested(5_000)),
    "a huge label": totem(_line(LibCpte=f'<LibCpte V="{"é " * 2_000_000}"/>')),
    "a huge account code": totem(_line(Nature=f'<Nature V="{"6" * 1_000_000}"/>')),
    "a huge amount text": totem(_line(MtPrev=f'<MtPrev V="{"1" * 500_000}"/>')),
    "no V on the account": totem(_line(Nature="<Nature/>")),
    "no V on an amount": totem(_line(MtPrev="<MtPrev/>") + LINE),
    "no V on the direction": totem(_line(CodRD="<CodRD/>")),
    "no CodRD": totem(_line(CodRD=None)),
    "no OpBudg (0 by default)": totem(_line(OpBudg=None)),
    "OpBudg 2": totem(_line(OpBudg='<OpBudg V="2"/>')),
    "an empty amount": totem(_line(MtPrev='<MtPrev V="  "/>')),
    "an amount written twice, the first wrong": totem(_line(MtPrev='<MtPrev V="x"/><MtPrev V="1"/>')),
    "an amount written twice": totem(_line(MtPrev='<MtPrev V="1"/><MtPrev V="2.50"/>')),
    "a code written twice (the first kept)": totem(_line(Nature='<Nature V="6042"/><Nature V="6043"/>')),
    "an implausible amount on a later line": totem(LINE * 3 + _line(MtPrev='<MtPrev V="1e40"/>')),
    "a wrong CodRD before a wrong amount": totem(_line(CodRD='<CodRD V="Z"/>') + _line(MtPrev='<MtPrev V="z"/>')),
    "a wrong amount before a wrong CodRD": totem(_line(MtPrev='<MtPrev V="z"/>') + _line(CodRD='<CodRD V="Z"/>')),
    "a wrong amount in a calculated line": totem(
        LINE + _line(MtPrev='<MtPrev V="z"/>').replace("<LigneBudget>", '<LigneBudget calculated=" TRUE ">')),
    "calculated other than true": totem(LINE.replace("<LigneBudget>", '<LigneBudget calculated="1">')),
    "a wrong amount in a second Budget": totem(LINE, extra=f"</Budget><Budget>{WRONG_AMOUNT}"),
    "lines in an annex only": totem("", extra=f"<Annexes><Budget>{WRONG_AMOUNT}</Budget></Annexes>"),
    "lines in another namespace": totem(LINE.replace("<LigneBudget>", '<LigneBudget xmlns="urn:autre">')),
    "a prefixed line and children": totem('<p:LigneBudget xmlns:p="urn:p"><p:Nature V="6042"/><CodRD V="R"/>'
                                          '<p:MtPrev V="3"/></p:LigneBudget>'),
    "V in a namespace (not read)": totem('<LigneBudget xmlns:p="urn:p"><Nature V="6042" p:V="9"/><CodRD V="D"/>'
                                         '<MtPrev p:V="3" V="4"/><CodRD p:V="X"/></LigneBudget>'),
    "an entity-free ampersand and character references": totem(_line(
        LibCpte='<LibCpte V="Eau &amp; assainissement &#38; &#233;t&#xE9; &#10;&#9;fin"/>',
        Nature='<Nature V="60&#52;2"/>', CaracSup='<CaracSup Code="Sect&#105;on" V=" &#105; "/>')),
    "non-ASCII codes and blanks": _encoded(_line(
        Nature='<Nature V="６０４２"/>', ContNat='<ContNat V="0\u00a011 "/>', ArtSpe='<ArtSpe V="FALSE"/>',
        LibCpte='<LibCpte V="  Ça\u2003va\u3000   "/>'), "UTF-8"),
    "Section lowercase, twice, unknown, without Code": totem(
        _line(CaracSup='<CaracSup Code="Section" V="i"/><CaracSup Code="Section" V=" f "/><CaracSup V="I"/>')
        + _line(CaracSup='<CaracSup Code="Section" V="Z"/>') + _line(CaracSup='<CaracSup Code="section" V="I"/>')),
    "text, comments and instructions inside a line": totem(LINE.replace(
        '<Nature V="6042"/>', '<!-- x --><?pi x?>texte<Nature V="6042">texte<Nature V="1"/></Nature><![CDATA[y]]>')),
    "a line inside a line": totem(LINE.replace("</LigneBudget>", f"{INNER_LINE}</LigneBudget>")),
    "a line as the root": f'<LigneBudget xmlns="{NS}"><Nature V="1"/></LigneBudget>'.encode(),
    "a line without Nature first": totem(_line(Nature=None) + LINE),
    "a header inside a line": totem(LINE.replace("</LigneBudget>", '<IdEtab V="1"/><Information Code="PopTot" V="9"/>'
                                                 "</LigneBudget>")),
    "many lines": totem("".join(_line(Nature=f'<Nature V="{6000 + n % 900}"/>', MtPrev=f'<MtPrev V="{n}.{n % 100:02}"/>')
                                for n in range(20_000))),
    "windows-1252 text": _encoded(_line(LibCpte='<LibCpte V="Achats – prestations"/>'), "windows-1252"),
    "UTF-16 text": _encoded(_line(LibCpte='<LibCpte V="Achats – prestations €"/>'), "UTF-16"),
}


def _outcome(data: bytes):
    try:
        return read_totem(data)
    except TotemError as error:
        return f"refused: {error}"


@pytest.fixture
def c_walk():
    if totem_native._native is None:
        unavailable(REQUIRE_NATIVE, f"the C walk is not built ({totem_native.missing_reason()}): make install")
    return totem_native._native


@pytest.fixture
def plans(tmp_path) -> PlanResolver:
    mirror = tmp_path / "plans"
    (mirror / plan_path(2025, "M57", "M57_A")).parent.mkdir(parents=True)
    (mirror / plan_path(2025, "M57", "M57_A")).write_bytes(plan_xml(2025, "M57", "M57"))  # the sample plan, as M57_A
    return PlanResolver(PlanSource(local_dirs=[mirror]))


def _csv(data: bytes, plans: PlanResolver):
    try:
        conversion = convert_totem(data, plans)
    except (TotemError, PlanError) as error:
        return f"refused: {error}"
    return conversion.csv_bytes(), [problem.to_dict() for problem in conversion.problems]


@pytest.mark.parametrize("case", list(HOSTILE))
def test_the_c_walk_and_python_read_hostile_documents_alike(case, c_walk, plans, monkeypatch):
    data = HOSTILE[case]
    walked, walked_csv = _outcome(data), _csv(data, plans)
    monkeypatch.setattr(totem_native, "_native", None)
    assert _outcome(data) == walked, case
    assert _csv(data, plans) == walked_csv, case


def test_what_the_hostile_documents_read_as(c_walk):
    """What a few of them say, read by the C walk (the Python reading is the same, above)."""
    assert "not well-formed" in _outcome(HOSTILE["nesting past the parser's limit"])
    assert len(_outcome(HOSTILE["deep nesting around a line"]).lines) == 1
    assert _outcome(HOSTILE["a huge label"]).lines[0].lib_cpte == " ".join(["é"] * 2_000_000)
    assert _outcome(HOSTILE["an amount written twice"]).lines[0].amounts["MtPrev"] == 2.5
    assert _outcome(HOSTILE["an amount written twice, the first wrong"]) == "refused: LigneBudget #1: MtPrev 'x' is not an amount"
    assert _outcome(HOSTILE["a wrong CodRD before a wrong amount"]) == "refused: LigneBudget #1: CodRD 'Z' is neither R nor D"
    assert _outcome(HOSTILE["a wrong amount before a wrong CodRD"]) == "refused: LigneBudget #1: MtPrev 'z' is not an amount"
    assert _outcome(HOSTILE["a wrong amount in a second Budget"]).endswith("several Budget blocks; one document per budget is expected")
    assert len(_outcome(HOSTILE["a wrong amount in a calculated line"]).lines) == 1
    odd = _outcome(HOSTILE["an entity-free ampersand and character references"]).lines[0]
    assert (odd.nature, odd.lib_cpte, odd.section) == ("6042", "Eau & assainissement & été fin", "I")
    spaced = _outcome(HOSTILE["non-ASCII codes and blanks"]).lines[0]
    assert (spaced.nature, spaced.cont_nat, spaced.art_spe, spaced.lib_cpte) == ("６０４２", "0 11", "false", "Ça va")
    assert [line.section for line in _outcome(HOSTILE["Section lowercase, twice, unknown, without Code"]).lines] == ["F", "", ""]
    unread = _outcome(HOSTILE["V in a namespace (not read)"]).lines[0]
    assert (unread.nature, unread.cod_rd, unread.amounts["MtPrev"]) == ("6042", "D", 4)
    assert [line.nature for line in _outcome(HOSTILE["a line inside a line"]).lines] == ["6042", "7"]
    assert len(_outcome(HOSTILE["many lines"]).lines) == 20_000


PLAN_HEAD = '<Nomenclature Norme="M57" Declinaison="M57" Exer="2025">'
PLAN_BODY = ('<Nature><Chapitres><Chapitre Code="011" Libelle="Charges" Section="F"/></Chapitres><Comptes>'
             '<Compte Code="6042" Libelle="Achats" DR="011" RR="70"/></Comptes></Nature>'
             '<Fonction><Chapitres><Chapitre Code="930" Libelle="Services généraux" Section="F"/></Chapitres>'
             '<RefFonc Code="020" Libelle="Administration"/></Fonction>')
HOSTILE_PLANS = {
    "a plain plan": PLAN_HEAD + PLAN_BODY + "</Nomenclature>",
    "namespaced elements (not read)": PLAN_HEAD.replace(">", ' xmlns:p="urn:p">', 1)
    + PLAN_BODY.replace("<Compte ", "<p:Compte ").replace("<RefFonc ", "<p:RefFonc ") + "</Nomenclature>",
    "a default namespace": PLAN_HEAD.replace(">", ' xmlns="urn:x">', 1) + PLAN_BODY + "</Nomenclature>",
    "a second Nature and Fonction (not read)": PLAN_HEAD + PLAN_BODY + PLAN_BODY.replace("6042", "6043").replace(
        "020", "021") + "</Nomenclature>",
    "accounts deep, twice, blank or without Code": PLAN_HEAD + "<Nature>" + "<Bloc>" * 200
    + '<Compte Code=" 6042 " Libelle=" a \x96 b " DR=" 011"/><Compte Code="6042" Libelle="second"/><Compte Code="  "/>'
    + '<Compte Libelle="x"/><Compte Code="６０"/>' + "</Bloc>" * 200 + "</Nature></Nomenclature>",
    "chapters at other depths and outside Chapitres": PLAN_HEAD + '<Nature><Chapitre Code="1"/><Chapitres><x>'
    '<Chapitre Code="2"/></x><Chapitre Code="3" Section=" I "/></Chapitres><Compte Code="9"><Chapitres>'
    '<Chapitre Code="4"/></Chapitres></Compte></Nature></Nomenclature>',
    "ampersands and character references": PLAN_HEAD.replace("M57\"", "M&amp;57\"", 1) + '<Nature><Comptes>'
    '<Compte Code="60&amp;1" Libelle="A &#38;amp; B &#233;" DR="01&#38;1"/></Comptes></Nature>'
    '<Fonction><RefFonc Code="0&amp;1" Libelle="S &#x26; a"/></Fonction></Nomenclature>',
    "a huge label": PLAN_HEAD + f'<Nature><Compte Code="1" Libelle="{"é " * 1_000_000}"/></Nature></Nomenclature>',
    "many accounts": PLAN_HEAD + "<Nature><Comptes>" + "".join(f'<Compte Code="{n}" Libelle="L{n}" DR="{n % 97}"/>'
                                                               for n in range(30_000)) + "</Comptes></Nature></Nomenclature>",
    "not a plan": '<Autre Norme="M57"/>',
    "a DOCTYPE": '<!DOCTYPE x [<!ENTITY a "ENTITE">]>' + PLAN_HEAD.replace('"M57"', '"&a;"', 1) + "</Nomenclature>",
    "broken": PLAN_HEAD + PLAN_BODY,
    "nesting past the parser's limit": PLAN_HEAD + "<Nature>" + "<b>" * 5_000 + "</b>" * 5_000 + "</Nature></Nomenclature>",
}


def _plan_outcome(text: str):
    from transform.totem_plans import parse_plan

    try:
        plan = parse_plan(text.encode("utf-8"), year=None)
    except PlanError as error:
        return f"refused: {error}"
    return (plan.norme, plan.declinaison, plan.year, plan.chapters, plan.function_chapters, plan.functions,
            [plan.accounts[code] for code in plan.accounts])


@pytest.mark.parametrize("case", list(HOSTILE_PLANS))
def test_the_c_walk_and_the_parser_callbacks_read_plans_alike(case, c_walk, monkeypatch):
    walked = _plan_outcome(HOSTILE_PLANS[case])
    monkeypatch.setattr(totem_native, "_native", None)
    assert _plan_outcome(HOSTILE_PLANS[case]) == walked, case


def test_what_the_hostile_plans_read_as(c_walk):
    plain = _plan_outcome(HOSTILE_PLANS["a plain plan"])
    assert plain[6] == [("6042", "Achats", {"DR": "011", "RR": "70", "DOES": "", "ROES": "", "DOIS": "", "ROIS": ""})]
    assert _plan_outcome(HOSTILE_PLANS["namespaced elements (not read)"])[5] == {}
    assert [account.code for account in _plan_outcome(HOSTILE_PLANS["a second Nature and Fonction (not read)"])[6]] == ["6042"]
    deep = _plan_outcome(HOSTILE_PLANS["accounts deep, twice, blank or without Code"])[6]
    assert [(account.code, account.label) for account in deep] == [("6042", "a – b"), ("６０", "")]
    assert list(_plan_outcome(HOSTILE_PLANS["chapters at other depths and outside Chapitres"])[3]) == ["3"]
    amp = _plan_outcome(HOSTILE_PLANS["ampersands and character references"])
    assert amp[0] == "M&57" and amp[6][0][:2] == ("60&1", "A &amp; B é") and amp[5] == {"0&1": "S & a"}
    assert len(_plan_outcome(HOSTILE_PLANS["many accounts"])[6]) == 30_000
    assert "DOCTYPE" in _plan_outcome(HOSTILE_PLANS["a DOCTYPE"])
    assert "not a plan de comptes" in _plan_outcome(HOSTILE_PLANS["not a plan"])


def _generated_line(rng: random.Random) -> str:
    values = ["", " ", "1", "1.5", "-3", " 12 ", "x", "R", "D", "0", "true", " TRUE", "i", "F", "&amp;", "&#38;", "é",
              "６", "a\u00a0b", "&#10;"]
    names = ["Nature", "ContNat", "Fonction", "CodRD", "OpBudg", "ArtSpe", "LibCpte", "MtPrev", "MtReal", "CredOuv",
             "CaracSup", "Operation", "TypOpBudg", "ContFon", "Autre"]
    children = []
    for _ in range(rng.randint(0, 12)):
        name, attributes = rng.choice(names), []
        if rng.random() < 0.85:
            attributes.append(f'V="{rng.choice(values)}"')
        if name == "CaracSup" or rng.random() < 0.1:
            attributes.append(f'Code="{rng.choice(["Section", "section", "x", "Sect&#105;on"])}"')
        if rng.random() < 0.05:
            attributes.append('xmlns="urn:z"')
        children.append(f'<{name} {" ".join(attributes)}/>')
    head = '<Nature V="6042"/><CodRD V="D"/>' if rng.random() < 0.8 else ""
    tag = rng.choice(["LigneBudget"] * 8 + ['LigneBudget calculated="true"', 'LigneBudget xmlns="urn:q"'])
    return f"<{tag}>{head}{''.join(children)}</LigneBudget>"


def _generated_plan(rng: random.Random) -> bytes:
    def element(depth: int) -> str:
        name = rng.choice(["Compte", "Chapitre", "RefFonc", "Chapitres", "Comptes", "Nature", "Fonction", "Autre"])
        attributes = " ".join(f'{attribute}="{rng.choice(["", " 1 ", "011", "é", "&amp;", "x"])}"' for attribute in
                              rng.sample(["Code", "Libelle", "DR", "RR", "DOES", "Section", "ROIS"], rng.randint(0, 5)))
        inside = "".join(element(depth + 1) for _ in range(rng.randint(0, 4))) if depth < 5 else ""
        return f"<{name} {attributes}>{inside}</{name}>"

    return (PLAN_HEAD + "".join(element(0) for _ in range(rng.randint(1, 6))) + "</Nomenclature>").encode()


def test_generated_documents_and_plans_read_alike(c_walk, monkeypatch):
    """Lines and plans of random shapes (a fixed seed): the C walk reads each as Python does, or refuses it alike."""
    rng = random.Random(27)
    documents = [_encoded("".join(_generated_line(rng) for _ in range(rng.randint(0, 8))), "UTF-8") for _ in range(300)]
    plans = [_generated_plan(rng) for _ in range(200)]
    walked = [_outcome(data) for data in documents], [_plan_outcome(data.decode()) for data in plans]
    monkeypatch.setattr(totem_native, "_native", None)
    assert ([_outcome(data) for data in documents], [_plan_outcome(data.decode()) for data in plans]) == walked
    assert sum(not isinstance(outcome, str) for outcome in walked[0]) > 30, "enough documents read, not refused"
    assert sum(not isinstance(outcome, str) for outcome in walked[1]) > 100


def test_without_the_built_module_lines_are_read_in_python_said_once_in_the_log():
    """A machine where the install could not build the C walk (no compiler) reads the same documents,
    and its log says once why lines are read in Python; nothing is an error."""
    script = (
        "import logging, sys\n"
        "sys.modules['transform._totem_walk'] = None  # as when the module was never built\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "from tests.budgets.test_totem_reader import LINE, totem\n"
        "import transform.totem_reader as reader\n"
        "from transform import totem_native\n"
        "assert totem_native._native is None\n"
        "print(len(reader.read_totem(totem(LINE * 3)).lines), len(reader.read_totem(totem(LINE)).lines))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "1"]
    said = [line for line in done.stderr.splitlines() if "C walk is not built" in line]
    assert len(said) == 1 and said[0].startswith("INFO TOTEM lines and plans de comptes are read in Python"), done.stderr
    assert "Traceback" not in done.stderr


def test_a_build_that_cannot_compile_says_so_and_fails_nothing(tmp_path):
    """The install step's build with a compiler that fails: one line, exit 0, the module built before kept."""
    from transform import build_native

    before = build_native.target().read_bytes() if build_native.target().exists() else None
    done = subprocess.run([sys.executable, "-m", "transform.build_native", "--force"], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CC": "false"}, timeout=120)
    assert done.returncode == 0
    assert done.stderr.strip().startswith("the TOTEM reader's C walk was not built (")
    assert done.stderr.strip().endswith("TOTEM lines will be read in Python") and done.stderr.count("\n") == 1
    after = build_native.target().read_bytes() if build_native.target().exists() else None
    assert after == before
