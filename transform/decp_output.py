"""The published DECP files of a year, as bytes: regulatory JSON, history JSON, rejects CSV.

- ``decp-<année>.json``: the kept objects in the 2022 format, in the regulatory shape
  ``{"marches": {"marche": [...], "contrat-concession": [...]}}`` (an empty list is left out),
  valid under DECP 2.0.2 and 2.0.3.
- ``decp-<année>-format-2019.json``: the kept objects received in the 2019 format, in the
  1.5.0 shape ``{"marches": [...]}``: the history, not converted (2019 lacks twelve fields),
  except that a party the register hides (a person who asked not to be published) is named
  ``[NON DIFFUSIBLE]`` as in the flat table, whatever the data sent.
- ``rejets/decp-rejets-<année>.csv``: one row per error of every object not published (plus
  one ``anomalie`` row per value cleaning removed from it, which often says why a required
  field is missing), duplicates (naming the kept version) and unreadable files: nothing
  disappears.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from core.csv_cells import neutralise
from transform.decp_consolidate import Consolidated, loaded
from transform.decp_formats import CONCESSION, MARCHE
from transform.decp_staging import STATUS_UNREADABLE, dumps
from transform.sirene_lookup import NON_DIFFUSIBLE

VERSION_2022, VERSION_2019 = "2.0.2", "1.5.0"
REJECT_COLUMNS = (
    "annee", "date_reception", "source", "fichier", "position", "statut", "uid", "id", "acheteur_id", "type",
    "format", "champ", "code", "message",
)
DUPLICATE, INVALID, ANOMALY = "doublon", "invalide", "anomalie"


class RegulatorySpool:
    """A year's ``decp-<année>.json``, ``{"marches": {kind: [objects]}}`` (an empty list left out), written
    from its kept 2022-format rows' staged texts (never parsed again) as they come, a batch at a time,
    into ``folder``: the texts are never all in memory; what validating the file needs (each list's first
    text, whether a text comes twice) and the records' fingerprints (``fingerprint`` of each object)
    are gathered on the way."""

    def __init__(self, folder: Path, fingerprint: Callable[[object], str]):
        self.fingerprint = fingerprint
        self.files = {kind: (folder / f"{kind}.json").open("w+b") for kind in (MARCHE, CONCESSION)}
        self.counts = {kind: 0 for kind in self.files}
        self.first: dict[str, str] = {}
        self.seen: dict[str, set[bytes]] = {kind: set() for kind in self.files}
        self.repeated: set[tuple[str, ...]] = set()
        self.records: set[str] = set()

    def add(self, kept: list[dict]) -> None:
        for row in kept:
            if row["version"] != VERSION_2022:
                continue
            kind, text = row["kind"], row["object_json"]
            encoded = text.encode("utf-8")
            self.files[kind].write(b"," + encoded if self.counts[kind] else encoded)
            self.counts[kind] += 1
            self.first.setdefault(kind, text)
            digest = hashlib.sha256(encoded).digest()[:16]  # SHA-256 runs in the processor: faster than BLAKE2
            if digest in self.seen[kind]:
                self.repeated.add(("marches", kind))
            self.seen[kind].add(digest)
            self.records.add(self.fingerprint(encoded))

    def __len__(self) -> int:
        return sum(self.counts.values())

    def lists(self, whole: bool) -> dict[tuple[str, ...], list[str]]:
        """The texts per list of the regulatory shape: each list's first text only, unless ``whole``."""
        if not whole:
            return {("marches", kind): [self.first[kind]] for kind in self.files if self.counts[kind]}
        lists = {}
        for kind, file in self.files.items():
            if self.counts[kind]:
                file.seek(0)
                lists[("marches", kind)] = [dumps(item) for item in json.loads(b"[" + file.read() + b"]")]
        return lists

    def write(self, path: Path) -> Path:
        """The file, assembled at ``path`` from the lists' texts (copied in chunks)."""
        with path.open("wb") as out:
            self._assemble(out)
        return path

    def _assemble(self, out) -> None:
        out.write(b'{"marches":{')
        for number, kind in enumerate(kind for kind in self.files if self.counts[kind]):
            out.write((("," if number else "") + json.dumps(kind) + ":[").encode("utf-8"))
            self.files[kind].seek(0)
            shutil.copyfileobj(self.files[kind], out)
            out.write(b"]")
        out.write(b"}}\n")

    def close(self) -> None:
        """Its files closed and what it gathered let go (its counts stay)."""
        for file in self.files.values():
            file.close()
        self.seen, self.records, self.first = {kind: set() for kind in self.files}, set(), {}


