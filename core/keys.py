"""The object store's key layout: every zone and prefix digor reads or writes, in one place.

``raw/`` holds inputs as received (write-once), ``staging/`` normalised Parquet,
``public/`` what browsers and downloaders read, ``private/`` everything else (reports,
quarantine, ledger, publisher state, caches). Only ``public/`` is readable by browsers.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

RAW = "raw"
STAGING = "staging"
PUBLIC = "public"
PRIVATE = "private"

# A region of a deployment serving several keeps all its zones under its own prefix of the store
# (``region_store_url``): nothing of one region is ever written where another's is.
REGIONS = "regions"


def region_store_url(base: str, region: str) -> str:
    """The store (a folder or ``s3://bucket/prefix``) of one named region of a multi-region deployment."""
    return f"{base.rstrip('/')}/{REGIONS}/{region}"


# Private zone.
REPORTS_PREFIX = f"{PRIVATE}/reports"
RUNS_PREFIX = f"{REPORTS_PREFIX}/runs"
QUARANTINE_PREFIX = f"{PRIVATE}/quarantine"
LEDGER_PREFIX = f"{PRIVATE}/ledger/actes"
# Per chain and year, the ledger files the year's public files were last built from.
LEDGER_APPLIED_PREFIX = f"{PRIVATE}/ledger/applied"
# Per decision year, every event of the year's ledger files in one object, and which files it holds.
LEDGER_CACHE_PREFIX = f"{PRIVATE}/ledger/cache/actes"
# Per body, each change of its settings made in the agents' space (on top of the registry file),
# and per body each agent's choice of the daily e-mail digest: one file per change, never rewritten.
LEDGER_SETTINGS_PREFIX = f"{PRIVATE}/ledger/organismes"
LEDGER_DIGEST_PREFIX = f"{PRIVATE}/ledger/recapitulatifs"
# The agents' space's own state (its own store, DIGOR_PORTAIL_STATE): sessions, decision operations.
PORTAIL_SESSIONS_PREFIX = f"{PRIVATE}/portail/sessions"
PORTAIL_OPERATIONS_PREFIX = f"{PRIVATE}/portail/operations"
# Per body and decision year, its acts as they stand (what the agents' space reads for one body).
BODY_INDEX_PREFIX = f"{PRIVATE}/index/actes"
# Each year's regional actes tables per body, from which a night puts the files together (load.year_parts).
YEAR_PARTS_PREFIX = f"{PRIVATE}/parts/actes"
LOCKS_PREFIX = f"{PRIVATE}/locks"
DOCUMENT_USAGE_PREFIX = f"{PRIVATE}/documents/actes"
# The text read from each document (text layer or OCR), once per content hash, whether published or not.
DOCUMENT_TEXTS_PREFIX = f"{PRIVATE}/texts/documents"
DOCUMENT_TEXTS_QUEUE_PREFIX = f"{PRIVATE}/texts/queue"
DOCUMENT_TEXTS_BY_BODY_PREFIX = f"{PRIVATE}/texts/organismes"
# Written once the queue holds every document a store kept before it had one (``load.document_texts``).
DOCUMENT_TEXTS_QUEUE_KEPT = f"{DOCUMENT_TEXTS_QUEUE_PREFIX}/tenue.json"
VERSIONS_PREFIX = f"{PRIVATE}/versions"
DATAGOUV_PREFIX = f"{PRIVATE}/datagouv"
PLANS_CACHE_PREFIX = f"{PRIVATE}/cache/plans-de-comptes"
SIRENE_PREFIX = f"{PRIVATE}/sirene"
# INSEE legal populations: <millésime>/communes.parquet, <millésime>/manifest.json, current.json.
POPULATIONS_PREFIX = f"{PRIVATE}/populations"
# Before watermarks were kept per body (``pastell_body_state_key``): read when a body has no own file yet.
PASTELL_STATE_KEY = f"{PRIVATE}/pastell/watermarks.json"
PASTELL_STATE_PREFIX = f"{PRIVATE}/pastell/watermarks"
# Where the short runs' reading of Pastell's journal stopped, and the bodies to list again whatever it says.
PASTELL_JOURNAL_KEY = f"{PRIVATE}/pastell/journal.json"
# The partitions (short runs, nights) that pulled acts and have not reported yet (the next night finishes them).
SHORT_RUNS_KEY = f"{PRIVATE}/pastell/short-runs.json"
S2LOW_STATE_KEY = f"{PRIVATE}/s2low/watermarks.json"
# A night whose shards pull and stage outside the chain's lease (mapped tasks side by side): short
# runs skip while it is there (removed when the shards are merged, or stale after the night's timeout).
SHARDED_NIGHT_KEY = f"{PRIVATE}/shards/actes-night.json"
# Nights a chain's run began and did not report yet (``Chain.nights_to_transform``).
BUDGETS_PENDING_KEY = f"{PRIVATE}/budgets/pending-nights.json"
DECP_PENDING_KEY = f"{PRIVATE}/decp/pending-nights.json"
BUDGET_VERSIONS_PREFIX = f"{PRIVATE}/budgets/versions"
# The comparisons the Budgets widget files show (communes of a band), as of the last switch.
BUDGET_COMPARISONS_KEY = f"{PRIVATE}/budgets/comparaisons.json"
DECP_NAMES_MONTH_KEY = f"{PRIVATE}/decp/mois-sirene.json"
BACKFILL_PREFIX = f"{PRIVATE}/backfill"
# The bodies the télétransmission's entities and the SIRENE register give (registry from the source).
REGISTRY_DISCOVERED_KEY = f"{PRIVATE}/registry/bodies.json"
REGISTRY_REPORT_KEY = f"{PRIVATE}/registry/report.json"
BACKFILL_REPORTS_PREFIX = f"{PRIVATE}/backfill-reports"

# Public zone.
DOCUMENTS_PREFIX = f"{PUBLIC}/documents"
WIDGETS_PREFIX = f"{PUBLIC}/widgets"
# Beside each public PDF, its text for reuse (``<sha256>.txt``).
DOCUMENT_TEXT_SUFFIX = ".txt"
WIDGET_CATALOGUE_KEY = f"{WIDGETS_PREFIX}/actes-organismes.json"
# The lease every chain takes to rewrite the catalogue and the map of reuses (read, look up, write).
WIDGET_CATALOGUE_LEASE = "widget-catalogue"
# The map of reuses: the bodies with widgets, where they are, which widgets and where they are embedded.
REUSE_MAP_KEY = f"{WIDGETS_PREFIX}/carte-reutilisations.geojson"
# The pages seen embedding a body's widgets (``digor serve`` with DIGOR_RECORD_EMBEDDING_PAGES), one file per body.
EMBEDDING_PAGES_PREFIX = f"{PRIVATE}/widgets/pages-integration"
# The bodies whose widget switch failed, per chain (``chains.body_switches``): reported, tried again.
WIDGET_SWITCH_FAILURES_PREFIX = f"{PRIVATE}/widgets/switch-failures"


def embedding_pages_key(siren: str) -> str:
    return f"{EMBEDDING_PAGES_PREFIX}/{siren}.json"
# What a widget reads first in a body's folder; it names every other file.
WIDGET_MANIFEST = "index.json"


def document_text_record_key(sha256: str) -> str:
    """What was read from a document (``extract.document_text``), by the hash of its bytes."""
    return f"{DOCUMENT_TEXTS_PREFIX}/{sha256[:2]}/{sha256}.json"


def document_texts_body_year_key(siren: str, year: int) -> str:
    """Private: the text records of one body's documents of one year, kept together so that the year's
    text side file reads one object per body, not one per document of its history
    (``load.document_texts.texts_by_body``)."""
    return f"{DOCUMENT_TEXTS_BY_BODY_PREFIX}/annee={year}/siren={siren}.json"


def document_text_queue_prefix(stage: str) -> str:
    """Private: the documents waiting for their text to be read (``a-lire``) or published
    (``a-publier``), one empty object each, so that the texts' run lists what is new, not every
    document of the history (``load.document_texts``); trailing slash."""
    return f"{DOCUMENT_TEXTS_QUEUE_PREFIX}/{stage}/"


def document_text_queue_key(stage: str, sha256: str) -> str:
    """Private: one document in the texts' queue (``document_text_queue_prefix``)."""
    return f"{document_text_queue_prefix(stage)}{sha256}"


def widget_body_drafts(widget: str, body: str) -> str:
    """Private folder of what one body's widget keeps between switches (the parts below); trailing slash."""
    return f"{widget_drafts(widget)}/{body}/"


def widget_year_digest_key(widget: str, body: str, version: str) -> str:
    """Private: what a body's manifest and derived files need of one year file version (first page
    and feed candidates, counts, the names of its public search part and text index), so that a
    switch reads the years it did not touch from their digests (``load.widget_files._year_parts``)."""
    return f"{widget_year_digests(widget, body)}{version}"


def widget_year_digests(widget: str, body: str) -> str:
    """Private folder of the year digests of one body's widget; trailing slash."""
    return f"{widget_body_drafts(widget, body)}annees/"


def widget_year_terms_key(widget: str, body: str, year: str) -> str:
    """Private: the search terms of each document of one year of a body's widget, so that a year's
    text part is made again reading only the texts it has not seen (``load.widget_text_index``)."""
    return f"{widget_body_drafts(widget, body)}termes/{year}.json"


def public_document_text_key(sha256: str) -> str:
    """The public text of a document, next to its PDF (``load.documents.document_key``)."""
    return f"{DOCUMENTS_PREFIX}/{sha256[:2]}/{sha256}{DOCUMENT_TEXT_SUFFIX}"


def raw_prefix(chain: str, source: str) -> str:
    return f"{RAW}/{chain}/{source}"


def raw_night_prefix(chain: str, source: str, night: str) -> str:
    return f"{raw_prefix(chain, source)}/date={night}/"


# A source's folder that changed after its night was stored is kept again, whole, under
# ``<night prefix>rev=<n>/`` (n from 2; the first version has no such segment): raw never rewrites.
RAW_REVISION = "rev="


def raw_revision_prefix(chain: str, source: str, night: str, revision: int) -> str:
    """Where revision ``revision`` (1: the first) of a night's folders is kept."""
    night_prefix = raw_night_prefix(chain, source, night)
    return night_prefix if revision == 1 else f"{night_prefix}{RAW_REVISION}{revision}/"


def raw_act_folder(chain: str, source: str, night: str, key: str) -> tuple[str, int, str] | None:
    """(folder name, revision, raw prefix of the folder) of a key in a night's act folders
    (``<night prefix>[rev=<n>/]<body>/<folder>/<file>``), or None for any other key."""
    night_prefix = raw_night_prefix(chain, source, night)
    if not key.startswith(night_prefix):
        return None
    relative, revision = key[len(night_prefix):], 1
    head, _, rest = relative.partition("/")
    if head.startswith(RAW_REVISION) and head[len(RAW_REVISION):].isdigit():
        relative, revision = rest, int(head[len(RAW_REVISION):])
    parts = relative.split("/")
    if len(parts) < 3:
        return None
    return parts[1], revision, f"{raw_revision_prefix(chain, source, night, revision)}{parts[0]}/{parts[1]}/"


# A night's partition (raw folder, staging file, ledger file, report) is named after its day; a
# short run's (the ``actes_frequent`` DAG) after the end of its data interval in local time,
# ``<day>T<HHMM>``: a partition of its own, so that what it pulled is staged and dated once.
SHORT_RUN_MARK = "T"


def short_run_partition(moment: datetime) -> str:
    """The partition of a short run whose data interval ends at ``moment`` (local time)."""
    return moment.strftime(f"%Y-%m-%d{SHORT_RUN_MARK}%H%M")


def is_short_run(partition: str) -> bool:
    return SHORT_RUN_MARK in partition


def partition_day(partition: str) -> date:
    """The day of a partition: a night's date, or the local day a short run ran (what its acts'
    first publication date is)."""
    return date.fromisoformat(partition[:10])


def staging_prefix(dataset: str) -> str:
    return f"{STAGING}/{dataset}"


def staging_latest_prefix(dataset: str) -> str:
    """What a dataset's staging holds now (each item's latest version), derived from its nights'
    files and kept beside them, outside their prefix."""
    return f"{STAGING}/{dataset}-latest"


# A night's work may be split into shards of bodies (one mapped task each): a body's shard is a
# stable function of its SIREN (or of its raw folder's body part), whatever the shard count.
def shard_of(body: str, count: int) -> int:
    """The shard (0 to ``count`` - 1) of a body, named by its SIREN or a raw folder's ``siren=<SIREN>``."""
    name = body[len("siren="):] if body.startswith("siren=") else body
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:12], 16) % max(1, count)


