"""ACTES nomenclature: natures of acts and the two-level classification des matières.

The télétransmission sends a matière as free text ("8.5.2 Politique de la ville…") whose
label may be stale or misspelt, and sometimes a third level. SCDL and the widgets need the
two-level code and clean labels, so only the leading code is trusted and the labels come
from our own data file (``data/matieres_actes.csv``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "matieres_actes.csv"

NATURES: dict[str, str] = {
    "1": "Délibérations",
    "2": "Actes réglementaires",
    "3": "Actes individuels",
    "4": "Contrats, conventions et avenants",
    "5": "Documents budgétaires et financiers",
    "6": "Autres",
}

# Acts a body publishes without sending them to the préfecture (nature 7 of the regional back
# office), by the kind ``nature_autre_detail`` names; the Actes widget filters on these codes.
OUTSIDE_FLOW_NATURE = "7"
OUTSIDE_FLOW_NATURES: dict[str, str] = {
    "7": "Autres actes non transmis en préfecture",
    "71": "Listes des délibérations",
    "72": "Arrêtés temporaires",
    "73": "Procès-verbaux de séance",
    "74": "Arrêtés permanents",
}
OUTSIDE_FLOW_DETAILS: dict[str, str] = {"LD": "71", "AT": "72", "PV": "73", "AP": "74"}
# Every nature digor publishes, by the code of its published files and widgets.
ALL_NATURES: dict[str, str] = {**NATURES, **OUTSIDE_FLOW_NATURES}

# Abbreviations used by @CTES in file names and in the IDActe of the acknowledgement.
NATURE_ABBREVIATIONS: dict[str, str] = {
    "1": "DE",
    "2": "AR",
    "3": "AI",
    "4": "CC",
    "5": "BF",
    "6": "AU",
}

# A code is one or more dot-separated numbers, followed by whitespace or the end.
_LEADING_CODE = re.compile(r"(\d+(?:\.\d+)*)(?=\s|$)")


class MatiereError(ValueError):
    """A classification that cannot be mapped to a two-level matière."""


@dataclass(frozen=True)
class Matiere:
    """A level-2 matière with the labels of both levels."""

    code: str
    label_1: str
    label_2: str

    @property
    def scdl_name(self) -> str:
        """Value of SCDL ``DELIB_MATIERE_NOM``: lowercase, no comma or parenthesis."""
        return f"{_scdl_part(self.label_1)}/{_scdl_part(self.label_2)}"


def _scdl_part(label: str) -> str:
    cleaned = re.sub(r"[,()]", " ", label.lower())
    return " ".join(cleaned.split())


@cache
def _labels() -> dict[str, str]:
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["label"] for row in csv.DictReader(handle)}


@cache
def _matieres() -> dict[str, Matiere]:
    table = _labels()
    return {
        code: Matiere(code, table[code.split(".")[0]], label)
        for code, label in table.items()
        if "." in code
    }


def labels() -> dict[str, str]:
    """All codes of the data file (levels 1 and 2) mapped to their labels."""
    return dict(_labels())


def matieres() -> dict[str, Matiere]:
    """Every level-2 matière, by code, in nomenclature order."""
    return dict(_matieres())


def parse_classification(raw: str) -> Matiere:
    """Map a classification as sent by the télétransmission to its level-2 matière.

    Deeper levels ("8.5.2", "3.1.4.2") are cut to two; codes must match the nomenclature
    exactly, so a zero-padded "8.05" is rejected rather than guessed.
    """
    text = (raw or "").strip()
    match = _LEADING_CODE.match(text)
    if not match:
        raise MatiereError(f"no matière code at the start of classification {raw!r}")
    parts = match.group(1).split(".")
    if len(parts) < 2:
        raise MatiereError(f"classification {raw!r} has no level-2 matière")
    code = ".".join(parts[:2])
    matiere = _matieres().get(code)
    if matiere is None:
        raise MatiereError(f"unknown matière code {code!r} in classification {raw!r}")
    return matiere


def nature_label(code: str) -> str:
    """Label of a nature of act ("1" -> "Délibérations", "73" -> "Procès-verbaux de séance")."""
    key = str(code).strip()
    if key not in ALL_NATURES:
        raise ValueError(f"unknown nature of act {code!r}")
    return ALL_NATURES[key]


def nature_code(acte_nature: str, detail: str = "") -> str:
    """The published code of an act's nature: 1 to 6 as the télétransmission sends them; an act
    outside the préfecture flow (7) gets the code of its kind (``nature_autre_detail`` LD, AT, PV,
    AP -> 71 to 74), or 7 when the kind is another one. Raises ValueError for anything else."""
    code, kind = (acte_nature or "").strip(), (detail or "").strip().upper()
    if code == OUTSIDE_FLOW_NATURE:
        return OUTSIDE_FLOW_DETAILS.get(kind, OUTSIDE_FLOW_NATURE)
    if code in ALL_NATURES:
        return code
    raise ValueError(f"acte_nature {acte_nature!r} is not a nature of act (1 to 6, or 7 outside the préfecture flow)")
