"""Raw acts of one night -> rows of the staging table ``staging/actes``.

Each act is read on its own: a broken one becomes a reject naming its raw folder and
the reason, and the night goes on for every other act. Only real PDFs are published: an act
whose document is not one (by its bytes, whatever its name), is empty or is larger than the
configured limit is rejected; such an annex is left out of the act, and reported.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.act_identity import foreign_siren, id_acte_of
from core.config import (
    ACT_DATE_EARLIEST,
    ACT_DATE_MARGIN_DAYS,
    MAX_DOCUMENT_BYTES,
    PUBLICATION_OPEN_DATA_CODES,
    Settings,
    partition_night,
)
from core.document_kind import carries_private_annexes, is_pdf
from core.jsonio import JsonTooDeep, load_json
from core.keys import (
    raw_act_folder,
    raw_night_prefix,
    staging_latest_prefix,
    staging_prefix,
    staging_shard_key,
)
from core.nomenclature_actes import MatiereError, nature_code, parse_classification
from core.publication_rule import Decision, source_decision
from core.registry import DROP_SOURCE, Body, Registry
from core.store import ObjectStore, read_parquet, sha256_hex, table_to_parquet_bytes
from transform.acknowledgement import AcknowledgementError, parse_acknowledgement
from transform.dates import parse_source_date
from transform.s2low_acts import FLOW as S2LOW_FLOW
from transform.s2low_acts import S2lowActError
from transform.s2low_acts import act_fields as s2low_act_fields

log = logging.getLogger(__name__)

STAGING_PREFIX = staging_prefix("actes")
_WHITESPACE = re.compile(r"\s+")

ANNEX_TYPE = pa.struct([("name", pa.string()), ("raw_key", pa.string()), ("sha256", pa.string())])
STAGING_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("version", pa.string()),
        ("night", pa.date32()),
        ("raw_prefix", pa.string()),
        ("siren", pa.string()),
        ("siret", pa.string()),
        ("coll_nom", pa.string()),
        ("numero", pa.string()),
        ("objet", pa.string()),
        ("nature_code", pa.string()),
        ("classification_raw", pa.string()),
        ("matiere_code", pa.string()),
        ("matiere_nom", pa.string()),
        ("date_decision", pa.date32()),
        ("date_transmission", pa.date32()),
        ("pref_id", pa.string()),
        ("pref_date", pa.date32()),
        ("publication_open_data", pa.string()),
        ("decision", pa.string()),
        ("decision_source", pa.string()),
        ("decision_reason", pa.string()),
        ("main_file_name", pa.string()),
        ("main_file_key", pa.string()),
        ("main_file_sha256", pa.string()),
        ("main_is_stamped", pa.bool_()),
        ("annexes", pa.list_(ANNEX_TYPE)),
    ]
)


class ActeRejected(ValueError):
    pass


@dataclass(frozen=True)
class Reject:
    source_id: str
    raw_prefix: str
    siren: str | None
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LeftOut:
    """An annex not published with its act (the act itself is)."""

    source_id: str
    raw_prefix: str
    siren: str
    file: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class NightTransform:
    night: str
    rows: list[dict]
    rejects: list[Reject]
    left_out: list[LeftOut] = field(default_factory=list)


@dataclass(frozen=True)
class ActRules:
    """What an act must be to be staged (``core.config``; the chain passes the run's settings)."""

    earliest: date = ACT_DATE_EARLIEST
    margin_days: int = ACT_DATE_MARGIN_DAYS
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    open_data_codes: Mapping = field(default_factory=lambda: PUBLICATION_OPEN_DATA_CODES)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ActRules":
        return cls(settings.act_date_earliest, settings.act_date_margin_days, settings.max_document_bytes,
                   settings.publication_open_data_codes)

    def check_date(self, value: date | None, field_name: str, night: date) -> date | None:
        """A date no act can carry (year 9999, year 1) is a typo: rejected, never a year of its own."""
        latest = night + timedelta(days=self.margin_days)
        if value is not None and not self.earliest <= value <= latest:
            raise ActeRejected(
                f"{field_name} {value.isoformat()} is implausible: acts are dated from {self.earliest.isoformat()} "
                f"to {latest.isoformat()} (the night + {self.margin_days} days)"
            )
        return value

    def document_problem(self, data: bytes) -> str | None:
        """Why a document cannot be published, or None for a real PDF within the size limit."""
        if len(data) > self.max_document_bytes:
            return f"is larger than the limit of {self.max_document_bytes} bytes ({len(data)} bytes)"
        if not data:
            return "is empty (0 bytes)"
        if not is_pdf(data):
            return "is not a PDF (its bytes do not start with %PDF-)"
        return None


def _text(value) -> str:
    return _WHITESPACE.sub(" ", str(value or "")).strip()


def _file_names(value) -> list[str]:
    """Pastell gives files as lists of names; a lone string is accepted too."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    raise ActeRejected(f"file list {value!r} is neither a name nor a list of names")


def _load_metadata(files: dict[str, bytes]) -> tuple[dict, dict, str, str]:
    """(info, form data, Pastell entity, last action) of an act's metadata.json (S²LOW's mapped by
    ``transform.s2low_acts``)."""
    if "metadata.json" not in files:
        raise ActeRejected("metadata.json is missing")
    try:
        document = load_json(files["metadata.json"].decode("utf-8"))
    except JsonTooDeep as error:
        raise ActeRejected(f"metadata.json is refused: {error}") from None
    except UnicodeDecodeError:
        raise ActeRejected("metadata.json is not UTF-8") from None
    except json.JSONDecodeError as error:
        raise ActeRejected(f"metadata.json is not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict):
        raise ActeRejected("metadata.json is not a JSON object")
    if document.get("source") == S2LOW_FLOW:
        try:
            return s2low_act_fields(document, files)
        except S2lowActError as error:
            raise ActeRejected(str(error)) from None
    # Pastell's document detail nests the form under "data"; older exports are flat.
    data = document["data"] if isinstance(document.get("data"), dict) else document
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    id_e = _text(document.get("id_e") or data.get("id_e"))
    last = document.get("last_action")
    return info, data, id_e, _text(last.get("action")) if isinstance(last, dict) else ""


def _body(data: dict, id_e: str, registry: Registry) -> Body:
    siren = _text(data.get("siren"))
    body = registry.by_siren(siren) if siren else registry.by_id_e(id_e) if id_e else None
    if body is None:
        raise ActeRejected(
            f"body unknown to the registry (siren={siren or '-'}, id_e={id_e or '-'}): add it to the registry"
        )
    return body


def _check_authority(data: dict, files: dict[str, bytes], body: Body, source_id: str, info: dict, id_e: str) -> None:
    """Refuse an act whose ACTES identifier (its acknowledgement's ``IDActe``, Pastell's ``acte_unique_id``)
    names another authority than the body it is filed under: checked first, whatever else is wrong with it."""
    names = [n for n in _file_names(data.get("aractes")) if n in files][:1]
    found = [(f"IDActe of {n!r}", id_acte_of(files[n])) for n in names]
    found.append(("acte_unique_id", _text(data.get("acte_unique_id"))))
    nature = _text(data.get("acte_nature"))
    where, id_acte, other = next(((w, i, o) for w, i in found
                                  if (o := foreign_siren(i, body.siren, nature, body.budget_establishments))),
                                 ("", "", None))
    if other is None:
        return
    through = _text(info.get("connection"))
    came = f"S²LOW connection {through!r}" if through else f"Pastell entity id_e={id_e}" if id_e else "the source"
    raise ActeRejected(
        f"act {source_id} belongs to SIREN {other} ({where} {id_acte!r}), not to body {body.siren} ({body.name}) "
        f"it came for through {came}: refused, never published; check that {came} is body {body.siren}'s own"
    )


def _optional_date(data: dict, field_name: str, night: date, rules: ActRules) -> date | None:
    try:
        value = parse_source_date(data.get(field_name), field_name)
    except ValueError as error:
        raise ActeRejected(str(error)) from None
    return rules.check_date(value, field_name, night)


def _required_date(data: dict, field_name: str, night: date, rules: ActRules) -> date:
    value = _optional_date(data, field_name, night, rules)
    if value is None:
        raise ActeRejected(f"{field_name} is missing")
    return value


def _named_file(files: dict[str, bytes], name: str, field_name: str, raw_prefix: str) -> tuple[str, str]:
    if name not in files:
        raise ActeRejected(f"file {name!r} named in {field_name} is missing from the folder")
    return raw_prefix + name, sha256_hex(files[name])


def normalise_act(
    raw_prefix: str, files: dict[str, bytes], registry: Registry, night: date, source: str,
    rules: ActRules = ActRules(),
) -> dict:
    """One act folder -> one staging row (raises ActeRejected with a readable reason).

    The row's ``left_out`` lists the annexes not published (file, reason): the caller takes it out.
    """
    info, data, id_e, last_action = _load_metadata(files)
    source_id = _text(info.get("id_d")) or PurePosixPath(raw_prefix).name
    body = _body(data, id_e, registry)
    _check_authority(data, files, body, source_id, info, id_e)

    try:
        nature = nature_code(_text(data.get("acte_nature")), _text(data.get("nature_autre_detail")))
    except ValueError as error:
        raise ActeRejected(str(error)) from None
    numero = _text(data.get("numero_de_lacte"))
    if not numero:
        raise ActeRejected("numero_de_lacte is missing")
    objet = _text(data.get("objet"))
    if not objet:
        raise ActeRejected("objet is missing")
    try:
        matiere = parse_classification(_text(data.get("classification")))
    except MatiereError as error:
        raise ActeRejected(str(error)) from None
    decided = _required_date(data, "date_de_lacte", night, rules)
    transmitted = _optional_date(data, "date_tdt_postage", night, rules)

    stamped = _file_names(data.get("acte_tamponne"))
    originals = _file_names(data.get("arrete"))
    if not originals and not stamped:
        raise ActeRejected("no act file: arrete is empty")
    # The stamped copy carries the préfecture's mark: it is the one citizens should read.
    main_name, main_field = (stamped[0], "acte_tamponne") if stamped else (originals[0], "arrete")
    for name in originals:
        _named_file(files, name, "arrete", raw_prefix)
    main_key, main_sha = _named_file(files, main_name, main_field, raw_prefix)
    # A budget's TOTEM XML is read by the budgets chain and never published as a document.
    if not (nature == "5" and carries_private_annexes(main_name)):
        problem = rules.document_problem(files[main_name])
        if problem:
            raise ActeRejected(f"file {main_name!r} named in {main_field} {problem}")
    annexes, left_out = [], []
    for name in _file_names(data.get("autre_document_attache")):
        key, digest = _named_file(files, name, "autre_document_attache", raw_prefix)
        problem = rules.document_problem(files[name])
        if problem:
            left_out.append({"file": name, "reason": f"annex {name!r} {problem}: left out, the act is published"})
            continue
        annexes.append({"name": name, "raw_key": key, "sha256": digest})

    pref_id = pref_date = None
    acknowledgements = _file_names(data.get("aractes"))
    if acknowledgements:
        name = acknowledgements[0]
        if name not in files:
            raise ActeRejected(f"file {name!r} named in aractes is missing from the folder")
        try:
            ack = parse_acknowledgement(files[name], name)
        except AcknowledgementError as error:
            raise ActeRejected(str(error)) from None
        pref_id, pref_date = ack.pref_id, rules.check_date(ack.date_reception, "DateReception", night)

    choice = _text(data.get("publication_open_data"))
    flow = _text(info.get("type")) or source
    decision, decided_by, reason = source_decision(nature, choice, last_action, flow, rules.open_data_codes)
    if not body.automatic_publication and decision != Decision.WITHDRAWN:
        decision, reason = Decision.TO_DECIDE, f"automatic publication is off for this body ({reason})"
    return {
        "source": source,
        "source_id": source_id,
        "version": _text(info.get("last_modification") or info.get("modification")),
        "night": night,
        "raw_prefix": raw_prefix,
        "siren": body.siren,
        "siret": body.siret,
        "coll_nom": body.name,
        "numero": numero,
        "objet": objet,
        "nature_code": nature,
        "classification_raw": _text(data.get("classification")),
        "matiere_code": matiere.code,
        "matiere_nom": matiere.scdl_name,
        "date_decision": decided,
        "date_transmission": transmitted,
        "pref_id": pref_id,
        "pref_date": pref_date,
        "publication_open_data": choice,
        "decision": decision.value,
        "decision_source": decided_by.value,
        "decision_reason": reason,
        "main_file_name": main_name,
        "main_file_key": main_key,
        "main_file_sha256": main_sha,
        "main_is_stamped": bool(stamped),
        "annexes": annexes,
        "left_out": left_out,
    }


def _raw_acts(store: ObjectStore, night: str, source: str,
              only: Callable[[str], bool] = lambda body: True) -> dict[str, list[str]]:
    """Group the night's raw keys by act folder (``.../date=D/[rev=N/]<body>/<id_d>/``), keeping
    the latest revision of each folder (``extract.drop_folder``: raw keeps every one); ``only``: the
    body parts (``siren=…``) to keep (a shard's). Only the drop folder has revisions, by folder name; a
    platform's document under two bodies (one connection that brought another body's acts) is two
    folders, each read and judged."""
    latest: dict[str, tuple[int, str]] = {}
    folders: dict[str, list[str]] = defaultdict(list)
    for key in store.list_keys(raw_night_prefix("actes", source, night)):
        found = raw_act_folder("actes", source, night, key)
        if found and only(found[2].rstrip("/").split("/")[-2]):
            name, revision, prefix = found
            group = name if source == DROP_SOURCE else prefix  # only the drop folder revises a folder
            latest[group] = max(latest.get(group, (0, "")), (revision, prefix))
            folders[prefix].append(key)
    return {prefix: folders[prefix] for prefix in sorted(prefix for _, prefix in latest.values())}


def transform_night(store: ObjectStore, registry: Registry, night: str, source: str = "drop",
                    rules: ActRules = ActRules(), only: Callable[[str], bool] = lambda body: True) -> NightTransform:
    night_date = partition_night(night)  # a short run's rows are staged under the night it falls in
    result = NightTransform(night, [], [])
    read: dict[tuple, str] = {}  # an act's key -> the folder it was read from (one act under two bodies' folders)
    for raw_prefix, keys in _raw_acts(store, night, source, only).items():
        files = {key[len(raw_prefix):]: store.get_bytes(key) for key in keys}
        try:
            row = normalise_act(raw_prefix, files, registry, night_date, source, rules)
            first = read.setdefault((row["siren"], row["source"], row["source_id"]), raw_prefix)
            if first != raw_prefix:
                raise ActeRejected(f"the same act of body {row['siren']} as {first}, read from there once")
        except Exception as error:  # one act that cannot be read never stops the night
            reason = str(error)
            if not isinstance(error, ActeRejected):
                log.exception("act %s could not be read", raw_prefix)
                reason = f"could not be read ({type(error).__name__}: {error}); the traceback is in the task log"
            body_part = raw_prefix.rstrip("/").split("/")[-2]
            siren = body_part.split("=", 1)[1] if body_part.startswith("siren=") else None
            result.rejects.append(Reject(PurePosixPath(raw_prefix).name, raw_prefix, siren, reason))
            continue
        result.left_out += [LeftOut(row["source_id"], raw_prefix, row["siren"], **item) for item in row.pop("left_out")]
        result.rows.append(row)
    return result


def write_shard(store: ObjectStore, result: NightTransform, shard: int, count: int) -> None:
    """One shard's part of a partition (rows, rejects, annexes left out), rewritten whole by a retry."""
    rows = pa.Table.from_pylist(result.rows, schema=STAGING_SCHEMA)
    store.put_bytes(staging_shard_key("actes", result.night, shard, count, "rows.parquet"), table_to_parquet_bytes(rows))
    problems = {"rejects": [r.to_dict() for r in result.rejects], "left_out": [i.to_dict() for i in result.left_out]}
    store.put_bytes(staging_shard_key("actes", result.night, shard, count, "problems.json"),
                    (json.dumps(problems, ensure_ascii=False, indent=0) + "\n").encode("utf-8"))


