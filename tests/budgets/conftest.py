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
    """The test run with the C walk of TOTEM documents and plans de comptes, then with their pure-Python
    reading (what a machine without the built module runs): both must read every document alike. The C
    walk not built skips its run with the reason, or fails it under DIGOR_REQUIRE_NATIVE (as in CI,
    whose install builds it)."""
    from transform import totem_native
    from transform.totem_plans import forget_parsed_plans

    forget_parsed_plans()  # a plan parsed by the other way must not be handed back from the process's cache
    if request.param == "python":
        monkeypatch.setattr(totem_native, "_native", None)
    elif totem_native._native is None:
        from tests.environment import unavailable

        unavailable(REQUIRE_NATIVE, f"the C walk is not built ({totem_native.missing_reason()}): make install")
    return request.param
