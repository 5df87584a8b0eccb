"""The chain abstraction: what a nightly chain declares, and the one code that runs every chain.

A chain declares its datasets (data.gouv.fr identity, schema, titles), where its raw nights
are kept, and its steps. The functions below run a night, send the years' files to
data.gouv.fr, write the report (JSON + HTML + run index, the same for every chain) and
republish years after a decision, for every chain alike; the DAGs, the CLI and backfills
call them. A new chain is one module ``chains/<name>.py`` whose ``CHAIN`` is an instance of a
``Chain`` subclass, with its name in ``core.config.CHAINS``.

Steps return small JSON-serialisable dicts (they travel through XCom). A year result always
holds ``year``, ``files`` (per key of ``Chain.datasets``, the files written, as
``PublishedFile.to_dict``) and ``bodies`` (the bodies whose widget files it touched); it may hold
``left_by_decision`` (per key of ``files``, how many rows the decisions took out of the file so
far: rows the shrink guard expects to lose).
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from chains.body_switches import failed_switches, failure_lines
from chains.run_report import write_report_document
from core.config import CHAINS, DATAGOUV_SCHEMA_NAMES, Settings
from core.jsonio import json_bytes
from core.keys import WIDGET_CATALOGUE_LEASE, datagouv_owed_key, quarantine_key, report_key
from core.lease import Held, holding
from core.overlay_store import chain_store
from core.registry import body_registry
from core.store import ObjectStore, open_store
from core.test_hook import hold
from load.datagouv_publisher import ResourceUpload, make_publisher
from load.public_files import manifest_files
from load.versions import read_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dataset:
    """Files of a year result published to data.gouv.fr as one dataset's resources."""

    name: str  # digor's dataset: key of DIGOR_DATAGOUV_DATASETS
    schema: str | None  # schema name (``SCHEMA_VERSIONS``) the files declare; None: no national schema
    title: str  # resource title, ``{year}`` and ``{fmt}`` filled
    unit: str = "lignes"  # what the file's ``rows`` count, for the resource description


@dataclass(frozen=True)
class NightMarks:
    """The nights (or short runs) a chain's run began and has not reported: their work waits for the
    next run, which finishes it. One sorted JSON list under ``key``, written under the chain's lease."""

    key: str
    field: str = "nights"

    def read(self, store: ObjectStore) -> list[str]:
        return list(read_json(store, self.key, {self.field: []})[self.field])

    def mark(self, store: ObjectStore, nights: Iterable[str], begun: bool = True) -> None:
        """``begun``: the nights are added (before their work); otherwise removed (once reported)."""
        before = self.read(store)
        after = sorted(set(before) | set(nights)) if begun else [n for n in before if n not in set(nights)]
        if after != before:
            store.put_bytes(self.key, json_bytes({self.field: after}))


def timed(step: Callable[..., dict]) -> Callable[..., dict]:
    """Add the step's wall time to its summary, for the run report."""

    @functools.wraps(step)
    def run(*args, **kwargs) -> dict:
        start = time.monotonic()
        result = step(*args, **kwargs)
        return {**result, "duration_s": round(time.monotonic() - start, 3)}

    return run


