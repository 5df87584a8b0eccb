"""E-mails through the SMTP server of an Airflow connection (host, port, login, password; extra
``from`` and ``starttls``); failures as one line that never shows the password."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from core.connections import get_connection
from core.failures import ExpectedFailure
from core.http_manners import redact


class MailFailed(ExpectedFailure):
    hint = "check the Airflow connection of the SMTP server (host, port, login, password, extra starttls)"


def sender(conn_id: str) -> str:
    """The From address the connection names (extra ``from``)."""
    return str(get_connection(conn_id).extra.get("from") or "digor@localhost")


def send_messages(conn_id: str, messages: list[EmailMessage], timeout: float = 30.0) -> int:
    """Send each message over one SMTP session; returns how many were sent."""
    if not messages:
        return 0
    conn = get_connection(conn_id)
    if not conn.host:
        raise MailFailed(f"Airflow connection {conn_id!r} has no host (the SMTP server)")
    where = f"{conn.host}:{conn.port or 25}"
    try:
        with smtplib.SMTP(conn.host, conn.port or 25, timeout=timeout) as smtp:
            if str(conn.extra.get("starttls", "")).lower() in ("1", "true", "yes"):
                smtp.starttls(context=ssl.create_default_context())
            if conn.login:
                smtp.login(conn.login, conn.password or "")
            for message in messages:
                smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailFailed(f"SMTP server {where} (connection {conn_id!r}): "
                         f"{redact(str(error), [conn.password or ''])}") from None
    return len(messages)
