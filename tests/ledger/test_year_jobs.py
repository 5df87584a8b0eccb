"""A night's year jobs: each year rebuilds the widget files of the bodies the night brought acts of
that year for (a correction of last year's act touches that body's last year only), and several
nights merged into one run keep every body of every year."""

from __future__ import annotations

from chains.actes import CHAIN
from core.config import Settings


def _night(night: str, by_year: dict[str, list[str]]) -> dict:
    return {"night": night, "years": sorted(int(y) for y in by_year), "rows": 1,
            "bodies": sorted({b for bodies in by_year.values() for b in bodies}), "bodies_by_year": by_year}


def test_each_year_rebuilds_the_bodies_it_got_acts_for(tmp_path):
    settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "store"))
    night = _night("2025-11-18", {"2024": ["212900997"], "2025": ["200099992", "212900997", "252909999"]})
    jobs = CHAIN.year_jobs(settings, night, force_rebuild=False)
    assert [(job["year"], job["bodies"]) for job in jobs] == [
        (2024, ["212900997"]), (2025, ["200099992", "212900997", "252909999"])]
    assert all(job["bodies"] is None for job in CHAIN.year_jobs(settings, night, force_rebuild=True))

    merged = CHAIN.merge_nights([night, _night("2025-11-19", {"2024": ["252909999"]})])
    jobs = CHAIN.year_jobs(settings, merged, force_rebuild=False)
    assert [(job["year"], job["bodies"]) for job in jobs] == [
        (2024, ["212900997", "252909999"]), (2025, ["200099992", "212900997", "252909999"])]
