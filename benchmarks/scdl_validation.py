"""Benchmark: digor's SCDL validation against validata-table, on the same generated files.

100,000 délibérations rows (valid, then with 1,000 defects) and 100,000 budget rows are written
to CSV; digor's ``validate_table`` and validata-table (installed in its own virtual environment,
``--validata``: that environment's python; skipped when absent) judge each file. The script prints
the CPU time of each, the ratio (goal: at least 10x), digor's peak memory, and whether both flag
the same rows and fields. It prints figures, it asserts nothing:

    python3 -m venv /tmp/validata && /tmp/validata/bin/pip install validata-table
    .venv/bin/python benchmarks/scdl_validation.py --validata /tmp/validata/bin/python [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from verdicts import record_figures  # noqa: E402

from core.schema_files import resolve_schema  # noqa: E402
from validate.table_validator import validate_table  # noqa: E402

DELIBERATION = {
    "COLL_NOM": "Commune de Kerbrat", "COLL_SIRET": "20004697700019", "DELIB_ID": "2024-017",
    "DELIB_DATE": "2024-03-14", "DELIB_MATIERE_CODE": "7.1", "DELIB_MATIERE_NOM": "Finances locales/Décisions budgétaires",
    "DELIB_OBJET": "Vote du budget primitif", "BUDGET_ANNEE": "2024", "BUDGET_NOM": "Budget principal",
    "PREF_ID": "PREF029", "PREF_DATE": "2024-03-18", "VOTE_EFFECTIF": "19", "VOTE_REEL": "17", "VOTE_POUR": "15",
    "VOTE_CONTRE": "1", "VOTE_ABSTENTION": "1", "DELIB_URL": "https://data.example.bzh/actes/2024-017.pdf",
}
# One defect of each kind the checks know, drawn in turn.
DEFECTS = [
    ("COLL_SIRET", "20004697700018"), ("DELIB_DATE", "2024-02-30"), ("DELIB_OBJET", ""),
    ("DELIB_MATIERE_NOM", "Police/Stationnement"), ("BUDGET_ANNEE", "2024/2023"), ("VOTE_POUR", "16"),
    ("VOTE_EFFECTIF", "dix-neuf"), ("PREF_DATE", "2024-03-01"), ("DELIB_MATIERE_CODE", "7"),
]
BUDGET = {
    "BGT_NATDEC": "budget primitif", "BGT_ANNEE": "2024", "BGT_SIRET": "20004697700019", "BGT_NOM": "Commune de Kerbrat",
    "BGT_CONTNAT": "011", "BGT_CONTNAT_LABEL": "Charges à caractère général", "BGT_NATURE": "6068",
    "BGT_NATURE_LABEL": "Autres matières et fournitures", "BGT_FONCTION": "020", "BGT_FONCTION_LABEL": "Administration",
    "BGT_OPERATION": "", "BGT_SECTION": "fonctionnement", "BGT_OPBUDG": "réel", "BGT_CODRD": "dépense",
    "BGT_MTREAL": "", "BGT_MTBUDGPREC": "", "BGT_MTRARPREC": "", "BGT_MTPROPNOUV": "1200.50", "BGT_MTPREV": "1200.50",
    "BGT_CREDOUV": "", "BGT_MTRAR3112": "", "BGT_ARTSPE": "non spécialisé",
}


def write_csv(path: Path, base: dict, rows: int, defects: int, seed: int = 15) -> Path:
    rng = random.Random(seed)
    broken = set(rng.sample(range(rows), defects))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(base)
        for index in range(rows):
            row = dict(base)
            if "DELIB_ID" in row:
                row["DELIB_ID"] = f"2024-{index:06d}"
            if index in broken:
                field, value = DEFECTS[index % len(DEFECTS)]
                row[field] = value
            writer.writerow(row.values())
    return path


def digor(path: Path, schema: str) -> tuple[float, set]:
    start = time.process_time()
    report = validate_table(path, schema)
    return time.process_time() - start, {(e.row_index, e.field) for e in report.errors if e.row_index is not None}


# Run in validata-table's environment: its validation of one file, timed there (imports left out).
VALIDATA_RUN = """
import json, sys, time
from validata_core import validate
schema = json.load(open(sys.argv[2], encoding="utf-8"))
start = time.process_time()
report = validate(sys.argv[1], schema)
cpu = time.process_time() - start
errors = [e.to_dict() for e in report.errors]
print(json.dumps({"cpu": cpu, "errors": len(errors), "flagged": [[e["rowNumber"] - 2, e.get("fieldName")] for e in errors if e.get("rowNumber")]}))
"""


def validata(python: str, path: Path, schema: str) -> tuple[float, set, int] | None:
    """CPU time of validata-table on ``path`` (in its own environment) and the (row, field) pairs it flags."""
    schema_path, _ = resolve_schema(schema)
    done = subprocess.run([python, "-c", VALIDATA_RUN, str(path), str(schema_path)], capture_output=True, text=True)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        print(f"  validata-table gave no report: {done.stderr.strip()[-300:]}")
        return None
    return result["cpu"], {tuple(pair) for pair in result["flagged"]}, result["errors"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--validata", default="", help="the python of validata-table's own virtual environment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cases = [
            ("délibérations, valid", write_csv(Path(folder) / "valid.csv", DELIBERATION, args.rows, 0), "scdl-deliberations"),
            (f"délibérations, {min(1000, args.rows)} defects",
             write_csv(Path(folder) / "defects.csv", DELIBERATION, args.rows, min(1000, args.rows)), "scdl-deliberations"),
            ("budget, valid", write_csv(Path(folder) / "budget.csv", BUDGET, args.rows, 0), "scdl-budget"),
        ]
        print(f"{args.rows:,} rows per file; CPU seconds")
        print(f"{'file':28} {'digor':>8} {'validata':>9} {'ratio':>6}  same rows and fields flagged")
        recorded: dict[str, list[dict]] = {}
        for name, path, schema in cases:
            ours, flagged = digor(path, schema)
            theirs = validata(args.validata, path, schema) if args.validata else None
            case = recorded.setdefault(schema, [])
            case.append({"name": name, "digor_s": ours, "validata_s": theirs[0] if theirs else None})
            if theirs is None:
                print(f"{name:28} {ours:8.2f} {'-':>9} {'-':>6}  (validata-table not run) {len(flagged)} flagged")
                continue
            last = max((row for row, _ in theirs[1]), default=-1)
            compared = {pair for pair in flagged if pair[0] <= last} if theirs[2] >= 1000 else flagged
            same = "yes" if compared == theirs[1] else (
                f"no: {len(compared - theirs[1])} only digor, {len(theirs[1] - compared)} only validata")
            if compared != flagged:
                same += f" (up to row {last + 1}, where validata-table stops at 1,000 errors; digor goes on: " \
                        f"{len(flagged)} rows and fields flagged)"
            print(f"{name:28} {ours:8.2f} {theirs[0]:9.2f} {theirs[0] / ours:5.1f}x  {same}")
            case[-1]["same"] = same
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"digor peak memory {peak:.0f} MB (goal: at least 10x validata-table's speed)")
    for schema, measured in recorded.items():
        record_figures(schema.replace("-", "_"), rows=args.rows, cases=measured, peak_mb=peak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
