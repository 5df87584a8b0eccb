"""Streaming download of the stock files from a (loopback) static host."""

from __future__ import annotations

import hashlib

import pytest

from extract.sirene_download import DownloadError, download_file, file_url


@pytest.fixture
def served(file_host):
    data = bytes(range(256)) * 20_000  # 5 MB, several chunks
    (file_host.root / "StockUniteLegale_utf8.parquet").write_bytes(data)
    return data


def _get(file_host, dest, **kwargs):
    url = file_url(file_host.base_url, "StockUniteLegale_utf8.parquet")
    return download_file(url, dest, sleep=lambda _: None, **kwargs)


def test_downloads_to_disk_and_records_the_file_identity(file_host, served, tmp_path):
    dest = tmp_path / "dl" / "StockUniteLegale_utf8.parquet"
    seen = []
    result = _get(file_host, dest, progress=lambda done, total: seen.append((done, total)))
    assert dest.read_bytes() == served
    assert result.status == "downloaded"
    assert result.sha256 == hashlib.sha256(served).hexdigest() and result.size == len(served)
    assert result.etag and result.source_month == "2025-03"
    assert len(seen) > 1 and seen[-1] == (len(served), len(served)), "streamed in chunks, with progress"
    assert not list(dest.parent.glob("*.part")), "no partial file left behind"


def test_a_second_run_revalidates_instead_of_downloading(file_host, served, tmp_path):
    dest = tmp_path / "StockUniteLegale_utf8.parquet"
    first = _get(file_host, dest)
    second = _get(file_host, dest)
    assert second.status == "not-modified" and second.sha256 == first.sha256
    assert file_host.requests[-1]["headers"]["If-None-Match"] == first.etag
    forced = _get(file_host, dest, force=True)
    assert forced.status == "downloaded" and "If-None-Match" not in file_host.requests[-1]["headers"]


def test_a_changed_file_is_downloaded_again(file_host, served, tmp_path):
    dest = tmp_path / "StockUniteLegale_utf8.parquet"
    _get(file_host, dest)
    (file_host.root / "StockUniteLegale_utf8.parquet").write_bytes(b"new month")
    assert _get(file_host, dest).status == "downloaded"
    assert dest.read_bytes() == b"new month"


def test_transient_failures_are_retried(file_host, served, tmp_path):
    file_host.fail_next = [503, 429]
    result = _get(file_host, tmp_path / "f.parquet")
    assert result.status == "downloaded" and len(file_host.requests) == 3


def test_a_cut_transfer_resumes_with_a_range_request(file_host, served, tmp_path):
    file_host.cut_next = [1_500_000]
    dest = tmp_path / "f.parquet"
    result = _get(file_host, dest)
    assert result.status == "resumed"
    assert dest.read_bytes() == served
    resumed_at = int(file_host.requests[-1]["headers"]["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 1_500_000, "only what was not received is asked for again"


def test_a_cut_transfer_restarts_when_the_host_has_no_ranges(file_host, served, tmp_path):
    file_host.ranges = False
    file_host.cut_next = [1_000_000]
    dest = tmp_path / "f.parquet"
    assert _get(file_host, dest).status == "downloaded"
    assert dest.read_bytes() == served


def test_a_missing_file_fails_at_once_and_clearly(file_host, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        _get(file_host, tmp_path / "f.parquet")
    assert len(file_host.requests) == 1


def test_gives_up_after_the_last_attempt(file_host, served, tmp_path):
    file_host.fail_next = [503] * 3
    with pytest.raises(DownloadError, match=r"gave up after 3 attempts \(HTTP 503\)"):
        _get(file_host, tmp_path / "f.parquet", max_attempts=3)


def test_the_base_url_comes_from_the_environment(monkeypatch):
    from core.config import SIRENE_BASE_URL, Settings

    assert Settings.from_env().sirene_base_url == SIRENE_BASE_URL or "DIGOR_SIRENE_BASE_URL" in __import__("os").environ
    monkeypatch.setenv("DIGOR_SIRENE_BASE_URL", "http://127.0.0.1:9/mirror/")
    assert Settings.from_env().sirene_base_url == "http://127.0.0.1:9/mirror"
    assert file_url("http://127.0.0.1:9/mirror", "StockEtablissement_utf8.parquet") == (
        "http://127.0.0.1:9/mirror/StockEtablissement_utf8.parquet"
    )
