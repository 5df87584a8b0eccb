"""Shared helpers of the budgets tests: the reference TOTEM cases and the official plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract.plans_de_comptes import PlanSource
from transform.totem_plans import PlanResolver


@pytest.fixture
def totem_cases(reference_dir) -> Path:
    return reference_dir / "samples" / "totem" / "yatotem2scdl"


@pytest.fixture
def expected_dir(reference_dir) -> Path:
    return reference_dir / "samples" / "scdl-budget" / "yatotem2scdl"


@pytest.fixture
def official_plans(reference_dir) -> PlanResolver:
    return PlanResolver(PlanSource(local_dirs=[reference_dir / "totem" / "plans-de-comptes"]))
