"""The S3 implementation of the store against a real S3 server (SeaweedFS on loopback)."""

from __future__ import annotations

import json

import pytest
import requests

from core.document_kind import OTHER_CONTENT_TYPE
from core.store import (
    CACHE_MANIFEST,
    CACHE_PRIVATE,
    CACHE_WITHDRAWABLE,
    RawOverwriteError,
    S3Store,
    StoreAuthError,
    StoreError,
    gzip_bytes,
    open_store,
    plain_bytes,
    put_if_changed,
    put_raw,
)
from tests.emulators.seaweedfs import SECRET_KEY


def test_s3_store_behaves_like_the_local_folder(s3_store_url):
    store = open_store(s3_store_url)
    assert isinstance(store, S3Store) and store.url == s3_store_url
    for bad in ("elsewhere/file", "public/../raw/x", "/public/x", "public//x"):
        with pytest.raises(StoreError):
            store.put_bytes(bad, b"x")
    store.put_bytes("public/actes/x.csv", b"1")
    store.put_bytes("public/actes-other/y.csv", b"2")
    assert store.get_bytes("public/actes/x.csv") == b"1"
    assert store.exists("public/actes/x.csv") and not store.exists("public/actes/none.csv")
    assert store.list_keys("public/actes/") == ["public/actes/x.csv"]
    assert store.list_keys("public/actes") == ["public/actes-other/y.csv", "public/actes/x.csv"]
    assert put_raw(store, "raw/a/b.json", b"{}") and not put_raw(store, "raw/a/b.json", b"{}")
    with pytest.raises(RawOverwriteError):
        put_raw(store, "raw/a/b.json", b"{changed}")
    assert not put_if_changed(store, "public/actes/x.csv", b"1")
    store.delete("public/actes/x.csv")
    store.delete("public/actes/x.csv")
    with pytest.raises(FileNotFoundError, match="public/actes/x.csv"):
        store.get_bytes("public/actes/x.csv")


def test_listing_pages_past_a_thousand_keys(s3_store_url):
    store = open_store(s3_store_url)
    for i in range(1005):
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}private/many/{i:05d}", Body=b"")
    assert len(store.list_keys("private/many/")) == 1005


def test_objects_carry_content_type_and_cache_control(s3_store_url):
    store = open_store(s3_store_url)
    store.put_bytes("public/deliberations/deliberations-2025.0123456789abcdef.csv", b"a\n")
    store.put_bytes("public/deliberations/index.json", b"{}")
    store.put_bytes("private/datagouv/state/x.json", b"{}")
    versioned = store.head("public/deliberations/deliberations-2025.0123456789abcdef.csv")
    assert versioned["ContentType"].startswith("text/csv") and versioned["CacheControl"] == CACHE_WITHDRAWABLE
    manifest = store.head("public/deliberations/index.json")
    assert manifest["ContentType"] == "application/json" and manifest["CacheControl"] == CACHE_MANIFEST
    assert store.head("private/datagouv/state/x.json")["CacheControl"] == CACHE_PRIVATE


def test_a_document_is_served_as_what_its_bytes_are_whatever_its_key(s3_store_url, seaweedfs):
    store = open_store(s3_store_url)
    store.put_bytes("public/documents/ab/ab12.pdf", b"%PDF-1.4 act")
    # what a store written before documents were checked may still hold
    store.put_bytes("public/documents/cd/cd34.html", b"<script>alert(1)</script>")
    store.put_bytes("public/documents/ef/ef56.pdf", b"<svg onload='alert(1)'/>")
    pdf = store.head("public/documents/ab/ab12.pdf")
    assert (pdf["ContentType"], pdf["CacheControl"], pdf["ContentDisposition"]) == (
        "application/pdf", CACHE_WITHDRAWABLE, None)
    for key in ("public/documents/cd/cd34.html", "public/documents/ef/ef56.pdf"):
        other = store.head(key)
        assert (other["ContentType"], other["ContentDisposition"]) == (OTHER_CONTENT_TYPE, "attachment"), key
    store.configure_public_access(["*"])
    served = requests.get(f"{seaweedfs.endpoint}/{store.bucket}/{store.prefix}public/documents/cd/cd34.html", timeout=10)
    assert served.headers["Content-Type"] == OTHER_CONTENT_TYPE
    assert served.headers["Content-Disposition"] == "attachment"


def test_precompressed_widget_files_are_served_gzip_encoded_and_revalidated(s3_store_url, seaweedfs):
    """A widget's year file is stored gzip-compressed: a browser gets it with Content-Encoding and
    decodes it, the pipeline reads back what it wrote, and a revisit is a 304 without a body."""
    store = open_store(s3_store_url)
    text = json.dumps({"actes": [{"objet": "Vœu du conseil municipal"}] * 200}, ensure_ascii=False).encode()
    key = "public/widgets/actes/123456789/2025.0123456789abcdef.json"
    store.put_bytes(key, gzip_bytes(text))
    assert plain_bytes(store.get_bytes(key)) == text
    stored = store.head(key)
    assert (stored["ContentEncoding"], stored["CacheControl"]) == ("gzip", CACHE_WITHDRAWABLE)
    store.put_bytes("public/widgets/actes/123456789/index.json", b"{}")
    assert store.head("public/widgets/actes/123456789/index.json")["ContentEncoding"] is None, "plain text stays plain"
    store.configure_public_access(["*"])
    url = f"{seaweedfs.endpoint}/{store.bucket}/{store.prefix}{key}"
    served = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert served.headers["Content-Encoding"] == "gzip" and int(served.headers["Content-Length"]) < len(text) / 5
    assert served.content == text, "what a browser reads once decoded"
    again = requests.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": served.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""