def read_shards(store: ObjectStore, partition: str, count: int, sources: Mapping[str, int]) -> NightTransform:
    """The ``count`` shards' parts of a partition as one pass over every body gives them: by source (in
    ``sources``' order), then by raw folder."""
    def order(raw_prefix: str) -> tuple[int, str]:
        return sources.get(raw_prefix.split("/")[2], len(sources)), raw_prefix

    result = NightTransform(partition, [], [])
    for shard in range(count):
        result.rows += read_parquet(store, staging_shard_key("actes", partition, shard, count, "rows.parquet")).to_pylist()
        problems = json.loads(store.get_bytes(staging_shard_key("actes", partition, shard, count, "problems.json")))
        result.rejects += [Reject(**r) for r in problems["rejects"]]
        result.left_out += [LeftOut(**i) for i in problems["left_out"]]
    result.rows.sort(key=lambda row: order(row["raw_prefix"]))
    result.rejects.sort(key=lambda r: order(r.raw_prefix))
    result.left_out.sort(key=lambda i: order(i.raw_prefix))
    return result


def staging_key(year: int, night: str) -> str:
    return f"{STAGING_PREFIX}/annee={year}/date={night}.parquet"


def import_staging_key(year: int) -> str:
    """The acts a history import brought for a decision year (``digor import-history``), beside the nights'."""
    return f"{STAGING_PREFIX}/annee={year}/import.parquet"


