"""The DECP chain: the platform's exports to DECP 2.0.2, the flat table, Focus marchés and data.gouv.fr.

A night: the platform's export files of that night go to the raw zone (``extract``), every
object read becomes a staging row, valid or not (``transform``), then each touched year is
consolidated and published (``publish_year``): duplicates removed, regulatory JSON (2.0.2),
history JSON (1.5.0), flat table (CSV + Parquet), rejects report, Focus marchés widget files
per buyer. The widget indexes, data.gouv.fr and the run report follow. Every step returns a
small JSON-serialisable summary.

Names, sizes and places come from the SIRENE cache when there is one (``enrichment``):

- name of a buyer or titulaire: a body of the registry first (its SIRET, or another
  establishment of its SIREN; the registry as the cache keeps it right, so its accented
  spelling stays when it is the register's name), then the register's name under its
  diffusion rules (a person who asked not to be published is ``[NON DIFFUSIBLE]``, whatever
  the data sent), then the name the 2019-format data carried (``denominationSociale``), kept
  only where the register has none, else ``null``;
- per titulaire, the SME flag and the département of the establishment: the register's, else
  ``null`` (unknown: left out of the SME share).

Without a cache every name but the registry's and the 2019 data's is ``null`` and every SME
flag unknown; the chain runs the same. The widget step registers every buyer and titulaire
it publishes with the SIRENE chain (``private/sirene/wanted/decp.json``), so the next monthly
refresh keeps them. When the cache moves to another month, the next night republishes every
staged year (``years_to_publish``), so the published names follow it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path

import pandas as pd

from chains.body_switches import failed_bodies, switch_each
from chains.chain import Chain, Dataset, NightMarks, publish_catalogue_and_map, quarantined_rows
from chains.publication import PublicationRefused, publish_prepared
from core.config import Settings
from core.jsonio import compact_json_bytes
from core.jsonio import json_bytes as _dumps
from core.keys import DECP_NAMES_MONTH_KEY, DECP_PENDING_KEY, public_prefix, raw_prefix, widget_drafts
from core.parallel import WorkerPool
from core.registry import Registry, body_registry
from core.store import LocalStore, ObjectStore, put_if_changed, sha256_hex
from extract import decp_drop, decp_platform
from load.public_files import (
    MANIFEST_NAME,
    PublishedFile,
    prepare_table,
    publish_document,
    switch_dataset_manifest,
    withdraw_slot,
)
from load.versions import Fingerprints, is_version, json_text_fingerprint, publish_file_set, read_json
from transform.decp_consolidate import VERSION_2022, Consolidated
from transform.decp_output import (
    VERSION_2019,
    RegulatorySpool,
    count_objects,
    counts_by_file,
    document_bytes,
    document_objects,
    history_document,
    reject_rows,
    rejects_csv,
)
from transform.decp_staging import (
    NightTransform,
    staged_years,
    transform_night,
    write_staging,
    write_year_staging,
)
from transform.decp_table import NameLookup, column_frame, table_columns
from transform.decp_widget import (
    INDEX_FILE,
    INDICATORS_FILE,
    EntityLookup,
    add_entries,
    buyer_prefix,
    index_document,
    indicators_document,
    newest_first,
    year_document,
    year_file,
)
from transform.decp_year import CURRENT, StagedYear
from validate.decp_jsonschema import document_errors, staged_document_errors

SOURCES = (decp_drop.SOURCE, decp_platform.SOURCE, "cli")
PUBLIC_PREFIX = public_prefix("decp")
NAMES_MONTH_KEY = DECP_NAMES_MONTH_KEY  # the SIRENE month of the names last published
MAX_REPORTED_REJECTS = 2000
DATASET = "decp"
# Each buyer's year documents before their switch into its public folder (``_publish_widgets``).
WIDGET_DRAFTS = widget_drafts("marches")


def json_key(year: int) -> str:
    return f"{PUBLIC_PREFIX}/decp-{year}.json"


def history_key(year: int) -> str:
    return f"{PUBLIC_PREFIX}/decp-{year}-format-2019.json"


def table_base_key(year: int) -> str:
    return f"{PUBLIC_PREFIX}/decp-{year}"


def rejects_key(year: int) -> str:
    return f"{PUBLIC_PREFIX}/rejets/decp-rejets-{year}.csv"


def registry_names(registry: Registry) -> NameLookup:
    """Names of the registry's bodies: a SIRET of another establishment of a body gets its name (same SIREN)."""
    by_siret = {body.siret: body.name for body in registry.bodies}
    by_siren = {body.siren: body.name for body in registry.bodies}

    def lookup(identifier: str) -> str | None:
        if identifier in by_siret:
            return by_siret[identifier]
        return by_siren.get(identifier[:9]) if len(identifier) == 14 and identifier.isdigit() else None

    return lookup


