"""Reduction of a national stock file to the identifiers digor needs."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.config import PROJECT_ROOT
from core.sirene_stock import CACHE_SCHEMAS, STOCK_SCHEMAS, StockFormatError
from extract.sirene_reduce import Wanted, reduce_stock
from extract.sirene_sample import FILLER_FIRST_SIREN, write_stock_file
from tests.sirene.conftest import CLOSED, PERSON_HIDDEN, SUPPLIER, write_extract


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return write_extract(tmp_path_factory.mktemp("extract"), filler_rows=300_000)


def test_generated_files_carry_insee_columns_and_types(extract):
    for kind, path in extract.items():
        schema = pq.ParquetFile(path).schema_arrow
        assert schema.equals(STOCK_SCHEMAS[kind]), kind
    units = STOCK_SCHEMAS["unites_legales"]
    assert len(units) == 35 and units.field("categorieJuridiqueUniteLegale").type == pa.int64()
    establishments = STOCK_SCHEMAS["etablissements"]
    assert len(establishments) == 54 and establishments.field("etablissementSiege").type == pa.bool_()
    assert establishments.field("dateDebut").type == pa.date32()


def test_keeps_wanted_units_and_establishments_with_each_siege(extract):
    wanted = Wanted.of(["212900997", SUPPLIER, CLOSED, "999999999"])
    units, stats = reduce_stock(extract["unites_legales"], "unites_legales", wanted)
    assert units.column("siren").to_pylist() == sorted(["212900997", SUPPLIER[:9], CLOSED[:9]])
    assert units.schema.equals(CACHE_SCHEMAS["unites_legales"])
    assert stats.rows_in_file == 300_000 + 11 and stats.rows_kept == 3
    establishments, _ = reduce_stock(extract["etablissements"], "etablissements", wanted)
    sirets = establishments.column("siret").to_pylist()
    # The asked SIRETs, plus the siège of every asked SIREN (for a SIREN-only identifier).
    assert sirets == sorted(["21290099700017", SUPPLIER, SUPPLIER[:9] + "00013", CLOSED, CLOSED[:9] + "00024"])
    closed = establishments.filter(pa.compute.equal(establishments.column("siret"), CLOSED)).to_pylist()[0]
    assert closed["etatAdministratifEtablissement"] == "F" and closed["dateDebut"] == dt.date(2023, 6, 30)


def test_types_are_normalised_to_the_cache_schema(extract):
    units, _ = reduce_stock(extract["unites_legales"], "unites_legales", Wanted.of(["212900997"]))
    row = units.to_pylist()[0]
    assert row["categorieJuridiqueUniteLegale"] == "7210", "an integer code becomes 4-character text"
    assert row["nicSiegeUniteLegale"] == "00017"


def test_a_file_with_other_physical_types_reads_the_same(tmp_path, extract):
    """Codes stored as numbers and dates as text (as some exports do) give the same cache."""
    source = pq.read_table(extract["etablissements"]).filter(pa.compute.equal(pa.compute.field("siren"), "212900997"))
    variant = source.set_column(0, "siren", pa.compute.cast(source.column("siren"), pa.int64()))
    index = variant.schema.get_field_index("etablissementSiege")
    variant = variant.set_column(index, "etablissementSiege", pa.compute.cast(variant.column(index), pa.string()))
    index = variant.schema.get_field_index("dateDebut")
    variant = variant.set_column(index, "dateDebut", pa.compute.cast(variant.column(index), pa.string()))
    pq.write_table(variant, tmp_path / "variant.parquet")
    wanted = Wanted.of(["21290099700017"])
    expected, _ = reduce_stock(extract["etablissements"], "etablissements", wanted)
    got, _ = reduce_stock(tmp_path / "variant.parquet", "etablissements", wanted)
    assert got.equals(expected)


def test_non_diffusible_persons_are_blanked_in_the_cache(extract):
    wanted = Wanted.of([PERSON_HIDDEN])
    units, stats = reduce_stock(extract["unites_legales"], "unites_legales", wanted)
    row = units.to_pylist()[0]
    assert stats.masked_rows == 1
    assert row["nomUniteLegale"] is None and row["prenomUsuelUniteLegale"] is None
    establishments, _ = reduce_stock(extract["etablissements"], "etablissements", wanted)
    etab = establishments.to_pylist()[0]
    assert etab["libelleVoieEtablissement"] is None and etab["enseigne1Etablissement"] is None
    assert etab["codeCommuneEtablissement"] == "97411", "the commune stays, as the register publishes it"
    assert "[ND]" not in json.dumps(units.to_pylist() + establishments.to_pylist(), default=str)


def test_row_groups_that_cannot_match_are_skipped(tmp_path):
    path = write_stock_file(tmp_path / "u.parquet", "unites_legales", filler_rows=400_000, row_group_size=50_000)
    wanted = Wanted.of([f"{FILLER_FIRST_SIREN + 120_000:09d}"])
    table, stats = reduce_stock(path, "unites_legales", wanted)
    assert table.num_rows == 1
    assert stats.row_groups == 8 and stats.row_groups_skipped_by_statistics == 7
    assert stats.rows_read == 50_000


def test_nothing_wanted_reads_nothing(extract):
    table, stats = reduce_stock(extract["unites_legales"], "unites_legales", Wanted.of([]))
    assert table.num_rows == 0 and stats.rows_read == 0


def test_a_file_that_is_not_a_stock_file_is_refused(tmp_path):
    pq.write_table(pa.table({"siren": ["212900997"]}), tmp_path / "other.parquet")
    with pytest.raises(StockFormatError, match="statutDiffusionEtablissement"):
        reduce_stock(tmp_path / "other.parquet", "etablissements", Wanted.of(["212900997"]))


def test_identifiers_are_read_leniently():
    wanted = Wanted.of(["212 900 997 00017", "200099992", "12", "not a number"])
    assert wanted.sirets == {"21290099700017"} and wanted.sirens == {"212900997", "200099992"}


# Peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited from the parent).
PROBE = """
import sys
import pyarrow.parquet as pq
from extract.sirene_reduce import Wanted, reduce_stock
from core.sirene_stock import KEPT_COLUMNS
path, mode, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
before = peak_kb()
if mode == "reduce":
    wanted = Wanted.of([f"{300_000_000 + i:09d}00012" for i in range(0, rows, 10_000)])
    reduce_stock(path, "etablissements", wanted)