def staging_shard_key(dataset: str, partition: str, shard: int, count: int, name: str) -> str:
    """What one shard of a partition staged (its rows, its rejects) before the partition's merge:
    beside the dataset's staging, outside its prefix (never listed as a night's file)."""
    return f"{STAGING}/{dataset}-shards/date={partition}/shard={shard + 1}-of-{count}/{name}"


def pastell_body_state_key(siren: str) -> str:
    """One body's Pastell watermark (one object per body, so that shards never rewrite each other's)."""
    return f"{PASTELL_STATE_PREFIX}/{siren}.json"


def public_prefix(dataset: str) -> str:
    """Folder of a dataset's regional files and their manifest."""
    return f"{PUBLIC}/{dataset}"


def widget_prefix(widget: str) -> str:
    """Folder of one widget's per-body folders (``actes``, ``budgets``, ``marches``)."""
    return f"{WIDGETS_PREFIX}/{widget}"


def widget_folder(widget: str, body: str) -> str:
    """One body's widget files, by SIREN (actes) or SIRET (budgets, marches); no trailing slash."""
    return f"{widget_prefix(widget)}/{body}"


def widget_drafts(widget: str) -> str:
    """Private folder of one widget's files being prepared, before they are switched in as a set."""
    return f"{PRIVATE}/{widget_prefix(widget)}"


