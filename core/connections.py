"""Airflow connections, read the same way inside a task and from the CLI.

``airflow.sdk.BaseHook.get_connection`` walks Airflow's secrets backends: inside a task
the supervisor's, outside one the ``AIRFLOW_CONN_<ID>`` environment variables (JSON or
URI) and the metadata DB. Going through it in both cases means there is one way to
configure a connection, and Airflow masks the secrets it hands out in task logs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from core.failures import ExpectedFailure


class ConnectionMissing(LookupError, ExpectedFailure):
    """The named Airflow connection is defined nowhere."""


class ConnectionInvalid(ValueError, ExpectedFailure):
    """``AIRFLOW_CONN_<ID>`` is set but cannot be read: never taken for "not defined", never replaced by defaults."""

    hint = "fix its JSON (or URI) form"


@dataclass(frozen=True)
class ConnectionInfo:
    """What digor reads of a connection; the secret never shows in repr or str."""

    conn_id: str
    conn_type: str | None
    host: str | None
    schema: str | None
    port: int | None
    login: str | None
    password: str | None = field(repr=False)
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        from core.http_manners import redact

        return f"ConnectionInfo({self.conn_id!r}, {self.conn_type!r}, host {redact(self.host or '')!r})"

    def base_url(self, default_scheme: str = "https") -> str:
        """The host as a URL: a full URL is kept, a bare host gets the scheme and port."""
        host = (self.host or "").rstrip("/")
        if not host:
            raise ValueError(f"Airflow connection {self.conn_id!r} has no host")
        if "://" in host:
            return host
        scheme = self.schema if self.schema in ("http", "https") else default_scheme
        return f"{scheme}://{host}" + (f":{self.port}" if self.port else "")


def _variable_problem(conn_id: str) -> str | None:
    """Why ``AIRFLOW_CONN_<ID>`` cannot be read (Airflow's own parsers), None when it is unset or fine.

    Airflow skips a variable it cannot parse and reports the connection as not defined;
    the message here says what is wrong with it, without its secrets.
    """
    from airflow.sdk.definitions.connection import Connection

    from core.http_manners import redact

    value = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if value is None:
        return None
    secrets: list[str] = []
    try:
        if value.lstrip().startswith("{"):
            try:
                document = json.loads(value)
            except json.JSONDecodeError as error:
                return f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            secrets = [str(document.get("password") or "")] if isinstance(document, dict) else []
            Connection.from_json(value, conn_id=conn_id)
        else:
            Connection.from_uri(value, conn_id=conn_id)
    except Exception as error:
        return redact(f"{type(error).__name__}: {error}", secrets)[:300]
    return None


def _mask_url_password(host: str | None) -> None:
    """Airflow masks a connection's password in task logs, not one written inside its host URL: add it."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(host or "").password
    except ValueError:
        password = None
    if password:
        from airflow.sdk.log import mask_secret

        mask_secret(password)


def get_connection(conn_id: str) -> ConnectionInfo:
    """The connection, or ``ConnectionMissing`` / ``ConnectionInvalid`` naming it and saying what to do."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    problem = _variable_problem(conn_id)
    if problem:
        raise ConnectionInvalid(f"Airflow connection {conn_id!r}: AIRFLOW_CONN_{conn_id.upper()} cannot be read ({problem})")
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConnectionMissing(
            f"Airflow connection {conn_id!r} is not defined (create it in Airflow, or set AIRFLOW_CONN_"
            f"{conn_id.upper()} to its JSON or URI form)"
        ) from None
    _mask_url_password(conn.host)
    return ConnectionInfo(
        conn_id=conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        schema=conn.schema,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        extra=dict(conn.extra_dejson or {}),
    )
