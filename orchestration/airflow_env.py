"""The environment under which digor runs Airflow commands on embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

from core.config import ENV_PREFIX, PROJECT_ROOT


def airflow_environment(airflow_home: Path, digor_settings: dict[str, str]) -> dict[str, str]:
    """Process environment for ``airflow`` subcommands: project config, local SQLite DB."""
    env = dict(os.environ)
    airflow_home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
            "DIGOR_DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    env.update({ENV_PREFIX + name: value for name, value in digor_settings.items()})
    return env
