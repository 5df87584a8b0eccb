"""Budget documents of one night -> digor's budget table ``staging/budgets``; current versions.

The budgets chain is fed by the acts of nature 5 that the actes chain staged for the night
(``staging/actes/annee=*/date=D.parquet``): the TOTEM XML is the act's main file (or one of
its annexes) and its bytes are in the raw zone. Each document is read on its own: a hostile,
broken or unconvertible file becomes a reject with its reason, and the night goes on.

The staging table is digor's richer budget table: the 22 SCDL columns plus the document's
facts (original NatDec, nomenclature, sealing date, annex or principal budget, the act it
came with and its publication decision). Every version of a document stays there (history);
``current_documents`` picks, per establishment, exercice and stage, the latest sealed one.

A document that cannot be converted *now* for a reason that is not its own (its plan de comptes
or its raw bytes cannot be had) is deferred, not rejected: what an earlier run of the same night
staged for it is kept, so a temporary failure never removes a published budget.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa

from core.budget_stages import STAGE_ORDER
from core.config import BUDGET_MAX_AMOUNT
from core.frame_rows import row_dicts
from core.keys import staging_prefix
from core.registry import Registry
from core.store import ObjectStore, read_parquet, sha256_hex, table_to_parquet_bytes
from transform.totem_plans import PlanError, PlanResolver
from transform.totem_reader import (
    DEFAULT_MAX_BYTES,
    TotemDocument,
    TotemError,
    plausible_amount,
)
from transform.totem_scdl import AMOUNT_COLUMNS, SCDL_COLUMNS, Conversion, convert_totem

log = logging.getLogger(__name__)

ACTES_STAGING_PREFIX = staging_prefix("actes")
STAGING_PREFIX = staging_prefix("budgets")
BUDGET_NATURE = "5"
PUBLISHED = "published"
_PARIS = ZoneInfo("Europe/Paris")

DOCUMENT_COLUMNS = (
    "document_id", "source", "source_id", "night", "raw_key", "file_name", "siren", "decision",
    "root", "schema_version", "natdec_code", "stage", "dm_date", "sealed_at", "sealed_utc", "exercice",
    "siret", "libelle_coll", "libelle_etab", "budget_type", "siret_principal", "nomenclature", "plan",
)  # fmt: skip
LINE_COLUMNS = ("line_no", "fonction_chapter", "typ_op_budg")
STAGING_SCHEMA = pa.schema(
    [(name, pa.int32() if name == "exercice" else pa.string()) for name in DOCUMENT_COLUMNS]
    + [("line_no", pa.int32()), ("fonction_chapter", pa.string()), ("typ_op_budg", pa.string())]
    + [(name, pa.string()) for name in SCDL_COLUMNS]
)
DOCUMENT_KEY = ["siret", "exercice", "stage", "dm_date"]


def is_published(act: dict | pd.Series) -> bool:
    """Whether an act's budget may reach public files (the one place that reads the decision)."""
    return act.get("decision") == PUBLISHED


@dataclass(frozen=True)
class BudgetReject:
    source_id: str
    siren: str | None
    raw_key: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BudgetNight:
    night: str
    rows: list[dict] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)
    rejects: list[BudgetReject] = field(default_factory=list)
    line_problems: list[dict] = field(default_factory=list)
    without_totem: list[dict] = field(default_factory=list)
    # Not converted for a temporary reason (plan de comptes, raw bytes): what an earlier run of the
    # night staged for them is kept (``kept_lines``).
    deferred: list[dict] = field(default_factory=list)


def budget_acts(store: ObjectStore, night: str) -> list[dict]:
    """The night's staged acts of nature 5, in a stable order."""
    acts = []
    for key in store.list_keys(ACTES_STAGING_PREFIX + "/"):
        if key.endswith(f"/date={night}.parquet"):
            acts += [a for a in read_parquet(store, key).to_pylist() if a.get("nature_code") == BUDGET_NATURE]
    return sorted(acts, key=lambda a: (a["siren"], a["source_id"]))


def totem_file(act: dict) -> tuple[str, str] | None:
    """(raw key, name) of the act's TOTEM XML: its main file, else an XML annex."""
    candidates = [(act.get("main_file_key"), act.get("main_file_name"))]
    candidates += [(a.get("raw_key"), a.get("name")) for a in act.get("annexes") or []]
    for key, name in candidates:
        if key and name and name.lower().endswith(".xml"):
            return key, name
    return None


