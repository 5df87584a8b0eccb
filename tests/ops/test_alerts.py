"""A failed run sends one alert, by e-mail and webhook, saying what failed and where to look."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pendulum
import pytest

from core.config import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    class Inbox:
        messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    handler = Inbox()
    handler.messages = []
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, handler.messages
    controller.stop()


@pytest.fixture
def webhook_inbox():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()


def test_a_failed_night_sends_one_alert_on_each_channel(
    airflow_db, demo_settings, monkeypatch, smtp_inbox, webhook_inbox, tmp_path
):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    smtp_port, mails = smtp_inbox
    hook_port, posts = webhook_inbox
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
        "extra": {"disable_tls": True, "disable_ssl": True, "to": "ops@example.org", "from_email": "digor@example.org"},
    }))
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_WEBHOOK", json.dumps({
        "conn_type": "http", "host": f"http://127.0.0.1:{hook_port}/alerts", "password": "hook-s3cret",
    }))
    monkeypatch.setenv("DIGOR_DROP_DIR", str(tmp_path / "no-such-drop-folder"))

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    for task in dag.tasks:
        task.retries = 0
    run = dag.test(logical_date=pendulum.parse("2025-03-03"))
    assert run.state == DagRunState.FAILED

    assert len(mails) == 1 and len(posts) == 1, "one message per failed run and channel"
    recipients, mail = mails[0]
    assert recipients == ["ops@example.org"]
    assert mail["Subject"].startswith("[digor] actes failed")
    body = mail.get_payload(0).get_payload(decode=True).decode()
    assert "Failed tasks: extract_shard" in body and "/digor/reports/runs/actes/" in body
    path, auth, alert = posts[0]
    assert path == "/alerts" and auth == "Bearer hook-s3cret"
    assert [t["task_id"] for t in alert["failed_tasks"]] == ["extract_shard"]  # the night extracts in shards
    assert "hook-s3cret" not in json.dumps(alert) and "hook-s3cret" not in body


def test_a_night_that_leaves_a_body_s_widget_behind_succeeds_and_warns_once(
    airflow_db, demo_settings, monkeypatch, webhook_inbox
):
    """One body's year file garbled by hand: the run succeeds for the others and the webhook hears of
    that body and the file, without the secret. (No document's text is read: a text published for that
    body rebuilds its year, which writes the file again, before or after the report.)"""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from chains.actes import CHAIN
    from core.keys import widget_year_digest_key
    from core.store import LocalStore
    from load.versions import read_pointers
    from load.widget_files import body_folder
    from samples.actes import DEMO_NIGHTS

    hook_port, posts = webhook_inbox
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_WEBHOOK", json.dumps({
        "conn_type": "http", "host": f"http://127.0.0.1:{hook_port}/alerts", "password": "hook-s3cret",
    }))
    monkeypatch.setenv("DIGOR_TEXT_MAX_BYTES", "1")
    for night in DEMO_NIGHTS[:2]:
        CHAIN.run_night(demo_settings, night)
    store, siren = LocalStore(demo_settings.store_url), "212900997"
    name = read_pointers(store, body_folder(siren))["2024"]["fichier"]
    store.put_bytes(f"{body_folder(siren)}/{name}", b"\x00garbled")
    store.delete(widget_year_digest_key("actes", siren, name))

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("actes")
    run = dag.test(logical_date=pendulum.parse(DEMO_NIGHTS[2]))

    assert run.state == DagRunState.SUCCESS
    [(_, auth, alert)] = posts
    assert auth == "Bearer hook-s3cret" and alert["kind"] == "warning" and not alert["failed_tasks"]
    assert siren in alert["text"] and name in alert["text"] and "/digor/reports/runs/actes/" in alert["text"]
    assert "hook-s3cret" not in json.dumps(alert)
