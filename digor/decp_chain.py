"""The DECP chain as plain steps, shared by the Airflow DAG, ``digor run decp`` and ``digor convert decp``.

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
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

from digor.config import DATAGOUV_SCHEMA_NAMES, Settings
from digor.overlay_store import chain_store
from digor.registry import Registry, load_registry
from digor.run_report import report_key, write_report_document
from digor.store import LocalStore, ObjectStore, put_if_changed, sha256_hex
from extract import decp_drop, decp_platform
from load.datagouv_publisher import ResourceUpload, make_publisher
from load.public_files import (
    MANIFEST_NAME, PublicationRefused, PublishedFile, publish_document, publish_table, switch_dataset_manifest,
    withdraw_slot,
)
from load.versions import is_version, read_json
from load.widget_catalogue import publish_catalogue
from transform.decp_consolidate import consolidate
from transform.decp_output import (
    count_objects,
    counts_by_file,
    document_bytes,
    history_document,
    reject_rows,
    rejects_csv,
    regulatory_document,
)
from transform.decp_staging import staged_rows, staged_years, transform_night, write_staging
from transform.decp_table import NameLookup, table_frame, table_rows
from transform.decp_widget import (
    INDEX_FILE,
    INDICATORS_FILE,
    EntityLookup,
    buyer_prefix,
    entries_by_buyer,
    index_document,
    indicators_document,
    json_bytes,
    year_document,
    year_file,
)
from validate.decp_jsonschema import document_errors

CHAIN = "decp"
SOURCES = (decp_drop.SOURCE, decp_platform.SOURCE, "cli")
PUBLIC_PREFIX = "public/decp"
NAMES_MONTH_KEY = "private/decp/mois-sirene.json"  # the SIRENE month of the names last published
MAX_REPORTED_REJECTS = 2000
DATASET = "decp"


def _store(settings: Settings) -> ObjectStore:
    return chain_store(settings)


def _dumps(document) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


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
    from digor.sirene_chain import entity_lookup, registry_with_register

    bodies = registry_names(registry_with_register(settings, registry))
    entity_of = entity_lookup(settings)
    cache: dict[str, object] = {}

    def entity(identifier: str):
        if identifier not in cache:
            cache[identifier] = entity_of(identifier) if identifier else None
        return cache[identifier]

    def name(identifier: str) -> str | None:
        if not identifier:
            return None
        found = entity(identifier)
        return bodies(identifier) or (found.nom if found is not None and found.nom else None)

    return name, entity


def name_lookup(settings: Settings, registry: Registry) -> NameLookup:
    """identifier -> name: the registry's bodies, then the SIRENE register (see ``enrichment``)."""
    return enrichment(settings, registry)[0]


# Extract


def extract_step(settings: Settings, night: str) -> dict:
    store = _store(settings)
    if settings.decp_source == decp_platform.SOURCE:
        client = decp_platform.PlatformClient(decp_platform.credentials_from_connection(settings.decp_conn_id))
        try:
            files, skipped = decp_platform.extract_night(store, client, night), []
        finally:
            client.close()
    elif settings.decp_source == decp_drop.SOURCE:
        files, skipped = decp_drop.extract_night(store, settings.decp_drop_dir, night)
    else:
        raise ValueError(f"DIGOR_DECP_SOURCE={settings.decp_source!r}: use 'drop' or 'platform'")
    return {"night": night, "source": settings.decp_source, "files": [f.to_dict() for f in files], "skipped": skipped}


# Transform


def transform_step(settings: Settings, night: str) -> dict:
    store = _store(settings)
    result = transform_night(store, night, SOURCES)
    years = write_staging(store, result)
    files = [f.to_dict() for f in result.files]
    return {
        "night": night,
        "years": years,
        "files": files,
        "objects": sum(f["read"] for f in files),
        "valid": sum(f["valid"] for f in files),
        "invalid": sum(f["invalid"] for f in files),
        "unreadable": [f["file"] for f in files if f["error"]],
    }