class Chain:
    """One nightly chain. Subclasses set the class attributes and the steps."""

    name: ClassVar[str]
    main_schema: ClassVar[str]  # the national schema whose version ``backfill --schema-version`` sets
    datasets: ClassVar[dict[str, Dataset]]  # key of a year result's ``files`` -> its data.gouv.fr dataset
    diff_keys: ClassVar[dict[str, list[str]]]  # backfill diff: per key of ``files``, the columns naming a row
    has_extract: ClassVar[bool] = True  # False: the chain reads another chain's staging, not a source
    # The nights a run began and did not report, finished by the next run (``nights_to_transform``);
    # None: the chain finishes them its own way (the actes chain's unreported partitions).
    pending: ClassVar[NightMarks | None] = None
    # The extract and transform summaries of a run that only republishes (no night read).
    empty_night: ClassVar[dict] = {}
    # Chains whose decisions (the ledger's, e.g. ``digor unpublish`` on an act) this chain's outputs
    # follow: a decision there republishes this chain's touched years too (``republish_decision``).
    follows_decisions_of: ClassVar[tuple[str, ...]] = ()

    def store(self, settings: Settings) -> ObjectStore:
        """Every step writes through this store, so that a backfill runs the same steps into an overlay."""
        return chain_store(settings)

    def raw_prefixes(self, settings: Settings) -> list[str]:
        """Where the chain's inputs of each night are kept (what a backfill replays)."""
        raise NotImplementedError

    def extract(self, settings: Settings, night: str, until: str | None = None) -> dict:
        """The night's inputs to the raw zone; ``until``: end of the scheduler's data interval
        (``YYYY-MM-DD HH:MM:SS``, local time), when the run has one."""
        return {"night": night}

    def transform(self, settings: Settings, night: str) -> dict:
        """The night's inputs to staging; the result holds ``night``, ``years`` and ``bodies``."""
        raise NotImplementedError

    def years_to_publish(self, settings: Settings, transformed: dict, force_rebuild: bool) -> list[int]:
        raise NotImplementedError

    def merge_nights(self, summaries: list[dict]) -> dict:
        """Several nights transformed by one run (triggered after several runs of the chain it waits
        for) as one summary: lists joined, counts added, years and bodies united, the last night names
        the report."""
        if len(summaries) == 1:
            return summaries[0]
        merged: dict = {}
        by_year: dict[str, set[str]] = {}
        for summary in summaries:
            for key, value in summary.items():
                if isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
                elif isinstance(value, int) and not isinstance(value, bool):  # counts add up
                    merged[key] = merged.get(key, 0) + value
                else:
                    merged[key] = value
            for year, bodies in (summary.get("bodies_by_year") or {}).items():
                by_year.setdefault(year, set()).update(bodies)
        merged["bodies_by_year"] = {year: sorted(bodies) for year, bodies in sorted(by_year.items())}
        if not any("bodies_by_year" in summary for summary in summaries):
            del merged["bodies_by_year"]
        united = {key: sorted(set(merged[key])) for key in ("years", "bodies") if key in merged}
        return {**merged, **united, "nights": [s["night"] for s in summaries]}

    def nights_to_transform(self, settings: Settings, nights: list[str]) -> list[str]:
        """Under the lease: the nights asked for, after those an earlier run began and never reported
        (every retry failed, nobody reran it). A scheduled run is given only the nights since the last
        one: without this, those nights would wait for someone to rerun them. Each night is marked
        (``pending``) before its transform and unmarked by the run's report."""
        if self.pending is None:
            return nights
        store = self.store(settings)
        left = [night for night in self.pending.read(store) if night not in nights]
        ready = [night for night in left if self.night_ready(store, night)]
        if ready:
            log.warning("%s: finishing the nights an earlier run left: %s", self.name, ", ".join(ready))
        if len(ready) < len(left):  # e.g. asked for by hand before the chain they follow ran them
            log.warning("%s: nights left whose inputs are not ready yet, not retried: %s", self.name,
                        ", ".join(n for n in left if n not in ready))
        self.pending.mark(store, nights)
        return ready + list(nights)

    def transform_nights(self, settings: Settings, nights: list[str]) -> dict:
        """Under the lease: each night transformed, as one summary."""
        return self.merge_nights([self.transform(settings, night) for night in nights])

    def unfinished_nights(self, transformed: dict) -> set[str]:
        """Nights a run reports on that its next run must try again (e.g. documents deferred)."""
        return set()

    def night_ready(self, store: ObjectStore, night: str) -> bool:
        """Whether a night left unfinished can be run again now (its inputs are there)."""
        return True

    def stale_years(self, settings: Settings) -> dict[int, list[str] | None]:
        """Years whose public files lag behind what they are built from (a decision recorded since),
        with the bodies concerned (None: all): rebuilt by the next run and before any switch."""
        return {}

    def year_jobs(self, settings: Settings, transformed: dict, force_rebuild: bool) -> list[dict]:
        """One job per year to publish (one mapped task each in a DAG): ``publish_year``'s arguments.
        The night's years, and the years left behind by decisions (``stale_years``)."""
        bodies = None if force_rebuild else transformed.get("bodies")
        # A chain may say which of the night's bodies each year concerns (``bodies_by_year``): a year
        # that got one act tonight rebuilds that body's widget files, not those of every body of the night.
        per_year = {} if force_rebuild else transformed.get("bodies_by_year") or {}
        jobs: dict[int, list[str] | None] = {
            year: per_year.get(str(year), bodies) for year in self.years_to_publish(settings, transformed, force_rebuild)
        }
        for year, stale in self.stale_years(settings).items():
            jobs[year] = _union(jobs[year], stale) if year in jobs else stale
        # A run finishing earlier nights too reports on every file of the year (``night`` None).
        night = transformed["night"] if len(transformed.get("nights") or [transformed["night"]]) == 1 else None
        return [{"year": year, "night": night, "bodies": jobs[year]} for year in sorted(jobs)]

    def publish_year(self, settings: Settings, year: int, bodies: list[str] | None = None,
                     night: str | None = None) -> dict:
        """Rebuild one year's files (and the widget files of ``bodies``, all when None); ``night``, when
        given, is the run's night (what the report of that night lists)."""
        raise NotImplementedError

    def decision_years(self, settings: Settings, decided: dict) -> list[int]:
        """This chain's years that a decision on one item touches (``decided``: ``siren``,
        ``source_id`` and ``year`` of the item in the deciding chain); for that chain, the item's year."""
        return [decided["year"]]

    def widget_bodies(self, transformed: dict, years: list[dict], force_rebuild: bool) -> list[str] | None:
        """The bodies whose widget files to switch (None: every body)."""
        return sorted({body for year in years for body in year["bodies"]})

    def publish_widgets(self, settings: Settings, bodies: Iterable[str] | None) -> list[str]:
        """Switch the datasets' manifests, then the bodies' widget manifests, then the catalogue."""
        raise NotImplementedError

    def build_report(
        self, night: str, extracted: dict, transformed: dict, years: list[dict], widgets: list[str], datagouv: list[dict]
    ) -> dict:
        raise NotImplementedError

    def summary_lines(self, report: dict) -> list[str]:
        raise NotImplementedError

    # Generic: the same for every chain.

    def lock(self, settings: Settings, owner: str, on_wait: Callable[[str], None] = log.warning,
             wait: float | None = None):
        """The chain's lease (``core.lease``), held by every writer of its state and public outputs: a
        night's steps, a short run, a decision's republication. Nested uses in one process share it.
        ``wait``: how long to wait for another holder (default ``settings.lock_wait_seconds``)."""
        return holding(open_store(settings.store_url), self.name, owner, settings.lock_ttl_seconds,
                       settings.lock_wait_seconds if wait is None else wait, on_wait)

    def brought_nothing(self, extracted: dict) -> bool:
        """Whether an extract found nothing to stage (a short run then stops there, publishing nothing)."""
        return False

    def after_night(self, settings: Settings, on_wait: Callable[[str], None] = log.warning) -> list[str]:
        """What the DAG runs beside the publication path, once a night is published, for ``digor run``
        (e.g. reading the documents' texts); summary lines. Nothing by default."""
        return []

    def feeds_followers(self, transformed: dict) -> bool:
        """Whether what a run staged is read by the chains that wait for this one (their Asset)."""
        return True

    def switch(self, settings: Settings, transformed: dict, years: list[dict], force_rebuild: bool,
               held: Held) -> tuple[list[str], list[dict]]:
        """Under the lease: rebuild the years a decision moved since they were built (the run read the
        ledger before it), then switch the manifests. Returns the keys and the rebuilt years."""
        rebuilt = [self.publish_year(settings, year, bodies, transformed.get("night"))
                   for year, bodies in sorted(self.stale_years(settings).items())]
        held.check()
        self.owe_datagouv(settings, merged_years(years, rebuilt))
        bodies = self.widget_bodies(transformed, merged_years(years, rebuilt), force_rebuild)
        return self.publish_widgets(settings, bodies), rebuilt

    def write_quarantine(self, settings: Settings, night: str, document: dict) -> str:
        """What the night could not read, with the reason, kept privately beside the raw zone."""
        key = quarantine_key(self.name, night)
        self.store(settings).put_bytes(key, json_bytes({"night": night, **document}))
        return key

    def _owed(self, store: ObjectStore) -> dict[str, dict]:
        return read_json(store, datagouv_owed_key(self.name), {"years": {}})["years"]

    def owe_datagouv(self, settings: Settings, year_results: list[dict], paid: Iterable[int] = ()) -> None:
        """Under the lease: the years about to be switched (or sent) owed to data.gouv.fr, before the
        switch, so that whatever fails after it, the next run sends them; ``paid``: the years sent."""
        store, paid = self.store(settings), set(paid)
        owed = self._owed(store)
        after = {**owed, **{str(r["year"]): {key: r[key] for key in ("year", "files", "left_by_decision") if key in r}
                            for r in year_results}}
        after = {year: result for year, result in sorted(after.items()) if int(year) not in paid}
        if after != owed:
            store.put_bytes(datagouv_owed_key(self.name), json_bytes({"years": after}))

    def publish_datagouv(self, settings: Settings, year_results: list[dict], allow_shrink: bool = False) -> list[dict]:
        """Send every changed file of the chain's datasets through the configured publisher, with the
        years an earlier run switched in the object store and never sent (every retry failed, or the run
        stopped between the switch and this step): data.gouv.fr catches up with the store, a withdrawal
        included, even when this run touches none of their years.

        The publisher skips unchanged files and holds back (reported, and tried again by the next run)
        a file that lost more than ``settings.max_shrink_ratio`` of its rows since the version last sent,
        not counting the rows that decisions took out meanwhile (``left_by_decision``), unless
        ``allow_shrink``.
        """
        hold("before-datagouv")
        store = self.store(settings)
        registry = body_registry(settings)
        publisher = make_publisher(settings.datagouv_mode, store, settings=settings, allow_shrink=allow_shrink)
        given = {r["year"] for r in year_results}
        late = [r for r in self._owed(store).values() if r["year"] not in given]
        if late:
            log.warning("%s: sending data.gouv.fr the years an earlier run left unsent: %s", self.name,
                        ", ".join(str(r["year"]) for r in late))
        self.owe_datagouv(settings, year_results)
        outcomes = []
        paid = []
        for result in sorted((as_switched(store, r) for r in [*year_results, *late]), key=lambda r: r["year"]):
            sent = len(outcomes)
            for files_key, dataset in self.datasets.items():
                declared = DATAGOUV_SCHEMA_NAMES.get(dataset.schema) if dataset.schema else None
                for file in result["files"].get(files_key, []):
                    upload = ResourceUpload(
                        dataset=dataset.name,
                        key=file.get("version_key") or file["key"],
                        title=dataset.title.format(year=result["year"], fmt=file["format"].upper()),
                        description=f"{registry.region_name} : {file['rows']} {dataset.unit}, publié par {registry.publisher}.",
                        format=file["format"],
                        schema={"name": declared, "version": settings.schema_versions[dataset.schema]} if declared else None,
                        filesize=file["size"],
                        sha256=file["sha256"],
                        rows=file["rows"],
                        name=file["key"].rsplit("/", 1)[1],
                        left_by_decision=result.get("left_by_decision", {}).get(files_key, 0),
                    )
                    outcomes.append(publisher.publish(upload, store.get_bytes(upload.key)))
            if all(outcome["status"] != "held-back" for outcome in outcomes[sent:]):
                paid.append(result["year"])
        self.owe_datagouv(settings, [], paid)
        return outcomes

    def write_report(
        self, settings: Settings, night: str, extracted: dict, transformed: dict, years: list[dict],
        widgets: list[str], datagouv: list[dict], dag_id: str | None = None, run_id: str | None = None,
    ) -> dict:
        """The run's report as JSON and HTML, indexed under its DAG run (the "Run report" link in the UI)."""
        report = self.build_report(night, extracted, transformed, years, widgets, datagouv)
        key = report_key(self.name, night)
        store = self.store(settings)
        if failures := failed_switches(store, self.name):
            report["widget_failures"] = failures
        html = write_report_document(store, key, report, dag_id, run_id)
        if self.pending is not None:
            done = set(transformed.get("nights") or [night]) - self.unfinished_nights(transformed)
            self.pending.mark(store, done, begun=False)
        return {"key": key, "html": html, "summary": self.summary_lines(report) + failure_lines(failures),
                "totals": report["totals"], "widget_failures": failures}

    def run_night(
        self, settings: Settings, night: str, force_rebuild: bool = False,
        progress: Callable[[str], None] = lambda _: None, allow_shrink: bool = False,
        owner: str | None = None, on_wait: Callable[[str], None] = log.warning,
        until: str | None = None, lock_wait: float | None = None, only_if_new: bool = False,
    ) -> dict:
        """Every step of a night in order, without a scheduler (``digor run <chain>``): what the DAG runs.
        The chain's lease is held throughout, so two runs of a chain never interleave. ``until``: end
        of the run's data interval (``extract``); ``only_if_new``: stop after the extract when it
        brought nothing (a short run), with ``skipped`` saying so and nothing written."""
        with self.lock(settings, owner or f"digor run {self.name} --date {night}", on_wait, lock_wait) as held:
            progress("extract")
            extracted = self.extract(settings, night, until) if self.has_extract else {"night": night}
            if only_if_new and self.brought_nothing(extracted):
                line = f"{self.name} {night}: nothing new since the last run, nothing published"
                return {"night": night, "skipped": line, "summary": [line], "followers": False}
            progress("transform")
            transformed = self.transform_nights(
                settings, extracted.get("nights") or self.nights_to_transform(settings, [night]))
            years = []
            for job in self.year_jobs(settings, transformed, force_rebuild):
                progress(f"publish {job['year']}")
                years.append(self.publish_year(settings, **job))
            progress("widgets")
            widgets, rebuilt = self.switch(settings, transformed, years, force_rebuild, held)
            years = merged_years(years, rebuilt)
            progress("data.gouv.fr")
            datagouv = self.publish_datagouv(settings, years, allow_shrink)
            progress("report")
            written = self.write_report(settings, night, extracted, transformed, years, widgets, datagouv)
            return {**written, "night": night, "followers": self.feeds_followers(transformed)}

    def republish(self, settings: Settings, years: Iterable[int], bodies: list[str] | None, label: str,
                  dag_id: str | None = None, run_id: str | None = None,
                  on_wait: Callable[[str], None] = log.warning) -> dict:
        """The given years' outputs rebuilt at once from staging and the ledger (a decision must not wait
        for the night), under the chain's lease; ``label`` names the report."""
        with self.lock(settings, f"{self.name} {label}", on_wait) as held:
            results = [self.publish_year(settings, year, bodies) for year in sorted(set(years))]
            empty = {**self.empty_night, "night": label, "years": [], "bodies": bodies or []}
            widgets, rebuilt = self.switch(settings, empty, results, bodies is None, held)
            results = merged_years(results, rebuilt)
            datagouv = self.publish_datagouv(settings, results)
            return self.write_report(settings, label, empty, empty, results, widgets, datagouv, dag_id, run_id)


