"""Every DAG imports cleanly and carries what operations rely on."""

import pytest

from core.config import PROJECT_ROOT

EXPECTED_DAGS = {"actes", "actes_decisions", "actes_digest", "actes_frequent", "backfill", "budgets", "decp", "sirene"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


@pytest.fixture(scope="module")
def regions_dagbag():
    """The DAGs of a deployment serving the demo's regions (DIGOR_REGIONS set)."""
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGOR_REGIONS", str(PROJECT_ROOT / "config" / "regions-demo.yaml"))
        patch.delenv("DIGOR_REGION", raising=False)
        yield DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_every_dag_has_tags_owner_retries_and_params(dagbag):
    _standard(dagbag)


def test_a_deployment_serving_several_regions_schedules_each_region_s_dags(dagbag, regions_dagbag):
    assert regions_dagbag.import_errors == {}
    regional = {f"{dag_id}__centre-demo" for dag_id in EXPECTED_DAGS}
    assert set(regions_dagbag.dag_ids) == set(dagbag.dag_ids) | regional
    _standard(regions_dagbag)
    for dag_id in EXPECTED_DAGS:
        own, region = regions_dagbag.dags[dag_id], regions_dagbag.dags[f"{dag_id}__centre-demo"]
        assert "region" not in own.params and region.params["region"] == "centre-demo"
        assert "region:centre-demo" in region.tags
        assert {task.task_id for task in own.tasks} == {task.task_id for task in region.tasks}
    # The region's budgets wait for the region's actes only, each staged Asset its own.
    def staged(dag_id):
        return {outlet.name for task in regions_dagbag.dags[dag_id].tasks for outlet in task.outlets}

    assert staged("actes__centre-demo") and staged("actes__centre-demo").isdisjoint(staged("actes"))
    assert staged("actes_frequent__centre-demo") == staged("actes__centre-demo")
    schedule = regions_dagbag.dags["budgets__centre-demo"].timetable.asset_condition
    assert {asset.name for asset in schedule.objects} == staged("actes__centre-demo")


def _standard(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, f"{dag_id} may run twice at once on the same partitions"
        assert dag.has_on_failure_callback, f"{dag_id} sends no alert when it fails"
        if dag.timetable.can_be_scheduled:
            assert "date" in dag.params and "force_rebuild" in dag.params, f"{dag_id} lacks the standard params"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} is never retried"


def test_dag_files_hold_no_business_logic():
    """DAG files wire tasks: any function body longer than a few lines belongs elsewhere."""
    import ast

    for path in (PROJECT_ROOT / "dags").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name != path.stem and not any(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dag" for d in node.decorator_list
            ):
                assert len(node.body) <= 6, f"{path.name}:{node.lineno} {node.name} is too long for a DAG file"