def add_imported_rows(store: ObjectStore, rows: list[dict]) -> list[int]:
    """Add imported acts to their years' import files (an act already there keeps its first row),
    then rebuild the latest tables. Returns the years written."""
    by_year: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_year[row["date_decision"].year].append(row)
    for year, year_rows in sorted(by_year.items()):
        key = import_staging_key(year)
        try:
            before = read_parquet(store, key).to_pylist()
        except FileNotFoundError:
            before = []
        known = {(r["siren"], r["source"], r["source_id"]) for r in before}
        merged = before + [r for r in year_rows if (r["siren"], r["source"], r["source_id"]) not in known]
        merged.sort(key=lambda r: (r["siren"], r["source"], r["source_id"]))
        store.put_bytes(key, table_to_parquet_bytes(pa.Table.from_pylist(merged, schema=STAGING_SCHEMA)))
    if by_year:
        rebuild_latest(store)
    return sorted(by_year)


def write_staging(store: ObjectStore, result: NightTransform) -> list[int]:
    """Write the night's rows partitioned by decision year; stale partitions of a rerun go.
    The latest version of every act (``latest_versions``) follows: updated with the night's rows
    alone, or rebuilt from every night when a night's file is rewritten or removed.

    Returns every year whose consolidated files must be rebuilt.
    """
    by_year: dict[int, list[dict]] = defaultdict(list)
    for row in result.rows:
        by_year[row["date_decision"].year].append(row)
    listed = staging_keys(store)
    fresh = _latest_state(store) == listed
    rewritten = [key for key in listed if key.endswith(f"/date={result.night}.parquet")]
    if rewritten:
        store.delete(LATEST_STATE)  # a rerun: rebuilt below; a crash before leaves it to rebuild
    emptied = set()
    for key in rewritten:
        year = _year_of(key)
        if year not in by_year:
            store.delete(key)
            emptied.add(year)
    tables = {}
    for year, rows in by_year.items():
        rows = sorted(rows, key=lambda r: (r["siren"], r["source_id"]))
        tables[year] = pa.Table.from_pylist(rows, schema=STAGING_SCHEMA)
        store.put_bytes(staging_key(year, result.night), table_to_parquet_bytes(tables[year]))
    if fresh and not rewritten:
        _update_latest(store, tables, sorted(set(listed) | {staging_key(year, result.night) for year in tables}))
    else:
        rebuild_latest(store)
    return sorted(set(by_year) | emptied)


