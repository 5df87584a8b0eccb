"""Cleaning rules that real DECP data needs, one small function per rule.

Every function takes one raw value and returns ``(value, note)``: the cleaned value (``None``
when nothing usable is left) and a French note saying what was changed or dropped, or
``None`` when the value was taken as it came. The notes become the ``anomalies`` of a
published contract or, when a required value is lost, the reasons of its rejection.

Rules follow what the national pipelines learnt on real files (decp-processing, decp-augmente,
see ANCHORS Part 2 §2-3): placeholders such as "NC" are not values, CPV codes are 8 digits,
dates come with time zones, French formats and typos, amounts of 1e17 are not amounts. A
value is never invented: a rule either recovers what the buyer obviously meant (a CPV check
digit, a year typed ``0222``) or leaves the value out.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache

from core.identifiers import luhn_valid

Cleaned = tuple  # (value or None, note or None)

PLACEHOLDERS = frozenset(
    {
        "", "nc", "n/c", "n.c.", "n.c", "nr", "n/r", "nd", "n/d", "na", "n/a", "non communique", "non communiquee",
        "non renseigne", "non renseignee", "non connu", "inconnu", "neant", "-", "--", "?", "null", "none", "nan",
        "undefined", "sans", "x", "xx", "xxx", "inx nc", "inx none", "cdl", "mq", "0000-00-00",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})

MIN_YEAR = 1980  # older dates are noise (concessions signed in the 2000s are real and still published)
REPAIR_MIN_YEAR = 2010  # a repaired year must land in the DECP era, else the date is dropped
MAX_AMOUNT = 3_000_000_000.0  # above 3 bn € HT a contract of a regional buyer is a typo (decp-augmente)
MAX_INTEGER = 2**53  # past it a number read is not always the number sent (and 64-bit columns end soon after)
DIGIT_RUN = re.compile(r"^(\d)\1{6,}$")  # 9999999, 11111111, ...


def fold(text: str) -> str:
    """Lower case, no accents, straight apostrophes, single spaces: for comparisons only."""
    text = text.translate(_APOSTROPHES)
    if not text.isascii():  # ASCII has no accent to take off
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text).strip().lower()


_LONGEST_PLACEHOLDER = max(map(len, PLACEHOLDERS))
_NOT_ALNUM = bytes(b for b in range(128) if not chr(b).isalnum())


def is_placeholder(value) -> bool:
    """True for "no value" in any of the ways real files say it ("NC", "", NaN, "null"...)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        # ASCII letters and digits survive folding: a text with more of them than the longest
        # placeholder has is none, without folding it (most texts of a file)
        if len(value) > _LONGEST_PLACEHOLDER and \
                len(value.encode("ascii", "ignore").translate(None, _NOT_ALNUM)) > _LONGEST_PLACEHOLDER:
            return False
        return _folds_to_placeholder(value)
    return False


@lru_cache(maxsize=1 << 16)
def _folds_to_placeholder(text: str) -> bool:
    """Short texts (codes, dates, identifiers) come back again and again in a file: folded once."""
    return fold(text) in PLACEHOLDERS


def clean_text(value) -> Cleaned:
    """A string without control characters or surrounding spaces; placeholders are dropped."""
    if isinstance(value, bool):
        return None, f"texte attendu, valeur booléenne {value!r} retirée"
    if isinstance(value, (int, float)) and not is_placeholder(value):
        value = format_number(value)
    if not isinstance(value, str):
        if is_placeholder(value):
            return None, None
        return None, f"texte attendu, valeur {_show(value)} retirée"
    controls = _CONTROL.search(value) is not None
    cleaned = (_CONTROL.sub("", value) if controls else value).strip()
    if is_placeholder(cleaned):
        return None, (None if cleaned == "" else f"valeur de remplissage « {cleaned} » retirée")
    return cleaned, ("caractères de contrôle retirés" if controls else None)


