"""A year's documents: a night looks up only the documents the year did not list yet (on S3 each
look-up is a request), and a withdrawal still removes the PDF no year uses any more."""

from __future__ import annotations

import pandas as pd

from core.store import LocalStore, sha256_hex
from load.documents import document_key, documents_of, publish_documents
from samples.actes import minimal_pdf


class CountingStore:
    """The store, counting the look-ups (``exists``) of public documents."""

    def __init__(self, base):
        self.base, self.url, self.looked_up = base, base.url, []

    def exists(self, key):
        if key.startswith("public/documents/"):
            self.looked_up.append(key)
        return self.base.exists(key)

    def __getattr__(self, name):
        return getattr(self.base, name)


def _acts(store, names: list[str]) -> pd.DataFrame:
    rows = []
    for name in names:
        data = minimal_pdf([f"Acte {name}"])
        raw_key = f"raw/actes/drop/date=2025-03-03/siren=212900997/{name}/{name}.pdf"
        store.put_bytes(raw_key, data)
        rows.append({"metadata_only": False, "main_file_sha256": sha256_hex(data), "main_file_key": raw_key,
                     "publish_annexes": True, "annexes": []})
    return pd.DataFrame(rows)


def test_a_night_looks_up_its_new_documents_only(tmp_path):
    store = CountingStore(LocalStore(tmp_path))
    year = _acts(store, [f"A{i}" for i in range(30)])
    assert publish_documents(store, 2025, documents_of(year))["copied"] == 30

    store.looked_up.clear()
    night = _acts(store, ["NEW"])
    result = publish_documents(store, 2025, documents_of(pd.concat([year, night], ignore_index=True)))
    assert result["copied"] == 1
    assert store.looked_up == [document_key(night.loc[0, "main_file_sha256"])]

    withdrawn = year.loc[0, "main_file_sha256"]
    result = publish_documents(store, 2025, documents_of(pd.concat([year.iloc[1:], night], ignore_index=True)))
    assert result["removed"] == [document_key(withdrawn)]
    assert not store.base.exists(document_key(withdrawn))
    assert all(store.base.exists(document_key(sha)) for sha in year.loc[1:, "main_file_sha256"])