# ---- the latest version of every act, kept beside the nights' files -------------------------
# ``latest_versions`` needs, for a year, the latest staged version of each act whose latest
# version is decided in that year, wherever its other versions were staged. Reading every
# night's file for that grows with history; the nights' writer keeps instead one table per year
# of those rows, one table of every act's key (its latest version, its years) and the list of
# nights' files they were built from. A reader that finds that list different from the files
# staged (a crash between two writes, files written by other means) computes from the files.

LATEST_PREFIX = staging_latest_prefix("actes")
LATEST_STATE = f"{LATEST_PREFIX}/state.json"
LATEST_KEYS = f"{LATEST_PREFIX}/keys.parquet"
ACT_KEY = ["siren", "source", "source_id"]
VERSION_ORDER = ["night", "version"]  # which of two staged versions of an act is the later
KEYS_SCHEMA = pa.schema([("siren", pa.string()), ("source", pa.string()), ("source_id", pa.string()),
                         ("night", pa.date32()), ("version", pa.string()), ("year", pa.int32()),
                         ("years", pa.list_(pa.int32()))])


def _year_of(key: str) -> int:
    return int(key.split("annee=")[1].split("/")[0])


def staging_keys(store: ObjectStore) -> list[str]:
    """The nights' staging files, every year."""
    return [key for key in store.list_keys(STAGING_PREFIX + "/") if "annee=" in key]


