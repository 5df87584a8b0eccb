"""The run report: what a night did, per body, and why anything is missing.

``write_report_document`` writes any chain's report (JSON, HTML, run index); ``build_report``
and ``summary_lines`` are the actes chain's content.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

from chains.report_html import render_report
from core.keys import RUNS_PREFIX
from core.store import ObjectStore


def run_index_key(dag_id: str, run_id: str) -> str:
    """Where a DAG run finds its report: the link in the Airflow UI reads this."""
    return f"{RUNS_PREFIX}/{re.sub(r'[^A-Za-z0-9._-]', '_', dag_id)}/{re.sub(r'[^A-Za-z0-9._-]', '_', run_id)}.json"


def write_report_document(
    store: ObjectStore, key: str, report: dict, dag_id: str | None = None, run_id: str | None = None
) -> str:
    """Write a report as JSON and HTML (same name, ``.html``); index it under its DAG run."""
    store.put_bytes(key, (json.dumps(report, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8"))
    html_key = key.rsplit(".", 1)[0] + ".html"
    store.put_bytes(html_key, render_report(report).encode("utf-8"))
    if dag_id and run_id:
        store.put_bytes(run_index_key(dag_id, run_id), json.dumps({"json": key, "html": html_key}).encode())
    return html_key


def _body_of(body_key: str) -> str:
    return body_key.split("=", 1)[1] if body_key.startswith("siren=") else body_key


def build_report(
    chain: str, night: str, extracted: dict, transformed: dict, years: list[dict], datagouv: list[dict]
) -> dict:
    bodies: dict[str, Counter] = defaultdict(Counter)
    for body_key, count in extracted["by_body"].items():
        bodies[_body_of(body_key)]["extracted"] += count
    for siren, decisions in transformed["decisions"].items():
        bodies[siren]["transformed"] += sum(decisions.values())
        for decision, count in decisions.items():
            bodies[siren][f"tonight_{decision}"] += count
    for reject in transformed["rejects"]:
        bodies[reject["siren"] or "inconnu"]["rejected"] += 1
    quarantined = [q for year in years for q in year["quarantined"]]
    for item in quarantined:
        bodies[item["siren"]]["quarantined_rows"] += 1
    for year in years:
        for siren, count in year["published_by_body"].items():
            bodies[siren][f"online_{year['year']}"] = count
        for siren, reasons in year.get("offline_by_body", {}).items():
            bodies[siren][f"offline_{year['year']}"] = sum(reasons.values())
    to_decide = [item for year in years for item in year.get("to_decide", [])]
    for item in to_decide:
        bodies[item["siren"]]["to_decide"] += 1
    return {
        "chain": chain,
        "night": night,
        "totals": {
            "extracted": extracted["acts"],
            "transformed": transformed["rows"],
            "rejected": len(transformed["rejects"]),
            "quarantined_rows": len(quarantined),
            "years_published": [y["year"] for y in years],
        },
        "bodies": {siren: dict(sorted(c.items())) for siren, c in sorted(bodies.items())},
        "rejected": transformed["rejects"],
        "quarantined_rows": quarantined,
        "to_decide": to_decide,
        "offline": {str(y["year"]): y.get("offline_by_body", {}) for y in years},
        "skipped_files": extracted["skipped_files"],
        # What the source's night looked like: its folder missing, act folders changed after it ran.
        "warnings": extracted.get("warnings", []),
        "raw_revisions": extracted.get("raw_revisions", []),
        # Annexes not published with their act (not a PDF, empty, too large): the act is.
        "left_out": transformed.get("left_out", []),
        # What the source connector could not bring tonight: retried next night (failed, body errors, unlisted
        # ranges), gone (deleted), or stored without a file the source lost (incomplete, reported once).
        "source_failures": {
            key: extracted[key] for key in ("failed", "deleted", "incomplete", "body_errors", "unlisted", "foreign")
            if extracted.get(key)
        },
        # A connection that brought only another authority's acts: the wrong certificate or entity, what to do.
        "alerts": extracted.get("alerts", []),
        # The registry from the source: bodies added tonight, entities left out (no identity in the register).
        "registry": {key: extracted["registry"][key] for key in ("bodies", "added", "left_out")}
        if extracted.get("registry") else {},
        "files": [f for y in years for files in y["files"].values() for f in files],
        "datagouv": datagouv,
        "durations_s": {
            **{step: result["duration_s"] for step, result in (("extract", extracted), ("transform", transformed))
               if "duration_s" in result},
            **{f"publish {y['year']}": y["duration_s"] for y in years if "duration_s" in y},
        },
    }


def summary_lines(report: dict) -> list[str]:
    totals = report["totals"]
    lines = [
        f"{report['chain']} {report['night']}: {totals['extracted']} extracted, {totals['transformed']} transformed, "
        f"{totals['rejected']} rejected, {totals['quarantined_rows']} rows quarantined, "
        f"years published {totals['years_published']}"
    ]
    lines += [f"  alert: {alert}" for alert in report.get("alerts", [])]
    lines += [f"  warning: {warning}" for warning in report.get("warnings", [])]
    lines += [f"  revised {r['folder']}: changed after its night was stored; revision {r['revision']} is the one "
              "read (raw keeps every revision)" for r in report.get("raw_revisions", [])]
    lines += [f"  rejected {r['raw_prefix']}: {r['reason']}" for r in report["rejected"]]
    lines += [f"  quarantined {q['source_id']} from {q['file']}: {q['reason']}" for q in report["quarantined_rows"]]
    lines += [f"  left out {item['raw_prefix']}{item['file']}: {item['reason']}" for item in report.get("left_out", [])]
    registry = report.get("registry") or {}
    lines += [f"  registry: body {siren} added from the source (defaults unless overridden)"
              for siren in registry.get("added", [])]
    lines += [f"  registry: {item['message']}" for item in registry.get("left_out", [])]
    return lines