def enrichment(settings: Settings, registry: Registry) -> tuple[NameLookup, EntityLookup]:
    """(names, entities) of buyers and titulaires, the SIRENE cache read once (rules in the module docstring)."""
    from chains.sirene import register_lookup, registry_with_register

    bodies = registry_names(registry_with_register(settings, registry))
    register = register_lookup(settings)
    entity_of = register.lookup
    cache: dict[str, object] = {}

    def entity(identifier: str):
        if identifier not in cache:
            cache[identifier] = entity_of(identifier) if identifier else None
        return cache[identifier]

    named: dict[str, str | None] = {}

    def name(identifier: str) -> str | None:
        if not identifier:
            return None
        if identifier not in named:  # a buyer or titulaire comes back row after row
            named[identifier] = bodies(identifier) or register.name(identifier) or None
        return named[identifier]

    return name, entity


def name_lookup(settings: Settings, registry: Registry) -> NameLookup:
    """identifier -> name: the registry's bodies, then the SIRENE register (see ``enrichment``)."""
    return enrichment(settings, registry)[0]


# Extract


def _extract(settings: Settings, store: ObjectStore, night: str) -> dict:
    if settings.decp_source == decp_platform.SOURCE:
        client = decp_platform.PlatformClient(decp_platform.credentials_from_connection(settings.decp_conn_id))
        try:
            files, skipped = decp_platform.extract_night(store, client, night), []
        finally:
            client.close()
    elif settings.decp_source == decp_drop.SOURCE:
        files, skipped = decp_drop.extract_night(store, settings.decp_drop_dir, night, settings.decp_max_file_bytes)
    else:
        raise ValueError(f"DIGOR_DECP_SOURCE={settings.decp_source!r}: use 'drop' or 'platform'")
    return {"night": night, "source": settings.decp_source, "files": [f.to_dict() for f in files], "skipped": skipped}


# Transform


def worker_pool(settings: Settings, workers: int | None = None) -> WorkerPool:
    """The processes that stage a night's large exports (and convert the years of ``convert_files``)."""
    return WorkerPool(workers or settings.decp_workers, preload=("chains.decp",),
                      hint="nothing published was changed; rerun (DIGOR_DECP_WORKERS=1 works in one process)")


def _transform(store: ObjectStore, night: str, pool: WorkerPool) -> dict:
    with tempfile.TemporaryDirectory(prefix="digor-decp-staging-") as spool:
        result = transform_night(store, night, SOURCES, Path(spool), pool=pool)
        return _transformed(result, write_staging(store, result))


def _transformed(result: NightTransform, years: list[int]) -> dict:
    """The transform's summary (its files' counts) of the night's staging."""
    files = [f.to_dict() for f in result.files]
    return {
        "night": result.night,
        "years": years,
        "files": files,
        "objects": sum(f["read"] for f in files),
        "valid": sum(f["valid"] for f in files),
        "invalid": sum(f["invalid"] for f in files),
        "unreadable": [f["file"] for f in files if f["error"]],
    }


def _names_month(store: ObjectStore) -> str | None:
    return (read_json(store, NAMES_MONTH_KEY) or {}).get("mois")


