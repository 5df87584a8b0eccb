"""Reduce a national SIRENE stock file to the identifiers digor needs, in bounded memory.

The national files hold some 30 million units and 40 million establishments; digor needs
a few thousand of them. The file is never loaded whole: row groups whose ``siren``
statistics cannot hold a wanted SIREN are skipped, the ``siren`` column of each remaining
row group is scanned alone first, and only row groups with a match are read, batch by
batch, with the kept columns. Peak memory is one batch of one row group plus the result.

Personal fields of a person who asked not to be published are blanked here, at the
source of the cache, so that nothing downstream can show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.sirene_stock import (
    CACHE_SCHEMAS,
    ETABLISSEMENTS,
    KEPT_COLUMNS,
    MASKED,
    REQUIRED_COLUMNS,
    STOCK_FILE_NAMES,
    UNITES_LEGALES,
    StockFormatError,
    bool_column,
    normalise,
    text_column,
)

BATCH_SIZE = 32_768
READ_BUFFER = 1 << 20

# Fields that name or locate a natural person: blanked for a non-diffusible one.
PERSONAL_FIELDS = {
    UNITES_LEGALES: (
        "nomUniteLegale", "nomUsageUniteLegale", "prenom1UniteLegale", "prenomUsuelUniteLegale",
        "denominationUsuelle1UniteLegale", "sigleUniteLegale",
    ),
    ETABLISSEMENTS: (
        "denominationUsuelleEtablissement", "enseigne1Etablissement", "complementAdresseEtablissement",
        "numeroVoieEtablissement", "indiceRepetitionEtablissement", "typeVoieEtablissement",
        "libelleVoieEtablissement", "distributionSpecialeEtablissement",
    ),
}
DIFFUSION_COLUMN = {UNITES_LEGALES: "statutDiffusionUniteLegale", ETABLISSEMENTS: "statutDiffusionEtablissement"}
DIFFUSIBLE = "O"


@dataclass(frozen=True)
class Wanted:
    """Identifiers to keep: units of ``sirens``; establishments in ``sirets`` plus each unit's siège."""

    sirens: frozenset[str]
    sirets: frozenset[str] = frozenset()

    @classmethod
    def of(cls, identifiers: Iterable[str]) -> "Wanted":
        sirens, sirets = set(), set()
        for identifier in identifiers:
            digits = "".join(ch for ch in str(identifier) if ch.isdigit())
            if len(digits) == 14:
                sirets.add(digits)
                sirens.add(digits[:9])
            elif len(digits) == 9:
                sirens.add(digits)
        return cls(frozenset(sirens), frozenset(sirets))

    def __len__(self) -> int:
        return len(self.sirens) + len(self.sirets)


@dataclass
class ReductionStats:
    kind: str
    rows_in_file: int = 0
    row_groups: int = 0
    row_groups_skipped_by_statistics: int = 0
    row_groups_without_match: int = 0
    rows_read: int = 0
    rows_kept: int = 0
    masked_rows: int = 0
    physical_types: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _statistics_allow(metadata: pq.RowGroupMetaData, index: int, lowest: str, highest: str) -> bool:
    """False only when the row group's siren statistics prove it holds no wanted SIREN."""
    stats = metadata.column(index).statistics
    if stats is None or not stats.has_min_max:
        return True
    low, high = stats.min, stats.max
    if isinstance(low, bytes):
        low, high = low.decode("utf-8", "replace"), high.decode("utf-8", "replace")
    if not isinstance(low, str):
        low, high = f"{int(low):09d}", f"{int(high):09d}"
    return not (high < lowest or low > highest)


def _mask(table: pa.Table, kind: str) -> tuple[pa.Table, int]:
    diffusible = pc.fill_null(pc.equal(table.column(DIFFUSION_COLUMN[kind]), DIFFUSIBLE), False)
    hidden = pc.invert(diffusible)
    count = pc.sum(pc.cast(hidden, pa.int64())).as_py() or 0
    if not count:
        return table, 0
    for name in PERSONAL_FIELDS[kind]:
        index = table.schema.get_field_index(name)
        column = table.column(index)
        table = table.set_column(index, name, pc.if_else(hidden, pa.scalar(None, column.type), column))
    return table, count


