"""Consolidation of a year: duplicates removed, modifications ordered and applied.

Rules (documented in the README, tested in tests/decp/test_consolidate.py):

- **uid** = SIRET of the buyer (autorité concédante) + contract id.
- **Duplicates**: objects with the same uid, the same set of titulaires (concessionnaires) and
  the same notification (signature) date are one contract sent several times. One version
  is kept, chosen in this order: the 2022 format over the 2019 one (the buyer's current
  statement); the one with the most modifications (it carries the others' history); the
  latest publication date (of the data or of a modification); the latest received (night,
  then file, then position in the file). Every other copy is rejected as ``doublon``,
  naming the kept one.
- **Modifications** of a kept object are applied in their order: by ``id`` in the 2022
  format (the regulatory sequence); by publication date of the modification in the 2019
  format, which has no id and whose notification dates are typed by hand (then by position).
  A modification replaces the amount (valeur globale), the duration and the titulaires it
  carries; the others carry over.
- **Current version**: the last version of each object is current, unless another object
  with the same uid was notified later (a later re-notification supersedes it); objects of
  the same uid notified the same day (lots of a multi-attributaire accord-cadre sent as
  separate objects) are all current.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import msgspec

from transform.decp_formats import CONCESSION
from transform.decp_staging import STATUS_VALID, holders_of, modifications_of

VERSION_2022 = "2.0.2"


@dataclass
class Consolidated:
    kept: list[dict]
    duplicates: list[tuple[dict, dict]] = field(default_factory=list)  # (rejected copy, kept version)
    rejected: list[dict] = field(default_factory=list)  # invalid objects and unreadable files


def dedup_key(row: dict) -> tuple:
    return (row["uid"], row["holders"], row["date"])


def preference(row: dict) -> tuple:
    """Sort key of the kept-version rule: the greatest wins."""
    return (
        row["version"] == VERSION_2022,
        row["modifications"],
        row["last_publication"] or "",
        row["night"],
        row["file_key"],
        row["position"],
    )


def consolidate(rows: list[dict]) -> Consolidated:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    rejected = []
    for row in rows:
        if row["status"] == STATUS_VALID:
            groups[dedup_key(row)].append(row)
        else:
            rejected.append(row)
    kept, duplicates = [], []
    for candidates in groups.values():
        ordered = sorted(candidates, key=preference, reverse=True)
        kept.append(ordered[0])
        duplicates += [(copy, ordered[0]) for copy in ordered[1:]]
    kept.sort(key=lambda r: (r["buyer"], r["date"], r["id"], r["holders"]))
    duplicates.sort(key=lambda pair: (pair[0]["file_key"], pair[0]["position"]))
    return Consolidated(kept, duplicates, rejected)


@dataclass(frozen=True)
class Version:
    """The values of a contract after its first ``modification_id`` modifications (0 = initial)."""

    modification_id: int
    amount: float | None
    duration: int | None
    holders: tuple[dict, ...]
    date: str | None = None
    publication: str | None = None
    objet: str | None = None


def ordered_modifications(data: dict, version: str) -> list[dict]:
    modifications = list(enumerate(modifications_of(data)))
    if version == VERSION_2022:
        modifications.sort(key=lambda pair: (pair[1].get("id") if isinstance(pair[1].get("id"), int) else 10**9, pair[0]))
    else:
        modifications.sort(key=lambda pair: (pair[1].get("datePublicationDonneesModification") or "", pair[0]))
    return [modification for _, modification in modifications]


def versions(data: dict, kind: str, version: str) -> list[Version]:
    amount_field = "valeurGlobale" if kind == CONCESSION else "montant"
    current = Version(0, data.get(amount_field), data.get("dureeMois"), tuple(holders_of(data, kind)))
    if not data.get("modifications"):  # most contracts
        return [current]
    result = [current]
    for number, modification in enumerate(ordered_modifications(data, version), start=1):
        holders = holders_of(modification, "marche") if modification.get("titulaires") else list(current.holders)
        current = Version(
            number,
            modification.get(amount_field, current.amount),
            modification.get("dureeMois", current.duration),
            tuple(holders),
            modification.get("dateSignatureModification") or modification.get("dateNotificationModification"),
            modification.get("datePublicationDonneesModification"),
            modification.get("objetModification"),
        )
        result.append(current)
    return result


def current_objects(kept: list[dict]) -> set[tuple[str, int]]:
    """(file_key, position) of the kept objects whose last version is the contract's current one."""
    latest: dict[str, str] = {}
    for row in kept:
        latest[row["uid"]] = max(latest.get(row["uid"], ""), row["date"] or "")
    return {(row["file_key"], row["position"]) for row in kept if (row["date"] or "") == latest[row["uid"]]}


_DECODE = msgspec.json.Decoder().decode


def loaded(row: dict) -> dict:
    """A staged object: msgspec reads a text as ``json.loads`` does, ~3x faster (a national year's table
    reads 500,000); where it refuses a text json reads (a number out of float range, a lone surrogate,
    ``NaN``), json reads it."""
    try:
        return _DECODE(row["object_json"])
    except msgspec.DecodeError:
        return json.loads(row["object_json"])
