"""RegulatorySpool: a year's regulatory lists written from their staged texts, a text found twice in a list."""

from __future__ import annotations

from load.versions import json_text_fingerprint
from transform.decp_output import VERSION_2019, VERSION_2022, RegulatorySpool


def _row(kind: str, text: str, version: str = VERSION_2022) -> dict:
    return {"kind": kind, "object_json": text, "version": version}


def test_a_text_twice_in_one_list_is_found_and_not_across_lists(tmp_path):
    spool = RegulatorySpool(tmp_path, json_text_fingerprint)
    spool.add([_row("marche", '{"id":"1"}'), _row("contrat-concession", '{"id":"1"}'),
               _row("marche", '{"id":"2"}'), _row("marche", '{"id":"1"}', VERSION_2019)])
    assert spool.repeated == set() and len(spool) == 3
    spool.add([_row("marche", '{"id":"2"}')])
    assert spool.repeated == {("marches", "marche")}
    assert len(spool.records) == 2  # the same record twice is one record
    spool.write(tmp_path / "out.json")
    spool.close()
    assert (tmp_path / "out.json").read_bytes() == (
        b'{"marches":{"marche":[{"id":"1"},{"id":"2"},{"id":"2"}],"contrat-concession":[{"id":"1"}]}}\n')
