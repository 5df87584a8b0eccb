"""Whose act it is: the SIREN in the act's ACTES identifier, checked against the body it is filed under.

The ACTES protocol names each act ``DEP-SIREN-YYYYMMDD-NUMERO-NATURE`` (the ``IDActe`` of the
préfecture's acknowledgement ``ARActe``; S²LOW's ``unique_id``, Pastell's ``acte_unique_id``). The
SIREN there is the authority the préfecture registered the act for: the platforms' lists do not
say it (S²LOW's gives its internal authority id only), so it is the act's own proof of whose act it
is. A connection holding another authority's certificate, or a Pastell entity mapped to the wrong
body, brings acts whose identifier names another SIREN: the pulls report them and the transform
refuses them.
"""

from __future__ import annotations

import re

from lxml import etree

from core import safe_xml

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
_ID_ACTE = re.compile(r"^\d{2}[0-9AB]-(\d{9})-\d{8}-")
BUDGET_NATURE = "5"


def siren_of(id_acte: str) -> str | None:
    """The SIREN of an ACTES identifier, None when it is not one."""
    found = _ID_ACTE.match(str(id_acte or "").strip())
    return found.group(1) if found else None


def id_acte_of(acknowledgement: bytes) -> str:
    """The ``IDActe`` of an ``ARActe`` ("" when it cannot be read: the transform says why)."""
    try:
        root = safe_xml.parse_xml(acknowledgement)
    except (safe_xml.XmlRefused, etree.XMLSyntaxError, ValueError):
        return ""
    return str(root.get(f"{{{ACTES_NS}}}IDActe") or "").strip()


def foreign_siren(id_acte: str, siren: str, nature: str = "", establishments: tuple[str, ...] = ()) -> str | None:
    """The other SIREN an act's identifier names, None when it is the body's (or it names none).

    A budget (nature 5) of an establishment the registry declares for the body (``budget_establishments``,
    SIRETs) is the body's to send."""
    found = siren_of(id_acte)
    if found is None or found == siren:
        return None
    if str(nature) == BUDGET_NATURE and any(str(s)[:9] == found for s in establishments):
        return None
    return found