def test_only_the_public_prefix_is_readable_by_browsers_of_the_widget_origin(s3_store_url, seaweedfs):
    store = open_store(s3_store_url)
    for key in ("public/widgets/actes/123/index.json", "private/ledger/x.json", "raw/actes/x.json",
                "staging/actes/x.parquet"):
        store.put_bytes(key, b"{}")
    store.configure_public_access(["https://widgets.example.bzh"])
    base = f"{seaweedfs.endpoint}/{store.bucket}/{store.prefix}"
    origin = {"Origin": "https://widgets.example.bzh"}
    public = requests.get(base + "public/widgets/actes/123/index.json", headers=origin, timeout=10)
    assert public.status_code == 200 and public.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    assert public.headers["Cache-Control"] == CACHE_MANIFEST
    for key in ("private/ledger/x.json", "raw/actes/x.json", "staging/actes/x.parquet"):
        assert requests.get(base + key, timeout=10).status_code == 403, key
    assert requests.get(f"{seaweedfs.endpoint}/{store.bucket}?list-type=2", timeout=10).status_code == 403
    preflight = requests.options(base + "public/widgets/actes/123/index.json", timeout=10,
                                 headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    other = requests.options(base + "public/widgets/actes/123/index.json", timeout=10,
                             headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"})
    assert other.headers.get("Access-Control-Allow-Origin") is None


def test_wrong_credentials_give_a_clear_error_naming_the_connection(s3_store_url, seaweedfs, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", seaweedfs.connection_json(secret="not-the-secret"))
    store = open_store(s3_store_url)
    with pytest.raises(StoreAuthError) as refused:
        store.put_bytes("public/x.json", b"{}")
    message = str(refused.value)
    assert "Airflow connection 'digor_s3'" in message and "SignatureDoesNotMatch" in message
    assert "not-the-secret" not in message and SECRET_KEY not in message
    with pytest.raises(StoreAuthError, match="digor_s3"):
        store.exists("public/x.json")
    assert "not-the-secret" not in repr(store)


def test_store_url_may_name_another_connection(s3_store_url, seaweedfs, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ARCHIVE_S3", seaweedfs.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", json.dumps({"conn_type": "aws", "login": "x", "password": "y"}))
    store = open_store(s3_store_url + "?conn_id=archive_s3")
    store.put_bytes("private/x.json", b"{}")
    assert store.get_bytes("private/x.json") == b"{}"


def test_missing_bucket_is_named(seaweedfs, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", seaweedfs.connection_json())
    with pytest.raises(StoreError, match="no-such-bucket"):
        open_store("s3://no-such-bucket/p").get_bytes("public/x.json")


def test_the_cli_opens_the_public_prefix_of_an_s3_store(s3_store_url, seaweedfs, capsys):
    from digor.cli import main as digor

    store = open_store(s3_store_url)
    store.put_bytes("public/actes/index.json", b"{}")
    assert digor(["store-public", "--store", s3_store_url, "--origin", "https://mairie.example.bzh"]) == 0
    assert "public/ readable by anyone" in capsys.readouterr().out
    url = f"{seaweedfs.endpoint}/{store.bucket}/{store.prefix}public/actes/index.json"
    assert requests.get(url, headers={"Origin": "https://mairie.example.bzh"}, timeout=10).headers[
        "Access-Control-Allow-Origin"] == "https://mairie.example.bzh"


def test_unchanged_bytes_are_told_by_their_checksum_without_a_download(s3_store_url):
    store = open_store(s3_store_url + "/checksums")
    sent: list[str] = []
    store.client.meta.events.register("before-send.s3", lambda event_name, **_: sent.append(event_name.rsplit(".", 1)[1]))
    assert put_if_changed(store, "public/actes/index.json", b'{"a": 1}')
    sent.clear()
    assert not put_if_changed(store, "public/actes/index.json", b'{"a": 1}')
    assert put_raw(store, "raw/actes/drop/date=2025-03-03/x/metadata.json", b"{}")
    sent.clear()
    assert not put_raw(store, "raw/actes/drop/date=2025-03-03/x/metadata.json", b"{}")
    assert not put_if_changed(store, "public/actes/index.json", b'{"a": 1}')
    assert sent == ["HeadObject", "HeadObject"]
    assert put_if_changed(store, "public/actes/index.json", b'{"a": 2}')
    assert store.get_bytes("public/actes/index.json") == b'{"a": 2}'
    # An object another tool wrote, without the checksum: read once to compare, still right.
    store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}public/actes/other.json", Body=b"[]")
    assert not put_if_changed(store, "public/actes/other.json", b"[]")
    assert put_if_changed(store, "public/actes/other.json", b"[1]")