def _blank_masked(table: pa.Table) -> pa.Table:
    """``[ND]`` (INSEE's mark of a withheld value) stored as null."""
    for index, schema_field in enumerate(table.schema):
        if pa.types.is_string(schema_field.type):
            column = table.column(index)
            table = table.set_column(
                index, schema_field.name, pc.if_else(pc.equal(column, MASKED), pa.scalar(None, pa.string()), column)
            )
    return table


def reduce_stock(
    source: str | Path,
    kind: str,
    wanted: Wanted,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[pa.Table, ReductionStats]:
    """Rows of ``source`` (a stock file of ``kind``) for ``wanted``, in the cache schema, sorted."""
    parquet = pq.ParquetFile(source, buffer_size=READ_BUFFER, pre_buffer=False)
    names = parquet.schema_arrow.names
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in names]
    if missing:
        raise StockFormatError(f"{Path(source).name} is not a {STOCK_FILE_NAMES[kind]}: column(s) {missing} absent")
    columns = [c for c in KEPT_COLUMNS[kind] if c in names]
    metadata = parquet.metadata
    stats = ReductionStats(kind=kind, rows_in_file=metadata.num_rows, row_groups=metadata.num_row_groups)
    stats.physical_types = {c: str(parquet.schema_arrow.field(c).type) for c in columns}
    if not wanted.sirens:
        return CACHE_SCHEMAS[kind].empty_table(), stats
    siren_values = pa.array(sorted(wanted.sirens), pa.string())
    siret_values = pa.array(sorted(wanted.sirets), pa.string())
    lowest, highest = min(wanted.sirens), max(wanted.sirens)
    siren_index = names.index("siren")
    pieces: list[pa.Table] = []
    for group in range(metadata.num_row_groups):
        progress(group, metadata.num_row_groups)
        if not _statistics_allow(metadata.row_group(group), siren_index, lowest, highest):
            stats.row_groups_skipped_by_statistics += 1
            continue
        keys = parquet.read_row_group(group, columns=["siren"], use_threads=False).column(0).combine_chunks()
        if not pc.any(pc.is_in(text_column(keys, 9), value_set=siren_values)).as_py():
            stats.row_groups_without_match += 1
            continue
        del keys
        # One thread: decoding in parallel would multiply the memory held at once, for little gain here.
        for batch in parquet.iter_batches(batch_size=batch_size, row_groups=[group], columns=columns, use_threads=False):
            stats.rows_read += batch.num_rows
            keep = pc.is_in(text_column(batch.column("siren"), 9), value_set=siren_values)
            if kind == ETABLISSEMENTS:
                siege = pc.fill_null(bool_column(batch.column("etablissementSiege")), False)
                listed = pc.is_in(text_column(batch.column("siret"), 14), value_set=siret_values)
                keep = pc.and_(keep, pc.or_(siege, listed))
            keep = pc.fill_null(keep, False)
            if pc.any(keep).as_py():
                pieces.append(normalise(pa.Table.from_batches([batch.filter(keep)]), kind))
    progress(metadata.num_row_groups, metadata.num_row_groups)
    table = pa.concat_tables(pieces) if pieces else CACHE_SCHEMAS[kind].empty_table()
    table = _blank_masked(table)
    table, stats.masked_rows = _mask(table, kind)
    sort_key = [("siren", "ascending")] if kind == UNITES_LEGALES else [("siret", "ascending")]
    table = table.sort_by(sort_key)
    key = "siren" if kind == UNITES_LEGALES else "siret"
    # A key listed twice (never seen in INSEE's files, but cheap to guard) keeps its first row.
    if table.num_rows and pc.count_distinct(table.column(key)).as_py() != table.num_rows:
        firsts = pc.not_equal(table.column(key).slice(1), table.column(key).slice(0, table.num_rows - 1))
        table = table.filter(pa.concat_arrays([pa.array([True]), pc.fill_null(firsts, True).combine_chunks()]))
    stats.rows_kept = table.num_rows
    return table.combine_chunks(), stats
