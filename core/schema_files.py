"""Locate and load digor's own Table Schema files (schemas/<name>-<version>.json).

Validation runs against the project's transcriptions of the national schemas, so that a
nightly run never depends on schema.data.gouv.fr being reachable.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

SCHEMAS_DIR: Path = Path(__file__).resolve().parents[1] / "schemas"
# A folder of further schema files, e.g. a national schema's next version being prepared.
EXTRA_SCHEMAS_ENV = "DIGOR_EXTRA_SCHEMAS_DIR"


def schema_dirs() -> list[Path]:
    extra = os.environ.get(EXTRA_SCHEMAS_ENV)
    return [SCHEMAS_DIR] + ([Path(extra)] if extra else [])

_FILE_NAME = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*?)-(?P<version>\d+(?:\.\d+)*)\.json$")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _is_json_schema(path: Path) -> bool:
    """True for JSON Schema documents (the DECP formats), which are not Table Schemas."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and "json-schema.org" in str(document.get("$schema", ""))


def available_schemas() -> dict[str, list[str]]:
    """Map each Table Schema name present in the schema folders to its versions, oldest first."""
    found: dict[str, list[str]] = {}
    for folder in schema_dirs():
        for path in folder.glob("*.json"):
            match = _FILE_NAME.match(path.name)
            if match and not _is_json_schema(path):
                found.setdefault(match["name"], []).append(match["version"])
    return {name: sorted(versions, key=_version_key) for name, versions in sorted(found.items())}


def _describe(available: dict[str, list[str]]) -> str:
    return ", ".join(f"{name} ({', '.join(versions)})" for name, versions in available.items()) or "none"


def schema_path(name: str, version: str | None = None) -> Path:
    """Path of schema `name` at `version` (the latest present when None)."""
    available = available_schemas()
    if name not in available:
        folders = ", ".join(str(d) for d in schema_dirs())
        raise ValueError(f"unknown schema {name!r}; available in {folders}: {_describe(available)}")
    versions = available[name]
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise ValueError(
            f"schema {name!r} has no version {version!r}; available versions: {', '.join(versions)}"
        )
    return next(d / f"{name}-{version}.json" for d in schema_dirs() if (d / f"{name}-{version}.json").is_file())


def _is_path(schema: str | Path) -> bool:
    if isinstance(schema, Path):
        return True
    return schema.endswith(".json") or "/" in schema or "\\" in schema


def resolve_schema(schema: str | Path) -> tuple[Path, str]:
    """Return the file of a schema given by name[@version] or path, and a label for reports."""
    if _is_path(schema):
        path = Path(schema)
        if not path.is_file():
            raise ValueError(f"schema file not found: {path}")
        return path, str(path)
    name, _, version = str(schema).partition("@")
    path = schema_path(name, version or None)
    return path, f"{name}@{_FILE_NAME.match(path.name)['version']}"


def load_schema_descriptor(schema: str | Path) -> dict:
    """Load a schema descriptor, custom_checks and comments included.

    `schema` is a name ("scdl-deliberations"), a name@version ("scdl-deliberations@2.1.5")
    or the path to a JSON file (e.g. an official schema.json).
    """
    path, _ = resolve_schema(schema)
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"schema file {path} is not valid JSON: {exc}") from exc
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list):
        raise ValueError(f"schema file {path} is not a Table Schema (no 'fields' list)")
    return descriptor
