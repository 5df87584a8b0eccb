"""Streaming download of the SIRENE stock files (a few GB each) to a local work folder.

The files are streamed to disk in chunks (never held in memory), hashed on the way, and
moved into place only once complete, so a reader never sees half a file. A local copy
is revalidated with a conditional request (ETag / Last-Modified) rather than fetched
again; an interrupted transfer is resumed with a Range request when the server allows
it; transient failures (connection errors, cut transfers, 429, 5xx) are retried with the one
policy of ``core.http_manners`` (settings in ``core.config.SIRENE_DOWNLOAD_DEFAULTS``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from core.config import SIRENE_DOWNLOAD_DEFAULTS
from core.http_manners import (
    TRANSIENT_ERRORS,
    TRANSIENT_STATUS,
    GaveUp,
    RetryPolicy,
    Transient,
    http_date,
    problem_of,
    redact,
)

CHUNK_SIZE = 1 << 20
USER_AGENT = "digor (open data of a region's public bodies; SIRENE stock reduction)"


class DownloadError(RuntimeError):
    pass


@dataclass(frozen=True)
class DownloadResult:
    url: str
    path: str
    size: int
    sha256: str
    etag: str | None
    last_modified: str | None
    status: str  # "downloaded", "resumed", "not-modified"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def source_month(self) -> str | None:
        """``YYYY-MM`` of the server's Last-Modified: the month the file comes from."""
        moment = http_date(self.last_modified)
        return moment.strftime("%Y-%m") if moment else None


def file_url(base_url: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/{name}"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _read_meta(path: Path) -> dict | None:
    meta = _meta_path(path)
    if not (path.is_file() and meta.is_file()):
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("size") == path.stat().st_size else None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: Path,
    *,
    session: requests.Session | None = None,
    force: bool = False,
    max_attempts: int = SIRENE_DOWNLOAD_DEFAULTS["max_attempts"],
    backoff_seconds: float = SIRENE_DOWNLOAD_DEFAULTS["backoff_seconds"],
    max_backoff_seconds: float = SIRENE_DOWNLOAD_DEFAULTS["max_backoff_seconds"],
    max_retry_after_seconds: float = SIRENE_DOWNLOAD_DEFAULTS["max_retry_after_seconds"],
    connect_timeout: float = SIRENE_DOWNLOAD_DEFAULTS["connect_timeout"],
    read_timeout: float = SIRENE_DOWNLOAD_DEFAULTS["read_timeout"],
    progress: Callable[[int, int | None], None] = lambda done, total: None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadResult:
    """Make ``dest`` an up-to-date copy of ``url``; returns what was done and the file's identity."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part_meta = _meta_path(part)
    http = session or requests.Session()
    known = None if force else _read_meta(dest)
    if force:
        part.unlink(missing_ok=True)
        part_meta.unlink(missing_ok=True)
    policy = RetryPolicy(max_attempts, backoff_seconds, max_backoff_seconds, max_retry_after_seconds, sleep=sleep)

    def attempt() -> DownloadResult:
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if known and known.get("url") == url:
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        offset = part.stat().st_size if part.is_file() else 0
        if offset:
            try:
                validator = json.loads(part_meta.read_text(encoding="utf-8")).get("validator")
            except (OSError, ValueError):
                validator = None
            if validator:
                headers["Range"] = f"bytes={offset}-"
                headers["If-Range"] = validator
            else:
                offset = 0
        try:
            response = http.get(url, headers=headers, stream=True, timeout=(connect_timeout, read_timeout))
        except TRANSIENT_ERRORS as error:
            raise Transient(problem_of(error)) from None
        with response:
            if response.status_code == 304 and known:
                return DownloadResult(url=url, path=str(dest), status="not-modified", **{
                    k: known[k] for k in ("size", "sha256", "etag", "last_modified")
                })
            if response.status_code == 416:  # the partial file no longer fits the remote one: start over
                part.unlink(missing_ok=True)
                raise Transient("HTTP 416 on resume")
            if response.status_code in TRANSIENT_STATUS:
                raise Transient.of_status(response)
            if response.status_code not in (200, 206):
                raise DownloadError(f"GET {redact(url)}: HTTP {response.status_code}")
            resumed = response.status_code == 206 and offset > 0
            if not resumed:
                offset = 0
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            part_meta.write_text(json.dumps({"validator": etag or last_modified}), encoding="utf-8")
            try:
                with part.open("ab" if resumed else "wb") as handle:
                    done = offset
                    for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
                        handle.write(chunk)
                        done += len(chunk)
                        progress(done, total)
            except TRANSIENT_ERRORS as error:
                raise Transient(problem_of(error)) from None
            if total is not None and done != total:
                raise Transient(f"transfer cut at {done} of {total} bytes")
        size = part.stat().st_size
        sha256 = _sha256_of(part)
        os.replace(part, dest)
        part_meta.unlink(missing_ok=True)
        meta = {"url": url, "size": size, "sha256": sha256, "etag": etag, "last_modified": last_modified}
        _meta_path(dest).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        return DownloadResult(url=url, path=str(dest), status="resumed" if resumed else "downloaded", **{
            k: meta[k] for k in ("size", "sha256", "etag", "last_modified")
        })

    try:
        return policy.run(attempt, f"GET {url}")
    except GaveUp as gave_up:
        raise DownloadError(f"GET {redact(url)}: {gave_up}") from None