def sealed_utc(sealed_at: str) -> str:
    """Sealing moment as a sortable UTC ISO string (naive times are Paris time); "" if unknown."""
    try:
        moment = datetime.fromisoformat(sealed_at.strip())
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_PARIS)
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def document_facts(document: TotemDocument, conversion: Conversion | None = None) -> dict:
    header = document.header
    stage = conversion.stage if conversion else ""
    return {
        "root": document.root,
        "schema_version": document.schema_version,
        "natdec_code": document.natdec,
        "stage": stage,
        # Several DMs are voted in one exercice: each is its own document, told apart by its date.
        "dm_date": header.get("DteDec", "") if document.natdec == "02" else "",
        "sealed_at": document.sealed_at,
        "sealed_utc": sealed_utc(document.sealed_at),
        "exercice": document.year,
        "siret": document.siret,
        "libelle_coll": header.get("LibelleColl", ""),
        "libelle_etab": header.get("LibelleEtab", ""),
        "budget_type": "annexe" if document.is_annex else "principal",
        "siret_principal": header.get("IdEtabPal", "") if document.is_annex else document.siret,
        "nomenclature": header.get("Nomenclature", ""),
        "plan": conversion.plan_name if conversion else "",
    }


def sender_problem(siret: str, siren: str, registry: Registry | None) -> str | None:
    """Why the body ``siren`` may not send a budget of establishment ``siret`` (None when it may):
    a budget is its establishment's, and only that body, or one the registry declares for it, sends it."""
    sender = registry.by_siren(siren) if registry is not None else None
    if sender.sends_budgets_of(siret) if sender is not None else siret[:9] == siren:
        return None
    owner = registry.by_siren(siret[:9]) if registry is not None else None
    whose = f" ({owner.name}, a body of the registry)" if owner is not None else ""
    return (
        f"the document is the budget of establishment {siret}{whose}, not of the sending body {siren}: "
        f"refused (if {siren} sends that establishment's budgets, list {siret} under its "
        "budget_establishments in the registry)"
    )


def _night_rows(store: ObjectStore, night: str) -> dict[str, list[dict]]:
    """What earlier runs of the night staged, by act (``source_id``)."""
    rows: dict[str, list[dict]] = defaultdict(list)
    for key in store.list_keys(STAGING_PREFIX + "/"):
        if key.endswith(f"/date={night}.parquet"):
            for row in read_parquet(store, key).to_pylist():
                rows[row["source_id"]].append(row)
    return rows


def transform_budget_night(
    store: ObjectStore, night: str, plans: PlanResolver, max_bytes: int = DEFAULT_MAX_BYTES,
    registry: Registry | None = None, max_amount: Decimal | None = BUDGET_MAX_AMOUNT,
) -> BudgetNight:
    """Each budget act of the night on its own: a document converts, is rejected with its reason,
    or (plan de comptes or raw bytes missing) is deferred with its earlier lines of the night kept."""
    result = BudgetNight(night)
    earlier: dict[str, list[dict]] | None = None
    for act in budget_acts(store, night):
        found = totem_file(act)
        if found is None:
            result.without_totem.append({"source_id": act["source_id"], "siren": act["siren"], "file": act.get("main_file_name")})
            continue
        raw_key, name = found
        try:
            data = store.get_bytes(raw_key)
            conversion = convert_totem(data, plans, max_bytes, max_amount)
            problem = sender_problem(conversion.document.siret, act["siren"], registry)
        except (PlanError, FileNotFoundError) as error:
            earlier = _night_rows(store, night) if earlier is None else earlier
            kept = earlier.get(act["source_id"], [])
            result.rows += kept
            result.deferred.append({"source_id": act["source_id"], "siren": act.get("siren"), "raw_key": raw_key,
                                    "reason": f"{name}: {error}", "kept_lines": len(kept), "night": night})
            continue
        except TotemError as error:
            problem = str(error)
        except Exception as error:  # one document never stops the night: reported, with the trace in the log
            log.exception("budget document %s of act %s", raw_key, act["source_id"])
            problem = f"could not be converted ({type(error).__name__}: {error})"
        if problem is not None:
            result.rejects.append(BudgetReject(act["source_id"], act.get("siren"), raw_key, f"{name}: {problem}"))
            continue
        base = {
            "document_id": sha256_hex(data),
            "source": act.get("source", ""),
            "source_id": act["source_id"],
            "night": night,
            "raw_key": raw_key,
            "file_name": name,
            "siren": act["siren"],
            "decision": act.get("decision", ""),
            **document_facts(conversion.document, conversion),
        }
        result.documents.append({**base, "lines": len(conversion.cells), "problems": len(conversion.problems)})
        for problem in conversion.problems:
            result.line_problems.append({"source_id": act["source_id"], "siren": act["siren"], "raw_key": raw_key, **problem.to_dict()})
        lines = {line.number: line for line in conversion.document.lines}
        for number, row in zip(conversion.line_numbers, conversion.rows):
            line = lines[number]
            result.rows.append({**base, "line_no": number, "fonction_chapter": line.cont_fon, "typ_op_budg": line.typ_op_budg, **row})
    return result


