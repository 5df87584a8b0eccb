"""INSEE's nomenclature of catégories juridiques, as the SIRENE register codes a unit's
``categorieJuridiqueUniteLegale`` (four digits, level 3).

A widget's header names a body by its level-3 category ("Commune et commune nouvelle",
"Syndicat mixte ouvert"): the level-1 label ("Personne morale et organisme soumis au droit
administratif") says nothing to a citizen. Our data file (``data/categories_juridiques.csv``)
holds level 1 and the level-3 codes of public bodies (7…, and the public 4… ones); any other
code falls back to its level 1.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "categories_juridiques.csv"


@cache
def _labels() -> dict[str, str]:
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["label"] for row in csv.DictReader(handle)}


def level_1(code: str | None) -> str | None:
    """The label of the code's first digit (what the register's code says at the least)."""
    return _labels().get(code[:1]) if code else None


def category_label(code: str | None) -> str | None:
    """The most precise label the nomenclature has for ``code``; None for no code."""
    if not code:
        return None
    return _labels().get(code) or level_1(code)
