"""A night split into shards of bodies publishes what one pass over every body publishes.

The sample region's bodies on Pastell (the emulator) are pulled and staged shard by shard: without
a scheduler (``run_night``: the shards one after the other) and through the DAG (``dag.test()``: one
mapped task per shard). The public files must be byte for byte those of one shard.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pendulum
import pytest

from chains import actes as actes_chain
from core.config import PROJECT_ROOT, Settings
from core.keys import PASTELL_STATE_PREFIX, SHARDED_NIGHT_KEY, short_run_partition
from core.lease import LockBusy, acquire
from core.registry import load_registry
from core.store import LocalStore
from extract.pastell_source import night_cutoff
from samples.actes import DEMO_NIGHTS
from tests.pastell.conftest import FAST, REGISTRY_PATH, set_connection

BODIES = [b for b in load_registry(REGISTRY_PATH).bodies if b.pastell_id_e]


def _settings(store: Path, **changes) -> Settings:
    return Settings.from_env().with_overrides(store_url=str(store), registry_path=REGISTRY_PATH, source_name="pastell",
                                              pastell_client=dict(FAST), **changes)


def _public(store: Path) -> dict[str, str]:
    root = store / "public"
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_night_in_shards_publishes_what_one_pass_publishes(tmp_path, connection, emulator):
    one, many = _settings(tmp_path / "one", max_shards=1), _settings(tmp_path / "many", shard_bodies=1)
    assert many.shard_count(len(load_registry(REGISTRY_PATH).bodies)) > 1
    reports = {}
    for settings in (one, many):
        reports[settings.store_url] = []
        for night in DEMO_NIGHTS:
            emulator.clock = night_cutoff(night)
            reports[settings.store_url].append(actes_chain.CHAIN.run_night(settings, night)["totals"])
    assert _public(tmp_path / "many") == _public(tmp_path / "one")
    assert reports[many.store_url] == reports[one.store_url]
    store = LocalStore(tmp_path / "many")
    # Each body's watermark in its own object: shards never rewrite another's.
    assert {k.rsplit("/", 1)[1] for k in store.list_keys(PASTELL_STATE_PREFIX + "/")} == \
        {f"{b.siren}.json" for b in BODIES}
    assert not store.exists(SHARDED_NIGHT_KEY)


def test_a_short_run_skips_while_the_night_runs_its_shards(tmp_path, connection, emulator):
    """The shards pull and stage outside the chain's lease: a short run meanwhile would race them."""
    settings = _settings(tmp_path / "store", shard_bodies=1)
    night = DEMO_NIGHTS[0]
    emulator.clock = night_cutoff(night)
    jobs = actes_chain.CHAIN.begin_shards(settings, night)
    partition = short_run_partition(pendulum.parse(night_cutoff(night)))
    with pytest.raises(LockBusy, match=f"the night {night}"):
        actes_chain.CHAIN.run_short(settings, partition, night_cutoff(night), "test")
    pulled = [actes_chain.CHAIN.extract_shard(settings, night, None, **job) for job in jobs]
    actes_chain.CHAIN.merge_extracts(settings, night, pulled)
    staged = [actes_chain.CHAIN.transform_shard(settings, night, **job) for job in jobs]
    assert actes_chain.CHAIN.merge_transforms(settings, night, staged)["rows"] > 0
    assert actes_chain.CHAIN.run_short(settings, partition, night_cutoff(night), "test")["skipped"]


def test_the_dag_maps_the_shards_and_publishes_what_one_shard_publishes(airflow_db, tmp_path, monkeypatch, emulator):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    night = DEMO_NIGHTS[1]
    set_connection(monkeypatch, emulator)
    monkeypatch.setenv("DIGOR_SOURCE", "pastell")
    monkeypatch.setenv("DIGOR_REGISTRY", str(REGISTRY_PATH))
    monkeypatch.setenv("DIGOR_PASTELL_CLIENT", json.dumps(FAST))
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    mapped = {}
    for name, shards in (("one", {"DIGOR_MAX_SHARDS": "1"}), ("many", {"DIGOR_SHARD_BODIES": "1"})):
        emulator.clock = night_cutoff(night)
        monkeypatch.setenv("DIGOR_STORE", str(tmp_path / name))
        for variable, value in shards.items():
            monkeypatch.setenv(variable, value)
        run = dag.test(logical_date=pendulum.parse(night), run_conf={"date": night})
        assert run.state == DagRunState.SUCCESS
        mapped[name] = sorted(ti.map_index for ti in run.get_task_instances() if ti.task_id == "extract_shard")
        for variable in shards:
            monkeypatch.delenv(variable)
    assert mapped["one"] == [0] and len(mapped["many"]) == len(BODIES) > 1
    assert _public(tmp_path / "many") == _public(tmp_path / "one")
    report = json.loads((tmp_path / f"many/private/reports/actes/date={night}/report.json").read_text())
    assert report["totals"]["extracted"] > 0