def _union(first: list[str] | None, second: list[str] | None) -> list[str] | None:
    """Bodies of two jobs of one year (None: all bodies)."""
    return None if first is None or second is None else sorted(set(first) | set(second))


def merged_years(years: list[dict], rebuilt: list[dict]) -> list[dict]:
    """A run's year results with the years rebuilt at the switch in their place (their files are
    the ones switched in); the bodies touched by both."""
    again = {result["year"]: result for result in rebuilt}
    merged = [
        {**again[r["year"]], "bodies": _union(r["bodies"], again[r["year"]]["bodies"])} if r["year"] in again else r
        for r in years
    ]
    seen = {r["year"] for r in years}
    return merged + [r for r in rebuilt if r["year"] not in seen]


def as_switched(store: ObjectStore, result: dict) -> dict:
    """A year result's files as the public manifests name them now: a run that lost a race with a
    decision sends data.gouv.fr what the decision left, never what it had built before it."""
    manifests: dict[str, dict] = {}
    files: dict[str, list[dict]] = {}
    for files_key, entries in result["files"].items():
        files[files_key] = []
        for file in entries:
            if not file.get("version_key"):
                files[files_key].append(file)
                continue
            folder, name = file["key"].rsplit("/", 1)
            if folder not in manifests:
                manifests[folder] = {entry["permanent"]: entry for formats in manifest_files(store, folder).values()
                                     for entry in formats.values()}
            entry = manifests[folder].get(name)
            if entry is None:  # no longer public
                continue
            if entry["fichier"] != file["version_key"].rsplit("/", 1)[1]:
                file = {**file, "version_key": f"{folder}/{entry['fichier']}", "rows": entry["lignes"],
                        "size": entry["octets"], "sha256": entry["sha256"]}
            files[files_key].append(file)
    return {**result, "files": files}


