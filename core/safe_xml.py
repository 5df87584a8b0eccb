"""The one way to parse XML from outside: no DTD, no entity, no network, no huge tree.

An entity left unresolved is not text to lxml: ``Objet &x; fin`` reads as ``Objet`` (the
rest hangs on an entity node), and a resolved one is how billion-laughs and external-entity
attacks get in. No format digor reads (DECP, TOTEM, plans de comptes, ACTES acknowledgements)
needs a DTD, so a document that declares one, or holds an entity reference, is refused,
whatever its prologue says or where the declaration sits (the check is on the parsed tree,
not on the first bytes, so neither a late DOCTYPE nor UTF-16 without BOM gets past it). A
document read without a tree (``parse_with_target``, for many small elements) has its DOCTYPE
refused by the parser's callback, before any element reaches the reader.
"""

from __future__ import annotations

from lxml import etree

PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}

# For formats read from attributes only (TOTEM documents, plans de comptes): no node for comments,
# processing instructions or blank text, no ``xml:id`` index (nothing is looked up by id).
ATTRIBUTES_ONLY = {"remove_comments": True, "remove_pis": True, "remove_blank_text": True, "collect_ids": False}


class XmlRefused(ValueError):
    """Well-formed XML that declares a DTD or uses entities: refused, never half read."""


def xml_parser(**options) -> etree.XMLParser:
    """A parser with the safe options; ``options`` may add e.g. ``remove_comments``."""
    return etree.XMLParser(**PARSER_OPTIONS, **options)


def check_no_dtd(tree: etree._ElementTree) -> None:
    """``XmlRefused`` when the parsed document has a DOCTYPE or an entity reference."""
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise XmlRefused("the XML declares a DOCTYPE (DTD or entities), which this format never uses")
    if next(tree.getroot().iter(etree.Entity), None) is not None:
        raise XmlRefused("the XML uses an entity reference, which this format never uses")


def parse_xml(data: bytes, **options) -> etree._Element:
    """The root element of ``data``; ``etree.XMLSyntaxError`` when not well-formed, ``XmlRefused`` as above."""
    root = etree.fromstring(data, parser=xml_parser(**options))
    check_no_dtd(root.getroottree())
    return root


def iterparse(source, events: tuple[str, ...] = ("end",), **options):
    """``etree.iterparse`` with the safe options, for documents read as a stream: the check runs on
    the first event, once the prologue is parsed and before any element reaches the caller."""
    parsed = etree.iterparse(source, events=events, **PARSER_OPTIONS, **options)
    for event, element in parsed:
        check_no_dtd(element.getroottree())
        yield event, element
        break
    yield from parsed  # the rest straight from lxml: no Python step of ours per event


class RefusingTarget:
    """Base of a parser target for ``parse_with_target``: libxml2 hands it each element's tag and
    attributes (``start(tag, attrib)``, ``end(tag)``, ``close()`` for the result) and builds no tree.
    Its DOCTYPE, met before any element, is refused: an entity needs one to be declared (an
    undeclared entity is a syntax error), so no entity ever reaches the target. An attribute value
    comes as libxml2 hands it when it replaces no entity: pass it through ``attribute_value``."""

    def doctype(self, name, public_id, system_url) -> None:
        raise XmlRefused("the XML declares a DOCTYPE (DTD or entities), which this format never uses")


def attribute_value(value: str | None) -> str | None:
    """An attribute value as a target receives it, as the document means it: libxml2 hands an "&"
    (written ``&amp;`` or ``&#38;``) as the five characters "&#38;" when it replaces no entity, and
    no other "&" can reach a target, so putting those back is exact."""
    return value.replace("&#38;", "&") if value else value


def parse_with_target(data: bytes, target: RefusingTarget, **options):
    """What ``target.close()`` returns once ``data`` is parsed with the safe options, without a tree:
    reading a few attributes of many elements this way costs a third of building the tree and
    reading them from it. ``etree.XMLSyntaxError`` when not well-formed, ``XmlRefused`` as above."""
    if not isinstance(target, RefusingTarget):
        raise TypeError("the target must be a RefusingTarget (it refuses a DOCTYPE)")
    return etree.fromstring(data, parser=xml_parser(target=target, **options))