def test_a_short_run_waiting_for_the_lease_while_the_night_marks_its_shards_skips(tmp_path, connection, emulator,
                                                                                 monkeypatch):
    """The night marks its shards under the lease; a short run that was already waiting for that lease
    must see the mark once it gets the lease, not pull alongside the shards."""
    settings = _settings(tmp_path / "store", shard_bodies=1, short_run_lock_wait_seconds=120.0)
    night = DEMO_NIGHTS[0]
    emulator.clock = night_cutoff(night)
    partition = short_run_partition(pendulum.parse(night_cutoff(night)))
    checked, checking = threading.Event(), actes_chain._sharded_night

    def check(store):
        found = checking(store)
        checked.set()
        return found

    monkeypatch.setattr(actes_chain, "_sharded_night", check)
    outcome: list = []

    def short_run():
        try:
            outcome.append(actes_chain.CHAIN.run_short(settings, partition, night_cutoff(night), "short run"))
        except LockBusy as busy:
            outcome.append(busy)

    # Taken as another process would (``acquire``, not the process's shared ``holding``).
    night_lease = acquire(LocalStore(tmp_path / "store"), actes_chain.CHAIN.name, "the night's begin_shards",
                          settings.lock_ttl_seconds, 0)
    runner = threading.Thread(target=short_run)
    runner.start()
    # The short run looks for a mark before waiting for the lease (the defect), or once it holds it.
    checked.wait(timeout=5)
    actes_chain.CHAIN.begin_shards(settings, night)
    night_lease.release()
    runner.join(timeout=300)
    assert len(outcome) == 1 and isinstance(outcome[0], LockBusy), outcome


def test_a_failed_night_in_the_dag_lets_short_runs_in_again(airflow_db, tmp_path, monkeypatch, emulator):
    """Every retry of one shard failed: the night is failed, and short runs do not wait for its timeout."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    night = DEMO_NIGHTS[1]
    set_connection(monkeypatch, emulator)
    for variable, value in {"DIGOR_SOURCE": "pastell", "DIGOR_REGISTRY": str(REGISTRY_PATH),
                            "DIGOR_PASTELL_CLIENT": json.dumps(FAST), "DIGOR_SHARD_BODIES": "1",
                            "DIGOR_STORE": str(tmp_path / "store")}.items():
        monkeypatch.setenv(variable, value)
    pull = actes_chain.pastell_source.extract_night

    def pull_or_fail(*args, only, **kwargs):
        if only(BODIES[-1].siren):
            raise OSError("Pastell went away")
        return pull(*args, only=only, **kwargs)

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    for task in dag.tasks:
        task.retries = 0
    emulator.clock = night_cutoff(night)
    with monkeypatch.context() as patch:
        patch.setattr(actes_chain.pastell_source, "extract_night", pull_or_fail)
        run = dag.test(logical_date=pendulum.parse(night), run_conf={"date": night})
    assert run.state == DagRunState.FAILED
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances() if ti.map_index in (-1, 0)}
    assert states["end_shards"] == "success" and states["merge_transforms"] == "upstream_failed", states
    later = pendulum.parse(night_cutoff(night)).add(minutes=15)
    emulator.clock = later.strftime("%Y-%m-%d %H:%M:%S")
    # Raises LockBusy ("the night ... pulls and stages its shards") while the night's mark stays.
    written = actes_chain.CHAIN.run_short(_settings(tmp_path / "store"), short_run_partition(later), emulator.clock,
                                          "test")
    assert written["night"] == short_run_partition(later)
