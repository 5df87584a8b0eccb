"""Expected failures reach the user as one line (what failed, what to do) and exit 1; the traceback
only with ``digor --verbose``. Each fault is injected in a loopback service, the disk full in-process."""

from __future__ import annotations

import errno
import json

import pytest

from core.config import PROJECT_ROOT
from core.store import LocalStore
from digor.cli import main
from samples.decp import generate_decp_exports

NIGHT = "2025-03-03"
FAST_DATAGOUV = {"connect_timeout": 2, "read_timeout": 5, "max_attempts": 2, "backoff_seconds": 0.01,
                 "max_backoff_seconds": 0.02, "upload_spacing_seconds": 0}


@pytest.fixture
def decp_drop(tmp_path, monkeypatch):
    drop = tmp_path / "decp-drop"
    night = generate_decp_exports(drop, PROJECT_ROOT / "config" / "registry-demo.yaml")["nights"][0]
    monkeypatch.setenv("DIGOR_DECP_DROP_DIR", str(drop))
    monkeypatch.setenv("DIGOR_DECP_SOURCE", "drop")
    return night


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def one_error_line(err: str) -> str:
    """The error line; tqdm's progress bar shares stderr, so it is the last line and no traceback shows."""
    assert "Traceback" not in err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    return errors[0]


def test_udata_403_is_one_line_naming_the_connection(decp_drop, udata, tmp_path, monkeypatch, capsys):
    dataset = udata.add_dataset("DECP", owner_key="the-owners-key")
    monkeypatch.setenv("DIGOR_DATAGOUV_MODE", "api")
    monkeypatch.setenv("DIGOR_DATAGOUV_DATASETS", json.dumps({"decp": dataset}))
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_DATAGOUV", json.dumps(
        {"conn_type": "http", "host": udata.base_url, "password": udata.api_key, "extra": FAST_DATAGOUV}))
    code, _, err = run(capsys, "run", "decp", "--date", decp_drop, "--store", str(tmp_path / "store"))
    line = one_error_line(err)
    assert code == 1
    assert line.startswith("error: data.gouv.fr at ") and "refused the API key of Airflow connection 'digor_datagouv' (403" in line
    assert line.endswith("put a valid API key of the datasets' owner in the connection's password, then rerun the night")
    assert udata.api_key not in err


def test_s3_wrong_credentials_are_one_line(decp_drop, s3_store_url, seaweedfs, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", seaweedfs.connection_json(secret="not-the-secret"))
    code, _, err = run(capsys, "run", "decp", "--date", decp_drop, "--store", s3_store_url)
    line = one_error_line(err)
    assert code == 1
    assert line.startswith("error: S3 store s3://") and "refused the credentials of Airflow connection 'digor_s3'" in line
    assert line.endswith("fix the access key and secret of that connection (or the bucket's policy), then rerun")
    assert "not-the-secret" not in err


def test_pastell_401_is_one_line_and_verbose_shows_the_traceback(tmp_path, monkeypatch, capsys):
    from tests.emulators.pastell import PastellEmulator, entities_of
    from tests.pastell.conftest import REGISTRY_PATH, set_connection

    with PastellEmulator(entities_of(REGISTRY_PATH)) as emulator:
        set_connection(monkeypatch, emulator, password="wrong-password")
        monkeypatch.setenv("DIGOR_SOURCE", "pastell")
        argv = ["run", "actes", "--date", NIGHT, "--store", str(tmp_path / "store")]
        code, _, err = run(capsys, *argv)
        line = one_error_line(err)
        assert code == 1
        assert line.startswith("error: Pastell refused the credentials of Airflow connection 'digor_pastell' (HTTP 401")
        assert "wrong-password" not in err
        code, _, verbose = run(capsys, "--verbose", *argv)
        assert code == 1 and "Traceback (most recent call last)" in verbose and "PastellAuthError" in verbose
        assert verbose.rstrip().splitlines()[-1] == line


def test_disk_full_is_one_line(decp_drop, tmp_path, monkeypatch, capsys):
    def full(self, key, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / key))

    monkeypatch.setattr(LocalStore, "put_bytes", full)
    code, _, err = run(capsys, "run", "decp", "--date", decp_drop, "--store", str(tmp_path / "store"))
    line = one_error_line(err)
    assert code == 1
    assert line.startswith(f"error: no space left on the device writing {tmp_path / 'store'}/")
    assert line.endswith("free some space (or point DIGOR_STORE at a larger disk) and rerun")


def test_a_bug_still_shows_its_traceback(decp_drop, tmp_path, monkeypatch):
    def broken(self, key, data):
        raise KeyError("a bug")

    monkeypatch.setattr(LocalStore, "put_bytes", broken)
    with pytest.raises(KeyError):
        main(["run", "decp", "--date", decp_drop, "--store", str(tmp_path / "store")])
