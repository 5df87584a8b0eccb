"""CPV divisions (the first two digits of a CPV code) and the category of purchase they imply.

Labels are the French titles of the 45 divisions of the Common Procurement Vocabulary
(Regulation (EC) No 213/2008). The category follows the CPV's own split: division 45 is
works, divisions 03 to 44 and 48 are supplies, 50 to 98 are services.
"""

from __future__ import annotations

TRAVAUX, FOURNITURES, SERVICES = "Travaux", "Fournitures", "Services"
NON_CLASSE = "Non classé"

DIVISIONS = {
    "03": "Produits agricoles, de l'élevage, de la pêche, de la sylviculture et produits connexes",
    "09": "Produits pétroliers, combustibles, électricité et autres sources d'énergie",
    "14": "Produits d'exploitation minière, métaux de base et produits connexes",
    "15": "Produits alimentaires, boissons, tabac et produits connexes",
    "16": "Machines agricoles",
    "18": "Vêtements, articles chaussants, bagages et accessoires",
    "19": "Cuir et textiles, matières plastiques et caoutchouc",
    "22": "Imprimés et produits connexes",
    "24": "Produits chimiques",
    "30": "Machines, matériel et fournitures informatiques et de bureau, excepté les meubles et logiciels",
    "31": "Machines, appareils, équipement et consommables électriques ; éclairage",
    "32": "Équipements de radio, de télévision, de communication, de télécommunication et équipements connexes",
    "33": "Matériels médicaux, pharmaceutiques et produits de soins personnels",
    "34": "Équipements de transport et produits auxiliaires pour le transport",
    "35": "Équipements de sécurité, de lutte contre l'incendie, de police et de défense",
    "37": "Instruments de musique, articles de sport, jeux, jouets, articles pour artisanat et travaux artistiques",
    "38": "Équipements de laboratoire, d'optique et de précision (excepté les lunettes)",
    "39": "Meubles, aménagements, appareils électroménagers (à l'exclusion de l'éclairage) et produits de nettoyage",
    "41": "Eau collectée et purifiée",
    "42": "Machines industrielles",
    "43": "Machines pour l'exploitation minière et les carrières, matériel de construction",
    "44": "Structures et matériaux de construction ; produits auxiliaires pour la construction (excepté les appareils électriques)",
    "45": "Travaux de construction",
    "48": "Logiciels et systèmes d'information",
    "50": "Services de réparation et d'entretien",
    "51": "Services d'installation (à l'exception des logiciels)",
    "55": "Services d'hôtellerie, de restaurant et de commerce au détail",
    "60": "Services de transport (à l'exclusion du transport des déchets)",
    "63": "Services d'appui et services auxiliaires dans le domaine des transports ; services des agences de voyages",
    "64": "Services des postes et télécommunications",
    "65": "Services publics",
    "66": "Services financiers et d'assurance",
    "70": "Services immobiliers",
    "71": "Services d'architecture, services de construction, services d'ingénierie et services d'inspection",
    "72": "Services de technologies de l'information, conseil, développement de logiciels, internet et appui",
    "73": "Services de recherche et développement et services de conseil connexes",
    "75": "Services de l'administration publique, de la défense et de la sécurité sociale",
    "76": "Services liés à l'industrie du pétrole et du gaz",
    "77": "Services agricoles, sylvicoles, horticoles, aquacoles et apicoles",
    "79": "Services aux entreprises : droit, marketing, conseil, recrutement, impression et sécurité",
    "80": "Services d'enseignement et de formation",
    "85": "Services de santé et services sociaux",
    "90": "Services d'évacuation des eaux usées et d'élimination des déchets, services d'hygiène et services relatifs à l'environnement",
    "92": "Services récréatifs, culturels et sportifs",
    "98": "Autres services communautaires, sociaux et personnels",
}


def division_of(cpv: str | None) -> str | None:
    code = (cpv or "")[:2]
    return code if code in DIVISIONS else None


def division_label(division: str | None) -> str:
    return DIVISIONS.get(division or "", NON_CLASSE)


def category_of(cpv: str | None) -> str:
    """Travaux, Fournitures or Services from a CPV code; "Non classé" without a known division."""
    division = division_of(cpv)
    if division is None:
        return NON_CLASSE
    if division == "45":
        return TRAVAUX
    if division == "48" or int(division) < 45:
        return FOURNITURES
    return SERVICES