def staging_key(year: int, night: str) -> str:
    return f"{STAGING_PREFIX}/annee={year}/date={night}.parquet"


def write_budget_staging(store: ObjectStore, result: BudgetNight) -> list[int]:
    """Write the night's lines by exercice; a rerun replaces (or removes) its own partitions."""
    by_year: dict[int, list[dict]] = defaultdict(list)
    for row in result.rows:
        by_year[row["exercice"]].append(row)
    emptied = set()
    for key in store.list_keys(STAGING_PREFIX + "/"):
        if key.endswith(f"/date={result.night}.parquet"):
            year = int(key.split("annee=")[1].split("/")[0])
            if year not in by_year:
                store.delete(key)
                emptied.add(year)
    for year, rows in by_year.items():
        rows.sort(key=lambda r: (r["siren"], r["source_id"], r["line_no"]))
        # A column at a time, not a dict per line copied: an adoption night's ~220,000 lines
        # doubled the chain's peak memory here (1.6 GB).
        table = pa.table({field.name: pa.array([r[field.name] for r in rows], type=field.type)
                          for field in STAGING_SCHEMA}, schema=STAGING_SCHEMA)
        store.put_bytes(staging_key(year, result.night), table_to_parquet_bytes(table))
    return sorted(set(by_year) | emptied)


def staged_budget_years(store: ObjectStore, act: tuple[str, str] | None = None) -> list[int]:
    """Exercices with staged lines; only those of one act's documents when ``act`` is (siren, source_id)."""
    if act is None:
        return sorted({_year_of(k) for k in store.list_keys(STAGING_PREFIX + "/") if "annee=" in k})
    return sorted(year for year, acts in staged_budget_acts(store).items() if act in acts)


def staged_budget_acts(store: ObjectStore) -> dict[int, set[tuple[str, str]]]:
    """Per exercice, the acts (siren, source_id) whose documents have staged lines."""
    acts: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for key in store.list_keys(STAGING_PREFIX + "/"):
        if "annee=" in key:
            table = read_parquet(store, key, columns=["siren", "source_id"])
            acts[_year_of(key)] |= set(zip(table.column("siren").to_pylist(), table.column("source_id").to_pylist()))
    return dict(acts)


def _year_of(key: str) -> int:
    return int(key.split("annee=")[1].split("/")[0])


def budget_lines(store: ObjectStore, year: int) -> pd.DataFrame:
    """Every staged line of the exercice, all nights and versions."""
    keys = store.list_keys(f"{STAGING_PREFIX}/annee={year}/")
    tables = [read_parquet(store, key) for key in keys] or [STAGING_SCHEMA.empty_table()]
    return pa.concat_tables(tables).to_pandas()


