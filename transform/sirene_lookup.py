"""Names and places of SIRENs and SIRETs, from digor's reduced SIRENE cache.

The rules every output follows:

- **Name**: a legal person's dénomination (else its first usual name, else its sigle);
  an individual entrepreneur's usual first name and name *only* when the register lets
  them be published (``statutDiffusion`` = ``O``). A person who asked not to be
  published is shown as ``NON_DIFFUSIBLE`` and their street address, trade name and
  sign are never given: only the commune, as the register itself publishes.
- **SME** (``pme``): INSEE's ``categorieEntreprise`` (PME / ETI / GE) when known, else the
  unit's headcount band (under 250 employees); not applicable to public bodies
  (catégorie juridique 7…): ``None``.
- **Closed** establishments and ceased units keep their last known values, with
  ``etat`` = ``fermé`` / ``cessé`` and the date it happened (``date_fermeture``).
- **Département**: from the commune code (``2A``/``2B`` for Corsica, three digits overseas).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd
import pyarrow as pa

from core.categories_juridiques import category_label
from core.sirene_stock import CACHE_SCHEMAS, ETABLISSEMENTS, MASKED, UNITES_LEGALES, as_date

NON_DIFFUSIBLE = "[NON DIFFUSIBLE]"
DIFFUSIBLE = "O"
PERSONNE_PHYSIQUE = "1000"

# Headcount bands (tranches d'effectif salarié) of the register.
TRANCHES_EFFECTIFS = {
    "NN": "Unité non employeuse",
    "00": "0 salarié",
    "01": "1 ou 2 salariés",
    "02": "3 à 5 salariés",
    "03": "6 à 9 salariés",
    "11": "10 à 19 salariés",
    "12": "20 à 49 salariés",
    "21": "50 à 99 salariés",
    "22": "100 à 199 salariés",
    "31": "200 à 249 salariés",
    "32": "250 à 499 salariés",
    "41": "500 à 999 salariés",
    "42": "1 000 à 1 999 salariés",
    "51": "2 000 à 4 999 salariés",
    "52": "5 000 à 9 999 salariés",
    "53": "10 000 salariés et plus",
}
UNDER_250 = {"NN", "00", "01", "02", "03", "11", "12", "21", "22", "31"}
# Street types as the register abbreviates them.
TYPES_VOIE = {
    "ALL": "ALLEE", "AV": "AVENUE", "BD": "BOULEVARD", "CAR": "CARREFOUR", "CHE": "CHEMIN", "CHS": "CHAUSSEE",
    "CITE": "CITE", "COR": "CORNICHE", "CRS": "COURS", "DOM": "DOMAINE", "DSC": "DESCENTE", "ECA": "ECART",
    "ESP": "ESPLANADE", "FG": "FAUBOURG", "GR": "GRANDE RUE", "HAM": "HAMEAU", "HLE": "HALLE", "IMP": "IMPASSE",
    "LD": "LIEU-DIT", "LOT": "LOTISSEMENT", "MAR": "MARCHE", "MTE": "MONTEE", "PARC": "PARC", "PAS": "PASSAGE",
    "PL": "PLACE", "PLN": "PLAINE", "PLT": "PLATEAU", "PRO": "PROMENADE", "PRV": "PARVIS", "QUA": "QUARTIER",
    "QUAI": "QUAI", "RES": "RESIDENCE", "RLE": "RUELLE", "ROC": "ROCADE", "RPT": "ROND-POINT", "RTE": "ROUTE",
    "RUE": "RUE", "SEN": "SENTIER", "SQ": "SQUARE", "TPL": "TERRE-PLEIN", "TRA": "TRAVERSE", "VLA": "VILLA",
    "VLGE": "VILLAGE", "ZA": "ZA", "ZAC": "ZAC", "ZI": "ZI",
}
INDICES_REPETITION = {"B": "BIS", "T": "TER", "Q": "QUATER", "C": "QUINQUIES"}

ETAT_ACTIF, ETAT_FERME, ETAT_CESSE = "actif", "fermé", "cessé"


@dataclass(frozen=True)
class Entity:
    """What digor publishes about one SIREN or SIRET (see the module's rules)."""

    identifiant: str
    trouve: bool
    siren: str | None = None
    siret: str | None = None
    nom: str | None = None
    nom_etablissement: str | None = None
    diffusible: bool | None = None
    personne_physique: bool | None = None
    categorie_juridique: str | None = None
    categorie_juridique_libelle: str | None = None
    activite_principale: str | None = None
    nomenclature_activite: str | None = None
    siege: bool | None = None
    nic_siege: str | None = None
    siret_siege: str | None = None
    tranche_effectifs: str | None = None
    tranche_effectifs_libelle: str | None = None
    categorie_entreprise: str | None = None
    pme: bool | None = None
    adresse: str | None = None
    code_postal: str | None = None
    commune: str | None = None
    code_commune: str | None = None
    departement: str | None = None
    pays: str | None = None
    etat: str | None = None
    date_fermeture: dt.date | None = None
    mois_sirene: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> dict:
        data = self.to_dict()
        data["date_fermeture"] = self.date_fermeture.isoformat() if self.date_fermeture else None
        return data


LOOKUP_COLUMNS = tuple(Entity.__dataclass_fields__)


def _clean(value) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return None if not text or text == MASKED else text


def normalised_name(name: str | None) -> str:
    """Upper case, no accents, no punctuation, single spaces: to compare two spellings of a name."""
    if not name:
        return ""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


def departement_of(code_commune: str | None) -> str | None:
    code = _clean(code_commune)
    if not code or len(code) != 5:
        return None
    return code[:3] if code[:2] in ("97", "98") else code[:2]


def is_diffusible(statut: str | None) -> bool:
    return _clean(statut) == DIFFUSIBLE


def unit_name(unit: dict) -> str | None:
    """The name a unit may be shown under, following the register's diffusion status."""
    diffusible = is_diffusible(unit.get("statutDiffusionUniteLegale"))
    if _clean(unit.get("categorieJuridiqueUniteLegale")) == PERSONNE_PHYSIQUE or _clean(unit.get("nomUniteLegale")):
        if not diffusible:
            return NON_DIFFUSIBLE
        first = _clean(unit.get("prenomUsuelUniteLegale")) or _clean(unit.get("prenom1UniteLegale"))
        last = _clean(unit.get("nomUsageUniteLegale")) or _clean(unit.get("nomUniteLegale"))
        name = " ".join(part for part in (first, last) if part)
        return name or _clean(unit.get("denominationUniteLegale")) or NON_DIFFUSIBLE
    name = (
        _clean(unit.get("denominationUniteLegale"))
        or _clean(unit.get("denominationUsuelle1UniteLegale"))
        or _clean(unit.get("sigleUniteLegale"))
    )
    return name or (None if diffusible else NON_DIFFUSIBLE)


def sme_flag(unit: dict) -> bool | None:
    categorie = _clean(unit.get("categorieJuridiqueUniteLegale")) or ""
    if categorie.startswith("7"):
        return None
    entreprise = _clean(unit.get("categorieEntreprise"))
    if entreprise in ("PME", "ETI", "GE"):
        return entreprise == "PME"
    tranche = _clean(unit.get("trancheEffectifsUniteLegale"))
    if tranche in TRANCHES_EFFECTIFS:
        return tranche in UNDER_250
    return None


def street_address(etab: dict) -> str | None:
    """One-line postal address of a diffusible establishment (``None`` when nothing is known)."""
    numero = _clean(etab.get("numeroVoieEtablissement"))
    indice = _clean(etab.get("indiceRepetitionEtablissement"))
    type_voie = _clean(etab.get("typeVoieEtablissement"))
    voie = " ".join(
        p
        for p in (
            numero,
            INDICES_REPETITION.get(indice or "", indice),
            TYPES_VOIE.get(type_voie or "", type_voie),
            _clean(etab.get("libelleVoieEtablissement")),
        )
        if p
    )
    if pays := _clean(etab.get("libellePaysEtrangerEtablissement")):
        city = " ".join(p for p in (_clean(etab.get("libelleCommuneEtrangerEtablissement")), pays) if p)
    elif cedex := _clean(etab.get("codeCedexEtablissement")):
        city = " ".join(p for p in (cedex, _clean(etab.get("libelleCedexEtablissement"))) if p)
    else:
        city = " ".join(p for p in (_clean(etab.get("codePostalEtablissement")), _clean(etab.get("libelleCommuneEtablissement"))) if p)
    parts = [
        p
        for p in (
            _clean(etab.get("complementAdresseEtablissement")),
            voie,
            _clean(etab.get("distributionSpecialeEtablissement")),
            city,
        )
        if p
    ]
    return ", ".join(parts) or None


def _digits(identifier) -> str:
    text = str(identifier)
    if text.isdigit():  # most identifiers: a SIRET as sent
        return text
    return "".join(ch for ch in text if ch.isdigit())


class SireneLookup:
    """The reduced cache of one month, indexed by SIREN and SIRET."""

    def __init__(self, units: pa.Table | pd.DataFrame, establishments: pa.Table | pd.DataFrame, month: str | None = None):
        self.month = month
        self._units = self._index(units, "siren")
        self._establishments = self._index(establishments, "siret")
        self._sieges: dict[str, str] = {}
        for siret, etab in self._establishments.items():
            if etab.get("etablissementSiege") is True:
                self._sieges.setdefault(siret[:9], siret)
        for siren, unit in self._units.items():
            nic = _clean(unit.get("nicSiegeUniteLegale"))
            if nic and f"{siren}{nic}" in self._establishments:
                self._sieges[siren] = f"{siren}{nic}"

    @staticmethod
    def _index(table, key: str) -> dict[str, dict]:
        frame = table.to_pandas() if isinstance(table, pa.Table) else table
        frame = frame.astype(object).where(frame.notna(), None)
        return {row[key]: row for row in frame.to_dict("records")}

    @classmethod
    def empty(cls) -> "SireneLookup":
        return cls(CACHE_SCHEMAS[UNITES_LEGALES].empty_table(), CACHE_SCHEMAS[ETABLISSEMENTS].empty_table())

    def __len__(self) -> int:
        return len(self._units)

    def unit(self, siren: str) -> dict | None:
        return self._units.get(siren)

    def establishment(self, siret: str) -> dict | None:
        return self._establishments.get(siret)

    def siege_siret(self, siren: str) -> str | None:
        return self._sieges.get(siren)

    def lookup(self, identifier: str) -> Entity:
        """The entity of a SIREN (its siège's place) or of a SIRET; ``trouve=False`` when unknown."""
        digits = _digits(identifier)
        siren = digits[:9] if len(digits) in (9, 14) else None
        unit = self._units.get(siren) if siren else None
        if unit is None:
            return Entity(identifiant=str(identifier), trouve=False, siren=siren, siret=digits if len(digits) == 14 else None, mois_sirene=self.month)
        siret = digits if len(digits) == 14 else self.siege_siret(siren)
        etab = self._establishments.get(siret) if siret else None
        if len(digits) == 14 and etab is None:
            return self._entity(str(identifier), unit, None, trouve=False, siret=digits)
        return self._entity(str(identifier), unit, etab, trouve=True, siret=siret)

    def name(self, identifier: str) -> str | None:
        """``lookup(identifier).nom``, without making the entity of an identifier the register does not know
        (most titulaires of a national DECP year, looked up once each)."""
        digits = _digits(identifier)
        if len(digits) not in (9, 14) or digits[:9] not in self._units:
            return None
        return self.lookup(identifier).nom

    def _entity(self, identifier: str, unit: dict, etab: dict | None, trouve: bool, siret: str | None) -> Entity:
        siren = unit["siren"]
        categorie = _clean(unit.get("categorieJuridiqueUniteLegale"))
        person = categorie == PERSONNE_PHYSIQUE or bool(_clean(unit.get("nomUniteLegale")))
        diffusible = is_diffusible(unit.get("statutDiffusionUniteLegale")) and (
            etab is None or is_diffusible(etab.get("statutDiffusionEtablissement"))
        )
        name = unit_name(unit)
        if person and not diffusible:
            name = NON_DIFFUSIBLE
        tranche = _clean(unit.get("trancheEffectifsUniteLegale"))
        nic_siege = _clean(unit.get("nicSiegeUniteLegale"))
        fields = {
            "identifiant": identifier,
            "trouve": trouve,
            "siren": siren,
            "siret": siret,
            "nom": name,
            "diffusible": diffusible,
            "personne_physique": person,
            "categorie_juridique": categorie,
            "categorie_juridique_libelle": category_label(categorie),
            "activite_principale": _clean(unit.get("activitePrincipaleUniteLegale")),
            "nomenclature_activite": _clean(unit.get("nomenclatureActivitePrincipaleUniteLegale")),
            "nic_siege": nic_siege,
            "siret_siege": self.siege_siret(siren) or (f"{siren}{nic_siege}" if nic_siege else None),
            "tranche_effectifs": tranche,
            "tranche_effectifs_libelle": TRANCHES_EFFECTIFS.get(tranche or ""),
            "categorie_entreprise": _clean(unit.get("categorieEntreprise")),
            "pme": sme_flag(unit),
            "mois_sirene": self.month,
        }
        if _clean(unit.get("etatAdministratifUniteLegale")) == "C":
            fields.update(etat=ETAT_CESSE, date_fermeture=as_date(unit.get("dateDebut")))
        else:
            fields["etat"] = ETAT_ACTIF
        if etab is not None:
            code_commune = _clean(etab.get("codeCommuneEtablissement"))
            fields.update(
                siege=bool(etab.get("etablissementSiege")),
                activite_principale=_clean(etab.get("activitePrincipaleEtablissement")) or fields["activite_principale"],
                nomenclature_activite=_clean(etab.get("nomenclatureActivitePrincipaleEtablissement"))
                or fields["nomenclature_activite"],
                code_postal=_clean(etab.get("codePostalEtablissement")),
                commune=_clean(etab.get("libelleCommuneEtablissement")) or _clean(etab.get("libelleCommuneEtrangerEtablissement")),
                code_commune=code_commune,
                departement=departement_of(code_commune),
                pays=_clean(etab.get("libellePaysEtrangerEtablissement")),
            )
            if diffusible or not person:
                fields.update(
                    adresse=street_address(etab),
                    nom_etablissement=_clean(etab.get("denominationUsuelleEtablissement"))
                    or _clean(etab.get("enseigne1Etablissement")),
                )
            if _clean(etab.get("etatAdministratifEtablissement")) == "F":
                fields.update(etat=ETAT_FERME, date_fermeture=as_date(etab.get("dateDebut")))
        elif siret is None:
            fields["siege"] = None
        return Entity(**fields)

    def lookup_frame(self, identifiers: Iterable[str]) -> pd.DataFrame:
        """One row per distinct identifier, in ``LOOKUP_COLUMNS`` (what the DECP chain joins on)."""
        seen = list(dict.fromkeys(str(i) for i in identifiers if i is not None and str(i).strip()))
        rows = [self.lookup(identifier).to_dict() for identifier in seen]
        frame = pd.DataFrame(rows, columns=list(LOOKUP_COLUMNS))
        for column in ("trouve", "diffusible", "personne_physique", "siege", "pme"):
            frame[column] = frame[column].astype("boolean")
        return frame
