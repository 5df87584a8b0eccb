"""Fetch the bytes of the plan de comptes of a nomenclature and year: local mirror, store cache, download.

The official files are published at
``<base>/<year>/<norme>/<declinaison>/planDeCompte.xml`` (base
``http://odm-budgetaire.org/composants/normes``, configurable). A downloaded plan is cached in
the store (``private/cache/plans-de-comptes/…``) so that a night, a rerun or a backfill never
downloads it twice. Local mirror folders with the same layout (the demo's own small plans, a
synced copy of the official ones, the reference copies in tests) are read first. A plan that
cannot be found anywhere raises ``PlanNotFound`` naming where it was looked for. Reading the
file is ``transform.totem_plans``' business; a download is cached only once it has been read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import PLANS_DOWNLOAD_DEFAULTS
from core.keys import PLANS_CACHE_PREFIX

if TYPE_CHECKING:
    from core.store import ObjectStore

CACHE_PREFIX = PLANS_CACHE_PREFIX
PLAN_FILE = "planDeCompte.xml"
MAX_PLAN_BYTES = 32 * 1024 * 1024
_PART = re.compile(r"^[A-Za-z0-9_]{1,40}$")

Fetch = Callable[[str], bytes]


class PlanNotFound(LookupError):
    """No plan de comptes where it was looked for (the message says where)."""


@dataclass(frozen=True)
class FoundPlan:
    data: bytes
    where: str
    cache_key: str | None = None  # set for a download: where ``keep`` caches it


def plan_path(year: int, norme: str, declinaison: str) -> str:
    """Relative path of a plan; refuses codes that are not plain names (they come from input files)."""
    for part in (norme, declinaison):
        if not _PART.match(part or ""):
            raise PlanNotFound(f"nomenclature part {part!r} is not a plan de comptes name")
    return f"{int(year)}/{norme}/{declinaison}/{PLAN_FILE}"


def http_fetch(url: str, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """Download a plan with the one retry policy (``PLANS_DOWNLOAD_DEFAULTS``); an answer other
    than 200 that is not transient (a 404 above all) is ``PlanNotFound`` at once. The HTTP modules are
    imported here: converting files with local plans (``digor convert totem``) never loads them."""
    import requests

    from core.http_manners import TRANSIENT_ERRORS, TRANSIENT_STATUS, RetryPolicy, Transient, problem_of, redact

    options = PLANS_DOWNLOAD_DEFAULTS
    timeout = (options["connect_timeout"], options["read_timeout"])

    def attempt() -> bytes:
        try:
            response = requests.get(url, timeout=timeout, stream=True)
        except TRANSIENT_ERRORS as error:
            raise Transient(problem_of(error)) from None
        with response:
            if response.status_code in TRANSIENT_STATUS:
                raise Transient.of_status(response)
            if response.status_code != 200:
                raise PlanNotFound(f"{redact(url)} answered HTTP {response.status_code}")
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > MAX_PLAN_BYTES:
                        raise PlanNotFound(f"{redact(url)} is larger than {MAX_PLAN_BYTES} bytes")
                    chunks.append(chunk)
            except TRANSIENT_ERRORS as error:
                raise Transient(problem_of(error)) from None
        return b"".join(chunks)

    return RetryPolicy.from_options(options, sleep=sleep).run(attempt, f"GET {url}")


class PlanSource:
    """Where plans are looked for, in order: local mirrors, the store cache, the download base."""

    def __init__(
        self,
        store: ObjectStore | None = None,
        local_dirs: Sequence[Path | str] = (),
        base_url: str = "",
        fetch: Fetch = http_fetch,
    ):
        self.store = store
        self.local_dirs = [Path(d) for d in local_dirs]
        self.base_url = base_url.rstrip("/")
        self.fetch = fetch

    def find(self, norme: str, declinaison: str, year: int) -> FoundPlan:
        relative = plan_path(year, norme, declinaison)
        looked = []
        for folder in self.local_dirs:
            path = folder / relative
            looked.append(str(path))
            if path.is_file():
                return FoundPlan(path.read_bytes(), str(path))
        cache_key = f"{CACHE_PREFIX}/{relative}"
        if self.store is not None:
            looked.append(cache_key)
            if self.store.exists(cache_key):
                return FoundPlan(self.store.get_bytes(cache_key), cache_key)
        if self.base_url:
            url = f"{self.base_url}/{relative}"
            try:
                data = self.fetch(url)
            except PlanNotFound:
                raise
            except Exception as error:  # network errors of any client
                raise PlanNotFound(
                    f"plan de comptes {norme}/{declinaison} {year} not found (download of {url} failed: {error})"
                ) from None
            return FoundPlan(data, url, cache_key if self.store is not None else None)
        raise PlanNotFound(
            f"plan de comptes {norme}/{declinaison} {year} not found (looked in: {', '.join(looked) or 'nowhere'})"
        )

    def keep(self, found: FoundPlan) -> None:
        """Cache a downloaded plan that was read successfully, so that it is never downloaded again."""
        if found.cache_key and self.store is not None:
            self.store.put_bytes(found.cache_key, found.data)
