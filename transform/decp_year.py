"""A staged DECP year, consolidated without holding its objects: the kept ones come back a batch at a time.

``transform.decp_consolidate.consolidate`` is the rule; this is the same rule run on the staging's
small columns only (identity, dates, counts: a few hundred bytes per object, in Arrow), so that the
objects' texts are never all in memory at once:

1. the keys of every staged row are read and consolidated column-wise (duplicates, kept order,
   current versions), as ``consolidate`` does on whole rows;
2. the staging is read once more, a batch at a time, and each kept row goes to the spool file of
   its batch of ``batch_rows`` (by its place in the kept order);
3. ``kept_batches`` reads the spool files back in order: the kept rows, as ``consolidate`` gives
   them, ``batch_rows`` at a time, each with ``CURRENT`` (its version is the contract's current one).

Rejected rows (invalid objects, unreadable files) and duplicates are few: they are kept whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.store import ObjectStore, open_object
from transform.decp_staging import STAGING_PREFIX, STATUS_VALID

KEY_COLUMNS = ["night", "source", "file_key", "file_name", "position", "kind", "version", "year", "status", "uid",
               "id", "buyer", "date", "holders", "modifications", "last_publication"]
CURRENT = "_current"  # added to each kept row: its last version is the contract's current one
_PART, _OFFSET, _RANK = "_part", "_offset", "_rank"
ARRIVAL = [("night", "ascending"), ("source", "ascending"), ("file_key", "ascending"), ("position", "ascending")]


def _filled(table: pa.Table, column: str) -> tuple[pa.Array, pa.Array]:
    """(is null, value or "") of a string column: a None key equals a None key, as in Python."""
    values = table[column]
    return pc.is_null(values), pc.fill_null(values, "")


@dataclass
class _Index:
    """The consolidated year, as positions in the staging: which rows are kept, in which order."""

    kept: pa.Table  # light columns + _part, _offset, _rank, _current; in kept order
    duplicates: list[tuple[dict, dict]]  # (rejected copy, kept version), light rows
    counts: int


def _key_table(store: ObjectStore, keys: list[str]) -> pa.Table:
    tables = []
    for part, key in enumerate(keys):
        with open_object(store, key) as stream:
            table = pq.read_table(stream, columns=KEY_COLUMNS)
        tables.append(table.append_column(_PART, pa.array(np.full(len(table), part, dtype=np.int32)))
                      .append_column(_OFFSET, pa.array(np.arange(len(table), dtype=np.int64))))
    return pa.concat_tables(tables).sort_by(ARRIVAL)


def _consolidate(table: pa.Table) -> _Index:
    valid = table.filter(pc.equal(table["status"], STATUS_VALID))
    uid_null, uid = _filled(valid, "uid")
    date_null, day = _filled(valid, "date")
    keyed = valid.append_column("_k_uid_null", uid_null).append_column("_k_uid", uid) \
        .append_column("_k_date_null", date_null).append_column("_k_date", day) \
        .append_column("_p_2022", pc.equal(valid["version"], "2.0.2")) \
        .append_column("_p_publication", pc.fill_null(valid["last_publication"], ""))
    group = ["_k_uid_null", "_k_uid", "holders", "_k_date_null", "_k_date"]
    preference = ["_p_2022", "modifications", "_p_publication", "night", "file_key", "position"]
    ordered = keyed.take(pc.sort_indices(keyed, [(c, "ascending") for c in group]
                                         + [(c, "descending") for c in preference]))
    same = np.ones(max(len(ordered) - 1, 0), dtype=bool)  # same group as the row before
    for column in group:
        values = ordered[column].to_numpy(zero_copy_only=False)
        same &= values[1:] == values[:-1]
    first = np.concatenate([np.ones(min(len(ordered), 1), dtype=bool), ~same])
    group_id = np.cumsum(first) - 1
    kept_positions = np.flatnonzero(first)
    kept = ordered.take(pa.array(kept_positions))
    # kept order: (buyer, date, id, holders), as ``consolidate``
    order = pc.sort_indices(kept, [(c, "ascending") for c in ("buyer", "date", "id", "holders")])
    kept = kept.take(order)
    latest = kept.group_by("_k_uid").aggregate([("_k_date", "max")])
    joined = kept.append_column("_seq", pa.array(np.arange(len(kept)))).join(latest, "_k_uid").sort_by("_seq")
    current = pc.equal(joined["_k_date"], joined["_k_date_max"])
    kept = kept.append_column(_RANK, pa.array(np.arange(len(kept), dtype=np.int64))).append_column(CURRENT, current)
    duplicates = []
    copies = np.flatnonzero(~first)
    if len(copies):
        copy_rows = ordered.take(pa.array(copies)).select(KEY_COLUMNS).to_pylist()
        kept_rows = ordered.take(pa.array(kept_positions[group_id[copies]])).select(KEY_COLUMNS).to_pylist()
        duplicates = sorted(zip(copy_rows, kept_rows), key=lambda pair: (pair[0]["file_key"], pair[0]["position"]))
    return _Index(kept.drop_columns([c for c in kept.column_names if c.startswith(("_k_", "_p_"))]),
                  duplicates, len(table))


class StagedYear:
    """Every night staged for ``year``, consolidated; the kept rows spooled under ``folder`` in batches."""

    def __init__(self, store: ObjectStore, year: int, folder: Path, batch_rows: int):
        self.batch_rows = max(1, batch_rows)
        self.folder = folder
        keys = store.list_keys(f"{STAGING_PREFIX}/annee={year}/")
        if not keys:
            raise ValueError(f"nothing staged for {year}")
        index = _consolidate(_key_table(store, keys))
        self.duplicates = index.duplicates
        self.kept_keys = index.kept.select(KEY_COLUMNS)  # the kept rows' small columns, in kept order
        self.rejected = self._spool(store, keys, index.kept)

    def _spool(self, store: ObjectStore, keys: list[str], kept: pa.Table) -> list[dict]:
        """Each kept row to its batch's spool file; returns the rejected rows, whole, in arrival order."""
        parts = kept[_PART].to_numpy()
        offsets, ranks, current = kept[_OFFSET].to_numpy(), kept[_RANK].to_numpy(), kept[CURRENT].to_numpy(zero_copy_only=False)
        self.batches = -(-len(kept) // self.batch_rows)
        writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        rejected: list[dict] = []
        for part, key in enumerate(keys):
            mine = parts == part
            with open_object(store, key) as stream:
                parquet = pq.ParquetFile(stream)
                size = parquet.metadata.num_rows
                rank_of = np.full(size, -1, dtype=np.int64)
                rank_of[offsets[mine]] = ranks[mine]
                current_of = np.zeros(size, dtype=bool)
                current_of[offsets[mine]] = current[mine]
                start = 0
                for batch in parquet.iter_batches(batch_size=self.batch_rows):
                    batch_ranks = rank_of[start:start + len(batch)]
                    batch_current = current_of[start:start + len(batch)]
                    start += len(batch)
                    rejected += batch.filter(pc.not_equal(batch["status"], STATUS_VALID)).to_pylist()
                    taken = np.flatnonzero(batch_ranks >= 0)
                    if not len(taken):
                        continue
                    rows = pa.Table.from_batches([batch]).take(pa.array(taken)) \
                        .append_column(_RANK, pa.array(batch_ranks[taken])) \
                        .append_column(CURRENT, pa.array(batch_current[taken]))
                    spool = batch_ranks[taken] // self.batch_rows
                    for number in np.unique(spool):
                        chunk = rows.filter(pa.array(spool == number))
                        if number not in writers:
                            writers[number] = pa.ipc.new_file(self._path(number), chunk.schema)
                        writers[number].write_table(chunk)
        for writer in writers.values():
            writer.close()
        return sorted(rejected, key=lambda r: (r["night"], r["source"], r["file_key"], r["position"]))

    def _path(self, number: int) -> Path:
        return self.folder / f"kept-{number}.arrow"

    def __len__(self) -> int:
        return len(self.kept_keys)

    def kept_batches(self) -> Iterator[list[dict]]:
        """The kept rows in ``consolidate``'s order, ``batch_rows`` at a time (read again at each call)."""
        for number in range(self.batches):
            with pa.memory_map(str(self._path(number))) as source:
                table = pa.ipc.open_file(source).read_all().sort_by(_RANK)
            yield table.drop_columns([_RANK]).to_pylist()
