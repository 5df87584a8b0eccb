"""Records of a previous system's export -> staging rows of acts and their original publication dates.

An act folder is read like a night's act (``transform.actes.normalise_act``), plus the date the
previous system published it (``date_publication``) and, when it came from the same
télétransmission, its document id there (``pastell_id_d``); an SCDL row is a délibération whose
metadata were published, without its document. Whatever cannot prove its publication date is
refused: that date is what makes the act executory, it is never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from hashlib import sha256

from core.identifiers import siret_is_valid
from core.jsonio import load_json
from core.nomenclature_actes import MatiereError, nature_code, parse_classification
from core.publication_rule import Decision, DecisionSource
from core.registry import Registry
from transform.actes import ActeRejected, ActRules, normalise_act
from transform.dates import parse_source_date

IMPORT_SOURCE = "import"
PUBLICATION_FIELD = "date_publication"
ID_FIELD = "pastell_id_d"
SCDL_PUBLICATION_COLUMN = "PUBLICATION_DATE"


@dataclass(frozen=True)
class ImportedAct:
    """A staging row (``row``) and the day the previous system first published the act."""

    row: dict
    published_on: date

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.row["siren"], self.row["source"], self.row["source_id"])


def _date(value, field_name: str) -> date | None:
    try:
        return parse_source_date(value, field_name)
    except ValueError as error:
        raise ActeRejected(str(error)) from None


def _published_on(value, field_name: str, decided: date, today: date, rules: ActRules) -> date:
    published = _date(value, field_name)
    if published is None:
        raise ActeRejected(f"{field_name} is missing: the original publication date is what proves the act "
                           "executory, it is never guessed")
    rules.check_date(published, field_name, today)
    if published < decided:
        raise ActeRejected(f"{field_name} {published.isoformat()} is before the act's date {decided.isoformat()}")
    return published


def _history_decision(row: dict, published: date) -> dict:
    return {**row, "night": published, "version": "",
            "decision": Decision.PUBLISHED.value, "decision_source": DecisionSource.HISTORY.value,
            "decision_reason": f"published by the previous system on {published.isoformat()}"}


def act_record(raw_prefix: str, record: str, files: dict[str, bytes], registry: Registry, today: date,
               source_name: str, rules: ActRules) -> tuple[ImportedAct, list[dict]]:
    """One act folder of the export (its files already in raw at ``raw_prefix``) -> the act, and its
    annexes left out (file, reason). The act keeps the télétransmission's id when the export gives it
    (``source_name``: the deployment's source), so the same act from that source is the same act."""
    row = normalise_act(raw_prefix, files, registry, today, IMPORT_SOURCE, rules)
    left_out = row.pop("left_out")
    data = load_json(files["metadata.json"].decode("utf-8"))
    data = data["data"] if isinstance(data.get("data"), dict) else data
    published = _published_on(data.get(PUBLICATION_FIELD), PUBLICATION_FIELD, row["date_decision"], today, rules)
    if row["pref_date"] is None:
        row["pref_date"] = rules.check_date(_date(data.get("date_ar"), "date_ar"), "date_ar", today)
    pastell_id = str(data.get(ID_FIELD) or "").strip()
    source, source_id = (source_name, pastell_id) if pastell_id else (IMPORT_SOURCE, record)
    return ImportedAct(_history_decision({**row, "source": source, "source_id": source_id}, published), published), \
        left_out


def scdl_record(values: dict[str, str], raw_key: str, registry: Registry, today: date, rules: ActRules) -> ImportedAct:
    """One row of an SCDL délibérations file (kept in raw at ``raw_key``) -> a délibération without its
    document (metadata only)."""
    siret = (values.get("COLL_SIRET") or "").strip()
    if not siret_is_valid(siret):
        raise ActeRejected(f"COLL_SIRET {siret!r} is not a valid SIRET")
    body = registry.by_siren(siret[:9])
    if body is None:
        raise ActeRejected(f"body unknown to the registry (siren={siret[:9]}): add it to the registry")
    numero = " ".join((values.get("DELIB_ID") or "").split())
    objet = " ".join((values.get("DELIB_OBJET") or "").split())
    if not numero:
        raise ActeRejected("DELIB_ID is missing")
    if not objet:
        raise ActeRejected("DELIB_OBJET is missing")
    decided = _date(values.get("DELIB_DATE"), "DELIB_DATE")
    if decided is None:
        raise ActeRejected("DELIB_DATE is missing")
    rules.check_date(decided, "DELIB_DATE", today)
    published = _published_on(values.get(SCDL_PUBLICATION_COLUMN), SCDL_PUBLICATION_COLUMN, decided, today, rules)
    code = (values.get("DELIB_MATIERE_CODE") or "").strip()
    try:
        matiere = parse_classification(code)
    except MatiereError as error:
        raise ActeRejected(f"DELIB_MATIERE_CODE: {error}") from None
    try:
        nature = nature_code((values.get("NATURE_ACTE") or "1").strip(),
                             (values.get("NATURE_ACTE_AUTRE_DETAIL") or "").strip())
    except ValueError as error:
        raise ActeRejected(str(error)) from None
    pref_date = rules.check_date(_date(values.get("PREF_DATE"), "PREF_DATE"), "PREF_DATE", today)
    # Stable across reruns and exports: the same délibération gets the same id.
    digest = sha256(f"{siret}|{numero}|{decided.isoformat()}".encode()).hexdigest()[:16]
    row = {
        "source": IMPORT_SOURCE, "source_id": f"scdl-{digest}", "version": "", "night": published,
        "raw_prefix": raw_key, "siren": body.siren, "siret": body.siret, "coll_nom": body.name,
        "numero": numero, "objet": objet, "nature_code": nature, "classification_raw": code,
        "matiere_code": matiere.code, "matiere_nom": matiere.scdl_name, "date_decision": decided,
        "date_transmission": None, "pref_id": (values.get("PREF_ID") or "").strip() or None, "pref_date": pref_date,
        "publication_open_data": "", "main_file_name": "", "main_file_key": "", "main_file_sha256": "",
        "main_is_stamped": False, "annexes": [],
    }
    return ImportedAct(_history_decision(row, published), published)
