"""The préfecture's acknowledgement (ACTES ``ARActe``): who registered the act, and when."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from lxml import etree

from core import safe_xml
from transform.dates import parse_source_date

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
MAX_BYTES = 1024 * 1024
_DEPARTEMENT = re.compile(r"^(\d{2}[0-9AB])-")


class AcknowledgementError(ValueError):
    pass


@dataclass(frozen=True)
class Acknowledgement:
    id_acte: str
    pref_id: str
    date_reception: date


def parse_acknowledgement(data: bytes, where: str) -> Acknowledgement:
    if len(data) > MAX_BYTES:
        raise AcknowledgementError(f"{where}: acknowledgement larger than {MAX_BYTES} bytes")
    try:
        root = safe_xml.parse_xml(data)
    except safe_xml.XmlRefused as error:
        raise AcknowledgementError(f"{where}: {error}") from None
    except etree.XMLSyntaxError as error:
        raise AcknowledgementError(f"{where}: acknowledgement is not well-formed XML ({error})") from None
    if etree.QName(root).localname != "ARActe":
        raise AcknowledgementError(f"{where}: root element is {etree.QName(root).localname}, expected ARActe")
    id_acte = root.get(f"{{{ACTES_NS}}}IDActe") or ""
    received = root.get(f"{{{ACTES_NS}}}DateReception")
    match = _DEPARTEMENT.match(id_acte)
    if not match:
        raise AcknowledgementError(f"{where}: IDActe {id_acte!r} does not start with a département code")
    try:
        reception = parse_source_date(received, "DateReception")
    except ValueError as error:
        raise AcknowledgementError(f"{where}: {error}") from None
    if reception is None:
        raise AcknowledgementError(f"{where}: DateReception is missing")
    # The ACTES identifier names the préfecture of the département; PREFNNN is its SCDL code.
    return Acknowledgement(id_acte=id_acte, pref_id=f"PREF{match.group(1)}", date_reception=reception)
