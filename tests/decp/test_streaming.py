"""Large DECP exports are streamed: read in chunks, staged in batches, and a file that breaks
half-way is refused by name and object, whatever the chunk and batch sizes.

The sizes are shrunk here (a few hundred bytes per chunk, a few objects per batch and for the
format's head), so that a generated file of 240 objects crosses every boundary many times.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from core import store as store_module
from core.store import content_sha256, open_store, sha256_hex
from digor.cli import main
from extract import decp_drop
from samples.decp import write_national_export
from tests.decp.test_formats_normalise import MARCHE_2022
from transform import decp_formats, decp_staging
from transform.decp_formats import RawTexts, UnreadableExport, read_export

OBJECTS = 240


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    path = tmp_path_factory.mktemp("decp") / "consolidation.json"
    counts = write_national_export(path, OBJECTS, buyers=40)
    return path, counts


def _shrink(monkeypatch, chunk: int = 300, batch: int = 7, head: int = 5) -> None:
    monkeypatch.setattr(decp_formats, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(decp_staging, "BATCH_ROWS", batch)
    monkeypatch.setattr(decp_formats, "HEAD_OBJECTS", head)


def _convert(files, out, capsys) -> tuple[int, str]:
    status = main(["convert", "decp", *map(str, files), "--out", str(out), "--date", "2025-06-01"])
    return status, capsys.readouterr().out


def _published(out) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
            and p.name != "rapport.json"}


def _rejects(out, year: int) -> list[dict]:
    text = (out / "rejets" / f"decp-rejets-{year}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_a_file_read_in_small_chunks_and_batches_publishes_what_it_publishes_read_whole(national, tmp_path,
                                                                                        monkeypatch, capsys):
    path, counts = national
    whole = tmp_path / "whole"
    assert _convert([path], whole, capsys)[0] == 0
    _shrink(monkeypatch)
    streamed = tmp_path / "streamed"
    status, printed = _convert([path], streamed, capsys)
    assert status == 0
    assert f"{OBJECTS} objects read" in printed
    assert _published(streamed) == _published(whole)
    document = json.loads(path.read_text(encoding="utf-8"))
    sent = {m["id"] for kind in document["marches"].values() for m in kind}
    published = set()
    for year_file in streamed.glob("decp-20??.json"):
        published |= {m["id"] for kind in json.loads(year_file.read_text(encoding="utf-8"))["marches"].values()
                      for m in kind}
    assert published and published <= sent
    report = json.loads((streamed / "rapport.json").read_text(encoding="utf-8"))
    assert report["totals"]["read"] == counts["objects"] and report["files"][0]["balanced"]


def _broken_after(data: bytes, objects: int, garbage: bytes) -> bytes:
    """``data`` with ``garbage`` in place of the separator after its ``objects``-th object."""
    cut = 0
    for _ in range(objects):
        cut = data.index(b"},\n{", cut) + 1
    return data[:cut] + garbage + data[cut + 1:]


@pytest.mark.parametrize("garbage,reason", [
    (b"} oops", "JSON illisible : Expecting ',' or ']'"),
    (b"," + b"[" * 200 + b"]" * 200 + b",", "JSON refusé : imbrication"),
])
def test_a_file_broken_after_many_objects_is_refused_by_name_and_object_and_nothing_of_it_is_published(
        national, tmp_path, monkeypatch, capsys, garbage, reason):
    path, _ = national
    broken = tmp_path / "casse.json"
    broken.write_bytes(_broken_after(path.read_bytes(), 150, garbage))
    good = tmp_path / "bon.json"
    write_national_export(good, 20, seed=7, buyers=5)
    _shrink(monkeypatch)
    out = tmp_path / "out"
    status, printed = _convert([good, broken], out, capsys)
    assert status == 1
    line = next(line for line in printed.splitlines() if "casse.json" in line)
    assert f"casse.json (?): unreadable: {reason}" in line
    assert "objet n°151" in line or "après l'objet n°150" in line
    report = json.loads((out / "rapport.json").read_text(encoding="utf-8"))
    files = {f["name"]: f for f in report["files"]}
    assert files["casse.json"]["read"] == 0 and files["casse.json"]["published"] == 0
    assert files["bon.json"]["published"] > 0 and report["totals"]["published"] == files["bon.json"]["published"]
    refused = [r for r in _rejects(out, 2025) if r["fichier"] == "casse.json"]
    assert [r["code"] for r in refused] == ["fichier-illisible"] and "objet n°" in refused[0]["message"]


def test_an_export_with_a_bom_or_in_windows_1252_read_a_few_bytes_at_a_time_gives_the_same_objects(monkeypatch):
    marches = [{**MARCHE_2022, "id": f"2025M{index:03d}", "objet": f"Réfection n°{index} de l'école"}
               for index in range(6)]
    text = json.dumps({"marches": {"marche": marches[:4], "contrat-concession": []}, "extra": {"marche": [1]}},
                      ensure_ascii=False)
    whole = read_export(text.encode())
    assert [o.data["id"] for o in whole.objects] == [m["id"] for m in marches[:4]]
    _shrink(monkeypatch, chunk=7, head=2)
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("cp1252")):
        export = read_export(data)
        assert [(o.position, o.data) for o in export.objects] == [(o.position, o.data) for o in whole.objects]
    assert read_export(text.encode("cp1252")).notes == ["fichier non UTF-8 : lu en Windows-1252"]
    with pytest.raises(UnreadableExport, match=r"JSON illisible : Extra data .*après l'objet n°4"):
        read_export(text.encode() + b" []")


@pytest.fixture(params=["local", "s3"])
def raw_store_url(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return request.getfixturevalue("s3_store_url")


def test_a_dropped_export_goes_into_raw_byte_for_byte_without_being_read_whole(national, raw_store_url, tmp_path,
                                                                               monkeypatch):
    path, _ = national
    night = "2025-06-01"
    (tmp_path / "drop" / night).mkdir(parents=True)
    dropped = tmp_path / "drop" / night / "consolidation.json"
    shutil.copyfile(path, dropped)
    monkeypatch.setattr(store_module, "COPY_CHUNK_BYTES", 1000)
    read_whole = Path.read_bytes

    def refuse_the_export(self):
        if self.name == dropped.name:
            raise AssertionError(f"{self} read whole")
        return read_whole(self)

    monkeypatch.setattr(Path, "read_bytes", refuse_the_export)
    store = open_store(raw_store_url)
    files, skipped = decp_drop.extract_night(store, tmp_path / "drop", night)
    monkeypatch.setattr(Path, "read_bytes", read_whole)
    data = dropped.read_bytes()
    assert skipped == [] and [(f.size, f.sha256, f.written) for f in files] == [(len(data), sha256_hex(data), True)]
    assert store.get_bytes(files[0].key) == data
    assert content_sha256(store, files[0].key) == sha256_hex(data)
    again, _ = decp_drop.extract_night(store, tmp_path / "drop", night)
    assert [(f.key, f.written) for f in again] == [(files[0].key, False)], "the same bytes are not written twice"
    dropped.write_bytes(data + b" ")
    changed, _ = decp_drop.extract_night(store, tmp_path / "drop", night)
    assert changed[0].key != files[0].key and store.get_bytes(changed[0].key) == data + b" ", "raw never rewritten"


def _texts_to_two_workers(monkeypatch, workers: str = "2") -> list[bool]:
    """Two workers (or ``workers``), chunks of several objects and a head of 5, so that the objects past
    the head go to the workers as their texts; returns, per staged chunk, whether it went as texts."""
    _shrink(monkeypatch, chunk=6000)
    monkeypatch.setenv("DIGOR_DECP_WORKERS", workers)
    went_as_texts: list[bool] = []
    chunks = decp_staging._chunks

    def watched(*args):
        for chunk in chunks(*args):
            went_as_texts.append(isinstance(chunk.objects, RawTexts))
            yield chunk

    monkeypatch.setattr(decp_staging, "_chunks", watched)
    return went_as_texts


def _nth_object(data: bytes, index: int) -> tuple[int, int]:
    """Start and end of the ``index``-th object (1-based) of a generated national export."""
    start = data.index(b"[") + 2
    for _ in range(index - 1):
        start = data.index(b"},\n{", start) + 3
    return start, data.index(b"},\n{", start) + 1


def _with_object(data: bytes, index: int, change) -> bytes:
    start, end = _nth_object(data, index)
    return data[:start] + change(data[start:end]) + data[end:]


def _conversion(files, out, capsys) -> tuple[int, str, dict[str, bytes]]:
    status, printed = _convert(files, out, capsys)
    return status, printed.replace(str(out), "OUT"), {str(p.relative_to(out)): p.read_bytes()
                                                       for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("workers", ["2", "1"])
def test_objects_handed_to_the_workers_as_texts_publish_and_report_what_the_exact_reading_does(
        national, tmp_path, monkeypatch, capsys, workers):
    path, _ = national
    monkeypatch.setenv("DIGOR_DECP_WORKERS", "1")
    one = _conversion([path], tmp_path / "one", capsys)  # its 240 objects are within the head: read the exact way
    went_as_texts = _texts_to_two_workers(monkeypatch, workers)
    two = _conversion([path], tmp_path / "two", capsys)
    assert one[0] == 0 and two == one
    assert sum(went_as_texts) > 10, "the objects past the head went to the workers as texts"


HOSTILE_PAST_THE_HEAD = {
    # json reads NaN (cleaned away as no amount), msgspec's scanner refuses it: the file is read the exact way
    "nan": lambda data: _with_object(data, 100, lambda o: o.replace(b'"dureeMois": ', b'"dureeMois": NaN, "x": ', 1)),
    # a separator inside a text: a cut there is not a boundary
    "separator-in-a-text": lambda data: _with_object(
        data, 120, lambda o: o.replace(b'"objet": "', b'"objet": "lots {1}, {2}},\\n{\\"id\\": }, {', 1)),
    "broken": lambda data: _broken_after(data, 150, b"} oops"),
    "too-deep": lambda data: _with_object(data, 130, lambda o: o[:-1] + b', "x": ' + b"[" * 80 + b"]" * 80 + b"}"),
    "big-integer": lambda data: _with_object(data, 110, lambda o: o[:-1] + b', "y": 1' + b"0" * 400 + b"}"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PAST_THE_HEAD))
def test_an_odd_or_broken_object_past_the_head_is_read_and_reported_as_one_process_reads_it(national, tmp_path,
                                                                                           monkeypatch, capsys, case):
    path, _ = national
    odd = tmp_path / f"{case}.json"
    odd.write_bytes(HOSTILE_PAST_THE_HEAD[case](path.read_bytes()))
    good = tmp_path / "bon.json"
    write_national_export(good, 20, seed=7, buyers=5)
    monkeypatch.setenv("DIGOR_DECP_WORKERS", "1")
    one = _conversion([good, odd], tmp_path / "one", capsys)  # within the head: the exact way
    went_as_texts = _texts_to_two_workers(monkeypatch)
    assert _conversion([good, odd], tmp_path / "two", capsys) == one
    assert any(went_as_texts)
    assert (case == "broken") == (f"{case}.json (?): unreadable: JSON illisible" in one[1])


@pytest.mark.parametrize("value", [
    1e16, 1.2345678901234568e17, 1e-05, 9.5e-05, 0.0001, 2.5e-07, 1e22, -0.0, 393150.0, 0.05, 1e15, 5e-324,
    2**63, 2**64 + 1, -(2**70), "contrôle \x01\x1f\x7f \u2028 \U0001F600 « » \\ \" / </script>", "\ud800 seul",
    "un prix de 2e-7 €, soit 0.00001", True, None,
])
def test_a_staged_text_is_written_as_json_writes_it(value):
    """Staged texts are published as they are: msgspec writes them, with json's spelling of every value."""
    document = {"b": [value, {"z": value, "a": 1}], "a": value, "é": "x"}
    assert decp_staging.dumps(document) == json.dumps(document, ensure_ascii=False, sort_keys=True,
                                                      separators=(",", ":"))
