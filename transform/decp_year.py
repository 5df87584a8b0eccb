"""A staged DECP year, consolidated without holding its objects: the kept ones come back a batch at a time.

``transform.decp_consolidate.consolidate`` is the rule; this is the same rule run on the staging's
small columns only, so that the objects' texts are never all in memory at once:

1. the small columns (identity, dates, counts) are read one at a time and each becomes integers that
   sort as its values do (a few numpy arrays of 8 bytes per object: a national year of 500,000
   objects consolidated its strings whole and took ~1 GB); the year is consolidated on them
   (duplicates, kept order, current versions), as ``consolidate`` does on whole rows;
2. the staging is read once more, a batch at a time, and each kept row goes to the spool file of
   its batch of ``batch_rows`` (by its place in the kept order), the duplicates' small columns kept;
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
               "id", "buyer", "date", "holders", "modifications", "last_publication"]  # a duplicate's rows
CURRENT = "_current"  # added to each kept row: its last version is the contract's current one
_RANK = "_rank"
_VERSION_2022 = "2.0.2"


def _column(store: ObjectStore, keys: list[str], name: str) -> pa.ChunkedArray:
    """One staged column of the year, every partition in ``keys``' order (one column held at a time)."""
    chunks = []
    for key in keys:
        with open_object(store, key) as stream:
            chunks += pq.read_table(stream, columns=[name])[name].chunks
    return pa.chunked_array(chunks, type=chunks[0].type if chunks else pa.string())


def _codes(values: pa.ChunkedArray, descending: bool = False) -> np.ndarray:
    """Integers that sort as ``values`` do under ``pc.sort_indices`` (nulls last whichever the direction):
    equal values, equal codes; every null the same code."""
    codes = pc.rank(values, sort_keys="ascending", tiebreaker="dense").to_numpy().astype(np.int64)
    if not descending:
        return codes
    nulls = pc.is_null(values).to_numpy(zero_copy_only=False)
    return np.where(nulls, 0, -codes) if nulls.any() else -codes


