"""Hostile act folders in a night: each is refused with its reason, every other act is published."""

from __future__ import annotations

from tests.transform.drop_acts import (
    NIGHT,
    act_data,
    public_csv,
    rejected_reasons,
    report,
    run_night,
    settings_for,
    store_root,
    write_act,
)


def _published_ids(settings) -> set[str]:
    actes = public_csv(settings, "actes/actes-2025.csv")
    return set(actes["SOURCE_ID"]) if len(actes) else set()


def test_a_metadata_nested_100k_deep_is_rejected_and_the_night_goes_on(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, monkeypatch)
    drop = settings.drop_dir
    write_act(drop, "A000001", act_data("DEL_2025_001"))
    write_act(drop, "M000001", {}, files={}, metadata=b"[" * 100_000 + b"]" * 100_000)
    write_act(drop, "Z000001", act_data("DEL_2025_002"))

    run_night(settings)

    assert _published_ids(settings) == {"A000001", "Z000001"}
    reason = rejected_reasons(settings)["M000001"]
    assert "metadata.json" in reason and "nested deeper" in reason
    assert report(settings)["totals"]["rejected"] == 1
    kept = store_root(settings) / f"raw/actes/drop/date={NIGHT}/inconnu/M000001/metadata.json"
    assert kept.stat().st_size == 200_000