def format_number(value: float | int) -> str:
    """Text of a number as a human types it: 12 not 12.0 (identifiers sent as numbers)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Identifiers


def clean_siret(value) -> Cleaned:
    """A SIRET of 14 digits: spaces and dots removed, a lost leading zero restored.

    A 14-digit value that fails the Luhn check is kept (some real SIRETs, La Poste's, do
    not follow it) with a note; anything else is not a SIRET and is dropped.
    """
    text, note = clean_text(value)
    if text is None:
        return None, note
    digits = re.sub(r"[\s.\-_/]", "", text)
    if not digits.isdigit():
        return None, f"SIRET invalide « {text} » (caractères non numériques)"
    if len(digits) == 13 and luhn_valid("0" + digits):
        return "0" + digits, f"SIRET « {text} » complété du zéro initial perdu"
    if len(digits) != 14:
        return None, f"SIRET invalide « {text} » ({len(digits)} chiffres au lieu de 14)"
    if not luhn_valid(digits):
        return digits, f"SIRET « {digits} » : clé de contrôle incorrecte"
    return digits, None


def check_operator_id(kind: str | None, identifier: str) -> str | None:
    """A note when an identifier declared as SIRET cannot be one (kept: the schema allows it)."""
    if kind != "SIRET":
        return None
    if not identifier.isdigit() or len(identifier) != 14:
        return f"identifiant « {identifier} » déclaré SIRET mais de {len(identifier)} caractères"
    if not luhn_valid(identifier):
        return f"SIRET « {identifier} » : clé de contrôle incorrecte"
    return None


def clean_operator_id(value) -> Cleaned:
    """Titulaire, concessionnaire or sous-traitant identifier: text without inner spaces."""
    text, note = clean_text(value)
    if text is None:
        return None, note
    return re.sub(r"\s", "", text), note


_CPV = re.compile(r"^(\d{7,9})(?:-(\d))?")


def clean_cpv(value) -> Cleaned:
    """CPV code on 8 digits: check digit dropped, a lost leading zero restored, label cut off."""
    text, note = clean_text(value)
    if text is None:
        return None, note
    compact = re.sub(r"\s", "", text)
    match = _CPV.match(compact)
    if not match:
        return None, f"code CPV invalide « {text} »"
    digits = match.group(1)
    if len(digits) == 7:
        return "0" + digits, f"code CPV « {text} » complété du zéro initial perdu"
    if len(digits) == 9:
        return digits[:8], f"code CPV « {text} » : 9e chiffre retiré"
    return digits, None


# Dates

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+)?(?:Z|[+-]\d{2}:?\d{2})?$")
_FRENCH = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def repair_year(year: int, reference: date) -> int | None:
    """The year the buyer meant when one keystroke went wrong (0222 -> 2022, 5021 -> 2021).

    Only one-edit repairs are tried (first two digits swapped, first digit replaced by 2) and
    only a repair landing in [REPAIR_MIN_YEAR, reference year] is accepted; otherwise ``None``.
    """
    text = f"{year:04d}"
    candidates = [text[1] + text[0] + text[2:], "2" + text[1:]]
    plausible = [int(c) for c in candidates if REPAIR_MIN_YEAR <= int(c) <= reference.year]
    return plausible[0] if plausible else None


def clean_date(value, reference: date) -> Cleaned:
    """An ISO date (AAAA-MM-JJ) no later than ``reference`` (the night being processed).

    Accepts time and time-zone suffixes (kept as the local date), dd/mm/yyyy, and repairs
    one-keystroke year typos; a date in the future or impossible to read is dropped.
    """
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    text, note = clean_text(value)
    if text is None:
        return None, note
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _FRENCH.match(text)
        if not match:
            return None, f"date illisible « {text} »"
        day, month, year = (int(g) for g in match.groups())
    notes = []
    if not MIN_YEAR <= year <= reference.year:
        repaired = repair_year(year, reference)
        if repaired is None and year > reference.year:
            return None, f"date dans le futur « {text} » retirée"
        if repaired is None:
            return None, f"date invraisemblable « {text} » retirée"
        notes.append(f"année {year} corrigée en {repaired}")
        year = repaired
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None, f"date impossible « {text} »"
    if parsed > reference:
        return None, f"date dans le futur « {text} » retirée"
    return parsed.isoformat(), "; ".join(notes) or None


# Numbers

_FRENCH_NUMBER = re.compile(r"^-?[\d\s\u00a0\u202f.]*\d(,\d+)?$")


def parse_number(value) -> float | None:
    """A float from a JSON number or a text in English or French writing ("14 700,00 €")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if not isinstance(value, str):
        return None
    text = value.replace("€", "").replace("EUR", "").strip()
    try:
        number = float(text)
    except ValueError:
        if not _FRENCH_NUMBER.match(text):
            return None
        text = re.sub(r"[\s\u00a0\u202f]", "", text)
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        elif text.count(".") > 1:
            text = text.replace(".", "")
        try:
            number = float(text)
        except ValueError:
            return None
    return None if math.isnan(number) or math.isinf(number) else number


