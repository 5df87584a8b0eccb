"""Every setting of digor in one place.

Defaults make the demo run from a fresh clone; production overrides them with
environment variables (``DIGOR_*``), which Airflow deployments set from Variables or
their own environment. Secrets never live here: they come from Airflow connections.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core.keys import (
    REGIONS,
    SHORT_RUN_MARK,
    is_short_run,
    public_path,
    region_store_url,
)
from core.parallel import cpu_count

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"

ENV_PREFIX = "DIGOR_"

# Target version of each national schema published by digor.
SCHEMA_VERSIONS = {
    "scdl-deliberations": "2.1.5",
    "actes": "1.1",  # digor's own, schemas/actes-1.1.json (1.1: natures outside the préfecture flow)
    "actes-textes": "1.0",  # digor's own, schemas/actes-textes-1.0.json: the documents' text, beside "actes"
    "decp": "2.0.2",  # JSON Schema schemas/decp-2.0.2.json (2022 format, arrêtés du 22 décembre 2022)
    "decp-historique": "1.5.0",  # JSON Schema schemas/decp-1.5.0.json (2019 format, kept as history)
    "decp-table": "1.0",  # digor's flat DECP table, schemas/decp-table-1.0.json
    "scdl-budget": "0.8.3",  # schemas/scdl-budget-0.8.3.json
}


def parse_schema_versions(text: str) -> dict[str, str]:
    """Defaults overridden by ``name=version,name=version`` (DIGOR_SCHEMA_VERSIONS)."""
    versions = dict(SCHEMA_VERSIONS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, version = item.partition("=")
        if not version:
            raise ValueError(f"DIGOR_SCHEMA_VERSIONS: {item!r} is not name=version")
        versions[name.strip()] = version.strip()
    return versions


def target_schema(name: str) -> str:
    """``name@version`` of the schema version digor publishes for a dataset."""
    return f"{name}@{SCHEMA_VERSIONS[name]}"


# Names under which data.gouv.fr's schema catalogue knows the schemas we declare.
DATAGOUV_SCHEMA_NAMES = {
    "scdl-deliberations": "scdl/deliberations",
    "decp": "139bercy/format-commande-publique",
    "decp-historique": "139bercy/format-commande-publique",
    "scdl-budget": "scdl/budget",
}

# data.gouv.fr (udata API v1): the Airflow connection whose host is the platform's base URL
# (production, demo or any udata) and whose password is the API key; the client's manners.
# The udata dataset of each digor dataset comes from DIGOR_DATAGOUV_DATASETS (JSON).
DATAGOUV_CONN_ID = "digor_datagouv"
DATAGOUV_CLIENT_DEFAULTS = {
    "connect_timeout": 10.0,
    "read_timeout": 300.0,
    "max_attempts": 5,
    "backoff_seconds": 2.0,
    "max_backoff_seconds": 120.0,
    "upload_spacing_seconds": 2.0,
    "max_retry_after_seconds": 120.0,
}

# Object store on S3 (``DIGOR_STORE=s3://bucket/prefix``): the Airflow connection with the
# access key (login), secret (password) and ``endpoint_url`` / ``region_name`` in its extra.
S3_CONN_ID = "digor_s3"


# The manners of a télétransmission platform's client (Pastell, S²LOW), each platform's on top.
TELETRANSMISSION_CLIENT_DEFAULTS = {
    "page_size": 100,
    # Full readings of a multi-page list until two agree (else Pastell's watermark stays, S²LOW's day
    # is listed again).
    "max_listings": 4,
    "max_workers": 4,
    "requests_per_second": 8.0,
    "connect_timeout": 10.0,
    "read_timeout": 120.0,
    "max_attempts": 5,
    "backoff_seconds": 1.0,
    "max_backoff_seconds": 60.0,
    "max_retry_after_seconds": 300.0,
}

# Télétransmission platform (Pastell API v2): the Airflow connection holding its URL and
# credentials, the document types (flows) whose documents are acts, and the client's manners.
PASTELL_CONN_ID = "digor_pastell"
PASTELL_FLOWS = ("actes-generique", "actes-automatique")
PASTELL_CLIENT_DEFAULTS = {
    **TELETRANSMISSION_CLIENT_DEFAULTS,
    "page_overlap": 2,
    # A short run reads Pastell's journal back to this long before where the last one stopped: an
    # event committed late (a smaller id_j seen after a larger one) is still found.
    "journal_overlap_seconds": 600.0,
}


# S²LOW (ADULLACT/Libriciel), the other télétransmission platform: the Airflow connection holding
# its URL, client certificate and key (one per body's authority, named in the registry, this one
# by default), the statuses of an acknowledged act, and the client's manners.
S2LOW_CONN_ID = "digor_s2low"
# 4 "Acquittement reçu", then what the archiving (SAE) makes of an acknowledged act: 19 waiting
# for the SAE, 12 sent to it, 13 archived, 14/20/22 its errors. An act moves on from 4 within
# days, so each is listed, or an act acknowledged and archived between two nights is never seen.
S2LOW_ACT_STATUSES = (4, 19, 12, 13, 14, 20, 22)
# 0 "Annulé": an act whose annulation the préfecture acknowledged (ARAnnulation); the annulation
# itself is a transaction of its own (type 6) that reaches 4. Only type 1 transactions are acts.
S2LOW_CANCELLED_STATUS = 0
S2LOW_ACT_TYPE = "1"


# Airflow's REST API (``digor unpublish|publish --via-airflow``): the Airflow connection whose host is
# the API server's base URL and whose login and password are a user of its auth manager.
AIRFLOW_API_CONN_ID = "digor_airflow_api"
AIRFLOW_API_TIMEOUT = 30.0

# Test hook, for the concurrency tests only: ``<point>:<file>`` makes a run stop at ``point``
# (``core.test_hook``) until ``file`` is removed.
TEST_HOLD_ENV = ENV_PREFIX + "TEST_HOLD"


def hold_setting() -> str:
    return os.environ.get(TEST_HOLD_ENV, "")


# Procurement platform (DECP exports): the Airflow connection holding its URL and credentials,
# and the client's manners.
DECP_CONN_ID = "digor_decp_platform"
DECP_SOURCES = ("drop", "platform")
DECP_CLIENT_DEFAULTS = {
    "connect_timeout": 10.0,
    "read_timeout": 300.0,
    "max_attempts": 4,
    "backoff_seconds": 1.0,
    "max_backoff_seconds": 60.0,
    "max_retry_after_seconds": 300.0,
}


# Budgets (TOTEM): official plans de comptes, <base>/<year>/<norme>/<declinaison>/planDeCompte.xml,
# and how they are downloaded. The budgets DAG has no clock: it runs on the Asset the actes DAG
# updates (orchestration.assets).
PLANS_BASE_URL = "http://odm-budgetaire.org/composants/normes"
PLANS_DOWNLOAD_DEFAULTS = {
    "connect_timeout": 10.0,
    "read_timeout": 30.0,
    "max_attempts": 3,
    "backoff_seconds": 1.0,
    "max_backoff_seconds": 30.0,
    "max_retry_after_seconds": 60.0,
}

# SIRENE (INSEE's register of companies and establishments): the monthly stock files in
# Parquet, <base>/StockUniteLegale_utf8.parquet and <base>/StockEtablissement_utf8.parquet,
# downloaded on the 3rd of each month (INSEE publishes on the 1st) into a local work folder, and how.
SIRENE_BASE_URL = "https://object.files.data.gouv.fr/data-pipeline-open/siren/stock"
SIRENE_CRON = "0 4 3 * *"
SIRENE_DOWNLOAD_DEFAULTS = {
    "connect_timeout": 10.0,
    "read_timeout": 120.0,
    "max_attempts": 5,
    "backoff_seconds": 2.0,
    "max_backoff_seconds": 120.0,
    "max_retry_after_seconds": 300.0,
}
# INSEE's legal populations (populations légales), published each December for a census year
# (millésime) and in force from the next 1st of January: the archive of the year's CSV files
# (``donnees_communes.csv`` inside). The year's file has an address of its own: a new millésime is
# a change of DIGOR_POPULATIONS_URL and DIGOR_POPULATIONS_YEAR. Revalidated by the monthly sirene
# DAG with a conditional request (same download policy as the SIRENE stock).
POPULATIONS_URL = "https://www.insee.fr/fr/statistiques/fichier/8290591/ensemble.zip"
POPULATIONS_YEAR = 2022
TOTEM_MAX_BYTES = 256 * 1024 * 1024
# The largest amount a budget line may carry, in euros, either sign: a document with a line beyond it
# is refused as implausible (the largest local budgets in France are a few tens of billions in all).
BUDGET_MAX_AMOUNT = Decimal("100000000000")
# No bound may be set above this: the widgets' sums of a document's lines stay exact below it.
BUDGET_MAX_AMOUNT_CEILING = Decimal("1000000000000000")

# Acts: what the transform accepts before anything is published.
# A decision, transmission or acknowledgement date outside [earliest, night + margin] is a typo
# (year 9999, year 1) that would open a year's files of its own: the act is rejected. No act under
# today's legality control predates the loi du 2 mars 1982 (droits et libertés des communes);
# the margin absorbs clocks and time zones, never a year.
ACT_DATE_EARLIEST = date(1982, 3, 2)
ACT_DATE_MARGIN_DAYS = 7
# A document (act or annex) larger than this is not published, with its own reason; raw keeps it.
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024
# A DECP export larger than this is skipped from the drop folder: the national consolidation
# (1.5 million objects, about 1.6 GB) fits; it is read in chunks, never whole.
MAX_DECP_FILE_BYTES = 4 * 1024 * 1024 * 1024
# Kept DECP objects of a year turned into its published files at a time (``transform.decp_year``):
# the year's peak memory follows this, not the year's size.
DECP_PUBLISH_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class TextLimits:
    """Bounds of reading one document's text (``extract.document_text``): a hostile or huge PDF costs
    at most this, in a child process, and gets a reason instead of stopping the night."""

    # Larger documents are not read at all ("too big").
    max_bytes: int = 50 * 1024 * 1024
    # Wall-clock seconds for the whole document, text layer and OCR ("timeout").
    timeout_seconds: float = 300.0
    # Address space of the child process and of Tesseract under it ("memory").
    memory_bytes: int = 1536 * 1024 * 1024
    # Pages of one document OCR'd at most; the text of the others is left out ("partial").
    max_ocr_pages: int = 60
    # A page whose text layer has fewer letters than this is treated as a scan.
    min_page_letters: int = 20
    # Resolution at which a scanned page is rendered for Tesseract, and its languages.
    ocr_dpi: int = 200
    ocr_languages: str = "fra"

    @classmethod
    def from_env(cls) -> "TextLimits":
        default = cls()
        return cls(
            max_bytes=int(_env("TEXT_MAX_BYTES", str(default.max_bytes))),
            timeout_seconds=float(_env("TEXT_TIMEOUT_SECONDS", str(default.timeout_seconds))),
            memory_bytes=int(_env("TEXT_MEMORY_BYTES", str(default.memory_bytes))),
            max_ocr_pages=int(_env("TEXT_MAX_OCR_PAGES", str(default.max_ocr_pages))),
            min_page_letters=default.min_page_letters,
            ocr_dpi=int(_env("TEXT_OCR_DPI", str(default.ocr_dpi))),
            ocr_languages=_env("TEXT_OCR_LANGUAGES", default.ocr_languages),
        )


# What the agent's ``publication_open_data`` code means, per flow (Pastell document type, from
# the act's ``info.type``; the source name, ``drop`` or ``pastell``, when the metadata has none).
# The layers of the télétransmission disagree: the regional pipeline reads 3 oui, 1 non, 2 ne sais
# pas (0 a historic oui), the GED form ``super-ged-megalis`` says 0 ne sais pas, 1 oui, 2 non. So
# the default keeps the pipeline's meaning where a mistake under the form's meaning still keeps
# the act offline (1 and 2), publishes only on 3 (no such code in the form) and leaves 0 out:
# a code a flow's mapping does not name is "to be decided", never online.
# DIGOR_PUBLICATION_OPEN_DATA_CODES (JSON ``{flow: {code: decision}}``) replaces a flow's mapping
# or adds one; decisions are "published", "refused" or "to_decide".
DEFAULT_FLOW = "default"
PUBLICATION_OPEN_DATA_CODES = {
    DEFAULT_FLOW: {"3": "published", "1": "refused", "2": "to_decide"},
    "super-ged-megalis": {"1": "published", "2": "refused", "0": "to_decide"},
}


def parse_open_data_codes(text: str) -> dict[str, dict[str, str]]:
    """The defaults, each flow named in ``text`` (JSON ``{flow: {code: decision}}``) replaced whole."""
    codes = {flow: dict(mapping) for flow, mapping in PUBLICATION_OPEN_DATA_CODES.items()}
    if not text.strip():
        return codes
    name = f"{ENV_PREFIX}PUBLICATION_OPEN_DATA_CODES"
    try:
        flows = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not valid JSON: {error}") from None
    decisions = set(PUBLICATION_OPEN_DATA_CODES[DEFAULT_FLOW].values())  # the three a code may mean
    if not isinstance(flows, dict) or not all(isinstance(m, dict) for m in flows.values()):
        raise ValueError(f"{name} must be a JSON object {{flow: {{code: decision}}}}, "
                         f'e.g. {{"default": {{"3": "published"}}}}')
    for flow, mapping in flows.items():
        wrong = sorted(str(v) for v in mapping.values() if v not in decisions)
        if wrong:
            raise ValueError(f"{name}: flow {flow!r} maps a code to {wrong[0]!r}; use one of {sorted(decisions)}")
        codes[str(flow)] = {str(code).strip(): value for code, value in mapping.items()}
    return codes


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def _amount_env(name: str, default: Decimal, ceiling: Decimal) -> Decimal:
    """A positive amount in euros up to ``ceiling`` given in ``DIGOR_<name>`` (e.g. ``100000000000``)."""
    text = _env(name, "").strip()
    if not text:
        return default
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{ENV_PREFIX}{name}: {text!r} is not an amount in euros") from None
    if not value.is_finite() or not 0 < value <= ceiling:
        raise ValueError(f"{ENV_PREFIX}{name}: {text!r} must be a positive amount in euros, at most {ceiling:f}")
    return value


def _workers(value: str) -> int:
    """A number of worker processes: empty means the cores this process may use."""
    if not value.strip():
        return cpu_count()
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"DIGOR_DECP_WORKERS={value!r}: a number of processes, 1 or more (empty: one per core)")
    return int(value)


def _json_env(name: str) -> dict:
    """A mapping given as JSON in ``DIGOR_<name>`` (empty when unset)."""
    value = _env(name, "").strip()
    if not value:
        return {}
    try:
        mapping = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"{ENV_PREFIX}{name} is not valid JSON: {error}") from None
    if not isinstance(mapping, dict):
        raise ValueError(f"{ENV_PREFIX}{name} must be a JSON object")
    return mapping


REGISTRY_SOURCES = ("file", "pastell", "s2low")

# Several regions in one deployment: DIGOR_REGIONS names a YAML file ``regions: {name: {setting: value}}``
# and DIGOR_REGION the region a process serves (``digor --region NAME``). Each region's settings
# override the DIGOR_* ones; its store is its own prefix of DIGOR_STORE unless it names one. Without
# DIGOR_REGION a deployment is the one region DIGOR_* describe, as before.
REGION_SETTINGS = {
    "store": "store_url", "registry": "registry_path", "registry_source": "registry_source",
    "source": "source_name", "drop_dir": "drop_dir", "decp_source": "decp_source", "decp_drop_dir": "decp_drop_dir",
    "pastell_conn_id": "pastell_conn_id", "s2low_conn_id": "s2low_conn_id", "decp_conn_id": "decp_conn_id",
    "datagouv_conn_id": "datagouv_conn_id", "datagouv_datasets": "datagouv_datasets", "datagouv_resources": "datagouv_resources",
    "public_base_url": "public_base_url", "alert_to": "alert_to",
}
_REGION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def load_regions(path: Path) -> dict[str, dict]:
    """The regions of a DIGOR_REGIONS file, each checked (names, known settings)."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{ENV_PREFIX}REGIONS: cannot read {path}: {error}") from None
    regions = document.get("regions") if isinstance(document, dict) else None
    if not isinstance(regions, dict) or not regions:
        raise ValueError(f"{path}: no 'regions:' mapping of region names to their settings")
    for name, values in regions.items():
        if not _REGION_NAME.match(str(name)):
            raise ValueError(f"{path}: region name {name!r} must be lowercase letters, digits and dashes")
        unknown = sorted(set(values or {}) - set(REGION_SETTINGS))
        if unknown:
            raise ValueError(f"{path}: region {name}: unknown setting {unknown[0]!r} "
                             f"(known: {', '.join(sorted(REGION_SETTINGS))})")
    return {str(name): dict(values or {}) for name, values in regions.items()}


