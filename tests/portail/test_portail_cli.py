"""``digor portail --demo``, as the README starts it: its own process, a loopback provider with the
sample agents, and an agent signed in through it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from urllib.parse import quote

import pytest

from core.config import PROJECT_ROOT
from tests.portail.conftest import sign_in


@pytest.fixture
def demo_portail(replayed):
    """``digor portail --demo`` on free ports, stopped (by its pid) at the end."""
    env = {**os.environ, **replayed.env, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("AIRFLOW_CONN_DIGOR_PORTAIL_OIDC", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "digor.cli", "portail", "--demo", "--port", "0", "--oidc-port", "0"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("  decisions:"):
            break
    try:
        text = "".join(lines)
        match = re.search(r"on (http://127\.0\.0\.1:\d+) \(Ctrl\+C to stop\)", text)
        assert match, f"the portail did not start: {text}"
        yield match.group(1), text
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_demo_starts_the_portail_with_a_loopback_provider_and_sample_agents(demo_portail, page):
    url, text = demo_portail
    assert re.search(r"OpenID Connect provider on http://localhost:\d+", text)
    for sub in ("agent.eaux-aber", "rh.eaux-aber", "admin.region"):
        assert f"    {sub}: " in text
    portail = type("Demo", (), {"url": url})
    sign_in(page, portail, "agent.eaux-aber")
    assert page.get_by_role("heading", level=1).inner_text() == "À statuer"
    assert "Agent du Syndicat des eaux de l'Aber" in page.locator("header").inner_text()
    assert page.locator("table tbody tr").count() >= 1


@pytest.mark.parametrize("suite", ["//exemple.invalid/", "/\t/exemple.invalid/", "https://exemple.invalid/",
                                   "/\\exemple.invalid"])
def test_sign_in_never_sends_the_agent_to_another_site_afterwards(reading, page, suite):
    page.goto(f"{reading.url}/connexion?suite={quote(suite)}")
    page.get_by_role("link", name="Se connecter avec le compte de la région").click()
    page.locator("button[name='sub'][value='agent.eaux-aber']").click()
    page.wait_for_url(f"{reading.url}/**")
    assert page.url == f"{reading.url}/a-statuer"
