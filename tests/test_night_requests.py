"""What a night costs the object store follows the night, not the history: the same new acts on a
region with ten times the acts of history ask about as many requests of the store (counted as an S3
service bills them: a listing is a request per thousand keys)."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

from core.store import LocalStore
from samples.region import SCALES, generate_region, region_settings

REQUESTS = {"get_bytes": "GET", "open_object": "GET", "read_tagged": "GET", "exists": "HEAD",
            "content_sha256": "HEAD", "put_bytes": "PUT", "put_file": "PUT", "copy": "PUT", "put_if": "PUT",
            "delete": "DELETE", "list_keys": "LIST"}


def _region(folder: Path, history: int) -> dict:
    scale = replace(SCALES["small"], bodies=8, history_acts=history, years=1, night_acts=12, contracts=6,
                    contracts_per_file=6)
    return generate_region(folder, scale, seed=11)


def _night_requests(summary: dict, monkeypatch) -> tuple[dict[str, int], int]:
    from chains.actes import CHAIN

    counted: dict[str, int] = {}
    inside = threading.local()

    def counting(name, method):
        def call(self, *args, **kwargs):
            if getattr(inside, "depth", 0):  # a store method calling another: one request
                return method(self, *args, **kwargs)
            inside.depth = 1
            try:
                answer = method(self, *args, **kwargs)
            finally:
                inside.depth = 0
            pages = max(1, -(-len(answer) // 1000)) if name == "list_keys" else 1
            counted[REQUESTS[name]] = counted.get(REQUESTS[name], 0) + pages
            return answer
        return call

    for name in REQUESTS:
        monkeypatch.setattr(LocalStore, name, counting(name, getattr(LocalStore, name)))
    result = CHAIN.run_night(region_settings(summary["environment"]).with_overrides(lock_wait_seconds=5),
                             summary["night"])
    monkeypatch.undo()
    return counted, result["totals"]["transformed"]


def test_the_same_new_acts_ask_the_store_about_as_much_whatever_the_history(tmp_path, monkeypatch):
    small = _region(tmp_path / "small", 20)
    large = _region(tmp_path / "large", 200)
    # The large region's night on both: the same acts (the small one's own night would draw the acts
    # the large history holds already, same seed).
    night = Path(small["environment"]["DIGOR_DROP_DIR"]) / small["night"]
    shutil.rmtree(night)
    shutil.copytree(Path(large["environment"]["DIGOR_DROP_DIR"]) / large["night"], night)
    on_small, small_acts = _night_requests(small, monkeypatch)
    on_large, large_acts = _night_requests(large, monkeypatch)
    assert small_acts == large_acts > 0
    assert sum(on_large.values()) <= 1.25 * sum(on_small.values()), f"{on_large} with ten times the history, {on_small}"
