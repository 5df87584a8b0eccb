"""A writer killed with ``kill -9`` mid-write leaves nothing that is read or served as an object.

A real process writes a 200 MB PDF into the local store and is killed before its write
completes; its temporary file must sit outside the zones (so ``digor serve`` has no URL for
it), and the next process that opens the store (a rerun) removes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT
from core.store import LocalStore
from digor.serve import make_server, serve_in_thread

KEY = "public/documents/ab/acte-de-200-mo.pdf"
WRITER = textwrap.dedent("""
    import os, sys, time
    from core.store import LocalStore

    store = LocalStore(sys.argv[1])

    def stalled(source, target):
        # The write is done but not yet renamed into place: tell the test where it is, then wait to be killed.
        print(source, flush=True)
        time.sleep(600)

    os.replace = stalled
    store.put_bytes(sys.argv[2], b"%PDF-1.7\\n" + bytes(200 * 1024 * 1024))
""")


def _get(base: str, path: str) -> int:
    try:
        with urllib.request.urlopen(base + path) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def killed_writer(tmp_path):
    """The store after a real writer of a 200 MB PDF was killed with SIGKILL; yields (root, temporary file)."""
    root = tmp_path / "store"
    LocalStore(root).put_bytes("public/actes/actes-2025.csv", b"id\n1\n")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), KEY], stdout=subprocess.PIPE, text=True, env=env)
    try:
        temporary = Path(writer.stdout.readline().strip())
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=60) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stdout.close()
    assert temporary.is_file() and temporary.stat().st_size > 200 * 1024 * 1024, "the killed writer left its temporary"
    yield root, temporary


def test_a_killed_writer_leaves_nothing_in_the_zones_and_the_rerun_removes_its_temporary(killed_writer):
    root, temporary = killed_writer
    zone_dirs = [root / zone for zone in ("raw", "staging", "public", "private")]
    files = [p for zone in zone_dirs for p in zone.rglob("*") if p.is_file()]
    assert files == [root / "public/actes/actes-2025.csv"], "no partial file in any zone"
    assert not any(zone in temporary.parents for zone in zone_dirs)
    store = LocalStore(root)  # the next run opens the store
    assert not temporary.exists(), "the rerun removed the dead writer's temporary"
    assert not store.exists(KEY)
    assert store.list_keys("public/") == ["public/actes/actes-2025.csv"]


def test_digor_serve_serves_no_temporary_file(killed_writer):
    root, temporary = killed_writer
    # A leftover from before temporaries moved out of the zones: never served under its name either.
    legacy = root / "public/documents/ab/.tmp-k2j4-acte-de-200-mo.pdf"
    legacy.write_bytes(b"%PDF-1.7\n" + bytes(1024))
    server = make_server(LocalStore(root), port=0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _get(base, "/actes/actes-2025.csv") == 200
        assert _get(base, "/documents/ab/acte-de-200-mo.pdf") == 404
        assert _get(base, "/documents/ab/" + legacy.name) == 404
        relative = temporary.relative_to(root).as_posix() if root in temporary.parents else temporary.name
        assert _get(base, "/../" + relative) == 404
        assert _get(base, "/%2e%2e/" + relative) == 404
    finally:
        server.shutdown()
        server.server_close()
