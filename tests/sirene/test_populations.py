"""INSEE's legal populations: downloaded once, revalidated, cached for the Budgets widget; bad files refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from chains import populations
from core.config import PROJECT_ROOT
from core.populations import PopulationFormatError, band_label, band_of
from core.registry import Body, load_registry
from core.store import LocalStore
from samples.populations import ARCHIVE, HEADER

REGISTRY = PROJECT_ROOT / "config" / "registry-demo.yaml"


def _cache(settings) -> dict[str, int]:
    loaded = populations.load_populations(LocalStore(settings.store_url))
    assert loaded is not None and loaded[0] == settings.populations_year
    return loaded[1]


def test_the_millesime_is_downloaded_once_then_revalidated_and_cached(sirene_settings, file_host):
    first = populations.refresh_step(sirene_settings)
    assert (first["download"], first["written"]) == ("downloaded", True)
    cached = _cache(sirene_settings)
    assert cached["29901"] > 0 and cached["29019"] > 0, "the registry's communes and the SIRENE places"
    store = Path(sirene_settings.store_url)
    before = {p: p.read_bytes() for p in (store / "private" / "populations").rglob("*") if p.is_file()}
    again = populations.refresh_step(sirene_settings)
    assert (again["download"], again["written"]) == ("not-modified", False)
    assert "If-None-Match" in file_host.requests[-1]["headers"], "a conditional request, not a second download"
    assert {p: p.read_bytes() for p in before} == before


def test_a_transient_failure_is_retried(sirene_settings, file_host):
    file_host.fail_next = [503]
    assert populations.refresh_step(sirene_settings)["communes"] > 0


def _write(root: Path, csv_text: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("donnees_communes.csv", csv_text)
    (root / ARCHIVE).write_bytes(buffer.getvalue())


@pytest.mark.parametrize(("text", "says"), [
    (HEADER + "\n53;Bretagne;29;291;2999;901;Kerdigor;1200;10;douze\n", "donnees_communes.csv, line 2: PTOT 'douze'"),
    ("REG;DEP;COM;PMUN\n53;29;Kerdigor;1200\n", "column(s) ['CODCOM', 'PTOT'] absent"),
    (HEADER + "\n53;Bretagne;29;291;2999;901;A;1;0;1\n53;Bretagne;29;291;2999;901;B;1;0;1\n", "line 3: commune 29901 appears twice"),
])
def test_a_broken_file_is_refused_naming_the_line_and_the_cached_millesime_stays(sirene_settings, file_host, capsys,
                                                                                 text, says):
    from digor.cli import main

    populations.refresh_step(sirene_settings)
    kept = _cache(sirene_settings)
    _write(file_host.root, text)
    with pytest.raises(PopulationFormatError, match=r"ensemble\.zip/donnees_communes\.csv") as raised:
        populations.refresh_step(sirene_settings)
    assert says in str(raised.value)
    assert _cache(sirene_settings) == kept
    capsys.readouterr()
    assert main(["sirene", "populations"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and says in error and "stay in use" in error
    assert "Traceback" not in error


def test_only_a_commune_with_a_population_gets_one(sirene_settings):
    populations.refresh_step(sirene_settings)
    store = LocalStore(sirene_settings.store_url)
    registry = load_registry(REGISTRY)
    population_of = populations.body_population(store, registry, lambda siren: {"212900001": "29019"}.get(siren))
    kerdigor, epci = registry.by_siren("212900997"), registry.by_siren("200099992")
    assert population_of(kerdigor) == {"nombre": _cache(sirene_settings)["29901"], "annee": 2022,
                                       "type": "population totale", "code_commune": "29901"}
    assert population_of(epci) is None, "no guess for a body that is not a commune"
    from_sirene = Body(siren="212900001", siret="21290000100019", name="Commune de Brest-Démo", kind="commune")
    assert population_of(from_sirene)["code_commune"] == "29019", "the siège's commune in SIRENE when the registry has none"
    unknown = Body(siren="212900002", siret="21290000200017", name="Commune inconnue", kind="commune", code_commune="29999")
    assert population_of(unknown) is None
    assert populations.body_population(LocalStore(str(Path(sirene_settings.store_url).parent / "empty")), registry)(kerdigor) is None


def test_population_bands_are_the_dgcl_strata():
    assert band_label(band_of(1378)) == "de 500 à 1\u202f999 habitants"
    assert band_label(band_of(120)) == "de moins de 500 habitants"
    assert band_label(band_of(250_000)) == "de 100\u202f000 habitants ou plus"
