"""Tests of the ACTES nomenclature: our labels against the reference, code parsing."""

from __future__ import annotations

import csv
import re
import unicodedata

import pytest

from core.config import PROJECT_ROOT
from core.nomenclature_actes import (
    ALL_NATURES,
    NATURE_ABBREVIATIONS,
    NATURES,
    OUTSIDE_FLOW_NATURES,
    Matiere,
    MatiereError,
    labels,
    matieres,
    nature_code,
    nature_label,
    parse_classification,
)
from tests.environment import reference_path

REFERENCE_CSV = "nomenclatures/actes_matieres.csv"

# Codes whose reference label is misspelt, with (reference word, our word) after normalising.
TYPO_FIXES = {"6": ("pourvoirs", "pouvoirs")}

LEVEL_1 = [
    "Commande publique",
    "Urbanisme",
    "Domaine et patrimoine",
    "Fonction publique",
    "Institutions et vie politique",
    "Libertés publiques et pouvoirs de police",
    "Finances locales",
    "Domaines de compétences par thèmes",
    "Autres domaines de compétences",
]


def normalise(label: str) -> str:
    """Lowercase, ligatures unfolded, accents, punctuation and spaces removed."""
    text = label.lower().replace("œ", "oe").replace("æ", "ae")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[\W_]", "", text)


@pytest.fixture(scope="module")
def reference() -> dict[str, str]:
    with reference_path(REFERENCE_CSV).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["code"]: row["libelle_matiere2"] if row["niveau"] == "2" else row["libelle_matiere1"]
        for row in rows
    }


def test_counts_and_level_1_labels():
    table = labels()
    assert [table[str(n)] for n in range(1, 10)] == LEVEL_1
    assert len(matieres()) == 57
    assert len(table) == 66


def test_labels_are_clean_french():
    for code, label in labels().items():
        assert label == label.strip() and "  " not in label, code
        assert label[0].isupper(), code
        assert " d " not in label and " l " not in label, f"{code}: missing apostrophe"


def test_every_reference_code_matches_ours(reference):
    ours = labels()
    assert set(reference) == set(ours)
    differing = {code for code in reference if normalise(reference[code]) != normalise(ours[code])}
    assert differing == set(TYPO_FIXES)
    for code, (wrong, right) in TYPO_FIXES.items():
        assert normalise(reference[code]).replace(wrong, right) == normalise(ours[code])


@pytest.mark.parametrize(
    "raw, code",
    [
        ("8.5 Politique de la ville-habitat-logement", "8.5"),
        ("8.5.2 Politique de la ville-habitat-logement", "8.5"),
        ("3.1.4.2 Acquisitions foncières", "3.1"),
        ("8.5", "8.5"),
        (" 8.5 ", "8.5"),
        ("7.10 Divers", "7.10"),
        ("7.1 Décisions budgétaires", "7.1"),
        ("1.1\u00a0Marchés publics", "1.1"),
        ("2.1 Docs d urbanisme (libellé périmé)", "2.1"),
    ],
)
def test_parse_uses_leading_code_cut_to_two_levels(raw, code):
    matiere = parse_classification(raw)
    assert matiere.code == code
    assert matiere == matieres()[code]


def test_parse_takes_labels_from_nomenclature():
    matiere = parse_classification("2.1 Documents d urbanisme ")
    assert matiere == Matiere("2.1", "Urbanisme", "Documents d'urbanisme")


@pytest.mark.parametrize("raw", ["", "   ", "12.9", "8.99", "8.05", "abc", "8", "0.1", "8.5x", "8.5-Divers", ".5"])
def test_parse_rejects_unknown_codes(raw):
    with pytest.raises(MatiereError) as error:
        parse_classification(raw)
    assert repr(raw) in str(error.value)


def test_parse_rejects_none():
    with pytest.raises(MatiereError):
        parse_classification(None)


def test_scdl_name():
    assert (
        parse_classification("8.5.2").scdl_name
        == "domaines de compétences par thèmes/politique de la ville-habitat-logement"
    )
    assert parse_classification("7.9").scdl_name == "finances locales/prise de participation sem etc."
    for matiere in matieres().values():
        name = matiere.scdl_name
        assert name == name.lower()
        assert not set(name) & set(",()")
        assert "  " not in name
        # 1.5 "Transactions/protocole…" has a slash of its own: level 1 is before the first one.
        assert name.split("/", 1)[0] == matiere.label_1.lower()


def test_natures():
    assert set(NATURES) == set(NATURE_ABBREVIATIONS) == {"1", "2", "3", "4", "5", "6"}
    assert nature_label("1") == "Délibérations"
    assert nature_label(" 4 ") == "Contrats, conventions et avenants"
    assert nature_label("73") == "Procès-verbaux de séance"
    with pytest.raises(ValueError, match="'8'"):
        nature_label("8")


@pytest.mark.parametrize(
    "nature, detail, code",
    [
        ("1", "", "1"),
        ("7", "LD", "71"),
        ("7", "at", "72"),
        ("7", "PV", "73"),
        ("7", "AP", "74"),
        ("7", "", "7"),
        ("7", "Décision du bureau", "7"),
        ("73", "", "73"),
    ],
)
def test_acts_outside_the_prefecture_flow_get_the_code_of_their_kind(nature, detail, code):
    assert nature_code(nature, detail) == code


def test_widget_offers_every_published_nature_with_the_same_label():
    text = (PROJECT_ROOT / "widgets" / "commun" / "parametres.js").read_text(encoding="utf-8")
    text = text.split("export const TYPES", 1)[1].split("];", 1)[0]
    offered = dict(re.findall(r'\{ code: "(\d+)", libelle: "([^"]+)" \}', text))
    for code, label in OUTSIDE_FLOW_NATURES.items():
        assert offered[code] == label
    assert set(ALL_NATURES) <= set(offered)