def _names_month(store: ObjectStore) -> str | None:
    return (read_json(store, NAMES_MONTH_KEY) or {}).get("mois")


def years_to_publish(settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
    """The years the night touched; every staged year when asked, or when the SIRENE cache has moved
    to another month since the last publication (names, SME flags and départements follow it)."""
    from digor.sirene_chain import current_month

    store = _store(settings)
    if force_rebuild or _names_month(store) != current_month(store):
        return staged_years(store)
    return list(transformed["years"])


# Publish a year


def _file_info(store: ObjectStore, key: str, fmt: str, rows: int, data: bytes, schema: str | None) -> dict:
    changed = put_if_changed(store, key, data)
    return PublishedFile(key, fmt, rows, len(data), sha256_hex(data), schema or "", changed).to_dict()


def _publish_json(store: ObjectStore, key: str, document: dict, version: str, slot: str) -> dict | None:
    """Validate the whole file against its format, then write it as the slot's next version (switched
    with the dataset's manifest); an empty year has no file."""
    count = count_objects(document)
    if count == 0:
        withdraw_slot(store, PUBLIC_PREFIX, slot)
        return None
    errors = document_errors(document, version)
    if errors:
        details = "\n".join(f"  {e.champ}: {e.message}" for e in errors[:20])
        raise PublicationRefused(f"{key} fails DECP {version}; nothing published:\n{details}")
    return publish_document(store, key, "json", document_bytes(document), count, f"decp@{version}", slot).to_dict()


def _widget_year_files(store: ObjectStore, year: int, by_buyer: dict[str, list[dict]]) -> tuple[list[str], list[str]]:
    """Rewrite the year file of every buyer with contracts; remove it for buyers left without."""
    had = {key.split("/")[-2] for key in store.list_keys("public/widgets/marches/") if key.endswith("/" + year_file(year))}
    written = []
    for siret in sorted(had | set(by_buyer)):
        key = buyer_prefix(siret) + year_file(year)
        if siret not in by_buyer:
            store.delete(key)
        elif put_if_changed(store, key, json_bytes(year_document(siret, year, by_buyer[siret]))):
            written.append(key)
    return sorted(had | set(by_buyer)), written


def publish_year_step(settings: Settings, year: int, night: str | None = None) -> dict:
    """Consolidate every night staged for ``year`` and publish the year's files.

    ``night`` limits the per-file counts and the rejects listed in the result to the files
    received that night (the run report's scope); the public rejects report has them all.
    """
    store = _store(settings)
    registry = load_registry(settings.registry_path)
    names, entities = enrichment(settings, registry)
    consolidated = consolidate(staged_rows(store, year))
    rejects = reject_rows(consolidated)
    by_file = counts_by_file(consolidated)
    files: dict[str, list[dict]] = {"json": [], "json_historique": [], "table": [], "rejets": []}
    quarantined: list[dict] = []
    for name, key, document, version in (
        ("json", json_key(year), regulatory_document(consolidated.kept), settings.schema_versions["decp"]),
        ("json_historique", history_key(year), history_document(consolidated.kept),
         settings.schema_versions["decp-historique"]),
    ):
        info = _publish_json(store, key, document, version, slot=f"{year}-{name}")
        files[name] += [info] if info else []
    rows = table_rows(consolidated.kept, names)
    if rows:
        table_files, report = publish_table(store, table_frame(rows), table_base_key(year), settings.schema("decp-table"),
                                            versioned=True, slot=f"{year}-table")
        files["table"] = [f.to_dict() for f in table_files]
        quarantined = [
            {"uid": rows[index]["uid"], "titulaire_id": rows[index]["titulaire_id"],
             "reason": "; ".join(f"{e.field or ''}: {e.message}" for e in errors)}
            for index, errors in sorted(report.errors_by_row().items())
        ]
    else:
        withdraw_slot(store, PUBLIC_PREFIX, f"{year}-table")
    buyers, _ = _widget_year_files(store, year, entries_by_buyer(consolidated.kept, names, entities))
    files["rejets"] = [_file_info(store, rejects_key(year), "csv", len(rejects), rejects_csv(rejects), None)]
    scope = {k for k, v in by_file.items()} if night is None else {
        row["file_key"] for row in consolidated.kept + consolidated.rejected + [c for c, _ in consolidated.duplicates]
        if row["night"] == night
    }
    return {
        "year": year,
        "files": files,
        "published": len(consolidated.kept),
        "published_2022": sum(r["version"] == "2.0.2" for r in consolidated.kept),
        "invalid": sum(1 for r in consolidated.rejected if r["position"]),
        "duplicates": len(consolidated.duplicates),
        "by_file": {key: dict(counts) for key, counts in sorted(by_file.items()) if key in scope},
        "rejects": [r for r in rejects if night is None or r["date_reception"] == night][:MAX_REPORTED_REJECTS],
        "quarantined_rows": quarantined,
        "buyers": buyers,
    }


# Widget indexes


def publish_widget_indexes_step(settings: Settings, buyers: Iterable[str]) -> list[str]:
    """Switch the regional files' manifest to the versions the years wrote (the stable names
    follow), then rewrite the manifest and indicators of each buyer from its year files.

    Registers the buyers and titulaires with the SIRENE chain, so that the next monthly
    refresh of the cache keeps them (one task: no concurrent writer of that list).
    """
    from digor.sirene_chain import current_month, register_identifiers

    store = _store(settings)
    written = [switch_dataset_manifest(store, PUBLIC_PREFIX, DATASET, settings.version_retention_days)["manifest"]]
    registry = load_registry(settings.registry_path)
    names = name_lookup(settings, registry)
    seen: set[str] = set()
    for siret in sorted(set(buyers)):
        prefix = buyer_prefix(siret)
        years: dict[int, list[dict]] = {}
        for key in store.list_keys(prefix):
            name = key[len(prefix):]
            if name.startswith("contrats-") and name.endswith(".json"):
                years[int(name[len("contrats-"):-len(".json")])] = json.loads(store.get_bytes(key))["contrats"]
        seen.update([siret] + [h["id"] for entries in years.values() for e in entries for h in e["titulaires"]
                               if h["id"] and h["type_identifiant"] in ("SIRET", None)])
        if not years:
            for name in (INDEX_FILE, INDICATORS_FILE):
                store.delete(prefix + name)
            continue
        body = next((b for b in registry.bodies if b.siret == siret), None)
        widget = dict(body.widget) if body else {}
        put_if_changed(store, prefix + INDICATORS_FILE, json_bytes(indicators_document(siret, years)))
        put_if_changed(store, prefix + INDEX_FILE, json_bytes(index_document(siret, names(siret), registry.publisher, years, widget)))
        written.append(prefix + INDEX_FILE)
    register_identifiers(settings, seen, "decp")
    put_if_changed(store, NAMES_MONTH_KEY, _dumps({"mois": current_month(store)}))
    return written + [publish_catalogue(store, registry)]


# data.gouv.fr


TITLES = {
    "json": ("Données essentielles de la commande publique {year} (format réglementaire 2.0.2, JSON)", "decp"),
    "json_historique": ("Données essentielles de la commande publique {year} reçues au format 2019 (1.5.0, JSON)",
                        "decp-historique"),
    "table": ("Données essentielles de la commande publique {year}, table à plat ({fmt})", None),
}


def publish_datagouv_step(settings: Settings, year_results: list[dict], allow_shrink: bool = False) -> list[dict]:
    """Send every year file through the configured publisher.

    The publisher skips unchanged files and holds back (reported) a file that lost more than
    ``settings.max_shrink_ratio`` of its objects or rows since the last version sent, unless
    ``allow_shrink``.
    """
    store = _store(settings)
    registry = load_registry(settings.registry_path)
    publisher = make_publisher(settings.datagouv_mode, store, settings=settings, allow_shrink=allow_shrink)
    outcomes = []
    for result in sorted(year_results, key=lambda r: r["year"]):
        for kind in ("json", "json_historique", "table"):
            title, schema_name = TITLES[kind]
            declared = DATAGOUV_SCHEMA_NAMES.get(schema_name) if schema_name else None
            for file in result["files"][kind]:
                upload = ResourceUpload(
                    dataset=DATASET,
                    key=file.get("version_key") or file["key"],
                    title=title.format(year=result["year"], fmt=file["format"].upper()),
                    description=f"{registry.region_name} : {file['rows']} {'objets' if kind != 'table' else 'lignes'}, "
                    f"publié par {registry.publisher}.",
                    format=file["format"],
                    schema={"name": declared, "version": settings.schema_versions[schema_name]} if declared else None,
                    filesize=file["size"],
                    sha256=file["sha256"],
                    rows=file["rows"],
                    name=file["key"].rsplit("/", 1)[1],
                )
                outcomes.append(publisher.publish(upload, store.get_bytes(upload.key)))
    return outcomes


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
        "chain": CHAIN,
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


def report_step(settings: Settings, night: str, extracted: dict, transformed: dict, years: list[dict],
                datagouv: list[dict], dag_id: str | None = None, run_id: str | None = None) -> dict:
    """The night's report as JSON and HTML, linked from the DAG run in the Airflow UI."""
    report = build_report(night, extracted, transformed, years, datagouv)
    key = report_key(CHAIN, night)
    html = write_report_document(_store(settings), key, report, dag_id, run_id)
    return {"key": key, "html": html, "summary": summary_lines(report), "totals": report["totals"]}


def run_night(settings: Settings, night: str, force_rebuild: bool = False,
              progress: Callable[[str], None] = lambda _: None, allow_shrink: bool = False) -> dict:
    """All steps in order, without a scheduler (``digor run decp``)."""
    progress("extract")
    extracted = extract_step(settings, night)
    progress("transform")
    transformed = transform_step(settings, night)
    years = []
    for year in years_to_publish(settings, transformed, force_rebuild):
        progress(f"publish {year}")
        years.append(publish_year_step(settings, year, night))
    progress("widgets")
    publish_widget_indexes_step(settings, sorted({b for y in years for b in y["buyers"]}))
    progress("data.gouv.fr")
    datagouv = publish_datagouv_step(settings, years, allow_shrink)
    progress("report")
    return report_step(settings, night, extracted, transformed, years, datagouv)


# Conversion of local files (``digor convert decp``)


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
        store = LocalStore(Path(folder) / "store")
        for path in paths:
            progress(f"read {path.name}")
            decp_drop.store_raw(store, "cli", night, path.name, path.read_bytes())
        defaults = Settings.from_env()
        settings = defaults.with_overrides(
            store_url=str(store.root), datagouv_mode="dry-run",
            registry_path=registry_path or defaults.registry_path,
        )
        transformed = transform_step(settings, night)
        years = []
        for year in transformed["years"]:
            progress(f"publish {year}")
            years.append(publish_year_step(settings, year, night))
        switch_dataset_manifest(store, PUBLIC_PREFIX, DATASET, settings.version_retention_days)
        report = build_report(night, {"skipped": []}, transformed, years, [])
        out_dir.mkdir(parents=True, exist_ok=True)
        for key in store.list_keys(PUBLIC_PREFIX + "/"):
            if is_version(key.rsplit("/", 1)[1]) or key == f"{PUBLIC_PREFIX}/{MANIFEST_NAME}":
                continue  # the stable names are the files a user asked for
            target = out_dir / key[len(PUBLIC_PREFIX) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store.root / key, target)
        (out_dir / "rapport.json").write_bytes(_dumps(report))
    return {"report": report, "summary": summary_lines(report), "out_dir": str(out_dir)}
