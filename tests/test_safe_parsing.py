"""The shared readers of outside JSON and XML: refusals instead of crashes or silent truncation."""

from __future__ import annotations

import io
import json

import pytest
from lxml import etree

from core.jsonio import MAX_JSON_DEPTH, JsonTooDeep, load_json
from core.safe_xml import RefusingTarget, XmlRefused, attribute_value, iterparse, parse_with_target, parse_xml
from transform.acknowledgement import AcknowledgementError, parse_acknowledgement


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_nested_100k_deep_is_refused_not_a_recursion_error():
    with pytest.raises(JsonTooDeep, match=f"deeper than {MAX_JSON_DEPTH}"):
        load_json(nested_json(100_000).encode())


def test_json_nested_just_past_the_limit_is_refused_and_at_the_limit_read():
    with pytest.raises(JsonTooDeep):
        load_json(nested_json(MAX_JSON_DEPTH + 1))
    assert load_json(nested_json(MAX_JSON_DEPTH)) == json.loads(nested_json(MAX_JSON_DEPTH))


def test_json_errors_stay_json_errors():
    with pytest.raises(json.JSONDecodeError):
        load_json('{"a": ')
    assert load_json('{"objet": "Réfection", "montant": [1, 2]}') == {"objet": "Réfection", "montant": [1, 2]}


@pytest.mark.parametrize("document", [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>Objet &x; fin</a>',
    b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a>Objet</a>',
    b'<!DOCTYPE a><a>Objet</a>',
    # UTF-16 without a byte order mark, declared only in the prologue
    '<?xml version="1.0" encoding="UTF-16LE"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16-le"),
    # the DOCTYPE after 64 KB of comments
    b"<?xml version='1.0'?>" + b"<!--" + b"x" * 70_000 + b"-->" + b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
], ids=["internal-entity", "external-dtd", "bare-doctype", "utf16-no-bom", "doctype-after-64k"])
def test_xml_declaring_a_dtd_is_refused(document):
    with pytest.raises(XmlRefused):
        parse_xml(document)


class _Elements(RefusingTarget):
    def __init__(self):
        self.seen = []

    def start(self, tag, attrib):
        self.seen.append((tag, dict(attrib)))

    def close(self):
        return self.seen


@pytest.mark.parametrize("document", [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a b="&x;">Objet &x; fin</a>',
    b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a>&x;</a>',
    b'<!DOCTYPE a><a>Objet</a>',
    '<?xml version="1.0" encoding="UTF-16LE"?><!DOCTYPE a [<!ENTITY x "y">]><a b="&x;"/>'.encode("utf-16-le"),
    b"<?xml version='1.0'?>" + b"<!--" + b"x" * 70_000 + b"-->" + b'<!DOCTYPE a [<!ENTITY x "y">]><a b="&x;">&x;</a>',
], ids=["internal-entity", "external-dtd", "bare-doctype", "utf16-no-bom", "doctype-after-64k"])
def test_a_target_parse_refuses_a_dtd_before_any_element_reaches_the_target(document):
    target = _Elements()
    with pytest.raises(XmlRefused, match="DOCTYPE"):
        parse_with_target(document, target)
    assert target.seen == []
    read = parse_with_target(b'<a b="1 &amp; &#233;"><c d="&amp;#38; &#38;amp; &lt;&#x26;"/></a>', _Elements())
    assert [(tag, {name: attribute_value(v) for name, v in attrib.items()}) for tag, attrib in read] == [
        ("a", {"b": "1 & é"}), ("c", {"d": "&#38; &amp; <&"})]
    with pytest.raises(etree.XMLSyntaxError):
        parse_with_target(b"<a>Objet &x; fin</a>", _Elements())
    with pytest.raises(TypeError, match="RefusingTarget"):
        parse_with_target(b"<a/>", object())


def test_xml_undeclared_entity_is_a_syntax_error_and_character_references_are_text():
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml(b"<a>Objet &x; fin</a>")
    assert parse_xml(b"<a>Objet &amp; &#233;t&#xE9; fin</a>").text == "Objet & été fin"


@pytest.mark.parametrize("document", [
    b'<?xml version="1.0"?>' + b" " * 70_000 + b'<!DOCTYPE r [<!ENTITY x "ENTITE">]><r a="&x;"><b>&x;</b></r>',
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "ENTITE">]><r a="&x;"/>'.encode("utf-16-be"),
], ids=["doctype-after-64k-of-blanks", "utf16-be-no-bom"])
def test_the_streaming_reader_refuses_a_dtd_before_any_element_reaches_the_caller(document):
    seen = []
    with pytest.raises(XmlRefused, match="DOCTYPE"):
        for event, element in iterparse(io.BytesIO(document), events=("start", "end")):
            seen.append((event, element.get("a")))
    assert not seen
    assert [e.tag for _, e in iterparse(io.BytesIO(b"<r><b/></r>"))] == ["b", "r"]


def test_the_acknowledgement_refuses_a_late_doctype():
    hostile = (b'<?xml version="1.0"?>' + b" " * 70_000 + b'<!DOCTYPE a [<!ENTITY x "29-212900997-20250101-X-DE">]>'
               b'<ARActe xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216" actes:IDActe="&x;"/>')
    with pytest.raises(AcknowledgementError, match="ar.xml: .*DOCTYPE"):
        parse_acknowledgement(hostile, "ar.xml")
