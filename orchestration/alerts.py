"""Alerts: one message per failed or late DAG run, by e-mail and to a webhook; and one per run that
succeeded with something to repair (``warn``).

Channels are Airflow connections: ``digor_smtp`` (sent through Airflow's SMTP provider;
recipients in the connection extra ``to`` or DIGOR_ALERT_TO) and ``digor_webhook``
(a JSON POST to its host; a password, if any, is sent as a bearer token). A channel
without a connection is skipped. An alert that cannot be sent is logged, never raised:
the run's own failure stays what Airflow shows.
"""

from __future__ import annotations

import logging
from html import escape

import requests

from core.config import Settings
from orchestration.airflow_plugin import report_url
from orchestration.regions import param_region

log = logging.getLogger(__name__)

SMTP_CONN_ID = "digor_smtp"
WEBHOOK_CONN_ID = "digor_webhook"
FAILED_STATES = ("failed", "upstream_failed")


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # Airflow raises its own not-found error types across versions
        return None


def _airflow_base_url() -> str:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://127.0.0.1:8080").rstrip("/")


def failed_tasks(context) -> list[dict]:
    """The failed tasks of the run: all of them when the run can list them, else the one in context."""
    dag_run = context["dag_run"]
    if hasattr(dag_run, "get_task_instances"):
        instances = [
            ti for ti in dag_run.get_task_instances()
            if str(getattr(ti.state, "value", ti.state)) in FAILED_STATES
        ]
    else:
        instances = [context["ti"]] if context.get("ti") is not None else []
    return [{"task_id": ti.task_id, "map_index": ti.map_index} for ti in instances]


def compose(kind: str, dag_id: str, run_id: str, tasks: list[dict], reason: str) -> dict:
    """The alert as data: subject, readable text, and where to look."""
    base = _airflow_base_url()
    where = {
        "run": f"{base}/dags/{dag_id}/runs/{run_id}",
        "report": f"{base}{report_url(dag_id, run_id)}",
    }
    failed = ", ".join(f"{t['task_id']}" + (f"[{t['map_index']}]" if t["map_index"] >= 0 else "") for t in tasks)
    subject = f"[digor] {dag_id} {kind}: run {run_id}"
    lines = [f"DAG {dag_id}, run {run_id}: {kind}.", f"Reason: {reason or '-'}"]
    if failed:
        lines.append(f"Failed tasks: {failed}")
    lines += [f"Run in Airflow: {where['run']}", f"Run report: {where['report']}"]
    lines += [f"Log of {t['task_id']}: {where['run']}/tasks/{t['task_id']}" for t in tasks]
    return {"subject": subject, "text": "\n".join(lines), "dag_id": dag_id, "run_id": run_id, "kind": kind,
            "failed_tasks": tasks, "links": where}


def send(alert: dict) -> list[str]:
    """Send on every configured channel; returns the channels that accepted the message. E-mails go to
    the recipients of the alert's region (its DAG's, else the deployment's), when it has its own."""
    sent = []
    smtp = _connection(SMTP_CONN_ID)
    if smtp is not None:
        recipients = Settings.from_env(alert.get("region") or None).alert_to or smtp.extra_dejson.get("to")
        if recipients:
            try:
                from airflow.providers.smtp.hooks.smtp import SmtpHook

                with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
                    hook.send_email_smtp(
                        to=[r.strip() for r in recipients.split(",")], subject=alert["subject"],
                        html_content=f"<pre>{escape(alert['text'])}</pre>",
                        from_email=smtp.extra_dejson.get("from_email") or "digor@localhost",
                    )
                sent.append("smtp")
            except Exception as error:
                log.error("alert e-mail not sent through %s: %s", SMTP_CONN_ID, type(error).__name__)
        else:
            log.warning("connection %s has no recipients (extra 'to' or DIGOR_ALERT_TO)", SMTP_CONN_ID)
    webhook = _connection(WEBHOOK_CONN_ID)
    if webhook is not None:
        url = webhook.host if "://" in (webhook.host or "") else webhook.get_uri().split("?")[0]
        headers = {"Authorization": f"Bearer {webhook.password}"} if webhook.password else {}
        try:
            requests.post(url, json=alert, headers=headers, timeout=10).raise_for_status()
            sent.append("webhook")
        except requests.RequestException as error:
            log.error("alert webhook %s failed: %s", WEBHOOK_CONN_ID, type(error).__name__)
    return sent


def _send_for(context, kind: str, tasks: list[dict], reason: str) -> None:
    dag_run = context["dag_run"]
    alert = compose(kind, dag_run.dag_id, dag_run.run_id, tasks, reason)
    alert["region"] = param_region(context.get("params")) or ""
    log.info("%s alert sent on %s", kind, send(alert) or "no channel")


def warn(context, reason: str) -> None:
    """A run that succeeded with something an engineer must repair (a body's widget left as it was):
    one message on each channel, the run's links with it, sent by the task that found it."""
    _send_for(context, "warning", [], reason)


def on_run_failure(context) -> None:
    """DAG-level ``on_failure_callback``: once per failed run, and once per run stopped by
    its ``dagrun_timeout`` (Airflow reports those as failures with reason ``timed_out``)."""
    reason = str(context.get("reason", ""))
    _send_for(context, "late" if "timed_out" in reason else "failed", failed_tasks(context), reason)
