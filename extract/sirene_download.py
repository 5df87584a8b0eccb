"""Streaming download of the SIRENE stock files (a few GB each) to a local work folder.

The files are streamed to disk in chunks (never held in memory), hashed on the way, and
moved into place only once complete, so a reader never sees half a file. A local copy
is revalidated with a conditional request (ETag / Last-Modified) rather than fetched
again; an interrupted transfer is resumed with a Range request when the server allows
it; transient failures (connection errors, 429, 5xx) are retried with backoff.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

CHUNK_SIZE = 1 << 20
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "digor (open data of a region's public bodies; SIRENE stock reduction)"


class DownloadError(RuntimeError):
    pass


class _Transient(Exception):
    """A failure worth another attempt (cut transfer, overloaded or failing server)."""


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
        if not self.last_modified:
            return None
        try:
            return email.utils.parsedate_to_datetime(self.last_modified).strftime("%Y-%m")
        except (TypeError, ValueError):
            return None


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


def _retry_after(response: requests.Response | None, default: float) -> float:
    value = response.headers.get("Retry-After") if response is not None else None
    if value and value.isdigit():
        return min(float(value), 300.0)
    return default


def download_file(
    url: str,
    dest: Path,
    *,
    session: requests.Session | None = None,
    force: bool = False,
    max_attempts: int = 5,
    backoff_seconds: float = 2.0,
    connect_timeout: float = 10.0,
    read_timeout: float = 120.0,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
    sleep: Callable[[float], None] | None = None,
) -> DownloadResult:
    """Make ``dest`` an up-to-date copy of ``url``; returns what was done and the file's identity."""
    sleep = sleep or time.sleep
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part_meta = _meta_path(part)
    http = session or requests.Session()
    known = None if force else _read_meta(dest)
    if force:
        part.unlink(missing_ok=True)
        part_meta.unlink(missing_ok=True)
    delay = backoff_seconds
    last_error: str = ""
    for attempt in range(1, max_attempts + 1):
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if known and known.get("url") == url:
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        offset = part.stat().st_size if part.is_file() else 0
        validator = None
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
        response = None
        try:
            response = http.get(url, headers=headers, stream=True, timeout=(connect_timeout, read_timeout))
            if response.status_code == 304 and known:
                response.close()
                return DownloadResult(url=url, path=str(dest), status="not-modified", **{
                    k: known[k] for k in ("size", "sha256", "etag", "last_modified")
                })
            if response.status_code == 416:  # the partial file no longer fits the remote one: start over
                part.unlink(missing_ok=True)
                raise _Transient("HTTP 416 on resume")
            if response.status_code in RETRYABLE_STATUS:
                raise _Transient(f"HTTP {response.status_code}")
            if response.status_code not in (200, 206):
                response.close()
                raise DownloadError(f"GET {url}: HTTP {response.status_code}")
            resumed = response.status_code == 206 and offset > 0
            if not resumed:
                offset = 0
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            part_meta.write_text(json.dumps({"validator": etag or last_modified}), encoding="utf-8")
            with part.open("ab" if resumed else "wb") as handle:
                done = offset
                for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
                    handle.write(chunk)
                    done += len(chunk)
                    progress(done, total)
            if total is not None and done != total:
                raise _Transient(f"transfer cut at {done} of {total} bytes")
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            last_error = f"{type(error).__name__}: {error}"
        except _Transient as error:
            last_error = str(error)
        else:
            size = part.stat().st_size
            sha256 = _sha256_of(part)
            os.replace(part, dest)
            part_meta.unlink(missing_ok=True)
            meta = {"url": url, "size": size, "sha256": sha256, "etag": etag, "last_modified": last_modified}
            _meta_path(dest).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
            return DownloadResult(url=url, path=str(dest), status="resumed" if resumed else "downloaded", **{
                k: meta[k] for k in ("size", "sha256", "etag", "last_modified")
            })
        finally:
            if response is not None:
                response.close()
        if attempt < max_attempts:
            sleep(_retry_after(response, delay))
            delay = min(delay * 2, 120.0)
    raise DownloadError(f"GET {url} failed after {max_attempts} attempts: {last_error}")
