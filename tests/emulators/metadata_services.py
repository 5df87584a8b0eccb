"""Real PostgreSQL and Redis on loopback, from Debian's packages, for the production profile's tests.

PostgreSQL is a private cluster (``initdb`` in a temporary folder, as the ``postgres`` user when the
tests run as root, since initdb refuses root); Redis a ``redis-server`` without persistence. Both
on free loopback ports with generated passwords, stopped by the process ids started here.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRE_CELERY = "DIGOR_REQUIRE_CELERY"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server's binaries (``/usr/lib/postgresql/<major>/bin``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def missing() -> list[str]:
    """What the production profile's tests need and this machine lacks (apt package names)."""
    needs = []
    if postgres_bin() is None:
        needs.append("postgresql")
    if redis_binary() is None:
        needs.append("redis-server")
    return needs


def _wait_port(port: int, process: subprocess.Popen | None, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


class PostgresCluster:
    """A private PostgreSQL cluster with a database and its owner for Airflow."""

    def __init__(self, database: str = "airflow", user: str = "airflow"):
        self.bin = postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="digor-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self.database, self.user = database, user
        self.password = secrets.token_hex(16)
        self.as_postgres = os.geteuid() == 0

    def _run(self, argv: list[str]) -> None:
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresCluster":
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"])
        _wait_port(self.port, None, "postgres", self.log)
        sql = (f"CREATE USER {self.user} PASSWORD '{self.password}'; "
               f"CREATE DATABASE {self.database} OWNER {self.user};")
        for statement in sql.split("; "):
            self._run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                       "-c", statement.rstrip(";")])
        return self

    def url(self, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        try:
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """``redis-server`` on a free loopback port, with a password, nothing written to disk."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="digor-redis-"))
        self.log = self.folder / "redis.log"
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        argv = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.folder), "--requirepass", self.password, "--logfile", str(self.log)]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        _wait_port(self.port, self.process, "redis-server", self.log)
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        shutil.rmtree(self.folder, ignore_errors=True)


WORKER_NAME_ENV = "DIGOR_TEST_WORKER_NAME"


def worker_hostname() -> str:
    """Airflow's ``hostname_callable`` for several Celery workers on one test machine: each names
    itself in its task instances (on separate hosts, the real host name does that)."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()
