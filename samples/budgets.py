"""Synthetic TOTEM budget documents for the demo region, and the small plans de comptes they use.

The acts of nature 5 of the demo drop folder carry a TOTEM ``DocumentBudgetaire`` as their
main file (ISO-8859-1, CRLF, French numbers in ``InformationsGenerales``, lines without
``ContNat``, a calculated total line, an annex block with personal data that must never be
published). On top of the budget acts the random plan draws, the demo adds a budget primitif
and a compte administratif in two years for two bodies and an annex budget with its own SIRET;
the random plan already re-sends a corrected compte administratif (sealed later), and one act
of the closed body carries an entity-expansion bomb that must be quarantined.

The plans de comptes of the demo (``write_demo_plans``) are a small project-written subset of
M57 and M49 with the official file's shape; the demo points ``DIGOR_PLANS_DIRS`` at them.
Everything is deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from lxml import etree

from core.identifiers import luhn_valid

NS = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
CFU_NS = "http://www.minefi.gouv.fr/cp/demat/doccfu"
PLAN_YEARS = (2023, 2024, 2025)
MAIN_NOMENCLATURE = ("M57", "M57")
ANNEX_NOMENCLATURE = ("M4", "M49_A")
SEED = 2905

# Small plans: chapters (code, label, section), accounts (code, label, DR, RR, DOES, ROES, DOIS, ROIS),
# functions (code, label).
M57_CHAPTERS = (
    ("002", "Résultat de fonctionnement reporté", "F"), ("011", "Charges à caractère général", "F"),
    ("012", "Charges de personnel et frais assimilés", "F"), ("013", "Atténuations de charges", "F"),
    ("023", "Virement à la section d'investissement", "F"),
    ("042", "Opérations d'ordre de transfert entre sections", "F"), ("65", "Autres charges de gestion courante", "F"),
    ("66", "Charges financières", "F"), ("70", "Produits des services, du domaine et ventes diverses", "F"),
    ("73", "Impôts et taxes", "F"), ("74", "Dotations et participations", "F"),
    ("75", "Autres produits de gestion courante", "F"),
    ("001", "Solde d'exécution de la section d'investissement reporté", "I"),
    ("021", "Virement de la section de fonctionnement", "I"),
    ("040", "Opérations d'ordre de transfert entre sections", "I"), ("10", "Dotations, fonds divers et réserves", "I"),
    ("13", "Subventions d'investissement", "I"), ("16", "Emprunts et dettes assimilées", "I"),
    ("20", "Immobilisations incorporelles", "I"), ("21", "Immobilisations corporelles", "I"),
    ("23", "Immobilisations en cours", "I"),
)  # fmt: skip
M57_ACCOUNTS = (
    ("001", "Solde d'exécution de la section d'investissement reporté", "001", "001", "", "", "", ""),
    ("002", "Résultat de fonctionnement reporté", "002", "002", "", "", "", ""),
    ("021", "Virement de la section de fonctionnement", "", "", "", "021", "", ""),
    ("023", "Virement à la section d'investissement", "", "", "023", "", "", ""),
    ("10222", "FCTVA", "10", "10", "", "", "", ""),
    ("1068", "Excédents de fonctionnement capitalisés", "10", "10", "", "", "", ""),
    ("1321", "Subventions d'équipement non transférables - État", "13", "13", "", "", "", ""),
    ("1641", "Emprunts en euros", "16", "16", "", "", "", ""),
    ("2031", "Frais d'études", "20", "20", "040", "040", "", ""),
    ("2128", "Autres agencements et aménagements de terrains", "21", "21", "040", "040", "", ""),
    ("21312", "Bâtiments scolaires", "21", "21", "040", "040", "", ""),
    ("2183", "Matériel informatique", "21", "21", "040", "040", "", ""),
    ("2313", "Constructions en cours", "23", "23", "040", "040", "", ""),
    ("28183", "Amortissement du matériel informatique", "", "", "040", "040", "", ""),
    ("6042", "Achats prestations de services (autres que terrains à aménager)", "011", "013", "", "", "", ""),
    ("60612", "Énergie - Électricité", "011", "013", "", "", "", ""),
    ("615221", "Entretien et réparations bâtiments publics", "011", "013", "", "", "", ""),
    ("6411", "Personnel titulaire", "012", "013", "", "", "", ""),
    ("6419", "Remboursements sur rémunérations du personnel", "", "013", "", "", "", ""),
    ("6451", "Cotisations à l'URSSAF", "012", "013", "", "", "", ""),
    ("65748", "Subventions de fonctionnement aux autres personnes de droit privé", "65", "", "", "", "", ""),
    ("66111", "Intérêts réglés à l'échéance", "66", "", "", "", "", ""),
    ("6811", "Dotations aux amortissements des immobilisations", "", "", "042", "", "", ""),
    ("7066", "Redevances et droits des services à caractère social", "014", "70", "", "", "", ""),
    ("73111", "Impôts directs locaux", "014", "73", "", "", "", ""),
    ("7411", "Dotation forfaitaire", "", "74", "", "", "", ""),
    ("752", "Revenus des immeubles", "", "75", "", "", "", ""),
)  # fmt: skip
M57_FUNCTIONS = (
    ("0", "Services généraux"), ("01", "Opérations non ventilables"), ("020", "Administration générale de la collectivité"),
    ("2", "Enseignement, formation professionnelle et apprentissage"), ("212", "Écoles primaires"),
    ("3", "Culture, vie sociale, jeunesse, sports et loisirs"), ("311", "Activités culturelles"),
    ("8", "Aménagement des territoires et habitat"), ("822", "Voirie"),
)  # fmt: skip
M49_CHAPTERS = (
    ("011", "Charges à caractère général", "F"), ("012", "Charges de personnel et frais assimilés", "F"),
    ("023", "Virement à la section d'investissement", "F"),
    ("042", "Opérations d'ordre de transfert entre sections", "F"), ("66", "Charges financières", "F"),
    ("70", "Ventes de produits fabriqués, prestations de services, marchandises", "F"),
    ("021", "Virement de la section d'exploitation", "I"),
    ("040", "Opérations d'ordre de transfert entre sections", "I"), ("13", "Subventions d'investissement", "I"),
    ("16", "Emprunts et dettes assimilées", "I"), ("21", "Immobilisations corporelles", "I"),
    ("23", "Immobilisations en cours", "I"),
)  # fmt: skip
M49_ACCOUNTS = (
    ("021", "Virement de la section d'exploitation", "", "", "", "021", "", ""),
    ("023", "Virement à la section d'investissement", "", "", "023", "", "", ""),
    ("1311", "Subventions d'équipement - État", "13", "13", "", "", "", ""),
    ("1641", "Emprunts en euros", "16", "16", "", "", "", ""),
    ("2158", "Autres installations, matériel et outillage techniques", "21", "21", "040", "040", "", ""),
    ("2315", "Installations, matériel et outillage techniques en cours", "23", "23", "040", "040", "", ""),
    ("28158", "Amortissement des autres installations techniques", "", "", "040", "040", "", ""),
    ("6061", "Fournitures non stockables (eau, énergie…)", "011", "", "", "", "", ""),
    ("6215", "Personnel affecté par la collectivité de rattachement", "012", "", "", "", "", ""),
    ("66111", "Intérêts réglés à l'échéance", "66", "", "", "", "", ""),
    ("6811", "Dotations aux amortissements des immobilisations", "", "", "042", "", "", ""),
    ("70611", "Redevance d'assainissement collectif", "", "70", "", "", "", ""),
)  # fmt: skip
PLANS = {
    MAIN_NOMENCLATURE: (M57_CHAPTERS, M57_ACCOUNTS, M57_FUNCTIONS),
    ANNEX_NOMENCLATURE: (M49_CHAPTERS, M49_ACCOUNTS, ()),
}

# Lines of a main budget: (account, ContNat or "" to let the plan say it, R/D, OpBudg, TypOpBudg,
# function, base amount in euros for a commune).
MAIN_LINES = (
    ("6042", "011", "D", "0", "", "020", 42000), ("60612", "011", "D", "0", "", "212", 31000),
    ("615221", "011", "D", "0", "", "212", 18500), ("6411", "012", "D", "0", "", "020", 265000),
    ("6451", "012", "D", "0", "", "020", 88000), ("65748", "65", "D", "0", "", "311", 24000),
    ("66111", "", "D", "0", "", "01", 9500), ("6811", "042", "D", "1", "2", "01", 38000),
    ("023", "", "D", "1", "2", "01", 60000), ("6419", "", "R", "0", "", "020", 6000),
    ("7066", "70", "R", "0", "", "212", 52000), ("73111", "73", "R", "0", "", "01", 310000),
    ("7411", "", "R", "0", "", "01", 145000), ("752", "75", "R", "0", "", "020", 12500),
    ("002", "", "R", "0", "", "", 48000), ("2031", "20", "D", "0", "", "822", 15000),
    ("2128", "21", "D", "0", "", "822", 72000), ("21312", "21", "D", "0", "", "212", 118000),
    ("2183", "21", "D", "0", "", "020", 9000), ("2313", "23", "D", "0", "", "311", 160000),
    ("1641", "16", "D", "0", "", "01", 41000), ("001", "", "D", "0", "", "", 22000),
    ("10222", "10", "R", "0", "", "01", 26000), ("1068", "", "R", "0", "", "01", 70000),
    ("1321", "13", "R", "0", "", "212", 54000), ("1641", "16", "R", "0", "", "01", 120000),
    ("021", "", "R", "1", "2", "01", 60000), ("28183", "040", "R", "1", "2", "01", 38000),
)  # fmt: skip
ANNEX_LINES = (
    ("6061", "011", "D", "0", "", "", 21000), ("6215", "012", "D", "0", "", "", 35000),
    ("66111", "66", "D", "0", "", "", 4200), ("6811", "", "D", "1", "2", "", 16000),
    ("023", "", "D", "1", "2", "", 12000), ("70611", "70", "R", "0", "", "", 88200),
    ("2158", "21", "D", "0", "", "", 43000), ("2315", "23", "D", "0", "", "", 61000),
    ("1641", "16", "D", "0", "", "", 9000), ("1311", "13", "R", "0", "", "", 25000),
    ("1641", "16", "R", "0", "", "", 50000), ("021", "", "R", "1", "2", "", 12000),
    ("28158", "040", "R", "1", "2", "", 16000),
)  # fmt: skip
KIND_SCALE = {"commune": 1, "epci": 6, "syndicat": 2, "departement": 40, "region": 80, "autre": 1}
STAGES = {"BP": "01", "DM": "02", "BS": "03", "CA": "09", "CFU": "10"}
OBJETS = {
    "BP": "Budget primitif {year} — budget principal",
    "CA": "Compte administratif {year} et compte de gestion du comptable public",
}
CLASSIFICATIONS = {"BP": "7.1.1 Budget primitif", "CA": "7.1.4 Compte administratif"}
# Budgets added for the demo: (registry position of the body, stage, exercice, annex?).
ADDED = ((0, "BP", 2024, False), (0, "CA", 2023, False), (0, "BP", 2025, False), (0, "BP", 2025, True),
         (1, "BP", 2024, False), (1, "CA", 2023, False), (1, "BP", 2025, False))  # fmt: skip


def annex_siret(siret: str) -> str:
    """A valid SIRET of the same SIREN for the body's annex budget (the next valid NIC)."""
    siren, nic = siret[:9], int(siret[9:])
    for candidate in range(nic + 1, 99999):
        value = f"{siren}{candidate:05d}"
        if luhn_valid(value):
            return value
    raise ValueError(f"no annex SIRET after {siret}")


