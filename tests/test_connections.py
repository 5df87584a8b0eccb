"""A malformed ``AIRFLOW_CONN_*`` is an error naming the connection and what is wrong, never "not defined"
and never a silent fallback to other credentials."""

from __future__ import annotations

import pytest

from core.connections import ConnectionInvalid, get_connection
from core.store import open_store
from extract.pastell_client import credentials_from_connection

BROKEN_JSON = '{"conn_type": "http", "host": "https://pastell.example", "login": "digor", "password": "pw-secret"'


def test_pastell_malformed_json_names_the_connection_and_the_parse_error(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_PASTELL_BROKEN", BROKEN_JSON)
    with pytest.raises(ConnectionInvalid) as raised:
        credentials_from_connection("digor_pastell_broken")
    message = str(raised.value)
    assert "'digor_pastell_broken'" in message and "AIRFLOW_CONN_DIGOR_PASTELL_BROKEN" in message
    assert "not valid JSON: Expecting ',' delimiter at line 1" in message
    assert "not defined" not in message and "pw-secret" not in message


def test_s3_malformed_json_fails_instead_of_using_the_default_aws_credentials(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_S3", "{'conn_type': 'aws'}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "default-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "default-secret")
    with pytest.raises(ConnectionInvalid, match="'digor_s3'.*not valid JSON: Expecting property name"):
        open_store("s3://bucket/prefix")


@pytest.mark.parametrize("value,problem", [
    ('{"conn_type": "http"} {}', "not valid JSON: Extra data"),
    ('{"conn_type": "http", "hots": "pastell.example"}', "unexpected keyword argument 'hots'"),
    ('{"conn_type": "http", "host": "h", "port": "huit"}', "Expected integer value for `port`"),
    ("http://digor:pw-secret@pastell.example:huit/", "Port could not be cast"),
])
def test_other_unreadable_forms_say_why_without_the_secret(monkeypatch, value, problem):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_ODD", value)
    with pytest.raises(ConnectionInvalid, match="'digor_odd'") as raised:
        get_connection("digor_odd")
    assert problem in str(raised.value) and "pw-secret" not in str(raised.value)


def test_well_formed_connections_still_read(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_FINE", '{"conn_type": "http", "host": "pastell.example", "login": "a", "password": "b"}')
    assert get_connection("digor_fine").host == "pastell.example"
    monkeypatch.setenv("AIRFLOW_CONN_DIGOR_FINE", "http://a:b@pastell.example:8080/")
    assert get_connection("digor_fine").port == 8080
