"""Every setting of digor in one place.

Defaults make the demo run from a fresh clone; production overrides them with
environment variables (``DIGOR_*``), which Airflow deployments set from Variables or
their own environment. Secrets never live here: they come from Airflow connections.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"

ENV_PREFIX = "DIGOR_"

# Target version of each national schema published by digor.
SCHEMA_VERSIONS = {
    "scdl-deliberations": "2.1.5",
    "actes": "1.0",
}


def target_schema(name: str) -> str:
    """``name@version`` of the schema version digor publishes for a dataset."""
    return f"{name}@{SCHEMA_VERSIONS[name]}"


# Names under which data.gouv.fr's schema catalogue knows the schemas we declare.
DATAGOUV_SCHEMA_NAMES = {
    "scdl-deliberations": "scdl/deliberations",
}


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one run."""

    store_url: str
    drop_dir: Path
    registry_path: Path
    public_base_url: str
    datagouv_mode: str
    max_shrink_ratio: float
    source_name: str = "drop"
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            store_url=_env("STORE", str(DEFAULT_VAR_DIR / "store")),
            drop_dir=Path(_env("DROP_DIR", str(DEFAULT_VAR_DIR / "drop"))),
            registry_path=Path(_env("REGISTRY", str(PROJECT_ROOT / "config" / "registry-demo.yaml"))),
            public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:8765").rstrip("/"),
            datagouv_mode=_env("DATAGOUV_MODE", "dry-run"),
            max_shrink_ratio=float(_env("MAX_SHRINK_RATIO", "0.2")),
        )

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    def public_url(self, key: str) -> str:
        """URL under which browsers and downloaders read a key of the public zone."""
        if not key.startswith("public/"):
            raise ValueError(f"{key!r} is not in the public zone")
        return f"{self.public_base_url}/{key[len('public/'):]}"

# Shared by every DAG: who owns it and how a failed task is retried.
DAG_OWNER = "digor-data"
DAG_TIMEZONE = "Europe/Paris"
DAG_DEFAULT_ARGS = {"owner": DAG_OWNER, "retries": 2, "retry_delay": timedelta(minutes=5)}
NIGHTLY_CRON = "0 2 * * *"