def plan_xml(year: int, norme: str, declinaison: str) -> bytes:
    chapters, accounts, functions = PLANS[(norme, declinaison)]
    root = etree.Element("Nomenclature", Norme=norme, Declinaison=declinaison, Exer=str(year))
    nature = etree.SubElement(root, "Nature")
    chapitres = etree.SubElement(nature, "Chapitres")
    for code, label, section in chapters:
        etree.SubElement(chapitres, "Chapitre", Code=code, Libelle=label, Section=section, TypeChapitre="C", Special="0")
    comptes = etree.SubElement(nature, "Comptes")
    for code, label, dr, rr, does, roes, dois, rois in accounts:
        etree.SubElement(comptes, "Compte", Code=code, Libelle=label, DR=dr, RR=rr, DOES=does, ROES=roes, DOIS=dois, ROIS=rois)
    fonction = etree.SubElement(root, "Fonction")
    etree.SubElement(fonction, "Chapitres")
    etree.SubElement(fonction, "Comptes")
    refs = etree.SubElement(fonction, "RefFonctionnelles")
    for code, label in functions:
        etree.SubElement(refs, "RefFonc", Code=code, Libelle=label)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_demo_plans(root: Path) -> list[Path]:
    """The demo's plans de comptes in the official layout ``<year>/<norme>/<declinaison>/``."""
    written = []
    for year in PLAN_YEARS:
        for norme, declinaison in PLANS:
            path = Path(root) / str(year) / norme / declinaison / "planDeCompte.xml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(plan_xml(year, norme, declinaison))
            written.append(path)
    return written