NAME_FIELDS = ("denominationSociale", "nom")  # of a titulaire or concessionnaire; of a buyer


def hide_non_diffusible(value, names: Callable[[str], "str | None"]):
    """``value`` with the name of every party ``names`` hides (``[NON DIFFUSIBLE]``) replaced by that mark,
    wherever the party sits (buyer, titulaires, concessionnaires, modifications)."""
    if isinstance(value, list):
        return [hide_non_diffusible(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: hide_non_diffusible(item, names) for key, item in value.items()}
    identifier = result.get("id")
    if isinstance(identifier, str) and any(name in result for name in NAME_FIELDS):
        if names(re.sub(r"\s", "", identifier)) == NON_DIFFUSIBLE:
            result.update({name: NON_DIFFUSIBLE for name in NAME_FIELDS if name in result})
    return result


def history_document(kept: list[dict], names: Callable[[str], "str | None"]) -> dict:
    """The 2019-format objects as received, but for the names the register hides (``names``: the table's lookup)."""
    return {"marches": [hide_non_diffusible(loaded(row), names) for row in kept if row["version"] == VERSION_2019]}


def document_bytes(document: dict) -> bytes:
    """Compact, deterministic JSON (objects keep the format's field order)."""
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def document_objects(document: dict) -> list:
    """The contracts (and concessions) of a published document, whichever format's layout it has."""
    marches = document.get("marches")
    if isinstance(marches, dict):
        return [item for v in marches.values() if isinstance(v, list) for item in v]
    return marches if isinstance(marches, list) else []


def count_objects(document: dict) -> int:
    return len(document_objects(document))


def _base(row: dict, status: str) -> dict:
    return {
        "annee": row["year"],
        "date_reception": row["night"],
        "source": row["source"],
        "fichier": row["file_name"],
        "position": row["position"] or "",
        "statut": status,
        "uid": row["uid"] or "",
        "id": row["id"] or "",
        "acheteur_id": row["buyer"] or "",
        "type": {MARCHE: "Marché", CONCESSION: "Contrat de concession"}.get(row["kind"], ""),
        "format": row["version"] or "",
    }


def reject_rows(consolidated: Consolidated) -> list[dict]:
    rows = []
    for row in consolidated.rejected:
        status = STATUS_UNREADABLE if row["status"] == STATUS_UNREADABLE else INVALID
        for error in json.loads(row["errors_json"]):
            rows.append({**_base(row, status), "champ": error["champ"], "code": error["code"], "message": error["message"]})
        for note in json.loads(row["notes_json"]):  # what cleaning removed, which often explains the error
            rows.append({**_base(row, status), "champ": note["champ"], "code": ANOMALY, "message": note["message"]})
    for copy, kept in consolidated.duplicates:
        message = (
            f"doublon (même uid, mêmes titulaires, même date) de la version conservée : {kept['file_name']} "
            f"n°{kept['position']} reçu le {kept['night']}"
        )
        rows.append({**_base(copy, DUPLICATE), "champ": "", "code": DUPLICATE, "message": message})
    rows.sort(key=lambda r: (r["date_reception"], r["source"], r["fichier"], int(r["position"] or 0), r["champ"], r["code"]))
    return rows


def rejects_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REJECT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({column: neutralise(value) for column, value in row.items()} for row in rows)
    return buffer.getvalue().encode("utf-8")


def counts_by_file(consolidated: Consolidated, published: dict[str, int] | None = None) -> dict[str, Counter]:
    """Per raw file: objects published, rejected as invalid, as duplicates; unreadable files.
    ``published``: the kept objects per file, when ``consolidated.kept`` does not hold them."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in consolidated.kept:
        counts[row["file_key"]]["published"] += 1
    for key, count in (published or {}).items():
        counts[key]["published"] += count
    for row in consolidated.rejected:
        counts[row["file_key"]]["unreadable" if row["status"] == STATUS_UNREADABLE else "invalid"] += 1
    for copy, _ in consolidated.duplicates:
        counts[copy["file_key"]]["duplicates"] += 1
    return counts
