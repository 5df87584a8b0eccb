"""Rows of the published tables: SCDL délibérations (nature 1) and digor's all-natures actes."""

from __future__ import annotations

import pandas as pd

from core.frame_rows import row_dicts
from core.nomenclature_actes import ALL_NATURES
from core.publication_rule import UrlOf, annex_urls, document_url

DELIBERATION_NATURE = "1"
DELIBERATIONS_COLUMNS = [
    "COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_MATIERE_NOM",
    "DELIB_OBJET", "BUDGET_ANNEE", "BUDGET_NOM", "PREF_ID", "PREF_DATE", "VOTE_EFFECTIF", "VOTE_REEL",
    "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION", "DELIB_URL",
]
ACTES_COLUMNS = [
    "COLL_NOM", "COLL_SIRET", "ACTE_ID", "ACTE_NATURE_CODE", "ACTE_NATURE_NOM", "ACTE_DATE",
    "ACTE_MATIERE_CODE", "ACTE_MATIERE_NOM", "ACTE_OBJET", "TRANSMISSION_DATE", "PREF_ID", "PREF_DATE",
    "PUBLICATION_DATE", "ACTE_URL", "ANNEXES_URL", "SOURCE_ID",
]

def _iso(value) -> str:
    return "" if value is None or pd.isna(value) else value.isoformat()


def _text(value) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def deliberations_of(acts: pd.DataFrame) -> pd.DataFrame:
    return acts[acts["nature_code"] == DELIBERATION_NATURE].reset_index(drop=True)


def deliberations_table(deliberations: pd.DataFrame, url_of: UrlOf) -> pd.DataFrame:
    """SCDL délibérations 2.1.5, one row per act of ``deliberations_of``, in order.

    Every column the télétransmission can fill is filled; votes and budget are not in
    its metadata and stay empty rather than invented.
    """
    rows = [
        {
            "COLL_NOM": act["coll_nom"],
            "COLL_SIRET": act["siret"],
            "DELIB_ID": act["numero"],
            "DELIB_DATE": _iso(act["date_decision"]),
            "DELIB_MATIERE_CODE": act["matiere_code"],
            "DELIB_MATIERE_NOM": act["matiere_nom"],
            "DELIB_OBJET": act["objet"],
            "BUDGET_ANNEE": "",
            "BUDGET_NOM": "",
            "PREF_ID": _text(act["pref_id"]),
            "PREF_DATE": _iso(act["pref_date"]),
            "VOTE_EFFECTIF": "",
            "VOTE_REEL": "",
            "VOTE_POUR": "",
            "VOTE_CONTRE": "",
            "VOTE_ABSTENTION": "",
            "DELIB_URL": document_url(act, url_of),
        }
        for act in row_dicts(deliberations)
    ]
    return pd.DataFrame(rows, columns=DELIBERATIONS_COLUMNS, dtype="object")


def actes_table(acts: pd.DataFrame, url_of: UrlOf) -> pd.DataFrame:
    rows = [
        {
            "COLL_NOM": act["coll_nom"],
            "COLL_SIRET": act["siret"],
            "ACTE_ID": act["numero"],
            "ACTE_NATURE_CODE": act["nature_code"],
            "ACTE_NATURE_NOM": ALL_NATURES[act["nature_code"]],
            "ACTE_DATE": _iso(act["date_decision"]),
            "ACTE_MATIERE_CODE": act["matiere_code"],
            "ACTE_MATIERE_NOM": act["matiere_nom"],
            "ACTE_OBJET": act["objet"],
            "TRANSMISSION_DATE": _iso(act["date_transmission"]),
            "PREF_ID": _text(act["pref_id"]),
            "PREF_DATE": _iso(act["pref_date"]),
            "PUBLICATION_DATE": _iso(act["publication_date"]),
            "ACTE_URL": document_url(act, url_of),
            "ANNEXES_URL": " ".join(annex_urls(act, url_of)),
            "SOURCE_ID": act["source_id"],
        }
        for act in row_dicts(acts)
    ]
    return pd.DataFrame(rows, columns=ACTES_COLUMNS, dtype="object")
