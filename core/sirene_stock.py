"""INSEE's SIRENE stock files as published in Parquet: their names, columns and types.

The two files digor reads are ``StockUniteLegale_utf8.parquet`` (one row per legal unit,
SIREN) and ``StockEtablissement_utf8.parquet`` (one row per establishment, SIRET). The
column lists below are the register's own names, in the order of the published files,
with the Arrow types those files carry. digor keeps only a subset (``KEPT_COLUMNS``),
under the same names, normalised to one type per column (``CACHE_SCHEMAS``) so that a
change of physical type on INSEE's side (an integer code read as text, a timestamp
instead of a date) does not reach the lookup.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

UNITES_LEGALES = "unites_legales"
ETABLISSEMENTS = "etablissements"
KINDS = (UNITES_LEGALES, ETABLISSEMENTS)

STOCK_FILE_NAMES = {
    UNITES_LEGALES: "StockUniteLegale_utf8.parquet",
    ETABLISSEMENTS: "StockEtablissement_utf8.parquet",
}

# Value the open stock files carry in place of a field a person asked not to publish.
MASKED = "[ND]"

_S, _I, _D, _B = pa.string(), pa.int64(), pa.date32(), pa.bool_()
_T = pa.timestamp("us")

STOCK_SCHEMAS: dict[str, pa.Schema] = {
    UNITES_LEGALES: pa.schema(
        [
            ("siren", _S),
            ("statutDiffusionUniteLegale", _S),
            ("unitePurgeeUniteLegale", _B),
            ("dateCreationUniteLegale", _D),
            ("sigleUniteLegale", _S),
            ("sexeUniteLegale", _S),
            ("prenom1UniteLegale", _S),
            ("prenom2UniteLegale", _S),
            ("prenom3UniteLegale", _S),
            ("prenom4UniteLegale", _S),
            ("prenomUsuelUniteLegale", _S),
            ("pseudonymeUniteLegale", _S),
            ("identifiantAssociationUniteLegale", _S),
            ("trancheEffectifsUniteLegale", _S),
            ("anneeEffectifsUniteLegale", _I),
            ("dateDernierTraitementUniteLegale", _T),
            ("nombrePeriodesUniteLegale", _I),
            ("categorieEntreprise", _S),
            ("anneeCategorieEntreprise", _I),
            ("dateDebut", _D),
            ("etatAdministratifUniteLegale", _S),
            ("nomUniteLegale", _S),
            ("nomUsageUniteLegale", _S),
            ("denominationUniteLegale", _S),
            ("denominationUsuelle1UniteLegale", _S),
            ("denominationUsuelle2UniteLegale", _S),
            ("denominationUsuelle3UniteLegale", _S),
            ("categorieJuridiqueUniteLegale", _I),
            ("activitePrincipaleUniteLegale", _S),
            ("nomenclatureActivitePrincipaleUniteLegale", _S),
            ("nicSiegeUniteLegale", _S),
            ("economieSocialeSolidaireUniteLegale", _S),
            ("societeMissionUniteLegale", _S),
            ("caractereEmployeurUniteLegale", _S),
            ("activitePrincipaleNAF25UniteLegale", _S),
        ]
    ),
    ETABLISSEMENTS: pa.schema(
        [
            ("siren", _S),
            ("nic", _S),
            ("siret", _S),
            ("statutDiffusionEtablissement", _S),
            ("dateCreationEtablissement", _D),
            ("trancheEffectifsEtablissement", _S),
            ("anneeEffectifsEtablissement", _I),
            ("activitePrincipaleRegistreMetiersEtablissement", _S),
            ("dateDernierTraitementEtablissement", _T),
            ("etablissementSiege", _B),
            ("nombrePeriodesEtablissement", _I),
            ("complementAdresseEtablissement", _S),
            ("numeroVoieEtablissement", _S),
            ("indiceRepetitionEtablissement", _S),
            ("dernierNumeroVoieEtablissement", _S),
            ("indiceRepetitionDernierNumeroVoieEtablissement", _S),
            ("typeVoieEtablissement", _S),
            ("libelleVoieEtablissement", _S),
            ("codePostalEtablissement", _S),
            ("libelleCommuneEtablissement", _S),
            ("libelleCommuneEtrangerEtablissement", _S),
            ("distributionSpecialeEtablissement", _S),
            ("codeCommuneEtablissement", _S),
            ("codeCedexEtablissement", _S),
            ("libelleCedexEtablissement", _S),
            ("codePaysEtrangerEtablissement", _S),
            ("libellePaysEtrangerEtablissement", _S),
            ("identifiantAdresseEtablissement", _S),
            ("coordonneeLambertAbscisseEtablissement", _S),
            ("coordonneeLambertOrdonneeEtablissement", _S),
            ("complementAdresse2Etablissement", _S),
            ("numeroVoie2Etablissement", _S),
            ("indiceRepetition2Etablissement", _S),
            ("typeVoie2Etablissement", _S),
            ("libelleVoie2Etablissement", _S),
            ("codePostal2Etablissement", _S),
            ("libelleCommune2Etablissement", _S),
            ("libelleCommuneEtranger2Etablissement", _S),
            ("distributionSpeciale2Etablissement", _S),
            ("codeCommune2Etablissement", _S),
            ("codeCedex2Etablissement", _S),
            ("libelleCedex2Etablissement", _S),
            ("codePaysEtranger2Etablissement", _S),
            ("libellePaysEtranger2Etablissement", _S),
            ("dateDebut", _D),
            ("etatAdministratifEtablissement", _S),
            ("enseigne1Etablissement", _S),
            ("enseigne2Etablissement", _S),
            ("enseigne3Etablissement", _S),
            ("denominationUsuelleEtablissement", _S),
            ("activitePrincipaleEtablissement", _S),
            ("nomenclatureActivitePrincipaleEtablissement", _S),
            ("caractereEmployeurEtablissement", _S),
            ("activitePrincipaleNAF25Etablissement", _S),
        ]
    ),
}

# What digor keeps of each file, in this order; the first ones must be present in the source.
KEPT_COLUMNS: dict[str, tuple[str, ...]] = {
    UNITES_LEGALES: (
        "siren",
        "statutDiffusionUniteLegale",
        "etatAdministratifUniteLegale",
        "dateDebut",
        "dateCreationUniteLegale",
        "categorieJuridiqueUniteLegale",
        "denominationUniteLegale",
        "denominationUsuelle1UniteLegale",
        "sigleUniteLegale",
        "nomUniteLegale",
        "nomUsageUniteLegale",
        "prenom1UniteLegale",
        "prenomUsuelUniteLegale",
        "activitePrincipaleUniteLegale",
        "nomenclatureActivitePrincipaleUniteLegale",
        "nicSiegeUniteLegale",
        "trancheEffectifsUniteLegale",
        "anneeEffectifsUniteLegale",
        "categorieEntreprise",
        "anneeCategorieEntreprise",
        "economieSocialeSolidaireUniteLegale",
    ),
    ETABLISSEMENTS: (
        "siren",
        "nic",
        "siret",
        "statutDiffusionEtablissement",
        "etatAdministratifEtablissement",
        "dateDebut",
        "dateCreationEtablissement",
        "etablissementSiege",
        "trancheEffectifsEtablissement",
        "activitePrincipaleEtablissement",
        "nomenclatureActivitePrincipaleEtablissement",
        "denominationUsuelleEtablissement",
        "enseigne1Etablissement",
        "complementAdresseEtablissement",
        "numeroVoieEtablissement",
        "indiceRepetitionEtablissement",
        "typeVoieEtablissement",
        "libelleVoieEtablissement",
        "distributionSpecialeEtablissement",
        "codePostalEtablissement",
        "libelleCommuneEtablissement",
        "codeCommuneEtablissement",
        "codeCedexEtablissement",
        "libelleCedexEtablissement",
        "libelleCommuneEtrangerEtablissement",
        "codePaysEtrangerEtablissement",
        "libellePaysEtrangerEtablissement",
        # Where the register places the establishment (Lambert-93, metres): the map of reuses.
        "coordonneeLambertAbscisseEtablissement",
        "coordonneeLambertOrdonneeEtablissement",
    ),
}
REQUIRED_COLUMNS = {
    UNITES_LEGALES: ("siren", "statutDiffusionUniteLegale", "etatAdministratifUniteLegale", "categorieJuridiqueUniteLegale"),
    ETABLISSEMENTS: ("siren", "siret", "statutDiffusionEtablissement", "etatAdministratifEtablissement", "etablissementSiege"),
}

# Codes held as numbers by some exports, always text of this width in digor.
_ZERO_PADDED = {
    "siren": 9,
    "nic": 5,
    "siret": 14,
    "nicSiegeUniteLegale": 5,
    "categorieJuridiqueUniteLegale": 4,
    "codePostalEtablissement": 5,
    "codeCommuneEtablissement": 5,
    "codeCedexEtablissement": 5,
    "trancheEffectifsUniteLegale": 2,
    "trancheEffectifsEtablissement": 2,
}
_CACHE_TYPES = {
    "categorieJuridiqueUniteLegale": _S,
    "anneeEffectifsUniteLegale": _I,
    "anneeCategorieEntreprise": _I,
    "dateDebut": _D,
    "dateCreationUniteLegale": _D,
    "dateCreationEtablissement": _D,
    "etablissementSiege": _B,
}
CACHE_SCHEMAS: dict[str, pa.Schema] = {
    kind: pa.schema([(name, _CACHE_TYPES.get(name, _S)) for name in columns]) for kind, columns in KEPT_COLUMNS.items()
}


class StockFormatError(ValueError):
    """The file is not a SIRENE stock file digor can read (a required column is missing)."""


def text_column(column: pa.ChunkedArray | pa.Array, width: int | None = None) -> pa.Array:
    """Trimmed text, empty as null, zero-padded to ``width`` when given (codes stored as numbers)."""
    if pa.types.is_floating(column.type):
        column = pc.cast(column, pa.int64())
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    if pa.types.is_large_string(text.type):
        text = pc.cast(text, pa.string())
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if width:
        text = pc.utf8_lpad(text, width=width, padding="0")
    return text


def _as_date(column, name: str) -> pa.Array:
    if pa.types.is_date32(column.type):
        return column
    if pa.types.is_timestamp(column.type) or pa.types.is_date64(column.type):
        return pc.cast(column, pa.date32())
    text = text_column(column, None)
    parsed = pc.strptime(pc.utf8_slice_codeunits(text, 0, 10), format="%Y-%m-%d", unit="s", error_is_null=True)
    return pc.cast(parsed, pa.date32())


def bool_column(column) -> pa.Array:
    """Booleans, from a boolean column or from its text forms (``true``/``false``)."""
    if pa.types.is_boolean(column.type):
        return column
    text = pc.utf8_lower(text_column(column, None))
    truthy = pc.is_in(text, value_set=pa.array(["true", "1", "o", "oui", "t"]))
    return pc.if_else(pc.is_null(text), pa.scalar(None, pa.bool_()), truthy)


def _as_int(column) -> pa.Array:
    if pa.types.is_integer(column.type):
        return pc.cast(column, pa.int64())
    if pa.types.is_floating(column.type):
        return pc.cast(column, pa.int64())
    return pc.cast(text_column(column, None), pa.int64())


def normalise(table: pa.Table | pa.RecordBatch, kind: str) -> pa.Table:
    """The kept columns of ``table`` in digor's cache types (absent optional columns as nulls)."""
    schema = CACHE_SCHEMAS[kind]
    names = set(table.schema.names)
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in names]
    if missing:
        raise StockFormatError(f"{STOCK_FILE_NAMES[kind]}: required column(s) {missing} absent")
    arrays = []
    for field in schema:
        if field.name not in names:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if field.type == _D:
            arrays.append(_as_date(column, field.name))
        elif field.type == _B:
            arrays.append(bool_column(column))
        elif field.type == _I:
            arrays.append(_as_int(column))
        else:
            arrays.append(text_column(column, _ZERO_PADDED.get(field.name)))
    return pa.Table.from_arrays(arrays, schema=schema)


def empty_cache_table(kind: str) -> pa.Table:
    return CACHE_SCHEMAS[kind].empty_table()


def as_date(value) -> dt.date | None:
    """A cache date cell as ``datetime.date`` (pandas may hand back timestamps)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