def regions_path() -> Path:
    return Path(_env("REGIONS", str(PROJECT_ROOT / "config" / "regions-demo.yaml")))


def served_regions() -> tuple[str, ...]:
    """The regions whose DAGs a deployment schedules: ``""`` (the one DIGOR_* describe, under today's DAG
    ids), then every region of DIGOR_REGIONS when that variable is set (DIGOR_REGION is then left unset
    in the workers' environment: each region's DAGs carry their region)."""
    if not _env("REGIONS", "").strip():
        return ("",)
    return ("", *load_regions(regions_path()))


def _registry_source(value: str) -> str:
    if value not in REGISTRY_SOURCES:
        raise ValueError(f"{ENV_PREFIX}REGISTRY_SOURCE: {value!r} is not one of {', '.join(REGISTRY_SOURCES)}")
    return value


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one run."""

    store_url: str
    drop_dir: Path
    registry_path: Path
    public_base_url: str
    datagouv_mode: str
    max_shrink_ratio: float
    source_name: str = "drop"
    pastell_conn_id: str = PASTELL_CONN_ID
    pastell_flows: tuple[str, ...] = PASTELL_FLOWS
    # Overrides of PASTELL_CLIENT_DEFAULTS (rate, concurrency, timeouts, attempts) for this run.
    pastell_client: dict = field(default_factory=dict)
    s2low_conn_id: str = S2LOW_CONN_ID
    # Overrides of TELETRANSMISSION_CLIENT_DEFAULTS for S²LOW, for this run.
    s2low_client: dict = field(default_factory=dict)
    decp_source: str = "drop"
    decp_drop_dir: Path = DEFAULT_VAR_DIR / "decp-drop"
    decp_conn_id: str = DECP_CONN_ID
    decp_max_file_bytes: int = MAX_DECP_FILE_BYTES
    decp_publish_batch_rows: int = DECP_PUBLISH_BATCH_ROWS
    # Processes staging a DECP export's chunks at once (``core.parallel``); 1 = in the task's own process.
    decp_workers: int = field(default_factory=cpu_count)
    datagouv_conn_id: str = DATAGOUV_CONN_ID
    # digor dataset -> udata dataset id; "dataset/file name" -> udata resource id (optional).
    datagouv_datasets: dict = field(default_factory=dict)
    datagouv_resources: dict = field(default_factory=dict)
    # Superseded versions of public files stay readable this long after their manifest moved on.
    version_retention_days: float = 2.0
    # Origins allowed to read the public prefix from a browser (CORS on the S3 bucket).
    public_origins: tuple[str, ...] = ("*",)
    # Target version of each schema for this run (DIGOR_SCHEMA_VERSIONS overrides the defaults).
    schema_versions: dict = field(default_factory=lambda: dict(SCHEMA_VERSIONS))
    # Set by a backfill: every write goes to this private prefix until it is promoted.
    overlay_prefix: str | None = None
    # Budgets: where plans de comptes are downloaded from, and local mirrors read first.
    plans_base_url: str = PLANS_BASE_URL
    plans_dirs: tuple[Path, ...] = ()
    # Budgets: a line beyond this amount (either sign) makes its document implausible (refused).
    budget_max_amount: Decimal = BUDGET_MAX_AMOUNT
    # SIRENE: where the stock files are downloaded from, and the local folder they go to.
    sirene_base_url: str = SIRENE_BASE_URL
    sirene_work_dir: Path = DEFAULT_VAR_DIR / "sirene"
    # INSEE legal populations: the millésime's file and its year (downloaded into sirene_work_dir).
    populations_url: str = POPULATIONS_URL
    populations_year: int = POPULATIONS_YEAR
    # A chain's lease (``core.lease``): how long it lasts unrenewed (what a killed holder makes others
    # wait), and how long a writer waits for another's before giving up.
    lock_ttl_seconds: float = 120.0
    lock_wait_seconds: float = 3600.0
    # A short run waits this long for the chain's lease (a decision being republished), then skips:
    # the night or the next short run takes the changes.
    short_run_lock_wait_seconds: float = 60.0
    # A night's extract and transform of acts are split into shards of bodies (one mapped task each):
    # about this many bodies a shard, at most this many shards (1: one task for the whole region).
    shard_bodies: int = 250
    max_shards: int = 16
    # Acts: plausible dates, the largest document published, the meaning of publication_open_data.
    act_date_earliest: date = ACT_DATE_EARLIEST
    act_date_margin_days: int = ACT_DATE_MARGIN_DAYS
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    publication_open_data_codes: dict = field(default_factory=lambda: parse_open_data_codes(""))
    # Acts: bounds of reading a document's text (text layer, OCR).
    text_limits: TextLimits = field(default_factory=TextLimits)
    # Where the bodies come from: "file" (DIGOR_REGISTRY, typed by hand) or "pastell" (the
    # télétransmission's entities and the SIRENE register, refreshed each night; the file's overrides).
    registry_source: str = "file"
    # The region this run serves ("" in a one-region deployment) and its alert recipients (DIGOR_ALERT_TO).
    region: str = ""
    alert_to: str = ""
    # ``digor serve`` records the page that embeds a body's widget (the ``Referer``'s origin and path,
    # never its query) for the next map of reuses (DIGOR_RECORD_EMBEDDING_PAGES=1; off by default).
    record_embedding_pages: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, region: str | None = None) -> "Settings":
        """The DIGOR_* settings, with the settings of ``region`` (DIGOR_REGION's when None) on top."""
        settings = cls._from_env()
        region = _env("REGION", "").strip() if region is None else region
        return settings.for_region(region, regions_path()) if region else settings

    def for_region(self, region: str, regions_path: Path) -> "Settings":
        """These settings with a region's own (``load_regions``); its store under its prefix by default."""
        regions = load_regions(regions_path)
        if region not in regions:
            raise ValueError(f"region {region!r} is not in {regions_path} (known: {', '.join(sorted(regions))})")
        values = {"store": region_store_url(self.store_url, region), **regions[region]}
        changes = {REGION_SETTINGS[name]: value for name, value in values.items()}
        for name in ("registry_path", "drop_dir", "decp_drop_dir"):
            if name in changes:
                changes[name] = Path(changes[name]) if Path(changes[name]).is_absolute() else PROJECT_ROOT / changes[name]
        if "registry_source" in changes:
            changes["registry_source"] = _registry_source(changes["registry_source"])
        # Its own download folder of the SIRENE stock: two regions' monthly runs never write the same files.
        changes["sirene_work_dir"] = self.sirene_work_dir / REGIONS / region
        return replace(self, region=region, **changes)

    @classmethod
    def _from_env(cls) -> "Settings":
        return cls(
            store_url=_env("STORE", str(DEFAULT_VAR_DIR / "store")),
            drop_dir=Path(_env("DROP_DIR", str(DEFAULT_VAR_DIR / "drop"))),
            registry_path=Path(_env("REGISTRY", str(PROJECT_ROOT / "config" / "registry-demo.yaml"))),
            public_base_url=_env("PUBLIC_BASE_URL", "http://127.0.0.1:8765").rstrip("/"),
            datagouv_mode=_env("DATAGOUV_MODE", "dry-run"),
            max_shrink_ratio=float(_env("MAX_SHRINK_RATIO", "0.2")),
            source_name=_env("SOURCE", "drop"),
            pastell_conn_id=_env("PASTELL_CONN_ID", PASTELL_CONN_ID),
            pastell_flows=tuple(
                f.strip() for f in _env("PASTELL_FLOWS", ",".join(PASTELL_FLOWS)).split(",") if f.strip()
            ),
            pastell_client=_json_env("PASTELL_CLIENT"),
            s2low_conn_id=_env("S2LOW_CONN_ID", S2LOW_CONN_ID),
            s2low_client=_json_env("S2LOW_CLIENT"),
            decp_source=_env("DECP_SOURCE", "drop"),
            decp_drop_dir=Path(_env("DECP_DROP_DIR", str(DEFAULT_VAR_DIR / "decp-drop"))),
            decp_conn_id=_env("DECP_CONN_ID", DECP_CONN_ID),
            decp_max_file_bytes=int(_env("DECP_MAX_FILE_BYTES", str(MAX_DECP_FILE_BYTES))),
            decp_publish_batch_rows=int(_env("DECP_PUBLISH_BATCH_ROWS", str(DECP_PUBLISH_BATCH_ROWS))),
            decp_workers=_workers(_env("DECP_WORKERS", "")),
            datagouv_conn_id=_env("DATAGOUV_CONN_ID", DATAGOUV_CONN_ID),
            datagouv_datasets=_json_env("DATAGOUV_DATASETS"),
            datagouv_resources=_json_env("DATAGOUV_RESOURCES"),
            version_retention_days=float(_env("VERSION_RETENTION_DAYS", "2")),
            public_origins=tuple(o.strip() for o in _env("PUBLIC_ORIGINS", "*").split(",") if o.strip()),
            schema_versions=parse_schema_versions(_env("SCHEMA_VERSIONS", "")),
            plans_base_url=_env("PLANS_BASE_URL", PLANS_BASE_URL).rstrip("/"),
            plans_dirs=tuple(Path(p) for p in _env("PLANS_DIRS", "").split(os.pathsep) if p.strip()),
            budget_max_amount=_amount_env("BUDGET_MAX_AMOUNT", BUDGET_MAX_AMOUNT, BUDGET_MAX_AMOUNT_CEILING),
            sirene_base_url=_env("SIRENE_BASE_URL", SIRENE_BASE_URL).rstrip("/"),
            sirene_work_dir=Path(_env("SIRENE_WORK_DIR", str(DEFAULT_VAR_DIR / "sirene"))),
            populations_url=_env("POPULATIONS_URL", POPULATIONS_URL),
            populations_year=int(_env("POPULATIONS_YEAR", str(POPULATIONS_YEAR))),
            lock_ttl_seconds=float(_env("LOCK_TTL_SECONDS", "120")),
            lock_wait_seconds=float(_env("LOCK_WAIT_SECONDS", "3600")),
            short_run_lock_wait_seconds=float(_env("SHORT_RUN_LOCK_WAIT_SECONDS", "60")),
            shard_bodies=max(1, int(_env("SHARD_BODIES", "250"))),
            max_shards=max(1, int(_env("MAX_SHARDS", "16"))),
            act_date_earliest=date.fromisoformat(_env("ACT_DATE_EARLIEST", ACT_DATE_EARLIEST.isoformat())),
            act_date_margin_days=int(_env("ACT_DATE_MARGIN_DAYS", str(ACT_DATE_MARGIN_DAYS))),
            max_document_bytes=int(_env("MAX_DOCUMENT_BYTES", str(MAX_DOCUMENT_BYTES))),
            publication_open_data_codes=parse_open_data_codes(_env("PUBLICATION_OPEN_DATA_CODES", "")),
            text_limits=TextLimits.from_env(),
            registry_source=_registry_source(_env("REGISTRY_SOURCE", "file")),
            alert_to=_env("ALERT_TO", ""),
            record_embedding_pages=_env("RECORD_EMBEDDING_PAGES", "0").strip().lower() in ("1", "true", "yes"),
        )

    def schema(self, name: str) -> str:
        """``name@version`` of the schema this run publishes for a dataset."""
        return f"{name}@{self.schema_versions[name]}"

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    def shard_count(self, bodies: int) -> int:
        """How many shards a night of ``bodies`` bodies is split into."""
        return max(1, min(self.max_shards, -(-bodies // self.shard_bodies)))

    def public_url(self, key: str) -> str:
        """URL under which browsers and downloaders read a key of the public zone."""
        return f"{self.public_base_url}/{public_path(key)}"

# Shared by every DAG: who owns it and how a failed task is retried.
DAG_OWNER = "digor-data"
DAG_TIMEZONE = "Europe/Paris"
DAG_DEFAULT_ARGS = {"owner": DAG_OWNER, "retries": 2, "retry_delay": timedelta(minutes=5)}
NIGHTLY_CRON = "0 2 * * *"


def partition_night(partition: str) -> date:
    """The night whose data interval (until the nightly cron's time the next day) holds a partition:
    a night's own date; for a short run (``core.keys.short_run_partition``), the night its end falls in.
    What orders two staged versions of an act before their source stamps."""
    if not is_short_run(partition):
        return date.fromisoformat(partition)
    minute, hour = NIGHTLY_CRON.split()[:2]
    end = datetime.strptime(partition, f"%Y-%m-%d{SHORT_RUN_MARK}%H%M")
    return (end - timedelta(hours=int(hour), minutes=int(minute), seconds=1)).date()


# The actes short runs (``actes_frequent``): every 15 minutes by default (DIGOR_SHORT_RUN_CRON, read when
# the DAG is parsed), each pulling what Pastell changed since the watermarks and publishing it at once.
SHORT_RUN_CRON = os.environ.get(ENV_PREFIX + "SHORT_RUN_CRON", "*/15 * * * *")
# A night's shards pulling at once (each with the client's own rate): what the sources see is at most
# this many times ``requests_per_second``. Read when the DAG is parsed.
PARALLEL_PULLS = max(1, int(os.environ.get(ENV_PREFIX + "PARALLEL_PULLS", "4")))
# A short run still going after this is stopped and reported late: the next one takes over.
SHORT_RUN_TIMEOUT = timedelta(minutes=30)
# A nightly run still going after this is stopped and reported late (alert "late").
NIGHTLY_TIMEOUT = timedelta(hours=4)
# The ``allow_shrink`` param of the DAGs that publish to data.gouv.fr (see ``max_shrink_ratio``).
ALLOW_SHRINK_HELP = (
    "Send to data.gouv.fr files that lost more objects or rows than the configured share (held back otherwise)"
)
# The nightly chains: what ``digor run`` runs, and what ``digor backfill`` and the backfill DAG replay
# from the raw zone (chains.backfill).
CHAINS = ("actes", "budgets", "decp")


# The agents' space (``digor portail``): sign-in through the region's OpenID Connect provider,
# whose issuer URL, client id (login) and client secret (password) are the Airflow connection
# ``digor_portail_oidc`` (host: the issuer URL), or the AIRFLOW_CONN_DIGOR_PORTAIL_OIDC variable.
PORTAIL_OIDC_CONN_ID = "digor_portail_oidc"
# The daily digest of each body for the agents who asked for it: the SMTP server is the Airflow
# connection ``digor_smtp`` (host, port, login, password; extra ``from`` and ``starttls``), sent
# by the ``actes_digest`` DAG each morning for the day before.
DIGEST_SMTP_CONN_ID = "digor_smtp"
DIGEST_CRON = "0 7 * * *"
PORTAIL_DECISIONS = ("in-process", "airflow")


@dataclass(frozen=True)
class PortailSettings:
    """How the agents' space signs agents in, reads their rights from the ID token's claims, and
    applies their decisions. A claim name may be a dotted path (``realm_access.roles`` in Keycloak)."""

    oidc_conn_id: str = PORTAIL_OIDC_CONN_ID
    # Claims: the SIRENs the agent acts for (a list, or one string separated by spaces or commas),
    # and the agent's roles, among which the HR one (individual acts) and the regional admin (every body).
    bodies_claim: str = "digor_organismes"
    roles_claim: str = "digor_roles"
    hr_role: str = "rh"
    admin_role: str = "admin-regional"
    # How the decisions reach the outputs: in the portail's process (one worker, under the chain's
    # lease, like ``digor publish``), or by triggering the actes_decisions DAG through Airflow's API.
    decisions: str = "in-process"
    # The portail's own store (a folder or s3:// URL, never the data's store: the portail writes
    # only the ledger there): its sessions' state and its operations' progress.
    state_url: str = str(PROJECT_ROOT / "var" / "portail")
    session_max_age_seconds: int = 8 * 3600
    # Where agents reach the portail (the daily digest links to it).
    url: str = "http://127.0.0.1:8767"
    # Actions (decision forms) allowed per agent and minute, and acts per action.
    actions_per_minute: int = 10
    max_acts_per_action: int = 200
    page_size: int = 25

    @classmethod
    def from_env(cls) -> "PortailSettings":
        decisions = _env("PORTAIL_DECISIONS", "in-process")
        if decisions not in PORTAIL_DECISIONS:
            raise ValueError(f"{ENV_PREFIX}PORTAIL_DECISIONS: {decisions!r} is not one of {', '.join(PORTAIL_DECISIONS)}")
        return cls(
            oidc_conn_id=_env("PORTAIL_OIDC_CONN_ID", PORTAIL_OIDC_CONN_ID),
            bodies_claim=_env("PORTAIL_BODIES_CLAIM", "digor_organismes"),
            roles_claim=_env("PORTAIL_ROLES_CLAIM", "digor_roles"),
            hr_role=_env("PORTAIL_HR_ROLE", "rh"),
            admin_role=_env("PORTAIL_ADMIN_ROLE", "admin-regional"),
            decisions=decisions,
            state_url=_env("PORTAIL_STATE", str(PROJECT_ROOT / "var" / "portail")),
            url=_env("PORTAIL_URL", "http://127.0.0.1:8767").rstrip("/"),
            session_max_age_seconds=int(_env("PORTAIL_SESSION_MAX_AGE_SECONDS", str(8 * 3600))),
            actions_per_minute=int(_env("PORTAIL_ACTIONS_PER_MINUTE", "10")),
            max_acts_per_action=int(_env("PORTAIL_MAX_ACTS_PER_ACTION", "200")),
        )

    def with_overrides(self, **changes) -> "PortailSettings":
        return replace(self, **changes)
