"""The actes chain: acts of the télétransmission to SCDL délibérations, the all-natures actes file,
documents, the Actes widget's files and data.gouv.fr.

A night extracts the sources' acts to the raw zone (drop folder or Pastell, and S²LOW for the
bodies the registry puts on it), transforms them into staging per decision year and appends the
sources' decisions to the ledger, then each touched year is rebuilt from staging and the ledger.
The generic running is ``chains.chain``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

import pandas as pd

from chains.body_switches import failed_bodies, switch_each
from chains.chain import Chain, Dataset, NightMarks, publish_catalogue_and_map, quarantined_rows, timed
from chains.publication import publish_by_body
from chains.run_report import build_report, summary_lines
from core.config import NIGHTLY_TIMEOUT, Settings
from core.jsonio import json_bytes
from core.keys import (
    SHARDED_NIGHT_KEY,
    SHORT_RUNS_KEY,
    is_short_run,
    public_document_text_key,
    public_prefix,
    raw_prefix,
    report_key,
    shard_of,
)
from core.lease import LockBusy
from core.ledger import (
    engineer_event,
    ledger_files,
    ledger_lines,
    read_events,
    record_applied,
    replay,
    unapplied,
    write_command_event,
    write_night_events,
)
from core.publication_rule import Decision
from core.registry import Registry, body_registry
from core.test_hook import hold
from extract import pastell_source, s2low_source
from extract.document_text import REASONS, TextReader
from extract.drop_folder import extract_night
from load.body_index import body_commands, ledger_year_keys, read_body_index, write_body_index
from load.document_texts import (
    not_to_read,
    public_pdf,
    publish_texts,
    queue_documents,
    read_record,
    texts_by_body,
    to_read,
    write_record,
)
from load.documents import document_hash, document_key, documents_by_body, publish_documents, years_showing
from load.public_files import switch_dataset_manifest
from load.versions import read_json
from load.widget_files import pending_bodies, publish_index, publish_year_files
from load.year_parts import YearParts, body_fingerprint, context_of, read_year_parts, write_year_parts
from transform.actes import (
    ActRules,
    NightTransform,
    among,
    latest_keys_where,
    read_shards,
    staged_years,
    transform_night,
    write_shard,
    write_staging,
)
from transform.actes_textes import MAX_TEXT_CHARS, text_table
from transform.consolidate_actes import (
    act_years,
    acts_with_states,
    current_acts,
    latest_versions,
    latest_years,
    ledger_years,
)
from transform.scdl_deliberations import actes_table, deliberations_of, deliberations_table

# Documents per text-reading task: a mapped task reads a few minutes' worth of scans at most.
TEXT_BATCH = 20
# The partitions (short runs and nights) whose pull began and whose report is not written yet: a pull
# moves its bodies' watermarks as it goes (a night's shards each their own), so if the run fails after
# that, only a later night can stage what it pulled. Marked before the pull, unmarked when it brought
# nothing or once reported.
UNREPORTED = NightMarks(SHORT_RUNS_KEY, "unreported")
log = logging.getLogger(__name__)

BASE_KEYS = {
    "deliberations": public_prefix("deliberations") + "/deliberations-{year}",
    "actes": public_prefix("actes") + "/actes-{year}",
    "textes": public_prefix("actes-textes") + "/actes-textes-{year}",
}
# A hash no document has: the public URLs of a document and of its text, as every body's rows spell them.
ZERO_HASH = "0" * 64
SCHEMAS = {"deliberations": "scdl-deliberations", "actes": "actes", "textes": "actes-textes"}


def registry_of(settings: Settings, until: str | None = None) -> Registry:
    """The registry with the agents' settings (as of the night ``until``, else the latest), its
    SIRETs and names kept right by the SIRENE cache when there is one (optional)."""
    from chains.sirene import registry_with_register

    return registry_with_register(settings, body_registry(settings, until))


class ActesChain(Chain):
    name = "actes"
    main_schema = "scdl-deliberations"
    datasets = {
        "deliberations": Dataset("deliberations", "scdl-deliberations", "Délibérations {year} ({fmt})"),
        "actes": Dataset("actes", "actes", "Actes {year} (toutes natures) ({fmt})"),
        # The side file of the acts' documents' text: beside "actes", in the same data.gouv.fr dataset.
        "textes": Dataset("actes", "actes-textes", "Textes des documents des actes {year} ({fmt})"),
    }
    diff_keys = {"deliberations": ["COLL_SIRET", "DELIB_ID", "DELIB_DATE"], "actes": ["COLL_SIRET", "SOURCE_ID"],
                 "textes": ["COLL_SIRET", "SOURCE_ID", "DOCUMENT_URL"]}
    empty_night = {"acts": 0, "by_body": {}, "skipped_files": [], "rows": 0, "decisions": {}, "rejects": [],
                   "left_out": []}

    def raw_prefixes(self, settings: Settings) -> list[str]:
        return [raw_prefix(self.name, source) + "/" for source in _sources(settings)]

    @timed
    def extract(self, settings: Settings, night: str, until: str | None = None) -> dict:
        """Each source a body of the registry is on (the default one always), merged into one summary:
        the shards of ``shard_jobs`` one after the other (the DAG maps them). A short run first looks for
        a night's shards at work, under the lease: a short run that waited for the lease while the night
        marked its shards must not pull beside them (``LockBusy``: it skips)."""
        if is_short_run(night) and (sharded := _sharded_night(self.store(settings))):
            raise LockBusy(f"the night {sharded['night']} pulls and stages its shards since {sharded['since']}")
        jobs = self._begin_pull(settings, night)
        return self.merge_extracts(settings, night, [self.extract_shard(settings, night, until, **job) for job in jobs])

    def shard_jobs(self, settings: Settings, night: str, refresh: bool = False) -> list[dict]:
        """The night's shards of bodies (``Settings.shard_count``), one mapped extract and transform each,
        with the partitions their transform stages (the night, and the short runs it finishes). With
        ``refresh``, the registry from the source is refreshed first (a body new in the source is read
        this very night; short runs keep the night's registry), its summary handed on by the first job."""
        registry_refresh = {}
        from_source = settings.registry_source == "s2low" or (
            settings.source_name == pastell_source.SOURCE and settings.registry_source == "pastell")
        if refresh and from_source and not is_short_run(night):
            from chains.registry_source import refresh_registry

            registry_refresh = {"registry": refresh_registry(settings)}
        # A short run is one shard: its cost is what changed (one reading of the journal), not the bodies.
        count = 1 if is_short_run(night) else settings.shard_count(len(body_registry(settings).bodies))
        partitions = [night] if is_short_run(night) else [
            *(p for p in UNREPORTED.read(self.store(settings)) if p != night), night]
        return [{"shard": shard, "of": count, "partitions": partitions, **(registry_refresh if shard == 0 else {})}
                for shard in range(count)]

    def _begin_pull(self, settings: Settings, night: str) -> list[dict]:
        """Under the lease, before a run pulls: its shards (``shard_jobs``, the registry refreshed), and the
        run marked unreported, since the pull moves watermarks as it goes (``UNREPORTED``)."""
        jobs = self.shard_jobs(settings, night, refresh=True)
        UNREPORTED.mark(self.store(settings), [night])
        return jobs

    def begin_shards(self, settings: Settings, night: str) -> list[dict]:
        """Under the lease, before the shards of a night run outside it (the DAG's mapped tasks):
        ``shard_jobs``, and the mark that keeps short runs off the bodies' watermarks and the raw zone
        until ``merge_transforms``, or ``end_shards`` if a shard failed (the night's timeout, at worst)."""
        jobs = self._begin_pull(settings, night)
        now = datetime.now(timezone.utc)
        self.store(settings).put_bytes(SHARDED_NIGHT_KEY, json_bytes({
            "night": night, "since": now.isoformat(timespec="seconds"),
            "until": (now + NIGHTLY_TIMEOUT).isoformat(timespec="seconds")}))
        return jobs

    def end_shards(self, settings: Settings, night: str) -> None:
        """Under the lease, once the night's shards are done, well or not (the DAG's teardown of
        ``begin_shards``): their mark removed, so that a failed night does not keep short runs off until
        its timeout. Rerunning a failed shard in Airflow runs its setup, ``begin_shards``, again."""
        store = self.store(settings)
        mark = read_json(store, SHARDED_NIGHT_KEY)
        if mark is not None and mark["night"] == night:
            store.delete(SHARDED_NIGHT_KEY)

    @timed
    def extract_shard(self, settings: Settings, night: str, until: str | None = None, *, shard: int = 0,
                      of: int = 1, partitions: list[str] | None = None, registry: dict | None = None) -> dict:
        """One shard's bodies on Pastell pulled into the night's raw folder (their own watermarks); the
        first shard also takes the drop folder (tonight's, and again those of the nights it finishes) and
        the bodies on S²LOW (a few, listed by day)."""
        store = self.store(settings)
        found = body_registry(settings)
        summaries = {}
        for source in found.sources(settings.source_name):
            if source == pastell_source.SOURCE:
                summaries[source] = pastell_source.extract_night(
                    settings, store, found, night, until, only=lambda siren: shard_of(siren, of) == shard)
            elif shard == 0 and source == s2low_source.SOURCE:
                if not is_short_run(night):  # S²LOW's acts come with the night (it lists by day)
                    summaries[source] = s2low_source.extract_night(settings, store, found, night)
            elif shard == 0:
                for partition in partitions or []:  # a failed night's copy may have stopped half-way, or never begun
                    if partition != night and not is_short_run(partition):
                        extract_night(store, settings.drop_dir, partition)  # what is stored already is kept
                summaries[source] = _drop_summary(store, settings, night)
        return {"night": night, "shard": shard, "of": of, "partitions": partitions or [night], "sources": summaries,
                **({"registry": registry} if registry is not None else {})}

    def merge_extracts(self, settings: Settings, night: str, pulled: list[dict]) -> dict:
        """The shards' pulls as one extract summary (the one a pull of every body at once gives); the
        Pastell pull's report written once."""
        store = self.store(settings)
        by_source: dict[str, list[dict]] = defaultdict(list)
        for shard in sorted(pulled, key=lambda p: p["shard"]):
            for source, summary in shard["sources"].items():
                by_source[source].append(summary)
        summaries = {}
        for source in _sources(settings):
            if source == pastell_source.SOURCE and by_source.get(source):
                summaries[source] = pastell_source.merged_summary(by_source[source])
                pastell_source.write_pull_report(store, night, summaries[source])
            elif by_source.get(source):
                summaries[source] = by_source[source][0]
        refreshed = next((p["registry"] for p in pulled if "registry" in p), None)
        merged = _merged(night, summaries) if summaries else {"night": night, "acts": 0, "by_body": {},
                                                              "skipped_files": []}
        if not merged["acts"]:  # nothing pulled: nothing for a later night to finish
            UNREPORTED.mark(store, [night], begun=False)
        durations = [p["duration_s"] for p in pulled if "duration_s" in p]
        return {**merged, **({"registry": refreshed} if refreshed is not None else {}),
                **({"duration_s": round(sum(durations), 3)} if durations else {}), "shards": len(pulled)}

    @timed
    def transform(self, settings: Settings, night: str) -> dict:
        """The night's (or short run's) acts to staging and the ledger, shard after shard (the DAG maps
        them). A night also finishes the short runs that pulled acts and never reported (every retry
        failed): what they pulled is staged, recorded and published with it, dated by their own day."""
        jobs = self.shard_jobs(settings, night)
        return self.merge_transforms(settings, night, [self.transform_shard(settings, night, **job) for job in jobs])

    @timed
    def transform_shard(self, settings: Settings, night: str, *, shard: int = 0, of: int = 1,
                        partitions: list[str] | None = None, **_) -> dict:
        """One shard's acts of each partition read and judged, kept as the shard's part of the partition
        (``core.keys.staging_shard_key``): a retry rewrites the same keys; nothing shared is written."""
        store = self.store(settings)
        rules = ActRules.from_settings(settings)
        for partition in partitions or [night]:
            registry = registry_of(settings, until=partition)
            result = NightTransform(partition, [], [])
            for source in _sources(settings):
                found = transform_night(store, registry, partition, source, rules,
                                        only=lambda body: shard_of(body, of) == shard)
                result.rows += found.rows
                result.rejects += found.rejects
                result.left_out += found.left_out
            write_shard(store, result, shard, of)
        return {"night": night, "shard": shard, "of": of, "partitions": partitions or [night]}

    def merge_transforms(self, settings: Settings, night: str, staged: list[dict]) -> dict:
        """Under the lease: the shards' parts of each partition merged in the order one pass over every
        body gives, then staged, recorded in the ledger and quarantined as one partition."""
        store = self.store(settings)
        first = staged[0]
        partitions = first["partitions"]
        if len(partitions) > 1:
            log.warning("actes %s: finishing the runs that pulled acts and never reported: %s", night,
                        ", ".join(partitions[:-1]))
        order = {source: index for index, source in enumerate(_sources(settings))}
        summaries = [self._finish_partition(settings, read_shards(store, partition, first["of"], order))
                     for partition in partitions]
        merged = summaries[0] if len(summaries) == 1 else self.merge_nights(summaries)
        store.delete(SHARDED_NIGHT_KEY)
        durations = [s["duration_s"] for s in staged if "duration_s" in s]
        return {**merged, **({"duration_s": round(sum(durations), 3)} if durations else {})}

    def write_report(self, settings: Settings, night: str, extracted: dict, transformed: dict, *rest, **options) -> dict:
        """The report; a short run finished by this night gets a report that says so (what the budgets
        chain checks before it reads a partition's staged acts), then leaves the unreported list."""
        written = super().write_report(settings, night, extracted, transformed, *rest, **options)
        store = self.store(settings)
        partitions = transformed.get("nights") or [night]
        for partition in partitions:
            if partition != night:
                store.put_bytes(report_key(self.name, partition),
                                json_bytes({"chain": self.name, "night": partition, "finished_by": written["key"]}))
        UNREPORTED.mark(store, partitions, begun=False)
        return written

    def _finish_partition(self, settings: Settings, result: NightTransform) -> dict:
        store, night = self.store(settings), result.night
        # An act re-sent with its decision date in another year leaves the years it was in.
        earlier = act_years(store, {(row["siren"], row["source"], row["source_id"]) for row in result.rows})
        years = sorted(set(write_staging(store, result)) | {year for found in earlier.values() for year in found})
        by_year: dict[int, set[str]] = defaultdict(set)  # whose widget year files each year's rebuild touches
        for row in result.rows:
            by_year[row["date_decision"].year].add(row["siren"])
        for (siren, _, _), found in earlier.items():
            for year in found:
                by_year[year].add(siren)
        write_night_events(store, night, result.rows)
        rejects = [r.to_dict() for r in result.rejects]
        left_out = [item.to_dict() for item in result.left_out]
        self.write_quarantine(settings, night, {"rejects": rejects, "left_out": left_out})
        decisions: dict[str, Counter] = defaultdict(Counter)
        for row in result.rows:
            decisions[row["siren"]][row["decision"]] += 1
        return {
            "night": night,
            "years": years,
            "bodies": sorted(decisions),
            "bodies_by_year": {str(year): sorted(sirens) for year, sirens in sorted(by_year.items())},
            "rows": len(result.rows),
            "budget_acts": sum(row["nature_code"] == "5" for row in result.rows),
            "decisions": {siren: dict(counts) for siren, counts in sorted(decisions.items())},
            "rejects": rejects,
            "left_out": left_out,
        }

    def brought_nothing(self, extracted: dict) -> bool:
        return not extracted.get("acts")  # nothing in the partition's raw folder (a retry finds what it pulled)

    def feeds_followers(self, transformed: dict) -> bool:
        """The budgets chain reads the acts of nature 5 a run staged: only those wake it up."""
        return bool(transformed.get("budget_acts"))

    def run_short(self, settings: Settings, partition: str, until: str, owner: str,
                  force_rebuild: bool = False, allow_shrink: bool = False) -> dict:
        """A short run (``actes_frequent``): what Pastell changed since the watermarks, up to ``until``,
        staged as partition ``partition`` (``core.keys.short_run_partition``) and published at once,
        under the chain's lease like a night. Nothing new: stops after the pull, writing nothing
        public. Raises ``LockBusy`` when another writer (the night) keeps the lease longer than
        ``short_run_lock_wait_seconds``, or the night's shards are at work: the caller skips, the night or the
        next run takes the changes."""
        if settings.source_name != pastell_source.SOURCE:
            line = (f"{self.name} {partition}: short runs read Pastell's watermarks, the source is "
                    f"{settings.source_name!r}: the nightly run publishes")
            return {"night": partition, "skipped": line, "summary": [line], "followers": False}
        return self.run_night(settings, partition, force_rebuild, allow_shrink=allow_shrink, owner=owner,
                              until=until, lock_wait=settings.short_run_lock_wait_seconds, only_if_new=True)

    def years_to_publish(self, settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
        return staged_years(self.store(settings)) if force_rebuild else list(transformed["years"])

    def stale_years(self, settings: Settings) -> dict[int, list[str] | None]:
        """Years with ledger events (decisions, nights) their public files do not follow yet."""
        store = self.store(settings)
        staged = set(staged_years(store))
        return {year: bodies for year, bodies in unapplied(store).items() if year in staged}

    @timed
    def publish_year(self, settings: Settings, year: int, bodies: Iterable[str] | None = None,
                     night: str | None = None) -> dict:
        """Rebuild the year's regional files, documents and the touched bodies' widget files.

        The rows of the bodies ``bodies`` names (all when None), and of those whose registry entry
        changed, are made again from staging and the ledger (only their events are replayed); every
        other body's rows, documents and report lines are its parts' (``load.year_parts``)."""
        store = self.store(settings)
        registry = registry_of(settings)
        following = ledger_files(store, year)  # listed before the read: what these files will follow

        def url_of(sha256: str, name: str) -> str:
            return settings.public_url(document_key(sha256))

        schemas = {table: settings.schema(name) for table, name in SCHEMAS.items()}
        context = context_of(schemas, url_of(ZERO_HASH, "") + " " + settings.public_url(public_document_text_key(ZERO_HASH)))
        rows = latest_versions(store, year)
        sirens = set(rows["siren"])
        fingerprints = {siren: body_fingerprint(registry.by_siren(siren)) for siren in sirens}
        previous = None if bodies is None else read_year_parts(store, year, context)
        named = set(bodies or ())
        made = sirens if previous is None else {
            siren for siren in sirens
            if siren in named or previous.bodies.get(siren, {}).get("registry") != fingerprints[siren]}
        states = replay(read_events(store, years=ledger_years(store, year, made), sirens=made))
        acts = current_acts(store, registry, year, states, rows[rows["siren"].isin(made)])
        hold(f"after-ledger-read-{year}")
        kept = {table: {} if previous is None else {
                    siren: parts for siren, parts in previous.tables.get(table, {}).items()
                    if siren in sirens and siren not in made}
                for table in SCHEMAS}
        before = {table: {} if previous is None else {
                      siren: parts for siren, parts in previous.tables.get(table, {}).items() if siren in made}
                  for table in SCHEMAS}
        entries = {siren: entry for siren, entry in (previous.bodies if previous else {}).items()
                   if siren in sirens and siren not in made}
        fresh = acts[acts["online"]].reset_index(drop=True)
        deliberations = deliberations_of(fresh)
        delib_files, delib_report, delib_parts, delib_schema = publish_by_body(
            settings, store, deliberations_table(deliberations, url_of).assign(siren=deliberations["siren"]),
            kept["deliberations"], BASE_KEYS["deliberations"].format(year=year), SCHEMAS["deliberations"], str(year),
            before["deliberations"],
        )
        actes_files, actes_report, actes_parts, actes_schema = publish_by_body(
            settings, store, actes_table(fresh, url_of).assign(siren=fresh["siren"]), kept["actes"],
            BASE_KEYS["actes"].format(year=year), SCHEMAS["actes"], str(year), before["actes"],
        )
        visible = fresh.drop(index=sorted(actes_report.invalid_rows())).reset_index(drop=True)
        wanted = documents_by_body(visible)
        documents = publish_documents(store, year, {key: raw for lists in (
            *(entry["documents"] for entry in entries.values()), *wanted.values()) for key, raw in lists.items()})
        queue_documents(store, documents.pop("new"))
        listed = documents.pop("listed")
        texts = texts_by_body(store, year, {siren: {document_hash(key) for key in keys} for siren, keys in wanted.items()},
                              MAX_TEXT_CHARS + 1)
        text_files, _, text_parts, text_schema = publish_by_body(
            settings, store, text_table(visible, url_of, lambda sha: settings.public_url(public_document_text_key(sha)), texts),
            kept["textes"], BASE_KEYS["textes"].format(year=year), SCHEMAS["textes"], str(year), before["textes"],
        )
        identity = ["source_id", "siren", "raw_prefix"]
        quarantined = {"deliberations": quarantined_rows(delib_report, deliberations, delib_files[0].key, identity),
                       "actes": quarantined_rows(actes_report, fresh, actes_files[0].key, identity)}
        entries.update(_body_entries(made, fingerprints, acts, visible, quarantined, wanted, listed))
        hold(f"before-year-parts-{year}")
        write_year_parts(store, year, context, YearParts(
            {"deliberations": delib_parts, "actes": actes_parts, "textes": text_parts}, entries),
            {"deliberations": delib_schema, "actes": actes_schema, "textes": text_schema})
        refresh = set(bodies) if bodies is not None else set(acts["siren"])
        touched = visible[visible["siren"].isin(refresh)] if bodies is not None else visible
        widget_files = publish_year_files(store, registry, year, touched, refresh, url_of)
        write_body_index(store, year, acts, states, refresh, following)
        record_applied(store, year, following)
        order = sorted(entries)
        return {
            "year": year,
            "files": {
                "deliberations": [f.to_dict() for f in delib_files],
                "actes": [f.to_dict() for f in actes_files],
                "textes": [f.to_dict() for f in text_files],
            },
            "documents": documents,
            "widget_files_written": widget_files,
            "left_by_decision": {table: sum(entries[s]["taken_out"][table] for s in order)
                                 for table in ("deliberations", "actes")},
            "quarantined": [item for table in ("deliberations", "actes") for s in order
                            for item in entries[s]["quarantined"][table]],
            "published_by_body": {s: entries[s]["published"] for s in order if entries[s]["published"]},
            "offline_by_body": {s: entries[s]["offline"] for s in order if entries[s]["offline"]},
            "to_decide": [item for s in order for item in entries[s]["to_decide"]],
            "bodies": sorted(refresh),
        }

    def publish_widgets(self, settings: Settings, bodies: Iterable[str] | None) -> list[str]:
        """Switch the manifests: each dataset's, then each touched (or pending) body's.

        The versions they name were written by ``publish_year``; bodies left pending by a run
        that stopped before this step are switched too.
        """
        from chains.sirene import body_headers

        store = self.store(settings)
        registry = body_registry(settings)
        keys = [
            switch_dataset_manifest(store, base.rsplit("/", 1)[0], dataset, settings.version_retention_days)["manifest"]
            for dataset, base in sorted(BASE_KEYS.items())
        ]
        wanted = None if bodies is None else set(bodies) | pending_bodies(store) | failed_bodies(store, self.name)
        identity = body_headers(settings)
        keys += switch_each(
            store, self.name, [body for body in registry.bodies if wanted is None or body.siren in wanted],
            lambda body: [publish_index(store, body, registry.publisher, settings.public_url,
                                        settings.version_retention_days, identity(body.siren))],
            lambda body: body.siren)
        return keys + publish_catalogue_and_map(settings, store, registry, wanted)

    def build_report(self, night: str, extracted: dict, transformed: dict, years: list[dict], widgets: list[str],
                     datagouv: list[dict]) -> dict:
        return build_report(self.name, night, extracted, transformed, years, datagouv)

    def summary_lines(self, report: dict) -> list[str]:
        return summary_lines(report)


    def text_jobs(self, settings: Settings) -> list[dict]:
        """Batches of the public documents whose text was never read (one mapped task each)."""
        pending = to_read(self.store(settings))
        return [{"documents": pending[i:i + TEXT_BATCH]} for i in range(0, len(pending), TEXT_BATCH)]

    @timed
    def read_texts(self, settings: Settings, documents: list[str]) -> dict:
        """Read the text of each document once (text layer, OCR of scanned pages), bounded per
        document: an unreadable one is recorded with its reason and the others go on."""
        store = self.store(settings)
        pages = ocr_pages = read = 0
        unreadable, postponed = [], []
        with TextReader(settings.text_limits) as reader:
            for sha256 in documents:
                if (record := read_record(store, sha256)) is not None:
                    not_to_read(store, sha256, record)
                    continue  # read by another task or night meanwhile, or before a withdrawal
                data = public_pdf(store, sha256)
                if data is None:
                    not_to_read(store, sha256)
                    continue  # its acts left the public zone meanwhile: never read
                found = reader.read(data)
                if found.temporary:
                    postponed.append({"sha256": sha256, "detail": found.detail})
                    continue
                write_record(store, sha256, found.to_dict())
                read += 1
                pages += found.pages
                ocr_pages += found.ocr_pages
                if found.reason:
                    unreadable.append({"sha256": sha256, "reason": found.reason, "detail": found.detail})
        return {"read": read, "pages": pages, "ocr_pages": ocr_pages, "unreadable": unreadable,
                "postponed": postponed}

    def after_night(self, settings: Settings, on_wait=log.warning) -> list[str]:
        """The DAG's text tasks in turn: documents read outside the lease, their texts published under it."""
        hold("before-texts")
        batches = [self.read_texts(settings, **job) for job in self.text_jobs(settings)]
        with self.lock(settings, f"digor run {self.name} texts", on_wait):
            return self.publish_texts(settings, batches)["summary"]

    def publish_texts(self, settings: Settings, batches: list[dict]) -> dict:
        """Under the lease: publish the texts read so far (this night's ``batches`` and any left by an
        earlier run) next to their PDFs, then rebuild the years they belong to (the text side file,
        sent to data.gouv.fr) and switch those bodies' widgets (their text index); ``summary``: what
        the log shows."""
        store = self.store(settings)
        published = publish_texts(store)
        showing = _bodies_showing(store, set(published["written"]))
        years = [self.publish_year(settings, year, sorted(bodies)) for year, bodies in sorted(showing.items())]
        self.owe_datagouv(settings, years)
        keys = self.publish_widgets(settings, {siren for bodies in showing.values() for siren in bodies})
        datagouv = self.publish_datagouv(settings, years) if years else []
        return {**published, "years": years, "widgets": keys, "datagouv": datagouv,
                "summary": _text_summary_lines(batches, published)}


def _offline_by_body(offline: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per body, how many of its acts are offline and why (one pass over the year's offline acts)."""
    found: dict[str, Counter] = defaultdict(Counter)
    for siren, reason in zip(offline["siren"], offline["offline_reason"]):
        found[siren][reason] += 1
    return {siren: dict(reasons) for siren, reasons in sorted(found.items())}


def _body_entries(made: set[str], fingerprints: dict[str, str], acts: pd.DataFrame, visible: pd.DataFrame,
                  quarantined: dict[str, list[dict]], wanted: dict[str, dict[str, str]], listed: set[str]) -> dict:
    """The year parts' entry of each body made again: what its rows were made from (its registry entry)
    and its lines of the year's report and document list, kept for the nights that reuse its rows."""
    # Published once, offline now by decision (withdrawn, refused): rows the ledger took out.
    taken_out = acts[~acts["online"] & (acts["decision"] != Decision.PUBLISHED.value) & acts["publication_date"].notna()]
    undecided = acts[acts["decision"] == Decision.TO_DECIDE.value]
    entries = {siren: {"registry": fingerprints[siren], "quarantined": {"deliberations": [], "actes": []},
                       "published": 0, "offline": {}, "to_decide": [],
                       "taken_out": {"deliberations": 0, "actes": 0}, "documents": {}} for siren in made}
    for table, found in quarantined.items():
        for item in found:
            entries[item["siren"]]["quarantined"][table].append(item)
    for siren, count in Counter(visible["siren"]).items():
        entries[siren]["published"] = count
    for siren, reasons in _offline_by_body(acts[~acts["online"]]).items():
        entries[siren]["offline"] = reasons
    for item in undecided[["siren", "source_id", "numero", "objet"]].to_dict("records"):
        entries[item["siren"]]["to_decide"].append(item)
    for siren in taken_out["siren"]:
        entries[siren]["taken_out"]["actes"] += 1
    for siren in deliberations_of(taken_out)["siren"]:
        entries[siren]["taken_out"]["deliberations"] += 1
    for siren, documents in wanted.items():
        entries[siren]["documents"] = {key: raw for key, raw in documents.items() if key in listed}
    return entries


def _bodies_showing(store, documents: set[str]) -> dict[int, set[str]]:
    """Per year, the bodies whose acts (latest versions) show one of these documents: the year's text
    side file and their widget's text index follow the texts just published. Only the years whose
    online acts show them are read, not the whole history."""
    found: dict[int, set[str]] = {}
    if not documents:
        return found
    for year in sorted(years_showing(store, documents)):
        acts = latest_versions(store, year)
        for siren, sha256, annexes in zip(acts["siren"], acts["main_file_sha256"], acts["annexes"]):
            if sha256 in documents or any(annex["sha256"] in documents for annex in annexes):
                found.setdefault(year, set()).add(siren)
    return found


def _text_summary_lines(batches: list[dict], published: dict) -> list[str]:
    """What the night's text reading did, one line each, for the task log."""
    lines = [f"texts: {sum(b['read'] for b in batches)} documents read ({sum(b['pages'] for b in batches)} pages, "
             f"{sum(b['ocr_pages'] for b in batches)} by OCR), {len(published['written'])} texts published"]
    for batch in batches:
        for item in batch["unreadable"]:
            lines.append(f"text of document {item['sha256']}: {REASONS.get(item['reason'], item['reason'])} "
                         f"({item['detail']})")
        for item in batch["postponed"]:
            lines.append(f"text of document {item['sha256']} postponed to the next night: {item['detail']}")
    return lines


CHAIN = ActesChain()


def _sharded_night(store) -> dict | None:
    """The night whose shards are running (``ActesChain.begin_shards``), unless its mark is stale."""
    mark = read_json(store, SHARDED_NIGHT_KEY)
    return mark if mark is not None and datetime.fromisoformat(mark["until"]) > datetime.now(timezone.utc) else None


def _sources(settings: Settings) -> list[str]:
    """The sources a night reads: the deployment's, and any a body of the registry is on."""
    return body_registry(settings).sources(settings.source_name)


def _drop_summary(store, settings: Settings, night: str) -> dict:
    extracted = extract_night(store, settings.drop_dir, night)
    acts = extracted.acts
    return {
        "night": night,
        "acts": len(acts),
        "by_body": dict(Counter(a.body_key for a in acts)),
        "skipped_files": [{"folder": a.raw_prefix, "file": f} for a in acts for f in a.skipped],
        "raw_revisions": [{"folder": a.raw_prefix, "revision": a.revision} for a in acts if a.revision > 1],
        "warnings": extracted.warnings,
    }


_LISTS = ("skipped_files", "raw_revisions", "warnings", "budgets", "failed", "deleted", "incomplete",
          "cancelled", "body_errors", "unlisted", "foreign", "alerts")


def _merged(night: str, summaries: dict[str, dict]) -> dict:
    """One extract summary of several sources: one source's as is, else counts added and lists joined."""
    if len(summaries) == 1:
        return next(iter(summaries.values()))
    by_body: Counter = Counter()
    merged: dict = {"night": night, "sources": summaries, "acts": 0, "pending": {}, "requests": 0}
    for summary in summaries.values():
        merged["acts"] += summary["acts"]
        by_body.update(summary["by_body"])
        merged["pending"].update(summary.get("pending", {}))
        merged["requests"] += summary.get("requests", 0)
        for key in _LISTS:
            if key in summary:
                merged.setdefault(key, []).extend(summary[key])
    merged["by_body"] = dict(sorted(by_body.items()))
    merged.setdefault("skipped_files", [])
    return merged


class ActNotFound(LookupError):
    pass


def find_act(settings: Settings, siren: str, act_id: str) -> tuple[int, pd.Series]:
    """An act of a body by its source id, else by its number, whatever its year (that of its
    latest version: an act re-sent with a date in another year is found once)."""
    store = CHAIN.store(settings)
    by_source, by_number = [], []
    for year in staged_years(store):
        acts = latest_versions(store, year)
        acts = acts[acts["siren"] == siren]
        by_source += [(year, act) for _, act in acts[acts["source_id"] == act_id].iterrows()]
        by_number += [(year, act) for _, act in acts[acts["numero"] == act_id].iterrows()]
    matches = by_source or by_number
    if not matches:
        raise ActNotFound(f"no act {act_id!r} for SIREN {siren} in staging")
    if len(matches) > 1:
        found = ", ".join(f"{a['source_id']} ({y}, n° {a['numero']})" for y, a in matches)
        raise ActNotFound(f"{act_id!r} is ambiguous for SIREN {siren}: {found}; give the source id")
    return matches[0]


def record_engineer_decision(settings: Settings, siren: str, act_id: str, decision: Decision, reason: str) -> dict:
    """Append an engineer's decision to the ledger; the caller then republishes the year."""
    if not reason.strip():
        raise ValueError("a decision needs a reason: it is what the ledger shows later")
    year, act = find_act(settings, siren, act_id)
    return record_decision(settings, year, act, decision, reason)


def record_decision(settings: Settings, year: int, act, decision: Decision, reason: str, actor: str | None = None) -> dict:
    """Append a person's decision on a staged act (``act``: its row, of ``year``) to the ledger;
    ``actor`` says who (default: the system user, for a command)."""
    if not reason.strip():
        raise ValueError("a decision needs a reason: it is what the ledger shows later")
    event = engineer_event(act["siren"], act["source"], act["source_id"], act["numero"], decision, reason.strip(),
                           actor=actor)
    key = write_command_event(CHAIN.store(settings), year, event)
    return {"year": year, "siren": act["siren"], "source_id": act["source_id"], "ledger_key": key, "at": event.at}


def body_years(settings: Settings, siren: str) -> list[int]:
    """The decision years a body has acts in (their latest versions): what its settings change."""
    years = latest_years(CHAIN.store(settings))
    return sorted({int(y) for y in years.loc[years["siren"] == siren, "year"]})


def body_acts(settings: Settings, siren: str) -> pd.DataFrame:
    """One body's acts as ``acts_of_bodies`` gives them, with each act's ledger ``history`` (oldest
    first), read from the body's index and the body's decisions recorded since (computed from
    staging and the ledger when the body has no index yet)."""
    store = CHAIN.store(settings)
    indexed = read_body_index(store, siren)
    if indexed is None:
        acts, states = _bodies_acts(store, body_registry(settings), (siren,))
        if acts.empty:
            return acts
        history = [[e.__dict__ for e in states[k].history] if k in states else []
                   for k in zip(acts["siren"], acts["source"], acts["source_id"])]
        return acts.assign(history=history)
    acts, included, years = indexed
    recent = [key for year in years for key in body_commands(ledger_year_keys(store, year), siren)
              if key not in included]
    if not recent:
        return acts
    position = {key: i for i, key in enumerate(zip(acts["siren"], acts["source"], acts["source_id"]))}
    acts = acts.copy()
    for line in ledger_lines(store, recent):
        row = position.get((line["siren"], line["source"], line["source_id"]))
        if row is None:
            continue
        acts.at[row, "history"] = [*acts.at[row, "history"], line]
        acts.at[row, "decision"] = line["decision"]
        reason = acts.at[row, "offline_reason"]
        blocked = reason if isinstance(reason, str) and reason and not reason.startswith("decision:") else None
        online = line["decision"] == Decision.PUBLISHED.value and not blocked
        acts.at[row, "online"] = online
        acts.at[row, "offline_reason"] = None if online else blocked or f"decision: {line['decision']}"
    return acts


def acts_of_bodies(settings: Settings, sirens: Iterable[str] | None = None) -> pd.DataFrame:
    """Every act of these bodies (None: of every body) as it stands now, whatever its year: its latest
    version, current decision and whether it is online (``current_acts``), with its ``year``. For some
    bodies, only their events and the years holding their acts are read (a body the agents' space has
    no index for yet, or none at all: not the region's history replayed)."""
    store = CHAIN.store(settings)
    registry = body_registry(settings)
    if sirens is not None:
        return _bodies_acts(store, registry, sirens)[0]
    states = replay(read_events(store))
    frames = [current_acts(store, registry, year, states).assign(year=year) for year in staged_years(store)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _bodies_acts(store, registry: Registry, sirens: Iterable[str]) -> tuple[pd.DataFrame, dict]:
    """These bodies' acts and their ledger states, from their own keys, years and events."""
    wanted = set(sirens)
    return acts_with_states(store, registry, latest_keys_where(store, lambda table: among(table["siren"], wanted)))


def act_history(settings: Settings, siren: str, act_id: str) -> dict:
    """Everything the ledger knows about one act: for "why is this act not online?". Its body's events
    of the years holding them are read, not the region's ledger."""
    year, act = find_act(settings, siren, act_id)
    store = CHAIN.store(settings)
    states = replay(read_events(store, years=ledger_years(store, year, [siren]), sirens=[siren]))
    state = states.get((siren, act["source"], act["source_id"]))
    rows = latest_versions(store, year)
    online = current_acts(store, body_registry(settings), year, states, rows[rows["siren"] == siren])
    row = online[(online["siren"] == siren) & (online["source_id"] == act["source_id"])].iloc[0]
    return {
        "year": year,
        "act": {"siren": siren, "source_id": act["source_id"], "numero": act["numero"], "objet": act["objet"]},
        "online": bool(row["online"]),
        "offline_reason": row["offline_reason"],
        "publication_date": state.publication_date.isoformat() if state and state.publication_date else None,
        "history": [e.__dict__ for e in state.history] if state else [],
    }
