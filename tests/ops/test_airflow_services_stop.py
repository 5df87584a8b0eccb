"""``digor airflow down`` stops what ``up`` started, whatever the processes call themselves by then
(Celery's worker renames itself ``[celeryd: …]``), and never a process that reused a recorded id."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from orchestration.airflow_services import Component, Services, _group_alive

RENAMED = "import setproctitle, time; setproctitle.setproctitle('[celeryd: celery@host:MainProcess]'); time.sleep(600)"


@dataclass(frozen=True)
class Renaming(Component):
    def argv(self) -> list[str]:
        return [sys.executable, "-c", RENAMED]


def test_down_stops_a_component_that_renamed_itself(tmp_path):
    services = Services(tmp_path)
    services.start([Renaming("worker", ())], {})
    pid = services.state()["components"]["worker"]["pid"]
    assert services.running() == {"worker": pid}
    assert services.stop(timeout=10) == ["worker"]
    assert not _group_alive(pid)


def test_a_recorded_id_now_used_by_another_process_is_left_alone(tmp_path):
    services = Services(tmp_path)
    services.start([Renaming("worker", ())], {})
    entry = services.state()["components"]["worker"]
    state = services.state()
    state["components"]["worker"]["started"] = entry["started"] - 1  # as if the id had been reused since
    services._save(state)
    try:
        assert services.running() == {}
        assert services.stop(timeout=10) == []
        assert _group_alive(entry["pid"])
    finally:
        state["components"]["worker"]["started"] = entry["started"]
        services._save(state)
        services.stop(timeout=10)