def lock_key(name: str) -> str:
    """The lease object of one lock (a chain's name)."""
    return f"{LOCKS_PREFIX}/{name}.json"


def quarantine_key(chain: str, night: str) -> str:
    return f"{QUARANTINE_PREFIX}/{chain}/date={night}.json"


def report_key(chain: str, night: str, name: str = "report.json") -> str:
    return f"{REPORTS_PREFIX}/{chain}/date={night}/{name}"


def history_import_report_key(stamp: str) -> str:
    """The report of one ``digor import-history`` run (what was imported, merged or refused)."""
    return f"{REPORTS_PREFIX}/import-history/{stamp}.json"


def public_path(key: str) -> str:
    """The path under which browsers see a public key (the public zone is served at its root)."""
    if not key.startswith(f"{PUBLIC}/"):
        raise ValueError(f"{key} is not in the public zone")
    return key[len(PUBLIC) + 1:]


def is_public(key: str) -> bool:
    return key.startswith(f"{PUBLIC}/")


def settings_event_key(siren: str, stamp: str) -> str:
    """One change of a body's settings (``stamp``: when, sortable)."""
    return f"{LEDGER_SETTINGS_PREFIX}/siren={siren}/{stamp}.json"


def digest_event_key(siren: str, stamp: str, who: str) -> str:
    """One agent's (``who``: a pseudonym) choice of a body's daily digest."""
    return f"{LEDGER_DIGEST_PREFIX}/siren={siren}/{stamp}-{who}.json"


def portail_session_key(digest: str) -> str:
    """A session's state, by the digest of its id (the store never holds a usable id)."""
    return f"{PORTAIL_SESSIONS_PREFIX}/{digest}.json"


def portail_operation_key(operation_id: str) -> str:
    return f"{PORTAIL_OPERATIONS_PREFIX}/{operation_id}.json"


def body_index_prefix(siren: str) -> str:
    return f"{BODY_INDEX_PREFIX}/siren={siren}/"


def body_index_key(siren: str, year: int, suffix: str) -> str:
    """One body's index of one year: its acts (``load.body_index.TABLE``) then ``json`` (the ledger files it
    follows)."""
    return f"{body_index_prefix(siren)}annee={year}.{suffix}"


def datagouv_owed_key(chain: str) -> str:
    """The chain's year files switched in the object store and not yet sent to data.gouv.fr."""
    return f"{DATAGOUV_PREFIX}/owed/{chain}.json"
