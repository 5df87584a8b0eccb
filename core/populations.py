"""INSEE's legal populations (populations légales): the file's shape, digor's cache, population bands.

INSEE publishes each December the legal populations of a census year (the *millésime*), in
force from the next 1st of January, as an archive of semicolon-separated UTF-8 files; digor
reads ``donnees_communes.csv``, one row per commune::

    REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;PMUN;PCAP;PTOT

where the commune's code is the département (``DEP``) followed by ``CODCOM`` (``29`` + ``019``;
overseas ``971`` + ``01``), ``PMUN`` the population municipale, ``PCAP`` the population comptée
à part and ``PTOT`` the population totale. The budget documents' own ratios per inhabitant use
the population totale: so does the Budgets widget. digor caches the communes' rows in the
private zone (``CACHE_COLUMNS``) for the millésime.
"""

from __future__ import annotations

import pyarrow as pa

COMMUNES_FILE = "donnees_communes.csv"
REQUIRED_COLUMNS = ("DEP", "CODCOM", "COM", "PMUN", "PTOT")
CACHE_SCHEMA = pa.schema([
    ("code_commune", pa.string()),
    ("commune", pa.string()),
    ("region", pa.string()),
    ("population_municipale", pa.int64()),
    ("population_totale", pa.int64()),
])
POPULATION_KIND = "population totale"

# The strata of population the DGCL compares communes' finances by (lower bound of each band).
COMMUNE_BANDS = (0, 500, 2_000, 3_500, 5_000, 10_000, 20_000, 50_000, 100_000)


class PopulationFormatError(ValueError):
    """The file is not a legal populations file digor can read (the message names file and line)."""


def commune_code(departement: str, codcom: str) -> str:
    """The commune's code from its département and its code within it (``29``+``019``, ``971``+``01``)."""
    departement, codcom = departement.strip(), codcom.strip()
    if len(departement) == 3 and len(codcom) == 3:  # an overseas file writing the département's last digit twice
        return departement[:2] + codcom
    return departement + codcom


def french_number(value: int) -> str:
    """``12 345`` as French text writes it (narrow no-break space between thousands)."""
    return f"{value:,}".replace(",", "\u202f")


def band_of(population: int, bands: tuple[int, ...] = COMMUNE_BANDS) -> tuple[int, int | None]:
    """The band ``[low, high]`` a population falls in (``high`` None for the last, open band)."""
    low = max(b for b in bands if b <= population)
    following = [b for b in bands if b > low]
    return low, (following[0] - 1 if following else None)


def band_label(band: tuple[int, int | None]) -> str:
    """``de 2 000 à 3 499 habitants``, ``de moins de 500 habitants``, ``de 100 000 habitants ou plus``."""
    low, high = band
    if high is None:
        return f"de {french_number(low)} habitants ou plus"
    if low == 0:
        return f"de moins de {french_number(high + 1)} habitants"
    return f"de {french_number(low)} à {french_number(high)} habitants"