def latest_key(year: int) -> str:
    return f"{LATEST_PREFIX}/annee={year}.parquet"


def _latest_state(store: ObjectStore) -> list[str] | None:
    try:
        return json.loads(store.get_bytes(LATEST_STATE))["files"]
    except FileNotFoundError:
        return None


def _latest_from_files(store: ObjectStore, keys: list[str]) -> tuple[pd.DataFrame, dict[int, pd.DataFrame]]:
    """Every act's key table and each year's latest rows, computed from the nights' files."""
    tables = [_with_year(read_parquet(store, key), _year_of(key)) for key in keys]
    if not tables:
        return _empty_keys(), {}
    every = pa.concat_tables(tables).to_pandas().sort_values(ACT_KEY + VERSION_ORDER, kind="stable")
    years = every.groupby(ACT_KEY, sort=False)["year"].agg(lambda values: sorted(set(values)))
    latest = every.drop_duplicates(ACT_KEY, keep="last").reset_index(drop=True)
    keys = latest[ACT_KEY + VERSION_ORDER + ["year"]].assign(
        years=[years[key] for key in latest[ACT_KEY].itertuples(index=False, name=None)])
    rows = {int(year): group.drop(columns="year").reset_index(drop=True) for year, group in latest.groupby("year")}
    return keys, rows