def publish_catalogue_and_map(settings: Settings, store: ObjectStore, registry, bodies=None) -> list[str]:
    """The widget catalogue, then the map of reuses drawn from it: what every chain writing widget files
    ends with. Under their own lease: two chains' runs (each under its chain's lease) may reach them
    at once, and each rewrites the catalogue from its reading of it."""
    from chains.sirene import body_location
    from load.reuse_map import publish_reuse_map
    from load.widget_catalogue import publish_catalogue

    with holding(open_store(settings.store_url), WIDGET_CATALOGUE_LEASE, "the widget catalogue and map",
                 settings.lock_ttl_seconds, settings.lock_wait_seconds):
        return [publish_catalogue(store, registry, bodies),
                publish_reuse_map(store, registry, settings.public_url, body_location(settings))]


def get_chain(name: str) -> Chain:
    """The chain of that name: module ``chains.<name>``, its ``CHAIN``."""
    if name not in CHAINS:
        raise ValueError(f"unknown chain {name!r} (known: {', '.join(CHAINS)})")
    return importlib.import_module(f"chains.{name}").CHAIN


def republish_decision(settings: Settings, chain_name: str, decided: dict, label: str, *,
                       followers_only: bool = False, **options) -> list[dict]:
    """A decision recorded on an item of ``chain_name`` reaches at once every output that follows it:
    that chain's (unless ``followers_only``: a DAG run republishing it already), then those of the
    chains that follow its decisions; each republished chain's report (``options`` go to each
    ``Chain.republish``)."""
    return republish_decisions(settings, chain_name, [decided], label, followers_only=followers_only, **options)


def republish_decisions(settings: Settings, chain_name: str, decided: list[dict], label: str, *,
                        followers_only: bool = False, **options) -> list[dict]:
    """``republish_decision`` for several items decided together: each chain republishes once, the
    years and bodies of all of them."""
    followers = [get_chain(name) for name in CHAINS if chain_name in get_chain(name).follows_decisions_of]
    bodies = sorted({item["siren"] for item in decided})
    results = []
    for chain in ([] if followers_only else [get_chain(chain_name)]) + followers:
        years = sorted({year for item in decided for year in chain.decision_years(settings, item)})
        if years:
            results.append(chain.republish(settings, years, bodies, label, **options))
    return results


def quarantined_rows(report, frame, file_key: str, columns: Mapping[str, str] | Iterable[str]) -> list[dict]:
    """Rows validation left out of a file: what identifies each (``columns``: report field -> column
    of ``frame``, or the columns under their own names), and why."""
    named = columns if isinstance(columns, Mapping) else {column: column for column in columns}
    return [
        {
            **{field: frame.at[row, column] for field, column in named.items()},
            "file": file_key,
            "reason": "; ".join(f"{e.field or ''}: {e.message}" for e in errors),
        }
        for row, errors in sorted(report.errors_by_row().items())
    ]
