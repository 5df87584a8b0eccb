"""Deterministic demo exports of the procurement platform (DECP), for the demo nights.

The buyers are the bodies of the registry; the files look like what a platform really
sends: the 2022 format in JSON and XML, a history file in the 2019 format, a contract
re-exported the next night with a modification (a duplicate whose newer version wins), an
exact copy inside a file, and the mess real files carry: bad SIRETs, "NC" placeholders, a
date in the future, a year typed 0225, an absurd amount (1e17), CPV codes with their check
digit or without their leading zero, an incomplete acte de sous-traitance, and a truncated
file that cannot be read at all. Everything comes from one seeded ``random.Random``.

Layout: ``<root>/<night>/<file>``, read by ``extract.decp_drop`` (or served by the platform
emulator in tests).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml
from lxml import etree

from samples.actes import DEMO_NIGHTS

SEED = 2022
CPV_CHOICES = (
    ("45261210", "Réfection de la toiture de {lieu}"),
    ("45233140", "Travaux de voirie {rue} à {place}"),
    ("45214200", "Extension de {lieu} : lot n°{k} gros œuvre"),
    ("71000000", "Mission de maîtrise d'œuvre pour la rénovation énergétique de {lieu}"),
    ("90511000", "Collecte des ordures ménagères et du tri sélectif ({annee}-{suivante})"),
    ("77310000", "Entretien des espaces verts de {place}"),
    ("79341000", "Conception et impression du magazine d'information"),
    ("30192000", "Fournitures de bureau et consommables"),
    ("09310000", "Fourniture d'électricité des bâtiments publics"),
    ("15800000", "Fourniture de denrées alimentaires pour la restauration scolaire"),
    ("72000000", "Maintenance du logiciel de gestion financière"),
    ("34144900", "Acquisition de deux véhicules électriques utilitaires"),
    ("50700000", "Maintenance des installations de chauffage et de ventilation"),
    ("48000000", "Logiciel de gestion de la relation citoyenne"),
)
LIEUX = ("l'école publique", "la salle polyvalente", "la mairie", "la médiathèque", "le complexe sportif", "l'EHPAD")
PLACES = ("Kerdigor", "Lanvézec", "Pen ar Hoat", "Traon Bihan", "Goas ar Stang")
RUES = ("rue de Brest", "rue des Écoles", "route de Lanvézec", "quai des Pêcheurs")
PROCEDURES = ("Procédure adaptée",) * 6 + ("Appel d'offres ouvert",) * 2 + (
    "Marché passé sans publicité ni mise en concurrence préalable",)
PROCEDURES_2019 = ("Procédure adaptée", "Appel d'offres ouvert", "Marché négocié sans publicité ni mise en concurrence préalable")
COMPANIES = ("Armor Bâtiment", "Breizh Voirie", "Ouest Énergies", "Kemper Informatique", "Iroise Paysages",
             "Atelier Penn-ar-Bed", "Finistère Restauration", "Léon Transports")


def luhn_complete(prefix: str) -> str:
    """``prefix`` followed by the digit that makes it pass the Luhn check (SIREN, SIRET)."""
    for digit in "0123456789":
        candidate = prefix + digit
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def _siret(rng: random.Random) -> str:
    siren = luhn_complete(f"{rng.randrange(30_000_000, 99_999_999):08d}")
    return luhn_complete(siren + f"{rng.randrange(1, 999):04d}")


class _Plan:
    def __init__(self, rng: random.Random, bodies: list[dict]):
        self.rng = rng
        self.bodies = bodies
        self.companies = [(_siret(rng), name) for name in COMPANIES]
        self.counter = 0

    def contract_id(self, year: int, buyer: dict) -> str:
        self.counter += 1
        return f"{year}{buyer['siren'][-3:]}M{self.counter:03d}"

    def objet(self, template: str, year: int) -> str:
        rng = self.rng
        return template.format(lieu=rng.choice(LIEUX), place=rng.choice(PLACES), rue=rng.choice(RUES),
                               k=rng.randint(1, 9), annee=year, suivante=year + 3)

    def marche(self, buyer: dict, notified: str, published: str, holders: int = 1, **overrides) -> dict:
        rng = self.rng
        cpv, template = rng.choice(CPV_CHOICES)
        year = int(published[:4])
        titulaires = rng.sample(self.companies, holders)
        travaux = cpv.startswith("45")
        social = rng.random() < 0.35
        environmental = rng.random() < 0.5
        data = {
            "id": self.contract_id(year, buyer),
            "acheteur": {"id": buyer["siret"]},
            "nature": "Marché",
            "objet": self.objet(template, year),
            "codeCPV": cpv,
            "techniques": {"technique": ["Accord-cadre"] if rng.random() < 0.2 else ["Sans objet"]},
            "modalitesExecution": {"modaliteExecution": ["Bons de commande"] if rng.random() < 0.3 else ["Sans objet"]},
            "marcheInnovant": False,
            "ccag": "Travaux" if travaux else rng.choice(["Fournitures courantes et services", "Prestations intellectuelles"]),
            "offresRecues": rng.randint(1, 9),
            "attributionAvance": travaux,
            "tauxAvance": 0.05 if travaux else 0.0,
            "typeGroupementOperateurs": "Conjoint" if holders > 1 else "Pas de groupement",
            "sousTraitanceDeclaree": False,
            "procedure": rng.choice(PROCEDURES),
            "lieuExecution": {"code": rng.choice(["29200", "29800", "29260", "29870"]), "typeCode": "Code postal"},
            "dureeMois": rng.choice([3, 6, 12, 24, 36, 48]),
            "dateNotification": notified,
            "datePublicationDonnees": published,
            "montant": float(rng.randrange(4_000, 900_000, 50)),
            "typesPrix": {"typePrix": ["Définitif révisable" if travaux else "Définitif ferme"]},
            "formePrix": rng.choice(["Forfaitaire", "Unitaire", "Mixte"]),
            "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}} for siret, _ in titulaires],
            "considerationsSociales": {"considerationSociale": ["Clause sociale"] if social else ["Pas de considération sociale"]},
            "considerationsEnvironnementales": {
                "considerationEnvironnementale": ["Critère environnemental"] if environmental else ["Pas de considération environnementale"]
            },
        }
        data.update(overrides)
        return data

    def concession(self, buyer: dict, signed: str, published: str) -> dict:
        siret, _ = self.rng.choice(self.companies)
        return {
            "id": self.contract_id(int(signed[:4]), buyer) + "C",
            "autoriteConcedante": {"id": buyer["siret"]},
            "nature": "Délégation de service public",
            "objet": "Délégation du service public de l'eau potable",
            "procedure": "Procédure négociée ouverte",
            "dureeMois": 120,
            "dateSignature": signed,
            "datePublicationDonnees": published,
            "dateDebutExecution": signed,
            "valeurGlobale": 4_850_000.0,
            "montantSubventionPublique": 0.0,
            "concessionnaires": [{"concessionnaire": {"typeIdentifiant": "SIRET", "id": siret}}],
            "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
            "considerationsEnvironnementales": {"considerationEnvironnementale": ["Clause environnementale"]},
        }

    def marche_2019(self, buyer: dict, notified: str) -> dict:
        rng = self.rng
        cpv, template = rng.choice(CPV_CHOICES)
        siret, name = rng.choice(self.companies)
        year = int(notified[:4])
        return {
            "id": self.contract_id(year, buyer),
            "_type": "Marché",
            "acheteur": {"id": buyer["siret"], "nom": buyer["name"]},
            "nature": rng.choice(["Marché", "Accord-cadre"]),
            "objet": self.objet(template, year),
            "codeCPV": cpv,
            "procedure": rng.choice(PROCEDURES_2019),
            "lieuExecution": {"code": "29", "typeCode": "Code département", "nom": "Finistère"},
            "dureeMois": rng.choice([12, 24, 36]),
            "dateNotification": notified,
            "datePublicationDonnees": notified[:8] + "28",
            "montant": float(rng.randrange(25_000, 600_000, 100)),
            "formePrix": rng.choice(["Ferme", "Révisable", "Ferme et actualisable"]),
            "titulaires": [{"typeIdentifiant": "SIRET", "id": siret, "denominationSociale": name}],
            "modifications": [],
        }


def _json_bytes(marches: list[dict], concessions: list[dict] | None = None) -> bytes:
    container = {"marche": marches}
    if concessions:
        container["contrat-concession"] = concessions
    return (json.dumps({"marches": container}, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _xml_value(parent, name: str, value) -> None:
    if isinstance(value, dict):
        element = etree.SubElement(parent, name)
        for key, inner in value.items():
            _xml_value(element, key, inner)
    elif isinstance(value, list):
        for item in value:
            _xml_value(parent, name, item)
    else:
        element = etree.SubElement(parent, name)
        element.text = ("oui" if value else "non") if isinstance(value, bool) else (
            str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))


def _xml_bytes(marches: list[dict], concessions: list[dict] | None = None) -> bytes:
    """The 2022 XML shape: list wrappers are elements (``<titulaires><titulaire>``), booleans oui/non."""
    root = etree.Element("marches")
    for kind, objects in (("marche", marches), ("contrat-concession", concessions or [])):
        for data in objects:
            element = etree.SubElement(root, kind)
            for key, value in data.items():
                if isinstance(value, list) and value and isinstance(value[0], dict) and len(value[0]) == 1:
                    container = etree.SubElement(element, key)
                    for item in value:
                        _xml_value(container, next(iter(item)), next(iter(item.values())))
                else:
                    _xml_value(element, key, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def generate_decp_exports(root: Path, registry_path: Path, nights: Sequence[str] = DEMO_NIGHTS) -> dict:
    """Write the demo exports under ``root`` (each night's folder is replaced); returns a summary."""
    rng = random.Random(SEED)
    bodies = yaml.safe_load(Path(registry_path).read_text(encoding="utf-8"))["bodies"]
    plan = _Plan(rng, bodies)
    if len(nights) != 3:
        raise ValueError("the DECP demo exports span three nights")
    first, second, third = nights
    files: dict[str, dict[str, bytes]] = {first: {}, second: {}, third: {}}
    expected = {"duplicates": 0, "invalid": 0, "unreadable": 0, "modified": 0}

    # Night 1: the backlog of 2024 and early 2025 in the 2022 format, the 2019-format history.
    backlog = []
    for body in bodies:
        for month in (2, 5, 9, 11):
            backlog.append(plan.marche(body, f"2024-{month:02d}-{rng.randint(1, 27):02d}", f"2024-{month:02d}-28"))
        backlog.append(plan.marche(body, f"2025-01-{rng.randint(6, 27):02d}", "2025-01-30", holders=rng.choice([1, 2])))
    concession = plan.concession(bodies[2], "2024-07-01", "2024-07-15")
    files[first]["decp-export-1.json"] = _json_bytes(backlog, [concession])
    history = [plan.marche_2019(body, f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 27):02d}")
               for body in bodies for year in (2021, 2022, 2023)]
    files[first]["historique.json"] = (json.dumps({"marches": history}, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    department = next((b for b in bodies if b["kind"] == "departement"), bodies[0])
    files[first]["decp-export-1.xml"] = _xml_bytes(
        [plan.marche(department, f"2025-02-{day:02d}", "2025-02-28") for day in (3, 12, 20)]
    )

    # Night 2: new contracts, two contracts re-exported with a modification, an exact copy,
    # and the mess.
    modified = [json.loads(json.dumps(backlog[0])), json.loads(json.dumps(backlog[6]))]
    for index, data in enumerate(modified):
        data["modifications"] = [{"modification": {
            "id": 1, "dateNotificationModification": "2025-02-17", "datePublicationDonneesModification": "2025-03-03",
            "montant": round(data["montant"] * 1.12, 2), "dureeMois": data["dureeMois"] + 6,
        }}]
        if index == 1:
            new_holder = plan.companies[-1][0]
            data["modifications"][0]["modification"]["titulaires"] = [{"titulaire": {"typeIdentifiant": "SIRET", "id": new_holder}}]
    expected["duplicates"] += 2
    expected["modified"] += 2
    fresh = [plan.marche(body, f"2025-02-{rng.randint(17, 28):02d}", "2025-03-03") for body in bodies]
    copy = json.loads(json.dumps(fresh[0]))
    expected["duplicates"] += 1
    messy = [
        plan.marche(bodies[0], "2025-02-21", "2025-03-03", acheteur={"id": "2129009970001X"}),  # bad buyer SIRET
        plan.marche(bodies[1], "2025-02-24", "2025-03-03", dureeMois="NC"),  # placeholder on a required field
        plan.marche(bodies[2], "2026-02-24", "2025-03-03"),  # notification date in the future
        plan.marche(bodies[3], "2025-02-10", "2025-03-03", montant=1.0e17),  # absurd amount
    ]
    expected["invalid"] += 4
    repaired = [
        plan.marche(bodies[0], "0225-02-11", "2025-03-03", codeCPV="45214200-2"),  # year typo, CPV check digit
        plan.marche(bodies[1], "2025-02-12", "2025-03-03", codeCPV="9310000",  # CPV without its leading zero
                    titulaires=[{"titulaire": {"typeIdentifiant": "SIRET", "id": "4781914061"}}]),  # 10-digit "SIRET"
        plan.marche(bodies[3], "2025-02-13", "2025-03-03", idAccordCadre="NC", sousTraitanceDeclaree=True,
                    actesSousTraitance=[{"acteSousTraitance": {"id": 1, "sousTraitant": {"typeIdentifiant": "SIRET",
                                                                                        "id": plan.companies[2][0]}}}]),
    ]
    files[second]["decp-export-2.json"] = _json_bytes(modified + fresh + [copy] + messy + repaired)
    files[second]["decp-export-2-bis.json"] = _json_bytes(fresh[1:3])[: 700]  # truncated transfer
    expected["unreadable"] += 1

    # Night 3: XML with new contracts, a modified concession, a buyer without SIRET.
    later = [plan.marche(body, f"2025-03-{rng.randint(1, 4):02d}", "2025-03-05") for body in bodies]
    later.append(plan.marche(bodies[4], "2025-03-03", "2025-03-05", acheteur={"id": "NC"}))
    expected["invalid"] += 1
    concession_modified = json.loads(json.dumps(concession))
    concession_modified["modifications"] = [{"modification": {
        "id": 1, "dateSignatureModification": "2025-03-01", "datePublicationDonneesModification": "2025-03-05",
        "dureeMois": 144, "valeurGlobale": 5_300_000.0,
    }}]
    expected["duplicates"] += 1
    expected["modified"] += 1
    files[third]["decp-export-3.xml"] = _xml_bytes(later, [concession_modified])

    written = 0
    for night, night_files in files.items():
        folder = root / night
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, data in sorted(night_files.items()):
            (folder / name).write_bytes(data)
            written += 1
    objects = len(backlog) + 1 + len(history) + 3  # night 1: JSON (with the concession), history, XML
    objects += len(modified) + len(fresh) + 1 + len(messy) + len(repaired)  # night 2, without the truncated file
    objects += len(later) + 1  # night 3 (with the concession)
    return {"files": written, "objects": objects, "nights": list(files), "expected": expected}


def _national_buyers(rng: random.Random, count: int) -> list[dict]:
    sirets = [_siret(rng) for _ in range(count)]
    return [{"siret": siret, "siren": siret[:9], "name": f"Acheteur {index}"} for index, siret in enumerate(sirets)]


def write_national_export(path: Path, objects: int, seed: int = SEED, buyers: int = 20_000) -> dict:
    """A consolidated 2022-format export of ``objects`` contracts (``{"marches": {"marche": [...]}}``),
    written object by object (memory stays flat whatever the size), for the scale benchmarks.

    About one object in 200 carries a defect that rejects it, one in 100 is re-sent (a duplicate),
    one in 50 has a modification and one in 40 is a concession; deterministic from ``seed``.
    """
    rng = random.Random(seed)
    plan = _Plan(rng, [])
    plan.companies = [(_siret(rng), f"Entreprise {index}") for index in range(max(50, buyers // 4))]
    parties = _national_buyers(rng, buyers)
    counts = {"objects": 0, "concessions": 0, "invalid": 0, "duplicates": 0, "modified": 0}
    previous: dict | None = None
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(path.name + ".concessions")
    with path.open("w", encoding="utf-8") as out, aside.open("w+", encoding="utf-8") as kept_aside:
        out.write('{"marches": {"marche": [\n')
        first = True
        for _ in range(objects):
            buyer = rng.choice(parties)
            year = rng.choice((2022, 2023, 2024))
            notified = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            published = notified[:8] + "28"
            draw = rng.random()
            if draw < 0.025:
                concession = plan.concession(buyer, notified, published)
                kept_aside.write(("" if not counts["concessions"] else ",\n") + json.dumps(concession, ensure_ascii=False))
                counts["concessions"] += 1
                continue
            if draw < 0.035 and previous is not None:
                data = previous
                counts["duplicates"] += 1
            else:
                data = plan.marche(buyer, notified, published, holders=1 if draw < 0.9 else 2)
                if draw < 0.055:
                    data["modifications"] = [{"modification": {
                        "id": 1, "dateNotificationModification": published, "datePublicationDonneesModification": published,
                        "montant": round(data["montant"] * 1.1, 2), "dureeMois": data["dureeMois"] + 6}}]
                    counts["modified"] += 1
                elif draw < 0.06:
                    data["dureeMois"] = "NC"  # a required field lost: rejected
                    counts["invalid"] += 1
            previous = data
            out.write(("" if first else ",\n") + json.dumps(data, ensure_ascii=False))
            first = False
            counts["objects"] += 1
        out.write('\n], "contrat-concession": [\n')
        kept_aside.seek(0)
        shutil.copyfileobj(kept_aside, out)
        out.write("\n]}}\n")
    aside.unlink()
    counts["objects"] += counts["concessions"]
    return counts