else:
    pq.read_table(path, columns=list(KEPT_COLUMNS["etablissements"]))
print((peak_kb() - before) // 1024)
"""


def _peak_mb(path, mode: str, rows: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), mode, str(rows)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=300,
    )
    return int(done.stdout.strip().splitlines()[-1])


def test_memory_stays_bounded_as_the_file_grows(tmp_path):
    """Four times the rows: loading grows with the file, the reduction does not.

    Measured as the peak resident memory each process adds; not timed (see
    benchmarks/sirene_reduction.py for figures on a national-size file).
    """
    small, large = 150_000, 600_000
    write_stock_file(tmp_path / "small.parquet", "etablissements", filler_rows=small)
    write_stock_file(tmp_path / "large.parquet", "etablissements", filler_rows=large)
    full_growth = _peak_mb(tmp_path / "large.parquet", "full", large) - _peak_mb(tmp_path / "small.parquet", "full", small)
    reduce_growth = _peak_mb(tmp_path / "large.parquet", "reduce", large) - _peak_mb(tmp_path / "small.parquet", "reduce", small)
    assert full_growth > 150, f"the generated file is too small to show anything ({full_growth} MB)"
    assert reduce_growth < 0.35 * full_growth, f"reduction grew {reduce_growth} MB, loading {full_growth} MB"
