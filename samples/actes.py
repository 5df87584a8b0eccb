"""Deterministic demo drop folder: acts as the télétransmission exporter writes them.

The demo and the tests need realistic, messy input without a real Pastell: French objets
with typographic characters, HTML to escape, three-level matières, acts of two years, a
corrected re-send and a handful of deliberately broken acts that must be quarantined.
Everything comes from one seeded ``random.Random``: same inputs, same bytes.

Layout: ``<root>/<night YYYY-MM-DD>/<id_d>/`` holding ``metadata.json`` (Pastell API v2
document detail), the PDFs it names and the préfecture acknowledgement (ARActe XML).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from lxml import etree

from core.nomenclature_actes import NATURE_ABBREVIATIONS, NATURES

DEMO_NIGHTS: tuple[str, ...] = ("2025-03-03", "2025-03-04", "2025-03-05")
DEPARTEMENT = "029"
SEED = 29
ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
ACTS_PER_NIGHT = (36, 20, 20)  # the first night is the initial export of the backlog
UNKNOWN_SIREN, UNKNOWN_ID_E = "212990006", "999"  # valid check digit, in no registry

PREFIXES = {"1": "DEL", "2": "ARR", "3": "ARI", "4": "CONV", "5": "BUD", "6": "DEC"}
DOC_KINDS = {"1": "Deliberation", "2": "Arrete", "3": "Arrete individuel",
             "4": "Contrat", "5": "Document budgetaire", "6": "Decision"}
NATURE_WEIGHTS = {"1": 45, "2": 14, "3": 15, "4": 12, "5": 6, "6": 8}
OPEN_DATA_CHOICES = ("", "", "", "", "", "", "", "3", "3", "1", "2")  # "" mostly; 3 oui, 1 non, 2 ne sais pas
ANNEXES = ("plan de situation", "tableau des effectifs", "règlement intérieur", "annexe financière",
           "rapport de présentation", "état des subventions", "cahier des charges")
PLACES = ("Kerdigor", "Lanvézec", "Pen ar Hoat", "Traon Bihan", "Kerlouan-Izella", "Goas ar Stang")
STREETS = ("rue de Brest", "rue des Écoles", "place de l'Église", "route de Lanvézec", "quai des Pêcheurs")

# (nature, classification as the TdT sends it, objet template, kinds of body or None for all)
TEMPLATES: tuple[tuple[str, str, str, tuple[str, ...] | None], ...] = (
    ("1", "7.5.1 Subventions aux associations", "Attribution de subventions aux associations pour l’année {year}", None),
    ("1", "8.5.2 Logement social", "Garantie d'emprunt accordée à Armorique Habitat pour la construction de {n} logements locatifs sociaux à {place}", None),
    ("1", "2.1.1 Plan local d'urbanisme", "Modification simplifiée n°{k} du plan local d’urbanisme : approbation", ("commune", "epci")),
    ("1", "4.1.3 Tableau des effectifs", "Mise à jour du tableau des effectifs au 1er {month} {year}", None),
    ("1", "5.2 Fonctionnement des assemblees", "Approbation du procès-verbal de la séance du {day} {month} {year}", None),
    ("1", "7.2.1 Taux d'imposition", "Vote des taux d'imposition des taxes directes locales pour {year}", ("commune", "departement")),
    ("1", "3.1.2 Acquisitions foncieres", "Acquisition de la parcelle cadastrée section {section} n°{n} à {place} pour l'euro symbolique", None),
    ("1", "8.8.1 Eau potable", "Rapport annuel sur le prix et la qualité du service public d'eau potable — exercice {previous}", ("syndicat", "epci", "commune")),
    ("1", "1.2.1 Delegation de service public", "Délégation du service public de restauration scolaire : choix du délégataire et approbation du contrat", ("commune", "epci")),
    ("1", "8.1.1 Ecoles", "Participation aux frais de fonctionnement des écoles privées sous contrat d’association (forfait scolaire {year})", ("commune",)),
    ("1", "9.4 Voeux et motions", "Vœu relatif au maintien des services publics de proximité en zone rurale", None),
    ("1", "7.10.1 Tarifs", "Tarifs {year} : cantine, garderie, salle polyvalente (location : {amount} € la journée)", ("commune",)),
    ("1", "8.7.1 Transports scolaires", "Transports scolaires → convention de délégation de compétence avec la Région", ("epci", "departement")),
    ("1", "5.3.1 Designation de representants", "Désignation des représentants au conseil d'administration du collège de {place}", None),
    ("1", "5.7.1 Statuts", "Modification des statuts : transfert de la compétence « eau et assainissement » au 1er janvier {next}", ("epci", "syndicat")),
    ("1", "7.3.1 Emprunts", "Emprunt de {amount} 000 € auprès de la Banque des Territoires pour le financement du pôle enfance", None),
    ("1", "8.2.1 Action sociale", "Aide sociale à l'enfance : règlement départemental des aides financières", ("departement",)),
    ("1", "3.2.1 Cessions", "Cession d'un délaissé de voirie {street} à {place} au prix de {amount} €", None),
    ("2", "6.1.1 Circulation et stationnement", "Arrêté portant réglementation temporaire de la circulation et du stationnement {street} pendant les travaux de réfection de chaussée", ("commune",)),
    ("2", "6.1.2 Police municipale", "Arrêté permanent réglementant la consommation d’alcool sur la voie publique aux abords des établissements scolaires", ("commune",)),
    ("2", "5.4.1 Delegation de fonctions", "Arrêté de délégation de fonctions à un adjoint chargé de l'urbanisme", ("commune",)),
    ("2", "5.5 Delegation de signature", "Arrêté de délégation de signature au directeur général des services", None),
    ("2", "6.2.1 Routes departementales", "Arrêté réglementant la circulation sur la route départementale RD {n} (limitation à 70 km/h)", ("departement",)),
    ("2", "8.3.1 Voirie", "Arrêté de limitation de tonnage à 12 t sur le pont de {place}", ("commune", "departement")),
    ("3", "4.1.1 Nominations", "Arrêté portant nomination stagiaire d'un adjoint technique territorial", None),
    ("3", "4.2.1 Recrutements", "Recrutement d’un agent contractuel pour accroissement temporaire d'activité (service enfance)", None),
    ("3", "4.5.1 RIFSEEP", "Attribution de l'IFSE (RIFSEEP) à un agent du service administratif", None),
    ("3", "2.2.1 Permis de construire", "Permis de construire PC 029 {n} {short} 00{k} accordé pour l'extension d'une maison d'habitation", ("commune",)),
    ("3", "2.3.1 Preemption", "Décision de préemption sur la déclaration d'intention d'aliéner n°{n} — parcelle {section} {k}", ("commune", "epci")),
    ("3", "3.3.1 Occupation du domaine public", "Autorisation d'occupation temporaire du domaine public : terrasse du café « Ti Penn Ar Bed »", ("commune",)),
    ("4", "1.1.1 Marches de travaux", "Marché de travaux de rénovation énergétique de l'école publique — lot n°{k} : menuiseries extérieures", None),
    ("4", "1.1.2 Marches de services", "Marché de maintenance des installations de chauffage, ventilation et climatisation ({year}-{later})", None),
    ("4", "1.4.1 Conventions", "Convention de partenariat avec l'association Lenn ha Dudi pour l'animation « Bibliothèque hors les murs »", None),
    ("4", "1.1.4 Avenants", "Avenant n°{k} au marché de collecte des ordures ménagères : révision des prix", ("epci", "syndicat")),
    ("4", "3.3.2 Baux", "Bail commercial du local situé {street} à {place}", ("commune",)),
    ("4", "8.2 Aide sociale", "Convention avec le centre communal d’action sociale pour la mise à disposition de personnel", ("commune",)),
    ("5", "7.1.1 Budget primitif", "Budget primitif {year} — budget principal", None),
    ("5", "7.1.2 Decision modificative", "Décision modificative n°{k} — budget annexe de l'assainissement", ("commune", "epci", "syndicat")),
    ("5", "7.1.3 Compte financier unique", "Compte financier unique {previous}", None),
    ("5", "7.1.4 Compte administratif", "Compte administratif {previous} et compte de gestion du comptable public", None),
    ("6", "5.8.1 Contentieux", "Décision d'ester en justice : recours contre le permis de construire PC 029 {n}", None),
    ("6", "9.1.1 Adhesions", "Décision prise par délégation : renouvellement de l’adhésion à l'association des maires", ("commune",)),
    ("6", "3.5.1 Redevances", "Décision fixant la redevance d'occupation du domaine public des commerces ambulants", None),
    ("6", "7.3.2 Lignes de tresorerie", "Décision de réalisation d'une ligne de trésorerie de {amount} 000 €", None),
)

LONG_OBJET = (
    "Approbation du projet de territoire {year}-2030 de la communauté : diagnostic partagé, "
    "orientations stratégiques en matière de développement économique, de mobilités, de transition "
    "énergétique et écologique, d'habitat, de services à la population et de cohésion sociale, "
    "programme pluriannuel d’investissement associé, modalités de gouvernance, de suivi et "
    "d'évaluation, et autorisation donnée au président de signer tout document s'y rapportant"
)
# Acts with a fixed content, by index in the plan, so that the cases the readers must handle
# exist whatever the random draw: (nature, classification, objet, year).
SPECIAL_ACTS = {
    8: ("1", "9.4 Voeux et motions", "Motion de soutien <script>alert(1)</script> aux agriculteurs du territoire", 2025),
    9: ("1", "5.2.1 Reglement interieur", "Aprobation du réglement intérieur de l'assemblée délibérente", 2025),
    12: ("1", "8.4.1 Projet de territoire", LONG_OBJET, 2025),
    21: ("1", "8.4.2 Schema de coherence territoriale", LONG_OBJET.replace("projet de territoire", "schéma de cohérence territoriale (SCoT)"), 2024),
    30: ("4", "3.3.3 Mises a disposition", "Convention <img src=x onerror=alert(1)> de mise à disposition de la salle des fêtes", 2024),
    44: ("1", "7.10.1 Tarifs", "Tarifs 2025 → hausse de 2 % ; cœur de bourg : stationnement à 1 € l’heure", 2025),
    60: ("5", "7.1.1 Budget primitif", "Budget primitif 2025 — budget annexe « Port de plaisance »", 2025),
}
RESENT = (9, "Approbation du règlement intérieur de l'assemblée délibérante")  # (plan index, corrected objet)
NO_SIREN = (11, 27, 50)  # acts whose data has no siren: the reader must map id_e
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


@dataclass
class Act:
    """One act as planned, before it is written to the drop folder."""

    id_d: str
    night: str
    body: dict
    nature: str
    numero: str
    objet: str
    classification: str
    decided: date
    posted: date
    created: datetime
    acknowledged: datetime
    modified: datetime
    open_data: str
    with_siren: bool = True
    stamped: bool = True
    annexes: list[str] = field(default_factory=list)
    totem: bytes | None = None  # budget acts: the TOTEM XML is the act's file (samples.budgets)


def generate_drop_folder(root: Path, registry_path: Path, nights: Sequence[str] = DEMO_NIGHTS) -> dict:
    """Write the demo drop folder under ``root`` (each night's folder is replaced).

    Returns ``{"acts": folders written, "broken": [id_d…], "nights": [...], "resent": [id_d],
    "reasons": {id_d: what is wrong}}``.
    """
    rng = random.Random(SEED)
    bodies = yaml.safe_load(Path(registry_path).read_text(encoding="utf-8"))["bodies"]
    ids: set[str] = set()
    counters: dict[tuple, int] = {}
    plan = _plan(rng, bodies, list(nights), ids, counters)
    broken = _plan_broken(rng, bodies, list(nights), ids, counters)
    from samples.budgets import add_budget_documents

    plan += add_budget_documents(plan, bodies, list(nights), ids)
    for night in nights:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", night):
            raise ValueError(f"night {night!r} is not a YYYY-MM-DD date")
        shutil.rmtree(Path(root) / night, ignore_errors=True)
    for act in plan:
        _write_act(Path(root), act)
    reasons = {}
    for act, breakage, reason in broken:
        _write_act(Path(root), act, breakage)
        reasons[act.id_d] = reason
    return {
        "acts": len(plan) + len(broken),
        "broken": list(reasons),
        "nights": list(nights),
        "resent": [plan[RESENT[0]].id_d] if len(nights) > 1 else [],
        "reasons": reasons,
    }


# The form fields of a Pastell document that name files.
FILE_FIELDS = ("arrete", "acte_tamponne", "autre_document_attache", "aractes", "annexes_tamponnees")


@dataclass
class DocVersion:
    """One state of one Pastell document, visible from ``stamp`` on."""

    id_d: str
    id_e: str
    type: str
    stamp: str  # "YYYY-MM-DD HH:MM:SS", Pastell's local time
    data: dict
    last_action: dict
    creation: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # by file name, as the form names them

    @property
    def titre(self) -> str:
        return str(self.data.get("objet") or "")


def versions_from_drop_folder(root: Path) -> tuple[list[DocVersion], list[str]]:
    """Documents of a drop folder (``samples.actes``) as Pastell document versions.

    A folder whose ``metadata.json`` is not a JSON detail cannot be a Pastell answer: it is
    left out and its name returned. Files the form names but the folder lacks stay missing
    (the emulator answers 400 for them, as Pastell does).
    """
    versions, left_out = [], []
    for night_dir in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        for folder in sorted(p for p in night_dir.iterdir() if p.is_dir()):
            try:
                document = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                left_out.append(folder.name)
                continue
            info, data = document.get("info", {}), document.get("data", {})
            stamp = info.get("last_modification") or info.get("modification")
            files = {}
            for field_name in FILE_FIELDS:
                names = data.get(field_name)
                for name in [names] if isinstance(names, str) else list(names or []):
                    if (folder / name).is_file():
                        files[name] = (folder / name).read_bytes()
            versions.append(DocVersion(
                id_d=info.get("id_d") or folder.name, id_e=str(document.get("id_e") or ""),
                type=info.get("type") or "actes-generique", stamp=stamp, data=data,
                last_action=document.get("last_action") or {}, creation=info.get("creation", ""), files=files,
            ))
    return versions, left_out


def _plan(rng: random.Random, bodies: list[dict], nights: list[str], ids: set, counters: dict) -> list[Act]:
    """Valid acts, in a fixed order; the first ones cover every body, nature and year."""
    acts: list[Act] = []
    index = 0
    for night_index, night in enumerate(nights):
        count = ACTS_PER_NIGHT[min(night_index, len(ACTS_PER_NIGHT) - 1)]
        for _ in range(count):
            body = bodies[index] if index < len(bodies) else rng.choice(bodies)
            if index in SPECIAL_ACTS:
                nature, classification, objet, year = SPECIAL_ACTS[index]
            else:
                natures = list(NATURES)
                first_pass = index < len(natures)
                nature = natures[index] if first_pass else _weighted(rng, NATURE_WEIGHTS)
                year = 2024 if (first_pass and index % 2 == 0) else rng.choice((2024, 2025))
                year = year if night_index == 0 else 2025
                nature, classification, objet = _draw_template(rng, nature, body["kind"], year)
            acts.append(_make_act(rng, ids, counters, night, night_index == 0, body, nature,
                                  classification, objet, year, index))
            index += 1
    first, corrected = RESENT
    if len(nights) > 1:
        later = nights[-1]
        acts.append(replace(acts[first], night=later, objet=corrected,
                            modified=_at(rng, date.fromisoformat(later))))
    return acts


def _plan_broken(rng: random.Random, bodies: list[dict], nights: list[str], ids: set, counters: dict) -> list[tuple]:
    """Broken acts: each is a valid act plus one defect, spread over the nights."""
    defects = (
        # (a) metadata.json cut in the middle: not valid JSON.
        ("truncated_json", "metadata.json is truncated (invalid JSON)"),
        # (b) the decision date is missing from the metadata (the ARActe still has it).
        ("no_date", "date_de_lacte is missing"),
        # (c) the classification starts with a code that is not in the ACTES nomenclature.
        ("unknown_matiere", "unknown matière code 12.9"),
        # (d) metadata names a PDF in arrete that is not in the folder.
        ("missing_pdf", "the PDF named in arrete is missing"),
        # (e) the SIREN and the id_e belong to no body of the registry.
        ("unknown_body", "SIREN and id_e unknown to the registry"),
        # (f) the decision date is not a date: wrong format and 31 February.
        ("bad_date", "date_de_lacte '31/02/2025' is not a valid date"),
    )
    broken = []
    for position, (breakage, reason) in enumerate(defects):
        night = nights[position * len(nights) // len(defects)]
        body = bodies[position % len(bodies)]
        nature, classification, objet = _draw_template(rng, "1", body["kind"], 2025)
        act = _make_act(rng, ids, counters, night, False, body, nature, classification, objet, 2025, -1)
        if breakage == "unknown_matiere":
            act.classification = "12.9 Matiere inconnue"
        if breakage == "unknown_body":
            act.body = dict(body, siren=UNKNOWN_SIREN, pastell_id_e=UNKNOWN_ID_E, name="Commune inconnue")
        if breakage == "missing_pdf":
            act.stamped, act.annexes = False, []
        broken.append((act, breakage, reason))
    return broken


def _make_act(rng, ids, counters, night, backlog, body, nature, classification, objet, year, index) -> Act:
    night_day = date.fromisoformat(night)
    if backlog:
        decided = _random_day(rng, date(year, 1, 6), min(date(year, 12, 20), night_day - timedelta(days=8)))
        posted = decided + timedelta(days=rng.randint(1, 6))
        acknowledged = _at(rng, posted + timedelta(days=rng.randint(0, 1)))
    else:
        posted = night_day - timedelta(days=rng.randint(0, 1))
        decided = posted - timedelta(days=rng.randint(0, 14))
        acknowledged = _at(rng, night_day)
    created = datetime.combine(posted, datetime.min.time()) + timedelta(seconds=rng.randint(7 * 3600, 9 * 3600))
    key = (body["siren"], nature, decided.year)
    counters[key] = counters.get(key, rng.randint(0, 30)) + rng.randint(1, 3)
    annexes = []
    if rng.random() < 0.4:
        annexes = [f"Annexe {k} - {name}.pdf" for k, name in enumerate(rng.sample(ANNEXES, rng.randint(1, 2)), 1)]
    return Act(
        id_d=_new_id(rng, ids),
        night=night,
        body=body,
        nature=nature,
        numero=f"{PREFIXES[nature]}_{decided.year}_{counters[key]:03d}",
        objet=objet,
        classification=classification,
        decided=decided,
        posted=posted,
        created=created,
        acknowledged=acknowledged,
        modified=acknowledged,
        open_data=rng.choice(OPEN_DATA_CHOICES),
        with_siren=index not in NO_SIREN,
        stamped=rng.random() < 0.85,
        annexes=annexes,
    )


def _draw_template(rng: random.Random, nature: str, kind: str, year: int) -> tuple[str, str, str]:
    choices = [t for t in TEMPLATES if t[0] == nature and (t[3] is None or kind in t[3])]
    _, classification, template, _ = rng.choice(choices)
    objet = template.format(
        year=year, previous=year - 1, next=year + 1, later=year + 3, short=str(year)[2:],
        n=rng.randint(2, 480), k=rng.randint(1, 9), amount=rng.choice((90, 150, 250, 400, 1200)),
        day=rng.randint(1, 28), month=rng.choice(MONTHS), section=rng.choice(("AB", "ZK", "C", "YH")),
        place=rng.choice(PLACES), street=rng.choice(STREETS),
    )
    return nature, classification, objet


def _write_act(root: Path, act: Act, breakage: str | None = None) -> None:
    folder = root / act.night / act.id_d
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in act_files(act, breakage).items():
        (folder / name).write_bytes(data)


def act_files(act: Act, breakage: str | None = None) -> dict[str, bytes]:
    """The files of an act's folder, by name, as the exporter writes them (``breakage``: one defect)."""
    metadata = _metadata(act)
    if breakage == "no_date":
        del metadata["data"]["date_de_lacte"]
    if breakage == "bad_date":
        metadata["data"]["date_de_lacte"] = "31/02/2025"
    text = json.dumps(metadata, indent=4) + "\n"
    if breakage == "truncated_json":
        text = text[: len(text) * 3 // 5]
    files = {"metadata.json": text.encode("utf-8")}
    data = metadata["data"]
    header = f"{_ascii(act.body['name'])} - {DOC_KINDS[act.nature]} {act.numero}"
    body_lines = [f"Objet : {_ascii(act.objet)}", f"Date de la decision : {act.decided.isoformat()}"]
    if act.totem:
        files[data["arrete"][0]] = act.totem
    elif breakage != "missing_pdf":
        files[data["arrete"][0]] = minimal_pdf([header, *body_lines])
    if act.stamped:
        stamp = f"Recu en prefecture le {act.posted.isoformat()} - {_id_acte(act)}"
        files[data["acte_tamponne"][0]] = minimal_pdf([header, *body_lines, stamp])
    for annexe in act.annexes:
        files[annexe] = minimal_pdf([header, f"Annexe : {_ascii(annexe)}"])
    files[data["aractes"][0]] = _aracte(act, "2025-02-31" if breakage == "bad_date" else None)
    return files


def _metadata(act: Act) -> dict:
    """The shape of Pastell's API v2 document detail, every value a string."""
    data = {
        "acte_nature": act.nature,
        "numero_de_lacte": act.numero,
        "objet": act.objet,
        "date_de_lacte": act.decided.isoformat(),
        "classification": act.classification,
        "publication_open_data": act.open_data,
        "arrete": [f"{act.numero}.xml" if act.totem else f"{act.numero}.pdf"],
        "acte_tamponne": [f"{act.numero}-tampon.pdf"] if act.stamped else [],
        "autre_document_attache": list(act.annexes),
        "aractes": [f"{act.numero}-ar.xml"],
        "date_tdt_postage": act.posted.isoformat(),
        "envoi_tdt": "on",
    }
    if not act.stamped:
        del data["acte_tamponne"]
    if not act.annexes:
        del data["autre_document_attache"]
    if act.with_siren:
        data["siren"] = act.body["siren"]
    return {
        "info": {
            "id_d": act.id_d,
            "type": "actes-generique",
            "titre": act.objet,
            "creation": _stamp(act.created),
            "last_modification": _stamp(act.modified),
        },
        "data": data,
        "last_action": {
            "action": "acquiter-tdt",
            "message": "L'acte a été acquitté par la préfecture",
            "date": _stamp(act.acknowledged),
        },
        "id_e": str(act.body.get("pastell_id_e") or act.body["siren"]),  # a body on S²LOW has no Pastell entity
    }


def _id_acte(act: Act, decided: str | None = None) -> str:
    day = (decided or act.decided.isoformat()).replace("-", "")
    return f"{DEPARTEMENT}-{act.body['siren']}-{day}-{act.numero}-{NATURE_ABBREVIATIONS[act.nature]}"


def _aracte(act: Act, decided: str | None = None) -> bytes:
    """The préfecture's acknowledgement (@CTES ARActe), ISO-8859-1 as the préfecture sends it."""
    q = _qualified
    root = etree.Element(q("ARActe"), nsmap={"actes": ACTES_NS})
    root.set(q("IDActe"), _id_acte(act, decided))
    root.set(q("DateReception"), act.posted.isoformat())
    recu = etree.SubElement(root, q("ActeRecu"))
    recu.set(q("Date"), decided or act.decided.isoformat())
    recu.set(q("NumeroInterne"), act.numero)
    recu.set(q("CodeNatureActe"), act.nature)
    codes = act.classification.split()[0].split(".")
    etree.SubElement(recu, q("CodeMatiere1")).set(q("CodeMatiere"), codes[0])
    etree.SubElement(recu, q("CodeMatiere2")).set(q("CodeMatiere"), codes[1])
    etree.SubElement(recu, q("Objet")).text = act.objet
    etree.SubElement(recu, q("ClassificationDateVersion")).text = "2019-08-29"
    document = etree.SubElement(recu, q("Document"))
    etree.SubElement(document, q("NomFichier")).text = f"{act.numero}.pdf"
    etree.SubElement(recu, q("Annexes")).set(q("Nombre"), str(len(act.annexes)))
    etree.SubElement(recu, q("DocumentPapier")).text = "N"
    return etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)


def _qualified(name: str) -> str:
    return f"{{{ACTES_NS}}}{name}"


def minimal_pdf(lines: Sequence[str]) -> bytes:
    """A valid one-page PDF showing ASCII ``lines`` (wrapped), with deterministic bytes."""
    wrapped = [chunk for line in lines for chunk in _wrap(_ascii(line), 90)]
    text = " T* ".join("(" + re.sub(r"([\\()])", r"\\\1", line) + ") Tj" for line in wrapped)
    stream = f"BT /F1 11 Tf 14 TL 56 786 Td {text} ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF" % (len(objects) + 1, xref)
    return bytes(out)


def _wrap(line: str, width: int) -> list[str]:
    words, rows = line.split(), [""]
    for word in words:
        if rows[-1] and len(rows[-1]) + 1 + len(word) > width:
            rows.append("")
        rows[-1] = f"{rows[-1]} {word}".strip()
    return rows


def _ascii(text: str) -> str:
    for typographic, plain in (("’", "'"), ("—", "-"), ("→", "->"), ("€", "EUR"), ("œ", "oe"), ("«", '"'), ("»", '"')):
        text = text.replace(typographic, plain)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _at(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(9 * 3600, 19 * 3600))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _new_id(rng: random.Random, ids: set[str]) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    while True:
        candidate = "".join(rng.choice(alphabet) for _ in range(7))
        if candidate not in ids:
            ids.add(candidate)
            return candidate