def _years_to_publish(store: ObjectStore, transformed: dict, force_rebuild: bool) -> list[int]:
    """The years the night touched; every staged year when asked, or when the SIRENE cache has moved
    to another month since the last publication (names, SME flags and départements follow it)."""
    from chains.sirene import current_month

    if force_rebuild or _names_month(store) != current_month(store):
        return staged_years(store)
    return list(transformed["years"])


# Publish a year


def _file_info(store: ObjectStore, key: str, fmt: str, rows: int, data: bytes, schema: str | None) -> dict:
    changed = put_if_changed(store, key, data)
    return PublishedFile(key, fmt, rows, len(data), sha256_hex(data), schema or "", changed).to_dict()


def _publish_json(store: ObjectStore, key: str, version: str, slot: str, count: int, data: Callable[[], bytes | Path],
                  errors: Callable[[], list], records: Callable[[], Iterable]) -> dict | None:
    """Validate the whole file against its format, then write it as the slot's next version (switched
    with the dataset's manifest); an empty year has no file."""
    if count == 0:
        withdraw_slot(store, PUBLIC_PREFIX, slot)
        return None
    found = errors()
    if found:
        details = "\n".join(f"  {e.champ}: {e.message}" for e in found[:20])
        raise PublicationRefused(f"{key} fails DECP {version}; nothing published:\n{details}")
    return publish_document(store, key, "json", data(), count, f"decp@{version}", slot, records()).to_dict()


def _publish_regulatory(store: ObjectStore, year: int, spool: RegulatorySpool, version: str,
                        folder: Path) -> dict | None:
    """The year's 2022-format objects, assembled on disk from their staged texts (``RegulatorySpool``)."""
    return _publish_json(store, json_key(year), version, f"{year}-json", len(spool),
                         lambda: spool.write(folder / json_key(year).rsplit("/", 1)[1]),
                         lambda: staged_document_errors(version, spool.lists(version != VERSION_2022), VERSION_2022,
                                                        spool.repeated),
                         lambda: Fingerprints(sorted(spool.records)))


def _publish_history(store: ObjectStore, year: int, kept: list[dict], names: NameLookup, version: str) -> dict | None:
    document = history_document(kept, names)
    return _publish_json(store, history_key(year), version, f"{year}-json_historique", count_objects(document),
                         lambda: document_bytes(document), lambda: document_errors(document, version),
                         lambda: document_objects(document))


def _widget_year_files(store: ObjectStore, year: int, by_buyer: dict[str, list[dict]]) -> list[str]:
    """Keep the year document of every buyer with contracts (privately, until the buyer's files are
    switched by ``publish_widgets``); drop it for buyers left without. Returns the buyers touched."""
    had = {key.split("/")[-2] for key in store.list_keys(WIDGET_DRAFTS + "/") if key.endswith("/" + year_file(year))}
    for siret in sorted(had | set(by_buyer)):
        key = f"{WIDGET_DRAFTS}/{siret}/{year_file(year)}"
        if siret not in by_buyer:
            store.delete(key)
        else:
            put_if_changed(store, key, compact_json_bytes(year_document(siret, year, by_buyer[siret])))
    return sorted(had | set(by_buyer))


def _publish_year(settings: Settings, store: ObjectStore, year: int, night: str | None = None,
                  widgets: bool = True) -> dict:
    """Consolidate every night staged for ``year`` and publish the year's files.

    The kept objects come a batch at a time (``transform.decp_year``, ``decp_publish_batch_rows``):
    the regulatory JSON, the table and the widget entries are made from each batch as it comes, so
    the year's memory follows the batch, not the year (the 2019-format history is held whole).
    ``night`` limits the per-file counts and the rejects listed in the result to the files
    received that night (the run report's scope); the public rejects report has them all.
    ``widgets=False`` (``digor convert decp``) leaves the buyers' widget files out.
    """
    registry = body_registry(settings)
    names, entities = enrichment(settings, registry)
    with tempfile.TemporaryDirectory(prefix="digor-decp-year-") as folder:
        staged = StagedYear(store, year, Path(folder), settings.decp_publish_batch_rows)
        spool = RegulatorySpool(Path(folder), json_text_fingerprint)
        try:
            return _publish_staged(settings, store, year, staged, spool, names, entities, night, widgets,
                                   Path(folder))
        finally:
            spool.close()