def current_documents(lines: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Lines of the current version of each document, and every version with its status.

    Per establishment, exercice and stage (and decision date for DMs), the document sealed
    last wins (then the latest night); the others stay in staging as history.
    """
    if lines.empty:
        return lines.copy(), []
    documents = lines.drop_duplicates(["document_id", "source_id", "night"])[list(DOCUMENT_COLUMNS)].copy()
    documents = documents.sort_values(DOCUMENT_KEY + ["sealed_utc", "night", "source_id", "document_id"], kind="stable")
    documents = documents.drop_duplicates(["document_id"], keep="last")
    winners = documents.drop_duplicates(DOCUMENT_KEY, keep="last")
    current_ids = set(zip(winners["document_id"], winners["source_id"], winners["night"]))
    # Each key's versions in the order sorted above, the keys in order (pandas' groupby and a
    # to_dict per group cost 24 s for a year of 8,700 documents).
    by_key: dict[tuple, list[dict]] = {}
    for version in row_dicts(documents):
        by_key.setdefault(tuple(version[name] for name in DOCUMENT_KEY), []).append(version)
    history = []
    for key in sorted(by_key, key=lambda values: tuple((value is not None, value) for value in values)):
        versions = by_key[key]
        current = versions[-1]
        for version in versions:
            history.append({
                "siret": version["siret"], "exercice": int(version["exercice"]), "stage": version["stage"],
                "natdec_code": version["natdec_code"], "dm_date": version["dm_date"], "sealed_at": version["sealed_at"],
                "source_id": version["source_id"], "night": version["night"], "document_id": version["document_id"],
                "decision": version["decision"],
                "status": "current" if version is current else "replaced",
                "replaced_by": None if version is current else current["document_id"],
            })
    mask = [(d, s, n) in current_ids for d, s, n in zip(lines["document_id"], lines["source_id"], lines["night"])]
    current_lines = lines[mask].reset_index(drop=True)
    return current_lines, history


def refused_documents(lines: pd.DataFrame, bound: Decimal | None, registry: Registry | None
                      ) -> tuple[pd.DataFrame, list[dict]]:
    """Staged lines without the documents today's rules refuse (staged before a rule existed, or
    under a looser bound): an amount beyond ``bound``, another body's establishment. And what was
    left out, with why: such a document never reaches a public file, nor stops the others."""
    if lines.empty:
        return lines, []
    # Columns as lists: iterating pandas 3's strings boxes a cell at a time.
    keys = list(zip(lines["document_id"].tolist(), lines["source_id"].tolist(), lines["night"].tolist()))
    bodies = list(zip(lines["siret"].tolist(), lines["siren"].tolist()))
    senders = {pair: sender_problem(*pair, registry) for pair in set(bodies)}
    bad = {key: senders[pair] for key, pair in zip(keys, bodies) if senders[pair]}
    for column in AMOUNT_COLUMNS.values():
        for key, text in zip(keys, lines[column].tolist()):
            if key in bad or text is None or text == "":
                continue
            try:
                fine = plausible_amount(Decimal(str(text)), bound)
            except InvalidOperation:
                fine = False
            if not fine:
                bad[key] = f"{column} {text} is not a plausible amount for a budget line"
    if not bad:
        return lines, []
    left = lines[[k in bad for k in keys]].drop_duplicates(["document_id", "source_id", "night"])
    left_out = [{"siret": row["siret"], "source_id": row["source_id"], "night": row["night"],
                 "reason": bad[(row["document_id"], row["source_id"], row["night"])]} for _, row in left.iterrows()]
    return lines[[k not in bad for k in keys]].reset_index(drop=True), left_out


def publishable(lines: pd.DataFrame, open_sirens: set[str]) -> pd.DataFrame:
    """Current lines whose act is published and whose body publishes open data."""
    if lines.empty:
        return lines.copy()
    keep = [is_published({"decision": d}) and s in open_sirens
            for d, s in zip(lines["decision"].tolist(), lines["siren"].tolist())]
    return lines[keep].reset_index(drop=True)


def scdl_frame(lines: pd.DataFrame) -> pd.DataFrame:
    """The SCDL budget rows in a stable order: establishment, stage, then the document's order."""
    if lines.empty:
        return pd.DataFrame(columns=list(SCDL_COLUMNS))
    ordered = lines.assign(_stage=lines["stage"].map(STAGE_ORDER))
    ordered = ordered.sort_values(["siret", "_stage", "dm_date", "line_no"], kind="stable")
    return ordered[list(SCDL_COLUMNS)].reset_index(drop=True)


def history_bytes(history: list[dict]) -> bytes:
    return (json.dumps({"versions": history}, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")
