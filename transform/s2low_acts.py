"""An act pulled from S²LOW (``extract.s2low_source``) as the fields the act's rules read.

S²LOW's raw folder holds what S²LOW said: ``metadata.json`` (the list's row, the status, the
files list, and which stored file is the ACTES message, the act, its stamped copy, the
annexes, the acknowledgement) and the files. The act's own fields come from the ACTES
``Acte`` message S²LOW sent to the préfecture (nature, number, date, matière, objet): the
document the acknowledgement answers. They are given in the names of the Pastell form, so
that one normaliser (``transform.actes.normalise_act``) applies the same rules to both
sources. S²LOW carries no open-data choice: the nature decides (``core.publication_rule``).
S²LOW's API gives no date for the "Transmis" step (``actes_transac_get_status.php`` answers the
current status and its return message only; the workflow with its dates is on the transaction's
HTML page alone): the transmission date is the day the préfecture received the act
(``DateReception`` of the ARActe), the day S²LOW transmits it. An act S²LOW shows cancelled
(status 0, stored again by the pull) carries the cancellation as its last action, which the
publication rule reads as for a Pastell act whose transmission was cancelled: withdrawn.
"""

from __future__ import annotations

from lxml import etree

from core import safe_xml
from core.config import S2LOW_CANCELLED_STATUS
from core.publication_rule import S2LOW_CANCELLATION

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
FLOW = "s2low"


class S2lowActError(ValueError):
    pass


def _attribute(element, name: str) -> str:
    return str(element.get(f"{{{ACTES_NS}}}{name}") or "").strip()


def _message(data: bytes, name: str) -> dict:
    """The fields of the ACTES ``Acte`` message."""
    try:
        root = safe_xml.parse_xml(data)
    except (safe_xml.XmlRefused, etree.XMLSyntaxError) as error:
        raise S2lowActError(f"ACTES message {name!r} cannot be read ({error})") from None
    if etree.QName(root).localname != "Acte":
        raise S2lowActError(f"ACTES message {name!r} is a {etree.QName(root).localname}, not an Acte")
    codes = []
    for level in range(1, 6):
        found = root.find(f"{{{ACTES_NS}}}CodeMatiere{level}")
        if found is None:
            break
        codes.append(_attribute(found, "CodeMatiere"))
    objet = root.findtext(f"{{{ACTES_NS}}}Objet") or ""
    return {"date_de_lacte": _attribute(root, "Date"), "numero_de_lacte": _attribute(root, "NumeroInterne"),
            "acte_nature": _attribute(root, "CodeNatureActe"), "classification": ".".join(codes), "objet": objet}


def _reception(data: bytes) -> str:
    """``DateReception`` of the acknowledgement, as written (the normaliser checks it)."""
    try:
        root = safe_xml.parse_xml(data)
    except (safe_xml.XmlRefused, etree.XMLSyntaxError):
        return ""  # the normaliser reads the acknowledgement again and says what is wrong
    return _attribute(root, "DateReception")


def act_fields(document: dict, files: dict[str, bytes]) -> tuple[dict, dict, str, str]:
    """(info, form data, entity, last action) of an S²LOW raw folder, as ``transform.actes`` reads them."""
    stored = document.get("stored") if isinstance(document.get("stored"), dict) else {}
    row = document.get("transaction") if isinstance(document.get("transaction"), dict) else {}
    message = str(stored.get("message") or "")
    if not message or message not in files:
        raise S2lowActError("the ACTES message of the transaction is missing from the folder")
    data = _message(files[message], message)
    acknowledgement = str(stored.get("aractes") or "")
    data.update({
        "siren": str(document.get("siren") or ""),
        "arrete": [str(stored["acte"])] if stored.get("acte") else [],
        "acte_tamponne": [str(stored["acte_tamponne"])] if stored.get("acte_tamponne") else [],
        "autre_document_attache": [str(name) for name in stored.get("annexes") or []],
        "aractes": [acknowledgement] if acknowledgement else [],
        "date_tdt_postage": _reception(files[acknowledgement]) if acknowledgement in files else "",
    })
    received = data["date_tdt_postage"]
    info = {"id_d": str(row.get("id") or ""), "type": FLOW, "last_modification": received,
            "connection": str(document.get("connection") or "")}
    cancelled = str(document.get("status")) == str(S2LOW_CANCELLED_STATUS)
    return info, data, "", S2LOW_CANCELLATION if cancelled else ""