def _publish_staged(settings: Settings, store: ObjectStore, year: int, staged: StagedYear, spool: RegulatorySpool,
                    names: NameLookup, entities: EntityLookup, night: str | None, widgets: bool,
                    folder: Path) -> dict:
    consolidated = Consolidated([], staged.duplicates, staged.rejected)
    rejects = reject_rows(consolidated)
    by_file = counts_by_file(consolidated, staged.kept_per_file)
    history: list[dict] = []
    by_buyer: dict[str, list[dict]] = {}
    schema = settings.schema("decp-table")

    def frames(first_pass: bool = False) -> Iterator[pd.DataFrame]:
        start = 0
        for batch in staged.kept_batches():
            current = {(row["file_key"], row["position"]) for row in batch if row[CURRENT]}
            if first_pass:  # the year's other files are made on the same pass
                spool.add(batch)
                history.extend(row for row in batch if row["version"] == VERSION_2019)
                if widgets:
                    add_entries(by_buyer, batch, current, names, entities)
            frame = column_frame(table_columns(batch, names, current))
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame

    table = prepare_table(frames(first_pass=True), schema, folder / f"{table_base_key(year).rsplit('/', 1)[1]}.csv")
    files: dict[str, list[dict]] = {"json": [], "json_historique": [], "table": [], "rejets": []}
    quarantined: list[dict] = []
    regulatory = _publish_regulatory(store, year, spool, settings.schema_versions["decp"], folder)
    spool.close()  # its fingerprints and digests are not needed past its file: not beside the table's validation
    for name, info in (
        ("json", regulatory),
        ("json_historique", _publish_history(store, year, history, names,
                                             settings.schema_versions["decp-historique"])),
    ):
        files[name] += [info] if info else []
    if table.rows:
        table_files, report, left_out = publish_prepared(store, table, frames, table_base_key(year), schema,
                                                         versioned=True, slot=f"{year}-table")
        files["table"] = [f.to_dict() for f in table_files]
        if left_out is not None:
            quarantined = quarantined_rows(report, left_out, table_files[0].key, ["uid", "titulaire_id"])
    else:
        withdraw_slot(store, PUBLIC_PREFIX, f"{year}-table")
    del table
    buyers = _widget_year_files(store, year, newest_first(by_buyer)) if widgets else []
    files["rejets"] = [_file_info(store, rejects_key(year), "csv", len(rejects), rejects_csv(rejects), None)]
    rows = consolidated.rejected + [c for c, _ in consolidated.duplicates]
    scope = {k for k, v in by_file.items()} if night is None else (
        {row["file_key"] for row in rows if row["night"] == night}
        | staged.kept_files.get(night, set()))
    return {
        "year": year,
        "files": files,
        "published": len(staged),
        "published_2022": len(spool),
        "invalid": sum(1 for r in consolidated.rejected if r["position"]),
        "duplicates": len(consolidated.duplicates),
        "by_file": {key: dict(counts) for key, counts in sorted(by_file.items()) if key in scope},
        "rejects": [r for r in rejects if night is None or r["date_reception"] == night][:MAX_REPORTED_REJECTS],
        "quarantined_rows": quarantined,
        "bodies": buyers,
    }


# Widget indexes


