"""The procurement platform source: HTTP listing client against the loopback emulator, and the drop folder."""

from __future__ import annotations

import errno
import json

import pytest

from chains import decp as decp_chain
from chains.decp import CHAIN
from core.config import Settings
from core.keys import report_key
from core.store import LocalStore
from extract.decp_drop import extract_night as extract_drop
from extract.decp_platform import (
    PlatformClient,
    PlatformConfigError,
    PlatformError,
    credentials_from_connection,
)
from extract.decp_platform import extract_night as extract_platform
from tests.emulators.decp_platform import DecpPlatformEmulator

NIGHT = "2024-10-06"


@pytest.fixture
def samples(reference_dir) -> dict[str, dict[str, bytes]]:
    """Real exports of both formats, served as what the platform published on one day."""
    root = reference_dir / "samples"
    files = [root / "decp-2022/decp-rama/decp-13001845000028-2024-10-06-01.json",
             root / "decp-2022/format-commande-publique/xml/Marche.xml",
             root / "decp-2022/decp-validation/decp-59920013600241-2024-07-09-01.json",
             root / "decp-2019/format-commande-publique/json/paquet.json",
             root / "decp-2019/format-commande-publique/xml/paquet.xml"]
    return {NIGHT: {f"{p.parent.name}-{p.name}": p.read_bytes() for p in files}}


@pytest.fixture
def platform(samples, monkeypatch):
    with DecpPlatformEmulator(samples, page_size=2) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DECP_PLATFORM", emulator.connection_json())
        yield emulator


def test_credentials_come_from_the_airflow_connection(platform):
    credentials = credentials_from_connection("digor_decp_platform")
    assert credentials.base_url == platform.base_url + "/"
    assert credentials.login == "digor"
    assert "s3cret" not in repr(credentials) and "s3cret" not in repr(PlatformClient(credentials))


def test_a_missing_connection_is_a_clear_configuration_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_DIGOR_DECP_NOWHERE", raising=False)
    with pytest.raises(PlatformConfigError, match="AIRFLOW_CONN_DIGOR_DECP_NOWHERE"):
        credentials_from_connection("digor_decp_nowhere")


def test_listing_pages_and_files_arrive_byte_for_byte_in_raw(platform, samples, tmp_path):
    store = LocalStore(tmp_path / "store")
    client = PlatformClient(credentials_from_connection("digor_decp_platform"))
    files = extract_platform(store, client, NIGHT)
    assert sorted(f.name for f in files) == sorted(samples[NIGHT])
    for extracted in files:
        assert store.get_bytes(extracted.key) == samples[NIGHT][extracted.name]
        assert extracted.key.startswith(f"raw/decp/platform/date={NIGHT}/")
    assert sum("page=" in r for r in platform.requests) == 2  # 5 files, 2 per page
    again = extract_platform(store, client, NIGHT)
    assert [f.written for f in again] == [False] * len(files), "a rerun rewrites nothing"


def test_transient_failures_are_retried(samples, monkeypatch, tmp_path):
    with DecpPlatformEmulator(samples, fail_first=2) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DECP_PLATFORM", emulator.connection_json())
        slept = []
        client = PlatformClient(credentials_from_connection("digor_decp_platform"), sleep=slept.append)
        assert len(client.list_exports(NIGHT)) == len(samples[NIGHT])
    assert len(slept) == 2, "two 503s, two waits, none of them real"


def test_bad_credentials_corrupt_files_and_foreign_urls_are_refused(samples, tmp_path):
    with DecpPlatformEmulator(samples) as emulator:
        wrong = json.loads(emulator.connection_json()) | {"password": "nope"}
        from extract.decp_platform import PlatformCredentials

        client = PlatformClient(PlatformCredentials(wrong["host"] + "/", wrong["login"], wrong["password"]))
        with pytest.raises(PlatformConfigError, match="401"):
            client.list_exports(NIGHT)
    corrupt = frozenset({next(iter(samples[NIGHT]))})
    with DecpPlatformEmulator(samples, corrupt=corrupt) as emulator:
        client = PlatformClient(PlatformCredentials(emulator.base_url + "/", "digor", "s3cret"))
        entry = next(e for e in client.list_exports(NIGHT) if e.name in corrupt)
        with pytest.raises(PlatformError, match="bytes received"):
            client.download(entry)
    with DecpPlatformEmulator(samples, foreign_url=True) as emulator:
        client = PlatformClient(PlatformCredentials(emulator.base_url + "/", "digor", "s3cret"))
        entry = client.list_exports(NIGHT)[0]
        with pytest.raises(PlatformError, match="outside the platform"):
            client.download(entry)


def test_a_listing_nested_100k_deep_is_refused_by_name(samples):
    from extract.decp_platform import PlatformCredentials

    with DecpPlatformEmulator(samples, deep_listing=True) as emulator:
        client = PlatformClient(PlatformCredentials(emulator.base_url + "/", "digor", "s3cret"))
        with pytest.raises(PlatformError, match="listing at exports is refused: JSON nested deeper than"):
            client.list_exports(NIGHT)