def _filled(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """A None key equals a None key and sorts before any text, as in Python's ``row[...] or ""``."""
    return pc.fill_null(values, "")


@dataclass
class _Index:
    """The consolidated year, as row numbers of the staging (its partitions one after the other)."""

    kept: np.ndarray  # row numbers of the kept rows, in kept order
    current: np.ndarray  # of each kept row: its version is the contract's current one
    copies: np.ndarray  # row numbers of the rejected copies, in the order ``consolidate`` lists them
    originals: np.ndarray  # of each copy: the row number of the version kept
    sizes: list[int]  # rows per partition


def _consolidate(store: ObjectStore, keys: list[str]) -> _Index:
    """``consolidate``'s rule on integer codes of the staging's small columns, read one at a time: no
    string column held beside another, no row made into Python objects."""
    sizes = []
    for key in keys:
        with open_object(store, key) as stream:
            sizes.append(pq.ParquetFile(stream).metadata.num_rows)
    valid = np.flatnonzero(pc.equal(_column(store, keys, "status"), STATUS_VALID).to_numpy(zero_copy_only=False))
    picked = pa.array(valid)

    def codes(name: str, descending: bool = False, filled: bool = False) -> np.ndarray:
        values = _column(store, keys, name).take(picked)
        return _codes(_filled(values) if filled else values, descending)

    def flag(name: str, value: str) -> np.ndarray:
        """A descending sort key of ``column == value`` (True first, then False, then None)."""
        equal = pc.equal(_column(store, keys, name).take(picked), value)
        return np.where(pc.is_null(equal).to_numpy(zero_copy_only=False), 1,
                        -pc.fill_null(equal, False).to_numpy(zero_copy_only=False).astype(np.int64))

    uid, holders, day = codes("uid"), codes("holders"), codes("date")  # a None differs from ""
    group = [uid, holders, day]
    # the kept version: greatest preference, then the first received (arrival order, then staging order)
    preference = [flag("version", _VERSION_2022), codes("modifications", True), codes("last_publication", True, True),
                  codes("night", True), codes("file_key", True), codes("position", True)]
    arrival = [codes("night"), codes("source"), codes("file_key"), codes("position")]
    ordered = np.lexsort([np.arange(len(valid))] + (group + preference + arrival)[::-1])
    del preference, arrival
    same = np.ones(max(len(ordered) - 1, 0), dtype=bool)  # same group as the row before
    for column in group:
        values = column[ordered]
        same &= values[1:] == values[:-1]
    first = np.concatenate([np.ones(min(len(ordered), 1), dtype=bool), ~same])
    group_id = np.cumsum(first) - 1
    kept_positions = ordered[first]
    # kept order: (buyer, date, id, holders), as ``consolidate``; ties keep the groups' order
    order = np.lexsort([holders[kept_positions], codes("id")[kept_positions], day[kept_positions],
                        codes("buyer")[kept_positions]])
    kept = kept_positions[order]
    uid_filled, day_filled = codes("uid", filled=True)[kept], codes("date", filled=True)[kept]
    latest = np.full(int(uid_filled.max()) + 1 if len(kept) else 0, np.iinfo(np.int64).min)
    np.maximum.at(latest, uid_filled, day_filled)
    copies = ordered[~first]
    originals = kept_positions[group_id[~first]]
    return _Index(valid[kept], day_filled == latest[uid_filled], valid[copies], valid[originals], sizes)


class StagedYear:
    """Every night staged for ``year``, consolidated; the kept rows spooled under ``folder`` in batches.

    ``kept_per_file``: the kept rows per raw file; ``kept_files``: the files of each night with kept rows."""

    def __init__(self, store: ObjectStore, year: int, folder: Path, batch_rows: int):
        self.batch_rows = max(1, batch_rows)
        self.folder = folder
        keys = store.list_keys(f"{STAGING_PREFIX}/annee={year}/")
        if not keys:
            raise ValueError(f"nothing staged for {year}")
        index = _consolidate(store, keys)
        self.kept_count = len(index.kept)
        self.kept_per_file: dict[str, int] = {}
        self.kept_files: dict[str, set[str]] = {}
        light: dict[int, dict] = {}
        self.rejected = self._spool(store, keys, index, light)
        pairs = [(light[int(copy)], light[int(original)]) for copy, original in zip(index.copies, index.originals)]
        self.duplicates = sorted(pairs, key=lambda pair: (pair[0]["file_key"], pair[0]["position"]))

    def _spool(self, store: ObjectStore, keys: list[str], index: _Index, light: dict[int, dict]) -> list[dict]:
        """Each kept row to its batch's spool file, the duplicates' rows' small columns into ``light`` (by
        row number); returns the rejected rows, whole, in arrival order."""
        total = sum(index.sizes)
        rank_of = np.full(total, -1, dtype=np.int64)
        rank_of[index.kept] = np.arange(len(index.kept))
        current_of = np.zeros(total, dtype=bool)
        current_of[index.kept] = index.current
        wanted = np.zeros(total, dtype=bool)
        wanted[index.copies] = True
        wanted[index.originals] = True
        self.batches = -(-len(index.kept) // self.batch_rows)
        writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
        rejected: list[dict] = []
        start = 0
        for key in keys:
            with open_object(store, key) as stream:
                for batch in pq.ParquetFile(stream).iter_batches(batch_size=self.batch_rows):
                    rows = slice(start, start + len(batch))
                    batch_ranks, batch_current = rank_of[rows], current_of[rows]
                    offsets = np.flatnonzero(wanted[rows])
                    if len(offsets):
                        small = batch.select(KEY_COLUMNS).take(pa.array(offsets)).to_pylist()
                        light.update(zip((start + offsets).tolist(), small))
                    start += len(batch)
                    rejected += batch.filter(pc.not_equal(batch["status"], STATUS_VALID)).to_pylist()
                    taken = np.flatnonzero(batch_ranks >= 0)
                    if not len(taken):
                        continue
                    table = pa.Table.from_batches([batch]).take(pa.array(taken))
                    self._count(table)
                    table = table.append_column(_RANK, pa.array(batch_ranks[taken])) \
                        .append_column(CURRENT, pa.array(batch_current[taken]))
                    spool = batch_ranks[taken] // self.batch_rows
                    for number in np.unique(spool):
                        chunk = table.filter(pa.array(spool == number))
                        if number not in writers:
                            writers[number] = pa.ipc.new_file(self._path(number), chunk.schema)
                        writers[number].write_table(chunk)
        for writer in writers.values():
            writer.close()
        return sorted(rejected, key=lambda r: (r["night"], r["source"], r["file_key"], r["position"]))

    def _count(self, kept: pa.Table) -> None:
        for pair in kept.group_by(["night", "file_key"]).aggregate([([], "count_all")]).to_pylist():
            self.kept_per_file[pair["file_key"]] = self.kept_per_file.get(pair["file_key"], 0) + pair["count_all"]
            self.kept_files.setdefault(pair["night"], set()).add(pair["file_key"])

    def _path(self, number: int) -> Path:
        return self.folder / f"kept-{number}.arrow"

    def __len__(self) -> int:
        return self.kept_count

    def kept_batches(self) -> Iterator[list[dict]]:
        """The kept rows in ``consolidate``'s order, ``batch_rows`` at a time (read again at each call)."""
        for number in range(self.batches):
            with pa.memory_map(str(self._path(number))) as source:
                table = pa.ipc.open_file(source).read_all().sort_by(_RANK)
            yield table.drop_columns([_RANK]).to_pylist()