def _fr(amount: Decimal) -> str:
    """French number as TOTEM writes it in InformationsGenerales: "3 446" or "58,04"."""
    whole, _, cents = f"{amount:.2f}".partition(".")
    grouped = re.sub(r"(?<=\d)(?=(\d{3})+$)", " ", whole)
    return grouped if cents == "00" else f"{grouped},{cents}"


def totem_document(
    body: dict, stage: str, year: int, sealed: datetime, rng: random.Random, annex: bool = False, correction: int = 0
) -> bytes:
    """A TOTEM DocumentBudgetaire (or a CFU wrapping one) for a body, stage and exercice."""
    natdec = STAGES[stage]
    scale = KIND_SCALE.get(body["kind"], 1) * (1 + (year - 2023) * Decimal("0.03"))
    norme, declinaison = ANNEX_NOMENCLATURE if annex else MAIN_NOMENCLATURE
    siret = annex_siret(body["siret"]) if annex else body["siret"]

    def v(parent, tag, value, **extra):
        element = etree.SubElement(parent, f"{{{NS}}}{tag}", **extra)
        element.set("V", str(value))
        return element

    document = etree.Element(f"{{{NS}}}DocumentBudgetaire", nsmap={None: NS})
    v(document, "VersionSchema", 113)
    etree.SubElement(document, f"{{{NS}}}Scellement", md5="0" * 32, date=sealed.isoformat(timespec="seconds"))
    head = etree.SubElement(document, f"{{{NS}}}EnTeteDocBudgetaire")
    v(head, "DteStr", f"{year}-01-01")
    v(head, "LibellePoste", "SERVICE DE GESTION COMPTABLE DE DÉMONSTRATION")
    v(head, "LibelleColl", body["name"].upper())
    v(head, "IdColl", body["siret"])
    v(head, "NatCEPL", body["kind"].capitalize())
    v(head, "Departement", "29")
    budget = etree.SubElement(document, f"{{{NS}}}Budget")
    entete = etree.SubElement(budget, f"{{{NS}}}EnTeteBudget")
    v(entete, "LibelleEtab", "ASSAINISSEMENT" if annex else f"{body['name'].upper()} - BUDGET PRINCIPAL")
    v(entete, "IdEtab", siret)
    v(entete, "CodBud", "02" if annex else "00")
    v(entete, "Nomenclature", f"{norme}-{declinaison}")
    bloc = etree.SubElement(budget, f"{{{NS}}}BlocBudget")
    v(bloc, "NatDec", natdec)
    v(bloc, "Exer", year)
    v(bloc, "DteDec", (sealed - timedelta(days=3)).date().isoformat())
    v(bloc, "CodTypBud", "A" if annex else "P")
    if annex:
        v(bloc, "IdEtabPal", body["siret"])
        v(bloc, "LibelleEtabPal", "BUDGET PRINCIPAL")
    infos = etree.SubElement(budget, f"{{{NS}}}InformationsGenerales")
    population = 1200 * KIND_SCALE.get(body["kind"], 1) + rng.randint(0, 900)
    for code, value in (("PopTot", Decimal(population)), ("ValDepRFonc", Decimal(rng.randint(50000, 120000)) / 100)):
        etree.SubElement(infos, f"{{{NS}}}Information", Code=code, V=_fr(value))
    totals = {"D": Decimal(0), "R": Decimal(0)}
    for nature, cont_nat, rd, op_budg, typ, fonction, base in ANNEX_LINES if annex else MAIN_LINES:
        prev = (Decimal(base) * scale * Decimal(rng.randint(90, 110)) / 100 + correction * 100).quantize(Decimal("0.01"))
        line = etree.SubElement(budget, f"{{{NS}}}LigneBudget")
        v(line, "Nature", nature)
        if cont_nat:
            v(line, "ContNat", cont_nat)
        if fonction and not annex and body["kind"] != "commune":
            v(line, "Fonction", fonction)
        v(line, "ArtSpe", "false")
        v(line, "CodRD", rd)
        v(line, "MtPrev", f"{prev:.2f}")
        v(line, "CredOuv", f"{prev:.2f}")
        if stage in ("CA", "CFU"):
            real = prev if op_budg == "1" else (prev * Decimal(rng.randint(82, 100)) / 100).quantize(Decimal("0.01"))
            v(line, "MtReal", f"{real:.2f}")
            totals[rd] += real
        else:
            v(line, "MtPropNouv", f"{prev:.2f}")
            totals[rd] += prev
        v(line, "OpBudg", op_budg)
        if typ:
            v(line, "TypOpBudg", typ)
        if not cont_nat:
            chapter_section = "I" if nature in ("001", "021", "1068") or nature.startswith(("1", "2")) else "F"
            etree.SubElement(line, f"{{{NS}}}CaracSup", Code="Section", V=chapter_section)
    total = etree.SubElement(budget, f"{{{NS}}}LigneBudget", calculated="true")
    v(total, "Nature", "TOTAL")
    v(total, "CodRD", "D")
    v(total, "MtPrev", f"{totals['D']:.2f}")
    annexes = etree.SubElement(budget, f"{{{NS}}}Annexes")
    staff = etree.SubElement(etree.SubElement(annexes, f"{{{NS}}}DATA_PERSONNEL"), f"{{{NS}}}PERSONNEL")
    v(staff, "LibEmplois", "Agent d'entretien — Mme Gwenola Le Gall (donnée personnelle)")
    if stage == "CFU":
        cfu = etree.Element(f"{{{CFU_NS}}}CompteFinancierUnique", nsmap={"doccfu": CFU_NS})
        comptable = etree.SubElement(cfu, "{http://www.minefi.gouv.fr/cp/demat/doccomptable}DocumentComptable")
        etree.SubElement(comptable, "{http://www.minefi.gouv.fr/cp/demat/doccomptable}Nomenclature", V=declinaison)
        cfu.append(document)
        document = cfu
    xml = etree.tostring(document, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)
    return xml.replace(b"\n", b"\r\n")


