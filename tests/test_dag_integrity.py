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


def test_every_dag_has_tags_owner_retries_and_params(dagbag):
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
            if isinstance(node, ast.FunctionDef) and not any(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dag" for d in node.decorator_list
            ):
                assert len(node.body) <= 6, f"{path.name}:{node.lineno} {node.name} is too long for a DAG file"
