"""Importing the history of a region moving to digor (``digor import-history <folder>``).

The previous system's export (``extract.history_export``) goes to the raw zone, its acts to
staging beside the nights' (``transform.actes.import_staging_key``) and their original
publication dates to the ledger as history events (``core.ledger.history_event``): the first
publication of each act, which no later night, republication or new document moves. An act
digor already knows (the same act from the télétransmission: its id, or its body, number and
date) is not imported twice: its known record gets the original date (merged). A rerun finds
every act already imported and writes nothing. Then the touched years are republished at once,
under the actes chain's lease, and a report says what was imported, merged or refused and why.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from chains.actes import CHAIN, registry_of
from core.jsonio import json_bytes
from core.keys import history_import_report_key, raw_night_prefix
from core.ledger import history_event, imported_acts, write_history_events
from core.store import put_raw
from extract.drop_folder import body_key_from_metadata
from extract.history_export import read_export
from transform.actes import ActeRejected, ActRules, add_imported_rows, staged_years
from transform.consolidate_actes import latest_versions
from transform.history_import import IMPORT_SOURCE, ImportedAct, act_record, scdl_record

log = logging.getLogger(__name__)

ActKey = tuple[str, str, str]


class _Known:
    """The acts digor holds (latest versions) by key and by (siren, number, decision date)."""

    def __init__(self, store):
        self.year: dict[ActKey, int] = {}
        self.by_identity: dict[tuple, list[ActKey]] = defaultdict(list)
        self.origin: dict[ActKey, str] = {}
        for year in staged_years(store):
            acts = latest_versions(store, year)
            for siren, source, source_id, numero, decided in zip(
                acts["siren"], acts["source"], acts["source_id"], acts["numero"], acts["date_decision"]
            ):
                self.add((siren, source, source_id), numero, decided, year, f"{source} {source_id}")

    def add(self, key: ActKey, numero: str, decided, year: int, origin: str) -> None:
        self.year[key] = year
        self.origin[key] = origin
        self.by_identity[(key[0], numero, decided)].append(key)

    def match(self, act: ImportedAct) -> list[ActKey]:
        """The known acts that are this one: by its key (the télétransmission's id), else by identity."""
        if act.key in self.year:
            return [act.key]
        row = act.row
        return list(dict.fromkeys(self.by_identity.get((row["siren"], row["numero"], row["date_decision"]), [])))


def _summary(report: dict) -> str:
    counts = {name: len(report[name]) for name in ("imported", "merged", "already_imported", "refused")}
    line = (f"import-history: {counts['imported']} act(s) imported, {counts['merged']} merged with acts already "
            f"known, {counts['already_imported']} already imported, {counts['refused']} refused")
    return line + f"; years republished: {', '.join(map(str, report['years'])) or 'none'}"


def import_history(settings, export_dir: Path, now: datetime | None = None,
                   on_wait: Callable[[str], None] = log.warning) -> dict:
    """Import the export at ``export_dir``; returns the report (also written to the private zone)."""
    export = read_export(export_dir)
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp, today = moment.strftime("%Y%m%dT%H%M%S%fZ"), moment.date()
    night_prefix = raw_night_prefix("actes", IMPORT_SOURCE, today.isoformat())
    store = CHAIN.store(settings)
    registry = registry_of(settings)
    rules = ActRules.from_settings(settings)
    report: dict = {"export": str(export_dir), "stamp": stamp, "imported": [], "merged": [], "already_imported": [],
                    "refused": [{"file": name, "record": None, "reason": reason} for name, reason in export.refused_files],
                    "left_out": [], "years": []}
    with CHAIN.lock(settings, "digor import-history", on_wait):
        known, done = _Known(store), imported_acts(store)
        new_rows, events, year_of, written = [], [], {}, {}

        def take(act: ImportedAct, where: dict, raw_files: dict[str, bytes]) -> None:
            matches = known.match(act)
            if act.key in done or any(key in done for key in matches):
                report["already_imported"].append({**where, "first_publication": act.published_on.isoformat()})
                return
            if len(matches) > 1:
                report["refused"].append({**where, "reason": "ambiguous: several acts already known have this body, "
                                          f"number and date ({'; '.join(known.origin[k] for k in matches)})"})
                return
            entry = {**where, "siren": act.row["siren"], "numero": act.row["numero"],
                     "first_publication": act.published_on.isoformat()}
            if matches:
                key = matches[0]
                if key in written:  # an act of this export, twice (its folder and an SCDL row)
                    report["merged"].append({**entry, "with": written[key], "note": "same act as another record of "
                                             "this export: the first one read keeps its date"})
                    return
                events.append(history_event(*key, act.row["numero"], act.published_on,
                                            f"published by the previous system on {act.published_on.isoformat()} "
                                            f"(import {stamp}, {where['file']})"))
                year_of[key] = known.year[key]
                done[key] = events[-1]
                report["merged"].append({**entry, "with": known.origin[key]})
                return
            for name, data in raw_files.items():
                put_raw(store, name, data)
            year = act.row["date_decision"].year
            new_rows.append(act.row)
            events.append(history_event(*act.key, act.row["numero"], act.published_on,
                                        act.row["decision_reason"] + f" (import {stamp}, {where['file']})",
                                        act.row["main_file_sha256"]))
            year_of[act.key] = year
            known.add(act.key, act.row["numero"], act.row["date_decision"], year, where["file"])
            written[act.key] = where["file"]
            report["imported"].append({**entry, "source": act.row["source"], "source_id": act.row["source_id"]})

        for folder in export.acts:
            where = {"file": folder.path, "record": folder.record}
            if folder.problem:
                report["refused"].append({**where, "reason": folder.problem})
                continue
            prefix = f"{night_prefix}{body_key_from_metadata(folder.files.get('metadata.json'))}/{folder.record}/"
            try:
                act, left_out = act_record(prefix, folder.record, folder.files, registry, today,
                                           settings.source_name, rules)
            except ActeRejected as error:
                report["refused"].append({**where, "reason": str(error)})
                continue
            before = len(report["imported"])
            ordered = sorted(folder.files, key=lambda name: (name == "metadata.json", name))
            take(act, where, {prefix + name: folder.files[name] for name in ordered})
            if len(report["imported"]) > before:
                report["left_out"] += [{**where, **item} for item in left_out]
        for row in export.scdl_rows:
            where = {"file": row.file, "record": f"line {row.line}"}
            if row.problem:
                report["refused"].append({**where, "reason": row.problem})
                continue
            raw_key = f"{night_prefix}scdl/{row.file.rsplit('/', 1)[-1]}"
            try:
                act = scdl_record(row.values, raw_key, registry, today, rules)
            except ActeRejected as error:
                report["refused"].append({**where, "reason": str(error)})
                continue
            take(act, where, {raw_key: export.scdl_files[row.file.rsplit("/", 1)[-1]]})

        add_imported_rows(store, new_rows)
        report["ledger_files"] = write_history_events(store, stamp, events, year_of)
        report["years"] = sorted(set(year_of.values()))
        if report["years"]:
            bodies = sorted({key[0] for key in year_of})
            result = CHAIN.republish(settings, report["years"], bodies, f"import-{stamp}", on_wait=on_wait)
            report["republished"] = result["summary"]
    report["summary"] = _summary(report)
    report["key"] = history_import_report_key(stamp)
    store.put_bytes(report["key"], json_bytes(report))
    return report
