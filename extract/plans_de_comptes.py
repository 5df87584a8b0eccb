"""Find the plan de comptes of a nomenclature and year: local mirror, store cache, download.

The official files are published at
``<base>/<year>/<norme>/<declinaison>/planDeCompte.xml`` (base
``http://odm-budgetaire.org/composants/normes``, configurable). A downloaded plan is cached in
the store (``private/cache/plans-de-comptes/…``) so that a night, a rerun or a backfill never
downloads it twice. Local mirror folders with the same layout (the demo's own small plans, a
synced copy of the official ones, the reference copies in tests) are read first. A plan that
cannot be found anywhere raises ``PlanError`` naming where it was looked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from digor.store import ObjectStore
from transform.totem_plans import PlanDeComptes, PlanError, parse_plan

CACHE_PREFIX = "private/cache/plans-de-comptes"
PLAN_FILE = "planDeCompte.xml"
MAX_PLAN_BYTES = 32 * 1024 * 1024
_PART = re.compile(r"^[A-Za-z0-9_]{1,40}$")

Fetch = Callable[[str], bytes]


def plan_path(year: int, norme: str, declinaison: str) -> str:
    """Relative path of a plan; refuses codes that are not plain names (they come from input files)."""
    for part in (norme, declinaison):
        if not _PART.match(part or ""):
            raise PlanError(f"nomenclature part {part!r} is not a plan de comptes name")
    return f"{int(year)}/{norme}/{declinaison}/{PLAN_FILE}"


def http_fetch(url: str, timeout: float = 30.0) -> bytes:
    import requests

    response = requests.get(url, timeout=timeout, stream=True)
    if response.status_code != 200:
        raise PlanError(f"{url} answered HTTP {response.status_code}")
    chunks, size = [], 0
    for chunk in response.iter_content(1 << 16):
        size += len(chunk)
        if size > MAX_PLAN_BYTES:
            raise PlanError(f"{url} is larger than {MAX_PLAN_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class PlanResolver:
    """Plans by (norme, déclinaison, year), each read once per resolver."""

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
        self._plans: dict[tuple[str, str, int], PlanDeComptes | PlanError] = {}

    def get(self, norme: str, declinaison: str, year: int) -> PlanDeComptes:
        key = (norme, declinaison, int(year))
        if key not in self._plans:
            try:
                self._plans[key] = self._load(*key)
            except PlanError as error:
                self._plans[key] = error
        found = self._plans[key]
        if isinstance(found, PlanError):
            raise found
        return found

    def _load(self, norme: str, declinaison: str, year: int) -> PlanDeComptes:
        relative = plan_path(year, norme, declinaison)
        looked = []
        for folder in self.local_dirs:
            path = folder / relative
            looked.append(str(path))
            if path.is_file():
                return parse_plan(path.read_bytes(), str(path), year)
        cache_key = f"{CACHE_PREFIX}/{relative}"
        if self.store is not None:
            looked.append(cache_key)
            if self.store.exists(cache_key):
                return parse_plan(self.store.get_bytes(cache_key), cache_key, year)
        if self.base_url:
            url = f"{self.base_url}/{relative}"
            looked.append(url)
            try:
                data = self.fetch(url)
            except PlanError:
                raise
            except Exception as error:  # network errors of any client
                raise PlanError(
                    f"plan de comptes {norme}/{declinaison} {year} not found (download of {url} failed: {error})"
                ) from None
            plan = parse_plan(data, url, year)
            if self.store is not None:
                self.store.put_bytes(cache_key, data)
            return plan
        raise PlanError(f"plan de comptes {norme}/{declinaison} {year} not found (looked in: {', '.join(looked) or 'nowhere'})")