def test_bearer_token_without_login(samples):
    with DecpPlatformEmulator(samples, login=None, password="jeton") as emulator:
        from extract.decp_platform import PlatformCredentials

        client = PlatformClient(PlatformCredentials(emulator.base_url + "/", None, "jeton"))
        assert client.list_exports(NIGHT)


def test_the_chain_reads_the_platform_like_the_drop_folder(platform, samples, tmp_path):
    platform_settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "a"), decp_source="platform")
    extracted = CHAIN.extract(platform_settings, NIGHT)
    assert len(extracted["files"]) == len(samples[NIGHT])
    drop = tmp_path / "drop" / NIGHT
    drop.mkdir(parents=True)
    for name, data in samples[NIGHT].items():
        (drop / name).write_bytes(data)
    drop_settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "b"), decp_drop_dir=tmp_path / "drop")
    assert len(CHAIN.extract(drop_settings, NIGHT)["files"]) == len(samples[NIGHT])
    summary = lambda s: sorted((f["name"], f["format"], f["read"], f["valid"]) for f in CHAIN.transform(s, NIGHT)["files"])
    assert summary(platform_settings) == summary(drop_settings)
    formats = {name: fmt for name, fmt, _, _ in summary(platform_settings)}
    assert formats["json-paquet.json"] == formats["xml-paquet.xml"] == "2019"
    assert formats["xml-Marche.xml"] == "2022"


def test_drop_folder_keeps_a_rewritten_file_beside_the_first(tmp_path):
    store, drop = LocalStore(tmp_path / "store"), tmp_path / "drop"
    (drop / NIGHT).mkdir(parents=True)
    (drop / NIGHT / "export.json").write_bytes(b'{"marches": {"marche": []}}')
    (drop / NIGHT / ".partial").write_bytes(b"...")
    first, skipped = extract_drop(store, drop, NIGHT)
    (drop / NIGHT / "export.json").write_bytes(b'{"marches": {"marche": [{}]}}')
    second, _ = extract_drop(store, drop, NIGHT)
    assert first[0].key != second[0].key and second[0].key.endswith("-export.json")
    assert [s["file"] for s in skipped] == [".partial"]
    assert len(store.list_keys(f"raw/decp/drop/date={NIGHT}/")) == 2


def test_drop_folder_skips_a_file_over_the_configured_size_naming_it(tmp_path):
    drop = tmp_path / "drop"
    (drop / NIGHT).mkdir(parents=True)
    (drop / NIGHT / "petit.json").write_bytes(b'{"marches": {"marche": []}}')
    (drop / NIGHT / "gros.json").write_bytes(b'{"marches": {"marche": [' + b"{}," * 400 + b"{}]}}")
    settings = Settings.from_env().with_overrides(store_url=str(tmp_path / "store"), decp_drop_dir=drop,
                                                  decp_max_file_bytes=1000)
    extracted = CHAIN.extract(settings, NIGHT)
    assert [f["name"] for f in extracted["files"]] == ["petit.json"]
    assert [s["file"] for s in extracted["skipped"]] == ["gros.json"]
    assert "DIGOR_DECP_MAX_FILE_BYTES=1000" in extracted["skipped"][0]["reason"]
    admitted = CHAIN.extract(settings.with_overrides(store_url=str(tmp_path / "store2"), decp_max_file_bytes=2000), NIGHT)
    assert sorted(f["name"] for f in admitted["files"]) == ["gros.json", "petit.json"] and not admitted["skipped"]


def test_a_night_whose_every_retry_failed_is_finished_by_the_next_run(reference_dir, monkeypatch, tmp_path):
    """The platform lists its exports by night: a night whose run failed after fetching them and that
    nobody reran is fetched and published again by the next run, then never again."""
    root = reference_dir / "samples" / "decp-2022"
    first = root / "decp-validation/decp-59920013600241-2024-07-09-01.json"
    second = root / "format-commande-publique/xml/Marche.xml"
    served = {"2024-10-06": {first.name: first.read_bytes()}, "2024-10-07": {second.name: second.read_bytes()}}
    store = tmp_path / "store"

    def files_of(night: str) -> dict[str, int]:
        report = json.loads((store / report_key("decp", night)).read_text(encoding="utf-8"))
        return {f["name"]: f["published"] for f in report["files"]}

    with DecpPlatformEmulator(served) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DECP_PLATFORM", emulator.connection_json())
        settings = Settings.from_env().with_overrides(store_url=str(store), decp_source="platform")
        with monkeypatch.context() as patch:
            patch.setattr(decp_chain, "_transform",
                          lambda *args, **kwargs: _raise(OSError(errno.ENOSPC, "No space left on device")))
            with pytest.raises(OSError):
                CHAIN.run_night(settings, "2024-10-06")
        CHAIN.run_night(settings, "2024-10-07")
        published = files_of("2024-10-07")
        assert set(published) == {first.name, second.name} and published[first.name] > 0, published
        table = "".join(p.read_text(encoding="utf-8") for p in (store / "public/decp").glob("decp-20*.csv"))
        assert "59920013600241" in table, "the failed night's contracts are in the regional files"
        CHAIN.run_night(settings, "2024-10-08")
        assert files_of("2024-10-08") == {}, "a night finished once is not run again"


def _raise(error: Exception):
    raise error
