"""Lenient reading of the dates that sources send, strict about impossible ones.

The acts' one date parser. DECP dates go through ``transform.decp_clean.clean_date`` instead, on
purpose: a DECP date that cannot be read is dropped with a note and the object kept (its year
repaired when one keystroke went wrong), where an act with an unreadable date is rejected.
"""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_FRENCH = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def parse_source_date(value: str | None, field: str) -> date | None:
    """ISO dates (with or without a time) and French dd/mm/yyyy; empty gives None.

    An impossible date (31/02/2025) raises ValueError naming the field and the value.
    """
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{field}: {value!r} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)")
    text = (value or "").strip()
    if not text:
        return None
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _FRENCH.match(text)
        if not match:
            raise ValueError(f"{field}: {text!r} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)")
        day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a valid calendar date") from None

