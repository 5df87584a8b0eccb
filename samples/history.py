"""A previous system's export, for ``digor import-history``: acts of earlier years with their original
publication dates, the regional SCDL délibérations file, and records that must be refused.

Deterministic (no randomness): the tests know every record by name. ``known`` are acts digor already
holds (from the demo nights), re-exported by the previous system: the import merges them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from samples.actes import UNKNOWN_SIREN, minimal_pdf

SCDL_HEADER = ["COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_MATIERE_NOM",
               "DELIB_OBJET", "BUDGET_ANNEE", "BUDGET_NOM", "PREF_ID", "PREF_DATE", "VOTE_EFFECTIF", "VOTE_REEL",
               "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION", "DELIB_URL", "PUBLICATION_DATE"]


@dataclass(frozen=True)
class HistoryAct:
    record: str
    siren: str
    numero: str
    decided: date
    published: date
    nature: str = "1"
    classification: str = "7.5.1 Subventions aux associations"
    objet: str = ""
    pastell_id_d: str = ""


def _metadata(act: HistoryAct, body_name: str) -> dict:
    """The regional pipeline's metadata.json (Pastell's GED export), plus the previous system's
    publication date and Pastell document id."""
    data = {
        "date_de_lacte": act.decided.isoformat(),
        "acte_nature": act.nature,
        "numero_de_lacte": act.numero,
        "objet": act.objet or f"Délibération {act.numero} : subventions {act.decided.year}",
        "classification": act.classification,
        "arrete": [f"{act.numero}.pdf"],
        "acte_tamponne": [f"{act.numero}-tampon.pdf"],
        "autre_document_attache": [f"{act.numero}-annexe.pdf"],
        "publication_open_data": "3",
        "siren": act.siren,
        "entity_name": body_name,
        "date_ar": (act.decided + timedelta(days=2)).isoformat(),
        "date_publication": act.published.isoformat(),
    }
    if act.pastell_id_d:
        data["pastell_id_d"] = act.pastell_id_d
    return data


def _write_act(root: Path, act: HistoryAct, body_name: str, metadata: dict | None = None) -> Path:
    folder = root / "actes" / act.record
    folder.mkdir(parents=True, exist_ok=True)
    data = metadata if metadata is not None else _metadata(act, body_name)
    (folder / "metadata.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [f"{body_name} - Deliberation {act.numero}", f"Date de la decision : {act.decided.isoformat()}"]
    (folder / f"{act.numero}.pdf").write_bytes(minimal_pdf(lines))
    (folder / f"{act.numero}-tampon.pdf").write_bytes(minimal_pdf([*lines, "Recu en prefecture"]))
    (folder / f"{act.numero}-annexe.pdf").write_bytes(minimal_pdf([*lines, "Annexe"]))
    return folder


def _scdl_line(cells: list[str]) -> str:
    return ";".join('"' + cell.replace('"', '""') + '"' for cell in cells)


def generate_history_export(root: Path, registry_path: Path, known: list[dict] = ()) -> dict:
    """Write the export under ``root``; returns what each record is expected to become."""
    bodies = [b for b in yaml.safe_load(registry_path.read_text(encoding="utf-8"))["bodies"] if b.get("open_data", True)]
    first, second = bodies[0], bodies[1]
    good = [
        HistoryAct("hist-0001", first["siren"], "2023-041", date(2023, 3, 14), date(2023, 3, 20)),
        HistoryAct("hist-0002", first["siren"], "2023-112", date(2023, 11, 7), date(2023, 11, 30),
                   classification="8.5.2 Logement social", objet="Garantie d'emprunt – 12 logements à Kerdigor"),
        HistoryAct("hist-0003", second["siren"], "2024-007", date(2024, 1, 25), date(2024, 2, 1),
                   pastell_id_d="OLDPAST"),
    ]
    expected = {"imported": [a.record for a in good], "merged": [], "refused": {}}
    names = {b["siren"]: b["name"] for b in bodies}
    for act in good:
        _write_act(root, act, names[act.siren])
    # Acts digor already has from its source, exported again by the previous system.
    for index, act in enumerate(known):
        record = f"hist-known-{index + 1}"
        decided = date.fromisoformat(act["date_decision"])
        merged = HistoryAct(record, act["siren"], act["numero"], decided, decided + timedelta(days=1 + index),
                            pastell_id_d=act.get("source_id", "") if index % 2 == 0 else "")
        _write_act(root, merged, names.get(act["siren"], act["siren"]))
        expected["merged"].append(record)

    hostile = {
        "hist-bad-nodate": ("date_publication", None, "date_publication is missing"),
        "hist-bad-before": ("date_publication", "2023-01-01", "is before the act's date"),
        "hist-bad-body": ("siren", UNKNOWN_SIREN, "body unknown to the registry"),
        "hist-bad-future": ("date_publication", "2999-01-01", "implausible"),
    }
    for record, (field_name, value, reason) in hostile.items():
        act = HistoryAct(record, first["siren"], f"X-{record[-4:]}", date(2023, 6, 1), date(2023, 6, 2))
        metadata = _metadata(act, names[first["siren"]])
        if value is None:
            del metadata[field_name]
        else:
            metadata[field_name] = value
        _write_act(root, act, names[first["siren"]], metadata)
        expected["refused"][f"actes/{record}"] = reason
    broken = root / "actes" / "hist-bad-json"
    broken.mkdir(parents=True)
    (broken / "metadata.json").write_bytes(b'{"date_de_lacte": "2023-05-0')
    expected["refused"]["actes/hist-bad-json"] = "not valid JSON"
    notpdf = _write_act(root, HistoryAct("hist-bad-pdf", first["siren"], "2023-099", date(2023, 5, 2),
                                         date(2023, 5, 3)), names[first["siren"]])
    (notpdf / "2023-099-tampon.pdf").write_bytes(b"<html>not a pdf</html>")
    expected["refused"]["actes/hist-bad-pdf"] = "is not a PDF"
    linked = root / "actes" / "hist-bad-link"
    linked.mkdir(parents=True)
    os.symlink("/etc/passwd", linked / "metadata.json")
    expected["refused"]["actes/hist-bad-link"] = "symbolic link"
    (root / "actes" / "README.txt").write_text("stray file", encoding="utf-8")
    expected["refused"]["actes/README.txt"] = "not an act folder"

    # The regional SCDL file as it is on data.gouv.fr, with the all-natures export's PUBLICATION_DATE.
    scdl = root / "scdl"
    scdl.mkdir(parents=True)
    lines = [_scdl_line(SCDL_HEADER)]

    def row(body: dict, numero: str, decided: str, published: str, objet: str, code: str = "7.5") -> list[str]:
        return [body["name"], body["siret"], numero, decided, code, "finances locales/subventions", objet, "", "",
                "", "", "", "", "", "", "", f"https://ancien.example/OpenData/{body['siren']}/{numero}.pdf", published]

    lines.append(_scdl_line(row(first, "2023-041", "2023-03-14", "2023-03-20", "Subventions 2023")))  # = hist-0001
    lines.append(_scdl_line(row(second, "2022-015", "2022-04-12", "2022-04-19",
                                "Approbation du compte administratif 2021\navec ses annexes")))
    lines.append(_scdl_line(row(first, "2022-BAD", "2022-02-01", "", "Sans date de publication")))
    lines.append(_scdl_line(row({**first, "siret": "12345678901234"}, "2022-S", "2022-02-01", "2022-02-03", "SIRET")))
    lines.append(_scdl_line(row(first, "2022-COLS", "2022-02-01", "2022-02-03", "trop de cellules") + ["en trop"]))
    (scdl / "DELIBERATION-2022.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    expected["imported"].append("scdl/DELIBERATION-2022.csv line 3")
    expected["merged"].append("scdl/DELIBERATION-2022.csv line 2")
    expected["refused"]["scdl/DELIBERATION-2022.csv line 5"] = "PUBLICATION_DATE is missing"
    expected["refused"]["scdl/DELIBERATION-2022.csv line 6"] = "not a valid SIRET"
    expected["refused"]["scdl/DELIBERATION-2022.csv line 7"] = "cells where the header has"
    (scdl / "DELIBERATION-2021.csv").write_bytes(_scdl_line(SCDL_HEADER).encode() + b"\r\n\"Commune de Kerdigor \xe9\"\r\n")
    expected["refused"]["scdl/DELIBERATION-2021.csv"] = "not UTF-8"
    return expected
