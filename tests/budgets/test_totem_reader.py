"""The TOTEM reader: real files of every shape, and hostile or broken ones refused with a reason; each
test runs with the reader's C walk and with its pure-Python reading (``reading_path``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from samples.budgets import entity_bomb
from transform.totem_reader import TotemError, parse_french_number, read_totem

NS = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
pytestmark = pytest.mark.usefixtures("reading_path")


def totem(lines: str = "", natdec: str = "01", siret: str = "21290099700017", extra: str = "") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<DocumentBudgetaire xmlns="{NS}">\r\n'
        '<VersionSchema V="120"/><Scellement md5="x" date="2025-01-02T10:00:00+01:00"/>'
        '<EnTeteDocBudgetaire><LibelleColl V="COMMUNE DE KERDIGOR"/><IdColl V="21290099700017"/></EnTeteDocBudgetaire>'
        f'<Budget><EnTeteBudget><LibelleEtab V="Budget principal"/><IdEtab V="{siret}"/>'
        '<Nomenclature V="M57-M57_A"/></EnTeteBudget>'
        f'<BlocBudget><NatDec V="{natdec}"/><Exer V="2025"/><CodTypBud V="P"/></BlocBudget>'
        '<InformationsGenerales><Information Code="PopTot" V="3 446"/><Information Code="ValDepPers" V="591,78 %"/>'
        '<Information Code="DtDelib" V="21/12/2017"/></InformationsGenerales>'
        f"{lines}{extra}</Budget></DocumentBudgetaire>\r\n"
    )
    return text.encode("iso-8859-1")


LINE = (
    '<LigneBudget><Nature V="6042"/><ContNat V="011"/><CodRD V="D"/><OpBudg V="0"/><ArtSpe V="false"/>'
    '<MtPrev V="1200.50"/><LibCpte V="Achats de prestations é"/><CaracSup Code="Section" V="F"/></LigneBudget>'
)


def test_minimal_document_is_read():
    document = read_totem(totem(LINE * 3))
    assert document.natdec == "01" and document.year == 2025 and document.siret == "21290099700017"
    assert document.nomenclature == ("M57", "M57_A")
    assert document.sealed_at == "2025-01-02T10:00:00+01:00"
    assert len(document.lines) == 3
    line = document.lines[0]
    assert (line.nature, line.cont_nat, line.cod_rd, line.section) == ("6042", "011", "D", "F")
    assert line.amounts["MtPrev"] == Decimal("1200.50") and line.amounts["MtReal"] is None
    assert line.lib_cpte == "Achats de prestations é"  # ISO-8859-1 decoded


def test_french_numbers_of_informations_generales():
    informations = read_totem(totem(LINE)).informations
    assert informations["PopTot"] == Decimal("3446")
    assert informations["ValDepPers"] == Decimal("591.78")
    assert informations["DtDelib"] == "21/12/2017"
    assert parse_french_number("1\u00a0234,5") == Decimal("1234.5")
    assert parse_french_number("12,3,4") is None


def test_calculated_lines_are_skipped():
    calculated = LINE.replace("<LigneBudget>", '<LigneBudget calculated="true">')
    document = read_totem(totem(LINE + calculated + LINE))
    assert len(document.lines) == 2 and document.skipped_calculated == 1
    assert [line.number for line in document.lines] == [1, 3]


def test_annexes_are_never_read():
    annexes = ('<Annexes><DATA_PERSONNEL><PERSONNEL><Nom V="Mme Personne Privée"/></PERSONNEL></DATA_PERSONNEL>'
               f'<Budget>{LINE.replace("6042", "9999")}</Budget><Information Code="PopTot" V="1"/></Annexes>')
    document = read_totem(totem(LINE, extra=annexes))
    assert "Personne" not in repr(document)
    assert [line.nature for line in document.lines] == ["6042"], "a line or a Budget in an annex is not the budget's"
    assert document.informations["PopTot"] == Decimal("3446")


def test_real_files_of_every_shape(reference_dir):
    samples = reference_dir / "samples" / "totem"
    montpellier = read_totem((samples / "dataviz-finances-montpellier" / "CA_2018.xml").read_bytes())
    assert montpellier.natdec == "09" and montpellier.nomenclature == ("M57", "M57") and len(montpellier.lines) == 1697
    assert montpellier.lines[0].fonction == "93020" and montpellier.lines[0].cont_fon == "930"
    cfu = read_totem((samples / "yatotem2scdl" / "DOCBUDG-21560134500014-CFU-BP-2023" / "totem.xml").read_bytes())
    assert cfu.is_cfu and cfu.natdec == "10" and cfu.year == 2023
    assert len(cfu.lines) == 163 and cfu.skipped_calculated == 633
    annex = read_totem((samples / "yatotem2scdl" / "DOCBUDG-21560046100085-056025-BP-2022-07042022000000" / "totem.xml").read_bytes())
    assert annex.is_annex and annex.siret == "21560046100085" and annex.header["IdEtabPal"] == "21560046100010"
    assert annex.informations["PopTot"] == Decimal("3446")


@pytest.mark.parametrize(
    "data, reason",
    [
        (entity_bomb(), "DOCTYPE"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<DocumentBudgetaire xmlns="' + NS.encode() + b'">&x;</DocumentBudgetaire>',
            "DOCTYPE",
        ),
        (totem(LINE)[:-200], "not well-formed XML"),
        (b"<html><body>502 Bad Gateway</body></html>", "not a TOTEM"),
        (b"<html><body>502 Bad Gateway</bo", "not a TOTEM"),  # broken too: what it is comes first
        (totem(LINE, extra=f"</Budget><Budget>{LINE}"), "several Budget blocks"),
        (totem(LINE, extra="</Budget><Budget><BlocBudget/>"), "several Budget blocks"),  # one without lines
        (b"%PDF-1.4 not xml", "not well-formed"),
        (b"   ", "empty"),
        (totem(LINE, natdec="07"), "NatDec '07'"),
        (totem(LINE, siret="21290099700018"), "not a valid SIRET"),
        (totem(LINE.replace("1200.50", "12O0")), "is not an amount"),
        (totem(LINE.replace('<CodRD V="D"/>', '<CodRD V="X"/>')), "CodRD"),
        (totem(LINE).replace(b'<Exer V="2025"/>', b""), "lacks Exer"),
    ],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_hostile_or_broken_files_are_refused_with_a_reason(data, reason, streamed, monkeypatch):
    if streamed:  # as a file too large to be parsed whole
        monkeypatch.setattr("transform.totem_reader.WHOLE_TREE_BYTES", 0)
    with pytest.raises(TotemError, match=reason):
        read_totem(data)


def _with_prologue(document: bytes, padding: bytes) -> bytes:
    """``document`` with ``padding`` and a DOCTYPE declaring an entity that its IdColl uses, after the XML declaration."""
    declaration, _, rest = document.partition(b"?>")
    doctype = b'<!DOCTYPE DocumentBudgetaire [<!ENTITY x "ENTITE-INJECTEE">]>'
    return declaration + b"?>" + padding + doctype + rest.replace(b'<IdColl V="21290099700017"/>', b'<IdColl V="&x;"/>')


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("padding", [b" " * 70_000, b"\r\n<!-- " + b"x" * 70_000 + b" -->\r\n", b"\n" * 200_000])
def test_a_doctype_after_64_kb_of_prologue_is_refused(padding, streamed, monkeypatch):
    if streamed:
        monkeypatch.setattr("transform.totem_reader.WHOLE_TREE_BYTES", 0)
    with pytest.raises(TotemError, match="DOCTYPE"):
        read_totem(_with_prologue(totem(LINE), padding))


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read_and_its_doctype_refused(codec):
    clean = totem(LINE).decode("iso-8859-1").replace('encoding="ISO-8859-1"', 'encoding="UTF-16"')
    assert not clean.encode(codec).startswith((b"\xff\xfe", b"\xfe\xff"))
    assert read_totem(clean.encode(codec)).lines[0].lib_cpte == "Achats de prestations é"
    hostile = _with_prologue(clean.encode("utf-8"), b"").decode("utf-8").encode(codec)
    with pytest.raises(TotemError, match="DOCTYPE"):
        read_totem(hostile)


def test_size_limit():
    with pytest.raises(TotemError, match="limit"):
        read_totem(totem(LINE * 50), max_bytes=1000)


def test_a_large_document_streams(tmp_path):
    document = read_totem(totem(LINE * 50_000))
    assert len(document.lines) == 50_000


def test_an_implausible_amount_refuses_the_document_naming_the_line_and_the_bound(monkeypatch):
    with pytest.raises(TotemError, match=r"LigneBudget #2: MtPrev -99999999999999999999238795.20 is not a plausible amount"):
        read_totem(totem(LINE + LINE.replace("1200.50", "-99999999999999999999238795.20")))
    assert read_totem(totem(LINE), max_amount=Decimal("1200.50")).lines[0].amounts["MtPrev"] == Decimal("1200.50")
    with pytest.raises(TotemError, match="beyond 1,000 euros either way"):
        read_totem(totem(LINE), max_amount=Decimal("1000"))

    from core.config import Settings

    monkeypatch.setenv("DIGOR_BUDGET_MAX_AMOUNT", "1000")
    assert Settings.from_env().budget_max_amount == Decimal("1000")
    monkeypatch.setenv("DIGOR_BUDGET_MAX_AMOUNT", "mille")
    with pytest.raises(ValueError, match="DIGOR_BUDGET_MAX_AMOUNT: 'mille' is not an amount in euros"):
        Settings.from_env()
    monkeypatch.setenv("DIGOR_BUDGET_MAX_AMOUNT", "1e30")  # beyond what the widgets' sums hold exactly
    with pytest.raises(ValueError, match="must be a positive amount in euros, at most 1000000000000000"):
        Settings.from_env()


def test_a_document_read_whole_or_streamed_is_the_same(reference_dir, monkeypatch):
    """Small files are parsed whole, large ones streamed: both ways read the same document (the real
    files of every shape, and one whose annex holds a Budget, lines and informations of its own)."""
    import transform.totem_reader as reader

    samples = reference_dir / "samples" / "totem"
    annexes = ('<Annexes><DATA_PERSONNEL><PERSONNEL><Nom V="Mme Personne Privée"/></PERSONNEL></DATA_PERSONNEL>'
               f'<Budget>{LINE.replace("6042", "9999")}</Budget><Information Code="PopTot" V="1"/></Annexes>')
    documents = [path.read_bytes() for path in sorted(samples.glob("*/*/totem.xml")) + sorted(samples.glob("*/*.xml"))]
    documents.append(totem(LINE * 70 + LINE.replace("<LigneBudget>", '<LigneBudget calculated="true">'), extra=annexes))
    whole = [read_totem(data) for data in documents]
    monkeypatch.setattr(reader, "WHOLE_TREE_BYTES", 0)
    streamed = [read_totem(data) for data in documents]
    assert len(whole) == 10 and sum(len(document.lines) for document in whole) > 2_800
    assert whole == streamed


@pytest.mark.parametrize("enabled", [True, False])
def test_a_conversion_leaves_the_cyclic_collector_as_it_was(enabled, tmp_path):
    """The collector is paused while a document converts (its lines make no cycle) and runs again
    afterwards, whether the document converted, was refused or lacked its plan; one that was off stays off."""
    import gc

    from extract.plans_de_comptes import PlanSource, plan_path
    from samples.budgets import plan_xml
    from transform.totem_plans import PlanError, PlanResolver
    from transform.totem_scdl import convert_totem

    mirror = tmp_path / "plans"
    (mirror / plan_path(2025, "M57", "M57_A")).parent.mkdir(parents=True)
    (mirror / plan_path(2025, "M57", "M57_A")).write_bytes(plan_xml(2025, "M57", "M57"))  # the sample plan, as M57_A
    plans = PlanResolver(PlanSource(local_dirs=[mirror]))
    (gc.enable if enabled else gc.disable)()
    try:
        assert len(convert_totem(totem(LINE), plans).cells) == 1
        assert gc.isenabled() is enabled
        with pytest.raises(TotemError, match="no Nature"):
            convert_totem(totem(LINE.replace('<Nature V="6042"/>', "")), plans)
        assert gc.isenabled() is enabled
        with pytest.raises(PlanError):
            convert_totem(totem(LINE).replace(b"M57-M57_A", b"M57-M57_B"), PlanResolver(PlanSource(local_dirs=[])))
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