def _publish_widgets(settings: Settings, store: ObjectStore, buyers: Iterable[str] | None, chain: str) -> list[str]:
    """Switch the regional files' manifest to the versions the years wrote (the stable names
    follow), then each buyer's Focus marchés files as one set: its year files, indicators and
    manifest, the manifest last (a widget reads the old set or the new one, never a mix).
    ``buyers`` None: every buyer with widget drafts, and every body looked up in the catalogue.

    Registers the buyers and titulaires with the SIRENE chain, so that the next monthly
    refresh of the cache keeps them (one task: no concurrent writer of that list).
    """
    from chains.sirene import current_month, register_identifiers

    written = [switch_dataset_manifest(store, PUBLIC_PREFIX, DATASET, settings.version_retention_days)["manifest"]]
    switched = None if buyers is None else {siret[:9] for siret in buyers}
    if buyers is None:
        buyers = {key.split("/")[-2] for key in store.list_keys(WIDGET_DRAFTS + "/")}
    registry = body_registry(settings)
    names = name_lookup(settings, registry)
    seen: set[str] = set()

    def switch(siret: str) -> list[str]:
        drafts = f"{WIDGET_DRAFTS}/{siret}/"
        files: dict[str, bytes] = {}
        years: dict[int, list[dict]] = {}
        for key in store.list_keys(drafts):
            name = key[len(drafts):]
            if name.startswith("contrats-") and name.endswith(".json"):
                files[name] = store.get_bytes(key)
                try:
                    years[int(name[len("contrats-"):-len(".json")])] = json.loads(files[name])["contrats"]
                except (ValueError, KeyError, TypeError) as error:
                    raise ValueError(f"{key} cannot be read ({error})") from error
        seen.update([siret] + [h["id"] for entries in years.values() for e in entries for h in e["titulaires"]
                               if h["id"] and h["type_identifiant"] in ("SIRET", None)])
        if years:
            body = next((b for b in registry.bodies if b.siret == siret), None)
            widget = dict(body.widget) if body else {}
            files[INDICATORS_FILE] = compact_json_bytes(indicators_document(siret, years))
            files[INDEX_FILE] = compact_json_bytes(index_document(siret, names(siret), registry.publisher, years, widget))
        return publish_file_set(store, buyer_prefix(siret).rstrip("/"), files, INDEX_FILE,
                                settings.version_retention_days,
                                records={year_file(year): entries for year, entries in years.items()})

    written += switch_each(store, chain, sorted(set(buyers) | failed_bodies(store, chain)), switch, str)
    register_identifiers(settings, seen, "decp")
    put_if_changed(store, NAMES_MONTH_KEY, _dumps({"mois": current_month(store)}))
    return written + publish_catalogue_and_map(settings, store, registry, switched)


# Report


def build_report(night: str, extracted: dict, transformed: dict, years: list[dict], datagouv: list[dict]) -> dict:
    """Per file of the night: objects read = published + rejected (invalid + duplicates)."""
    counts: dict[str, Counter] = {}
    for year in years:
        for key, file_counts in year["by_file"].items():
            counts.setdefault(key, Counter()).update(file_counts)
    files = []
    for file in transformed["files"]:
        c = counts.get(file["file"], Counter())
        files.append({
            **{k: file[k] for k in ("file", "name", "source", "format", "syntax", "read", "error")},
            "published": c["published"],
            "rejected": c["invalid"] + c["duplicates"],
            "invalid": c["invalid"],
            "duplicates": c["duplicates"],
            "balanced": file["read"] == c["published"] + c["invalid"] + c["duplicates"],
        })
    buyers: dict[str, Counter] = {}
    for year in years:
        for reject in year["rejects"]:
            buyers.setdefault(reject["acheteur_id"] or "inconnu", Counter())[f"rejets_{reject['statut']}"] += 1
    return {
        "chain": "decp",
        "night": night,
        "totals": {
            "files": len(files),
            "read": sum(f["read"] for f in files),
            "published": sum(f["published"] for f in files),
            "rejected": sum(f["rejected"] for f in files),
            "invalid": sum(f["invalid"] for f in files),
            "duplicates": sum(f["duplicates"] for f in files),
            "unreadable_files": sum(1 for f in files if f["error"]),
            "quarantined_rows": sum(len(y["quarantined_rows"]) for y in years),
            "years_published": [y["year"] for y in years],
            "datagouv_held_back": [d["resource"] for d in datagouv if d.get("status") == "held-back"],
        },
        "files": files,
        "skipped_files": extracted.get("skipped", []),
        "rejected": [r for y in years for r in y["rejects"]],
        "quarantined_rows": [q for y in years for q in y["quarantined_rows"]],
        "published_files": [f for y in years for files in y["files"].values() for f in files],
        "buyers": {siret: dict(sorted(c.items())) for siret, c in sorted(buyers.items())},
        "datagouv": datagouv,
    }


