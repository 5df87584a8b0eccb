"""``digor convert totem``: TOTEM files to SCDL budget CSVs with the budgets chain's own conversion.

Kept apart from ``chains.budgets`` so that converting files imports neither pandas nor
frictionless nor the widget modules, which a night needs and a conversion does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from core.config import BUDGET_MAX_AMOUNT, TOTEM_MAX_BYTES
from transform.totem_plans import PlanResolver
from transform.totem_scdl import convert_totem


def convert_files(paths: Iterable[Path], out_dir: Path, plans: PlanResolver,
                  max_amount: Decimal | None = BUDGET_MAX_AMOUNT) -> list[dict]:
    """One SCDL budget CSV per TOTEM file; a file that fails gives its reason, the others go on."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path in paths:
        path = Path(path)
        try:
            conversion = convert_totem(path.read_bytes(), plans, TOTEM_MAX_BYTES, max_amount)
        except (OSError, ValueError) as error:
            results.append({"file": str(path), "error": str(error)})
            continue
        target = out_dir / f"{path.stem if path.stem != 'totem' else path.parent.name}.csv"
        target.write_bytes(conversion.csv_bytes())
        results.append({
            "file": str(path), "csv": str(target), "rows": len(conversion.cells),
            "problems": [p.to_dict() for p in conversion.problems],
        })
    return results