def _with_year(table: pa.Table, year: int) -> pa.Table:
    return table.append_column("year", pa.array([year] * table.num_rows, pa.int32()))


def _empty_keys() -> pd.DataFrame:
    return KEYS_SCHEMA.empty_table().to_pandas()


def _normalised(table: pd.DataFrame | pa.Table, schema: pa.Schema, order: list[str]) -> pa.Table:
    """A table as the latest tables are written, whichever way it was made (a night's update, a rebuild):
    ``schema``'s columns without pandas metadata, sorted in C (texts by code point, stable), one chunk;
    the same rows give the same bytes."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, schema=schema, preserve_index=False)
    table = table.replace_schema_metadata(None).cast(schema).sort_by([(column, "ascending") for column in order])
    return table.combine_chunks()


def _write_latest(store: ObjectStore, keys: pd.DataFrame | pa.Table, rows: dict[int, pd.DataFrame | pa.Table],
                  files: list[str], gone: set[int] = frozenset()) -> None:
    """Each given year's rows, the keys (a frame, or a table of ``KEYS_SCHEMA``'s columns), then the list
    of files they follow (last: what readers check)."""
    for year, table in sorted(rows.items()):
        if len(table) == 0:
            store.delete(latest_key(year))
        else:
            store.put_bytes(latest_key(year),
                            table_to_parquet_bytes(_normalised(table, STAGING_SCHEMA, ACT_KEY + VERSION_ORDER)))
    for year in gone:
        store.delete(latest_key(year))
    store.put_bytes(LATEST_KEYS, table_to_parquet_bytes(_normalised(keys, KEYS_SCHEMA, ACT_KEY)))
    store.put_bytes(LATEST_STATE, (json.dumps({"files": sorted(files)}, indent=0) + "\n").encode())


def rebuild_latest(store: ObjectStore) -> None:
    """The latest tables computed again from every night's file (a rerun, or tables missing)."""
    files = staging_keys(store)
    keys, rows = _latest_from_files(store, files)
    stale = {int(k.rsplit("annee=", 1)[1].split(".")[0]) for k in store.list_keys(LATEST_PREFIX + "/annee=")}
    _write_latest(store, keys, rows, files, stale - set(rows))


def _read_latest(store: ObjectStore, year: int) -> pa.Table:
    try:
        return read_parquet(store, latest_key(year)).replace_schema_metadata(None).cast(STAGING_SCHEMA)
    except FileNotFoundError:
        return STAGING_SCHEMA.empty_table()