def entity_bomb() -> bytes:
    """The classic "billion laughs": a few hundred bytes that expand to gigabytes if resolved."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<!DOCTYPE DocumentBudgetaire [\r\n'
        + "\r\n".join(entities)
        + f']>\r\n<DocumentBudgetaire xmlns="{NS}"><VersionSchema V="&lol9;"/></DocumentBudgetaire>\r\n'
    ).encode("iso-8859-1")


def _stage_of(objet: str) -> tuple[str, int, bool] | None:
    """(stage, exercice, annex) of a budget act from its objet, as the generator writes them."""
    patterns = (
        (r"Budget primitif (\d{4})", "BP"), (r"Compte financier unique (\d{4})", "CFU"),
        (r"Compte administratif (\d{4})", "CA"), (r"Décision modificative", "DM"),
    )  # fmt: skip
    for pattern, stage in patterns:
        match = re.search(pattern, objet)
        if match:
            year = int(match.group(1)) if match.groups() else 0
            return stage, year, "annexe" in objet
    return None


def _new_act(rng: random.Random, ids: set[str], body: dict, stage: str, year: int, annex: bool, night: str, numero: str):
    from samples.actes import Act, _at, _new_id

    decided = date(year, 4, 10) if stage == "BP" else date(year + 1, 5, 20)
    decided = min(decided, date.fromisoformat(night) - timedelta(days=20))
    posted = decided + timedelta(days=2)
    objet = f"Budget primitif {year} — budget annexe de l'assainissement" if annex else OBJETS[stage].format(year=year)
    created = datetime.combine(posted, datetime.min.time()) + timedelta(hours=8)
    acknowledged = _at(rng, posted)
    return Act(
        id_d=_new_id(rng, ids), night=night, body=body, nature="5", numero=numero, objet=objet,
        classification=CLASSIFICATIONS[stage], decided=decided, posted=posted, created=created,
        acknowledged=acknowledged, modified=acknowledged, open_data="", stamped=False,
    )


def add_budget_documents(acts: list, bodies: list[dict], nights: list[str], ids: set[str]) -> list:
    """Give every planned act of nature 5 its TOTEM file; return the budget acts added for the demo."""
    rng = random.Random(SEED)
    budget_acts = [a for a in acts if a.nature == "5"]
    closed = [a for a in budget_acts if not a.body.get("open_data", True)]
    hostile = (closed or budget_acts[-1:] or [None])[0]
    added = [
        _new_act(rng, ids, bodies[position % len(bodies)], stage, year, annex, nights[0], f"BUD_{year}_{number}")
        for number, (position, stage, year, annex) in enumerate(ADDED, start=901)
    ] if nights and bodies else []
    seen: dict[tuple, int] = {}
    for act in budget_acts + added:
        found = _stage_of(act.objet)
        stage, year, annex = found if found else ("BP", act.decided.year, False)
        if stage == "DM":
            year, annex = act.decided.year, True
        year = year or act.decided.year
        key = (act.body["siren"], stage, year, annex)
        correction = seen.get(key, -1) + 1  # a re-sent document corrects a few amounts
        seen[key] = correction
        sealed = datetime.combine(act.posted, datetime.min.time()) + timedelta(hours=8, minutes=rng.randint(0, 59))
        if act is hostile:
            act.totem = entity_bomb()
        else:
            act.totem = totem_document(act.body, stage, year, sealed, rng, annex=annex, correction=correction)
        act.stamped = False
        act.annexes = []
    return added


def write_budget_act(root: Path, night: str, body: dict, totem: bytes, numero: str, stage: str = "BP",
                     year: int = 2025) -> str:
    """One more budget act of ``body`` (a registry entry) in the drop folder ``root`` for ``night``,
    carrying ``totem`` as its file: the documents a test adds to a night. Returns its id_d."""
    from samples.actes import _write_act

    act = _new_act(random.Random(f"{night}/{numero}"), set(), body, stage, year, False, night, numero)
    act.totem, act.stamped, act.annexes = totem, False, []
    _write_act(Path(root), act)
    return act.id_d