def summary_lines(report: dict) -> list[str]:
    t = report["totals"]
    lines = [
        f"decp {report['night']}: {t['files']} files, {t['read']} objects read = {t['published']} published + "
        f"{t['rejected']} rejected ({t['invalid']} invalid, {t['duplicates']} duplicates); "
        f"{t['unreadable_files']} unreadable files; years published {t['years_published']}"
    ]
    for file in report["files"]:
        status = f"unreadable: {file['error']}" if file["error"] else (
            f"{file['read']} read = {file['published']} published + {file['rejected']} rejected")
        lines.append(f"  {file['name']} ({file['format'] or '?'}): {status}")
    for item in report["datagouv"]:
        if item.get("status") == "held-back":
            lines.append(f"  data.gouv.fr: {item['resource']} held back: {item['reason']}")
    return lines


class DecpChain(Chain):
    name = "decp"
    main_schema = "decp"
    datasets = {
        "json": Dataset(DATASET, "decp",
                        "Données essentielles de la commande publique {year} (format réglementaire 2.0.2, JSON)",
                        "objets"),
        "json_historique": Dataset(DATASET, "decp-historique",
                                   "Données essentielles de la commande publique {year} reçues au format 2019 "
                                   "(1.5.0, JSON)", "objets"),
        "table": Dataset(DATASET, None, "Données essentielles de la commande publique {year}, table à plat ({fmt})"),
    }
    diff_keys = {"table": ["uid", "modification_id", "titulaire_id"]}
    empty_night = {"files": [], "skipped": []}
    pending = NightMarks(DECP_PENDING_KEY)  # a night whose every retry failed is finished by the next run

    def raw_prefixes(self, settings: Settings) -> list[str]:
        return [raw_prefix(self.name, source) + "/" for source in SOURCES]

    def extract(self, settings: Settings, night: str, until: str | None = None) -> dict:
        """The night's exports, after those of the nights an earlier run fetched and never reported: the
        source lists exports by night, so the next night's run would not see them again."""
        store = self.store(settings)
        nights = self.nights_to_transform(settings, [night])
        fetched = [_extract(settings, store, n) for n in nights]
        return {**fetched[-1], "nights": nights, "files": [f for e in fetched for f in e["files"]],
                "skipped": [s for e in fetched for s in e["skipped"]]}

    def transform(self, settings: Settings, night: str) -> dict:
        with worker_pool(settings) as pool:
            transformed = _transform(self.store(settings), night, pool)
        unreadable = [{"file": f["file"], "reason": f["error"]} for f in transformed["files"] if f["error"]]
        self.write_quarantine(settings, night, {"unreadable_files": unreadable})
        return transformed

    def years_to_publish(self, settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
        return _years_to_publish(self.store(settings), transformed, force_rebuild)

    def publish_year(self, settings: Settings, year: int, bodies: Iterable[str] | None = None,
                     night: str | None = None) -> dict:
        """Every buyer of the year is rebuilt: consolidation runs over the whole year."""
        return _publish_year(settings, self.store(settings), year, night)

    def publish_widgets(self, settings: Settings, bodies: Iterable[str] | None) -> list[str]:
        return _publish_widgets(settings, self.store(settings), bodies, self.name)

    def build_report(self, night: str, extracted: dict, transformed: dict, years: list[dict], widgets: list[str],
                     datagouv: list[dict]) -> dict:
        return build_report(night, extracted, transformed, years, datagouv)

    def summary_lines(self, report: dict) -> list[str]:
        return summary_lines(report)


CHAIN = DecpChain()


# Conversion of local files (``digor convert decp``)


def _converted_year(job: tuple[Settings, NightTransform, int]) -> dict:
    """One year of ``convert_files``: its staging partition written from the night's spool, then the year
    published in the throwaway store (years are independent there: no lease, no widgets, each its own
    slots), in a worker process when there are several."""
    settings, result, year = job
    store = LocalStore(Path(settings.store_url))
    write_year_staging(store, result, year)
    return _publish_year(settings, store, year, result.night, widgets=False)


def year_publishers(workers: int, years: int) -> int:
    """Processes publishing ``convert_files``' years: one per year, one more than the workers at most (three
    years on two cores end together instead of the third alone after the others); one for one worker."""
    return 1 if workers == 1 else min(years, workers + 1)


def _taken_out(source: Path, target: Path) -> None:
    """A file of ``convert_files``' throwaway store put at ``target`` as a copy would leave it (its bytes, the
    mode a new file gets, or the mode of the file it replaces), by a rename where it can: a national year's
    files weigh gigabytes, which a copy writes again before the store is deleted."""
    try:
        with open(target, "xb"):  # made as a copy would make it: its mode from this process's umask
            pass
    except FileExistsError:
        shutil.copyfile(source, target)
        return
    try:
        os.chmod(source, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(source, target)
    except OSError:  # another file system: copied into the file just made, which keeps its mode
        shutil.copyfile(source, target)


def convert_files(paths: list[Path], out_dir: Path, night: str | None = None,
                  registry_path: Path | None = None, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Run the chain's own code on local files and write the published files to ``out_dir``.

    The files go through a throwaway store exactly as a night of the DAG: raw, staging,
    consolidation, validation. ``night`` (default today) is the reference date after which
    a date is in the future. ``out_dir`` receives the year files (JSON, CSV, Parquet), the
    rejects reports and ``rapport.json``: per file, objects read = published + rejected.
    """
    night = night or date.today().isoformat()
    with tempfile.TemporaryDirectory(prefix="digor-convert-") as folder:
        store = LocalStore(Path(folder) / "store", link_files=True)  # the exports are read, never changed
        for path in paths:
            progress(f"read {path.name}")
            decp_drop.store_raw(store, "cli", night, path.name, path)
        defaults = Settings.from_env()
        settings = defaults.with_overrides(
            store_url=str(store.root), datagouv_mode="dry-run",
            registry_path=registry_path or defaults.registry_path,
        )
        with tempfile.TemporaryDirectory(prefix="digor-decp-staging-") as spool:
            with worker_pool(settings) as pool:  # let go before the years: their workers start afresh
                result = transform_night(store, night, SOURCES, Path(spool), pool=pool)
            transformed = _transformed(result, write_staging(store, result, years=False))
            progress("publish " + ", ".join(map(str, transformed["years"])))
            with worker_pool(settings, year_publishers(settings.decp_workers, len(transformed["years"]))) as pool:
                years = list(pool.map(_converted_year, [(settings, result, year) for year in transformed["years"]],
                                      "publishing the DECP years"))
        switch_dataset_manifest(store, PUBLIC_PREFIX, DATASET, settings.version_retention_days)
        report = build_report(night, {"skipped": []}, transformed, years, [])
        out_dir.mkdir(parents=True, exist_ok=True)
        for key in store.list_keys(PUBLIC_PREFIX + "/"):
            if is_version(key.rsplit("/", 1)[1]) or key == f"{PUBLIC_PREFIX}/{MANIFEST_NAME}":
                continue  # the stable names are the files a user asked for
            target = out_dir / key[len(PUBLIC_PREFIX) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            _taken_out(store.root / key, target)
        (out_dir / "rapport.json").write_bytes(_dumps(report))
    return {"report": report, "summary": summary_lines(report), "out_dir": str(out_dir)}
