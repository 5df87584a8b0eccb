"""The deployment description says what CI runs: the pinned versions of requirements.txt, the
components and the environment of the production profile's test, and no secret."""

from __future__ import annotations

import re

import yaml

from core.config import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "docs" / "deploy"
COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer", "celery worker"}
# What tests/ops/test_celery_profile.py sets to run the profile (besides paths and test-only settings).
PROFILE_VARIABLES = {
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CELERY__WORKER_CONCURRENCY", "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    "AIRFLOW_HOME", "AIRFLOW_CONFIG", "DIGOR_DAGS_FOLDER", "DIGOR_STORE", "AIRFLOW_CONN_DIGOR_S3",
}


def pins() -> dict[str, str]:
    lines = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_the_compose_file_pins_what_requirements_pin():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert f"FROM apache/airflow:{pins()['apache-airflow']}-python3.11" in dockerfile
    images = {name: service["image"] for name, service in compose["services"].items() if "image" in service}
    assert all(re.search(r":\d+\.\d+(\.\d+)?", image) for image in images.values()), images
    assert images["postgres"].startswith("postgres:15.") and images["redis"].startswith("redis:7.0.")
    commands = {" ".join(s["command"][:2]) if s["command"][0] == "celery" else s["command"][0]
                for s in compose["services"].values() if "command" in s and "build" in s}
    assert COMPONENTS <= commands
    assert compose["services"]["worker"]["deploy"]["replicas"] >= 2


def test_a_systemd_unit_per_component_reads_the_environment_file():
    started = set()
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text(encoding="utf-8")
        assert "EnvironmentFile=/etc/digor/airflow.env" in text, unit.name
        command = re.search(r"^ExecStart=/opt/digor/\.venv/bin/airflow (celery worker|[\w-]+)", text, re.M)
        assert command, unit.name
        started.add(command.group(1))
    assert started == COMPONENTS


def test_the_environment_example_names_every_setting_of_the_tested_profile_and_no_secret():
    text = (DEPLOY / "digor.env.example").read_text(encoding="utf-8")
    names = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}
    assert PROFILE_VARIABLES <= names, PROFILE_VARIABLES - names
    for line in (line for line in text.splitlines() if not line.startswith("#")):
        if re.search(r"(PASSWORD|SECRET|KEY|BROKER_URL|SQL_ALCHEMY_CONN|RESULT_BACKEND)=|\"password\"", line):
            assert "<" in line, f"a value that looks real in the example: {line}"
