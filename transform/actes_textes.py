"""The side file of the all-natures acts table: the text of each published document, one row each.

A side file rather than a column, so that the acts table keeps its schema; consumers join it on
COLL_SIRET and SOURCE_ID. Only the documents the acts table links (online acts, public annexes)
are in it, and only once their text is read.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.frame_rows import row_dicts
from core.publication_rule import UrlOf

COLUMNS = ["COLL_SIRET", "ACTE_ID", "SOURCE_ID", "DOCUMENT_TYPE", "DOCUMENT_URL", "TEXTE_URL", "TEXTE_LECTURE",
           "TEXTE_PAGES", "TEXTE_COMPLET", "TEXTE"]
# A CSV cell this long still opens in common readers (Python's csv module stops at 131,072).
MAX_TEXT_CHARS = 100_000


def act_documents(act) -> list[tuple[str, str, str]]:
    """(kind, hash, name) of the documents the acts table links for an act."""
    if act["metadata_only"]:
        return []
    found = [("acte", act["main_file_sha256"], act["main_file_name"])]
    if act["publish_annexes"]:
        found += [("annexe", annex["sha256"], annex["name"]) for annex in act["annexes"]]
    return found


def text_table(acts: pd.DataFrame, url_of: UrlOf, text_url_of: Callable[[str], str],
               records: dict[str, dict]) -> pd.DataFrame:
    """One row per linked document of ``acts`` whose text ``records`` holds (by hash), with the act's
    body (``siren``: the rows of a body are kept together; shaping for the schema leaves it out)."""
    rows = []
    for act in row_dicts(acts):
        for kind, sha256, name in act_documents(act):
            record = records.get(sha256)
            if not record or not record.get("text"):
                continue
            text = record["text"]
            rows.append({
                "COLL_SIRET": act["siret"], "ACTE_ID": act["numero"], "SOURCE_ID": act["source_id"],
                "DOCUMENT_TYPE": kind, "DOCUMENT_URL": url_of(sha256, name), "TEXTE_URL": text_url_of(sha256),
                "TEXTE_LECTURE": record["status"], "TEXTE_PAGES": int(record.get("pages") or 0),
                "TEXTE_COMPLET": len(text) <= MAX_TEXT_CHARS and not record.get("reason"),
                "TEXTE": text[:MAX_TEXT_CHARS], "siren": act["siren"],
            })
    return pd.DataFrame(rows, columns=COLUMNS + ["siren"], dtype="object")