def clean_number(value) -> Cleaned:
    if is_placeholder(value):
        return None, (None if value in (None, "") else f"valeur de remplissage « {value} » retirée")
    number = parse_number(value)
    if number is None:
        return None, f"nombre illisible {_show(value)}"
    return number, None


def clean_integer(value) -> Cleaned:
    """An integer (a count of offers, of months, an order number); past ``MAX_INTEGER`` it is none (and no
    table column holds it): dropped."""
    number, note = clean_number(value)
    if number is None:
        return None, note
    if not float(number).is_integer():
        return None, f"nombre entier attendu, {_show(value)} retiré"
    if abs(number) > MAX_INTEGER:
        return None, f"nombre entier hors limites {_show(value)} retiré"
    return int(number), note


def clean_amount(value) -> Cleaned:
    """An amount in euros HT; absurd values (typos, test values, 1e17) are dropped.

    Absurd: above ``MAX_AMOUNT``, a run of one repeated digit (9999999), or starting with
    123456789. Zero and negative amounts are kept here: the schema decides on them.
    """
    number, note = clean_number(value)
    if number is None:
        return None, note
    integral = f"{abs(number):.0f}"
    if abs(number) > MAX_AMOUNT or DIGIT_RUN.match(integral) or integral.startswith("123456789"):
        return None, f"montant aberrant {number:,.2f} € retiré".replace(",", " ")
    return number, note


def clean_share(value) -> Cleaned:
    """A share between 0 and 1; a percentage written 30 or "30 %" becomes 0.3."""
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
        number, note = clean_number(value)
        return (None, note) if number is None else (number / 100, f"pourcentage « {value} % » lu {number / 100:g}")
    number, note = clean_number(value)
    if number is None:
        return None, note
    if 1 < number <= 100:
        return number / 100, f"pourcentage {number:g} lu {number / 100:g}"
    return number, note


_TRUE = {"true", "oui", "1", "vrai", "yes", "o", "y"}
_FALSE = {"false", "non", "0", "faux", "no", "n"}


def clean_boolean(value) -> Cleaned:
    if isinstance(value, bool):
        return value, None
    if is_placeholder(value):
        return None, None
    folded = fold(str(value)) if isinstance(value, (str, int, float)) else None
    if folded in _TRUE:
        return True, None
    if folded in _FALSE:
        return False, None
    return None, f"booléen illisible {_show(value)}"


# Former names of the same thing (procedures renamed by the 2016 decree and the 2019 code,
# identifier types spelt by some platforms): mapped only onto a value the format allows.
SYNONYMS = {
    "marche negocie sans publicite ni mise en concurrence prealable": "Marché passé sans publicité ni mise en concurrence préalable",
    "marche public negocie sans publicite ni mise en concurrence prealable": "Marché passé sans publicité ni mise en concurrence préalable",
    "procedure concurrentielle avec negociation": "Procédure avec négociation",
    "procedure negociee avec mise en concurrence prealable": "Procédure avec négociation",
    "tva_intracommunautaire": "TVA",
    "tva intracommunautaire": "TVA",
    "hors_ue": "HORS-UE",
    "hors ue": "HORS-UE",
}


def match_enum(value, allowed: Iterable[str]) -> Cleaned:
    """The allowed value the text means, ignoring case, accents, apostrophes and spaces.

    Former names in ``SYNONYMS`` are replaced (with a note). Any other text is returned as
    sent, so that validation rejects it with the list of allowed values.
    """
    return enum_cleaner(allowed)(value)


def enum_cleaner(allowed: Iterable[str]) -> Callable[[object], Cleaned]:
    """``match_enum`` for one list of allowed values, its lookups built once (a schema field's cleaner)."""
    allowed = list(allowed)
    exact = frozenset(allowed)
    by_fold = {fold(a): a for a in allowed}

    def clean(value) -> Cleaned:
        text, note = clean_text(value)
        if text is None:
            return None, note
        if text in exact:
            return text, None
        folded = fold(text)
        if folded in by_fold:
            return by_fold[folded], None
        synonym = SYNONYMS.get(folded)
        if synonym in exact:
            return synonym, f"« {text} » remplacé par « {synonym} » (ancienne dénomination)"
        return text, None

    return clean
