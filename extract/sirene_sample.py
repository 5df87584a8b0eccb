"""Generated SIRENE stock files: the real columns and types, made-up rows.

The national files cannot be fetched here; tests, the reduction benchmark and the demo
write files of the same shape instead: the given records (dicts keyed by the register's
column names) merged, sorted by SIREN as INSEE's files are, into as many filler rows as
asked. Filler rows are built column by column with Arrow, one row group at a time, so a
file of millions of rows is written without holding it in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.sirene_stock import ETABLISSEMENTS, STOCK_SCHEMAS, UNITES_LEGALES

FILLER_FIRST_SIREN = 300_000_000
ROW_GROUP_SIZE = 131_072


def _records_table(kind: str, records: Iterable[dict]) -> pa.Table:
    schema = STOCK_SCHEMAS[kind]
    rows = list(records)
    unknown = {key for row in rows for key in row} - set(schema.names)
    if unknown:
        raise ValueError(f"not columns of {kind}: {sorted(unknown)}")
    if kind == ETABLISSEMENTS:
        for row in rows:
            if row.get("siret") and not row.get("siren"):
                row["siren"], row["nic"] = row["siret"][:9], row["siret"][9:]
    return pa.Table.from_pylist(rows, schema=schema)


def _filler(kind: str, start: int, count: int) -> pa.Table:
    """``count`` plausible rows whose SIRENs follow each other from ``FILLER_FIRST_SIREN + start``."""
    index = pa.array(range(start, start + count), pa.int64())
    text_index = pc.cast(index, pa.string())
    siren = pc.utf8_lpad(pc.cast(pc.add(index, FILLER_FIRST_SIREN), pa.string()), width=9, padding="0")
    columns = {}
    for schema_field in STOCK_SCHEMAS[kind]:
        name = schema_field.name
        if name == "siren":
            columns[name] = siren
        elif name == "nic":
            columns[name] = pa.array(["00012"] * count)
        elif name == "siret":
            columns[name] = pc.binary_join_element_wise(siren, "00012", "")
        elif name.startswith("statutDiffusion"):
            columns[name] = pc.if_else(pc.equal(pc.bit_wise_and(index, 15), 3), "P", "O")
        elif name.startswith("etatAdministratif"):
            columns[name] = pc.if_else(pc.equal(pc.bit_wise_and(index, 7), 5), "F" if kind == ETABLISSEMENTS else "C", "A")
        elif name == "etablissementSiege" or name == "unitePurgeeUniteLegale":
            columns[name] = pc.equal(pc.bit_wise_and(index, 1), 0) if name == "etablissementSiege" else pa.nulls(count, pa.bool_())
        elif schema_field.type == pa.date32():
            columns[name] = pa.array([dt.date(2010, 1, 1)] * count, pa.date32())
        elif pa.types.is_timestamp(schema_field.type):
            columns[name] = pa.array([dt.datetime(2024, 6, 1, 3, 0)] * count, schema_field.type)
        elif schema_field.type == pa.int64():
            columns[name] = pa.array([5710 if name == "categorieJuridiqueUniteLegale" else 2022] * count, pa.int64())
        elif name.startswith("trancheEffectifs"):
            columns[name] = pa.array(["12"] * count)
        elif name.startswith(("activitePrincipale", "nomenclature")):
            columns[name] = pa.array(["43.21A" if "NAF25" not in name and "nomenclature" not in name else "NAFRev2"] * count)
        elif name.startswith(("codeCommune", "codePostal")):
            columns[name] = pa.array(["35238"] * count)
        elif name.endswith(("2Etablissement", "2UniteLegale", "3UniteLegale", "EtrangerEtablissement")) or "Cedex" in name:
            columns[name] = pa.nulls(count, pa.string())
        else:
            columns[name] = pc.binary_join_element_wise(name[:12].upper() + " ", text_index, "")
    return pa.Table.from_pydict(columns, schema=STOCK_SCHEMAS[kind])


def write_stock_file(
    path: Path | str,
    kind: str,
    records: Iterable[dict] = (),
    *,
    filler_rows: int = 0,
    row_group_size: int = ROW_GROUP_SIZE,
) -> Path:
    """Write a stock file of ``kind`` holding ``records`` and ``filler_rows`` more, sorted by SIREN."""
    if kind not in (UNITES_LEGALES, ETABLISSEMENTS):
        raise ValueError(f"unknown stock file kind {kind!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records_table = _records_table(kind, records)
    sort_key = [("siren", "ascending")] + ([("siret", "ascending")] if kind == ETABLISSEMENTS else [])
    records_table = records_table.sort_by(sort_key)
    record_sirens = records_table.column("siren").to_pylist()
    with pq.ParquetWriter(path, STOCK_SCHEMAS[kind], compression="zstd") as writer:
        taken = 0
        start = 0
        while start < filler_rows or taken < len(record_sirens):
            count = min(row_group_size, max(filler_rows - start, 0))
            chunk = _filler(kind, start, count) if count else STOCK_SCHEMAS[kind].empty_table()
            start += count
            upper = f"{FILLER_FIRST_SIREN + start:09d}" if start < filler_rows else None
            end = taken
            while end < len(record_sirens) and (upper is None or record_sirens[end] < upper):
                end += 1
            if end > taken:
                chunk = pa.concat_tables([chunk, records_table.slice(taken, end - taken)]).sort_by(sort_key)
                taken = end
            writer.write_table(chunk, row_group_size=max(chunk.num_rows, 1))
    return path


def unit_record(
    siren: str,
    name: str | None = None,
    *,
    categorie_juridique: int = 5710,
    diffusion: str = "O",
    etat: str = "A",
    nic_siege: str = "00012",
    person: tuple[str, str] | None = None,
    tranche: str | None = "12",
    categorie_entreprise: str | None = "PME",
    naf: str = "43.21A",
    date_debut: dt.date = dt.date(2015, 1, 1),
) -> dict:
    """A StockUniteLegale row as INSEE publishes it (``person`` = (prénom, nom) of an individual)."""
    record = {
        "siren": siren,
        "statutDiffusionUniteLegale": diffusion,
        "dateCreationUniteLegale": dt.date(2001, 5, 14),
        "trancheEffectifsUniteLegale": tranche,
        "anneeEffectifsUniteLegale": 2023 if tranche else None,
        "dateDernierTraitementUniteLegale": dt.datetime(2025, 1, 10, 4, 12),
        "nombrePeriodesUniteLegale": 3,
        "categorieEntreprise": categorie_entreprise,
        "anneeCategorieEntreprise": 2022 if categorie_entreprise else None,
        "dateDebut": date_debut,
        "etatAdministratifUniteLegale": etat,
        "categorieJuridiqueUniteLegale": categorie_juridique,
        "activitePrincipaleUniteLegale": naf,
        "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "nicSiegeUniteLegale": nic_siege,
        "caractereEmployeurUniteLegale": "O" if tranche not in (None, "NN") else "N",
    }
    if person:
        first, last = person
        if diffusion == "O":
            record.update(prenom1UniteLegale=first, prenomUsuelUniteLegale=first, nomUniteLegale=last)
        else:
            record.update(prenom1UniteLegale="[ND]", prenomUsuelUniteLegale="[ND]", nomUniteLegale="[ND]", sexeUniteLegale="[ND]")
    else:
        record["denominationUniteLegale"] = name
    return record


def establishment_record(
    siret: str,
    *,
    siege: bool = True,
    diffusion: str = "O",
    etat: str = "A",
    code_commune: str = "29232",
    code_postal: str = "29000",
    commune: str = "QUIMPER",
    voie: tuple[str, str, str] | None = ("2", "RUE", "DU PARC"),
    enseigne: str | None = None,
    naf: str = "43.21A",
    tranche: str | None = "11",
    date_debut: dt.date = dt.date(2015, 1, 1),
    pays: tuple[str, str] | None = None,
    lambert: tuple[str, str] | None = None,
) -> dict:
    """A StockEtablissement row as INSEE publishes it (``pays`` = (code, libellé) when abroad; ``lambert``:
    its Lambert-93 coordinates, as text like INSEE's)."""
    numero, type_voie, libelle = voie or (None, None, None)
    record = {
        "siren": siret[:9],
        "nic": siret[9:],
        "siret": siret,
        "statutDiffusionEtablissement": diffusion,
        "dateCreationEtablissement": dt.date(2001, 5, 14),
        "trancheEffectifsEtablissement": tranche,
        "anneeEffectifsEtablissement": 2023 if tranche else None,
        "dateDernierTraitementEtablissement": dt.datetime(2025, 1, 10, 4, 12),
        "etablissementSiege": siege,
        "nombrePeriodesEtablissement": 2,
        "numeroVoieEtablissement": numero,
        "typeVoieEtablissement": type_voie,
        "libelleVoieEtablissement": libelle,
        "codePostalEtablissement": None if pays else code_postal,
        "libelleCommuneEtablissement": None if pays else commune,
        "codeCommuneEtablissement": None if pays else code_commune,
        "dateDebut": date_debut,
        "etatAdministratifEtablissement": etat,
        "enseigne1Etablissement": enseigne,
        "activitePrincipaleEtablissement": naf,
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        "caractereEmployeurEtablissement": "O",
    }
    if lambert:
        record.update(coordonneeLambertAbscisseEtablissement=lambert[0], coordonneeLambertOrdonneeEtablissement=lambert[1])
    if pays:
        record.update(codePaysEtrangerEtablissement=pays[0], libellePaysEtrangerEtablissement=pays[1],
                      libelleCommuneEtrangerEtablissement="BRUXELLES")
    if diffusion != "O":
        record.update(
            numeroVoieEtablissement="[ND]", typeVoieEtablissement="[ND]", libelleVoieEtablissement="[ND]",
            enseigne1Etablissement="[ND]" if enseigne else None,
        )
    return record
