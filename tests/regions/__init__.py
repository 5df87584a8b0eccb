"""What tells two regions' outputs apart: each region's identities, and every stored file read as text."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml


def region_identities(registry: Path) -> set[str]:
    document = yaml.safe_load(registry.read_text(encoding="utf-8"))
    return {value for body in document["bodies"] for value in (body["siren"], body["siret"], body["name"])} | {
        document["region"]["name"], document["region"]["publisher"]}


def stored_texts(root: Path, skip: Path | None = None):
    """(path, text) of every file under ``root`` (Parquet as its rows, gzip unpacked), ``skip`` left out."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip is not None and skip in path.parents:
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if path.suffix == ".parquet":
            yield path, json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
        else:
            yield path, data.decode("utf-8", errors="replace")
