"""Small valid tables for the store and publication tests."""

from __future__ import annotations

import pandas as pd

SIRET = "21290099700017"


def actes_rows(count: int, year: int = 2025) -> pd.DataFrame:
    """``count`` rows valid against ``actes@1.0`` (the schema's custom checks included)."""
    return pd.DataFrame([
        {
            "COLL_NOM": "Commune de Test",
            "COLL_SIRET": SIRET,
            "ACTE_ID": f"{year}_{i:03d}",
            "ACTE_NATURE_CODE": "1",
            "ACTE_NATURE_NOM": "Délibérations",
            "ACTE_DATE": f"{year}-02-01",
            "ACTE_MATIERE_CODE": "1.1",
            "ACTE_MATIERE_NOM": "Commande publique / Marchés publics",
            "ACTE_OBJET": f"Objet {i}",
            "TRANSMISSION_DATE": f"{year}-02-02",
            "PREF_ID": "PREF290",
            "PREF_DATE": f"{year}-02-03",
            "PUBLICATION_DATE": f"{year}-02-04",
            "ACTE_URL": f"https://example.bzh/{i}.pdf",
            "ANNEXES_URL": "",
            "SOURCE_ID": f"src-{i}",
        }
        for i in range(count)
    ])
