"""Acts' documents in the public zone, stored once by content hash."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pandas as pd

from digor.store import ObjectStore

DOCUMENTS_PREFIX = "public/documents"
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")


def document_key(sha256: str, name: str) -> str:
    """Key of a document: its hash, so one file shared by acts or nights is stored once."""
    suffix = PurePosixPath(name).suffix.lower()
    return f"{DOCUMENTS_PREFIX}/{sha256[:2]}/{sha256}{suffix if _EXTENSION.match(suffix) else ''}"


def publish_documents(store: ObjectStore, acts: pd.DataFrame) -> int:
    """Copy each published act's main file (and annexes when the body allows) from raw."""
    copied = 0
    for _, act in acts.iterrows():
        files = [(act["main_file_key"], act["main_file_sha256"], act["main_file_name"])]
        if act["publish_annexes"]:
            files += [(a["raw_key"], a["sha256"], a["name"]) for a in act["annexes"]]
        for raw_key, sha256, name in files:
            key = document_key(sha256, name)
            if not store.exists(key):
                store.put_bytes(key, store.get_bytes(raw_key))
                copied += 1
    return copied