def _update_latest(store: ObjectStore, tables: dict[int, pa.Table], files: list[str]) -> None:
    """The latest tables after a night that only added files (``tables``: its rows by year; ``files``:
    every night's file now)."""
    if not tables:
        return
    night = pa.concat_tables([_with_year(table, year) for year, table in tables.items()]).to_pandas()
    history = read_parquet(store, LATEST_KEYS)  # every act's key: filtered in C, only the night's become a frame
    known = among(_joined_key(history), _joined_keys(night))
    before = history.filter(known).to_pandas()
    candidates = pd.concat([before.drop(columns="years").assign(new=False),
                            night[ACT_KEY + VERSION_ORDER + ["year"]].assign(new=True)], ignore_index=True)
    candidates = candidates.sort_values(ACT_KEY + VERSION_ORDER, kind="stable")
    winners = candidates.drop_duplicates(ACT_KEY, keep="last")
    years_before = {key: list(years) for key, years in zip(before[ACT_KEY].itertuples(index=False, name=None),
                                                            before["years"])}
    years_now = defaultdict(set)
    for key, year in zip(night[ACT_KEY].itertuples(index=False, name=None), night["year"]):
        years_now[key].add(int(year))
    winners = winners.assign(years=[sorted(set(years_before.get(key, [])) | years_now[key])
                                    for key in winners[ACT_KEY].itertuples(index=False, name=None)])
    touched = set(before["year"].astype(int)) | set(winners["year"].astype(int))
    moved_out = _joined_keys(before)
    new_rows = night.merge(winners.loc[winners["new"], ACT_KEY + VERSION_ORDER], on=ACT_KEY + VERSION_ORDER)
    rows = {}
    for year in sorted(touched):  # each year's rows filtered in C: only the night's are a frame
        current = _read_latest(store, year)
        joined = _joined_key(current)
        kept_old = winners[(~winners["new"]) & (winners["year"] == year)]
        old_rows = current.filter(among(joined, _joined_keys(kept_old)))
        added = pa.Table.from_pandas(new_rows[new_rows["year"] == year].drop(columns="year"), schema=STAGING_SCHEMA,
                                     preserve_index=False).replace_schema_metadata(None)
        rows[year] = pa.concat_tables([current.filter(pc.invert(among(joined, moved_out))), old_rows, added])
    winners = pa.Table.from_pandas(winners.drop(columns="new"), schema=KEYS_SCHEMA, preserve_index=False)
    keys = pa.concat_tables([history.filter(pc.invert(known)).replace_schema_metadata(None).cast(KEYS_SCHEMA),
                             winners.replace_schema_metadata(None)])
    _write_latest(store, keys, rows, files)


# An act's key as one text: a SIREN and a source name hold no control character, so the joined text
# names one act whatever its source's id holds.
_JOIN = "\x1f"


def _joined_key(table: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(*(table[column] for column in ACT_KEY), _JOIN)


def _joined_keys(frame: pd.DataFrame) -> list[str]:
    """``_joined_key`` of a frame's rows."""
    return [_JOIN.join(key) for key in frame[ACT_KEY].itertuples(index=False, name=None)]


def latest_keys(store: ObjectStore) -> pd.DataFrame:
    """``ACT_KEY``, the night and version of each act's latest version, its decision year, and every
    year a version of it was staged under (``years``)."""
    files = staging_keys(store)
    if _latest_state(store) == files:
        return read_parquet(store, LATEST_KEYS).to_pandas()
    return _latest_from_files(store, files)[0]


def latest_keys_where(store: ObjectStore, keep: Callable[[pa.Table], pa.ChunkedArray]) -> pd.DataFrame:
    """The rows of ``latest_keys`` that ``keep`` selects (an Arrow mask of the table): the history's
    table filtered in C before it becomes a frame (a night looks up a few thousand of its acts)."""
    files = staging_keys(store)
    if _latest_state(store) == files:
        table = read_parquet(store, LATEST_KEYS)
    else:
        table = pa.Table.from_pandas(_latest_from_files(store, files)[0], schema=KEYS_SCHEMA, preserve_index=False)
    return table.filter(keep(table)).to_pandas()


def among(column: pa.ChunkedArray, values: Iterable[str]) -> pa.ChunkedArray:
    """The mask of a text column's cells that are among ``values``."""
    return pc.is_in(column, value_set=pa.array(sorted(set(values)), type=column.type))


def latest_rows(store: ObjectStore, year: int) -> pd.DataFrame:
    """The staging rows of the acts whose latest version is decided in ``year`` (that version)."""
    files = staging_keys(store)
    if _latest_state(store) == files:
        return _read_latest(store, year).to_pandas()
    rows = _latest_from_files(store, files)[1]
    return rows.get(year, STAGING_SCHEMA.empty_table().to_pandas())


def staged_years(store: ObjectStore) -> list[int]:
    keys = store.list_keys(STAGING_PREFIX + "/")
    return sorted({int(k.split("annee=")[1].split("/")[0]) for k in keys if "annee=" in k})
