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


REQUIRE_NATIVE = "DIGOR_REQUIRE_NATIVE"


@pytest.fixture(params=["c-walk", "python"])
def reading_path(request, monkeypatch) -> str:
    """The test run with the TOTEM reader's C walk, then with its pure-Python reading (what a machine
    without the built module runs): both must read every document alike. The C walk not built skips
    its run with the reason, or fails it under DIGOR_REQUIRE_NATIVE (as in CI, whose install builds it)."""
    import transform.totem_reader as reader

    if request.param == "python":
        monkeypatch.setattr(reader, "_native", None)
    elif reader._native is None:
        from tests.environment import unavailable

        unavailable(REQUIRE_NATIVE, f"the TOTEM reader's C walk is not built ({reader._NATIVE_MISSING}): make install")
    return request.param
