"""The agents' space on the demo acts, signed in through a real OpenID Connect provider on loopback.

The provider (``oidc-provider-mock``) runs once for the package with the sample agents and a few
for tests; a portail serves the module's replayed store for tests that only read (refusals must
leave it untouched: ``shared`` checks), and a fresh one serves a copy for a test that decides.
Pages are driven by Debian's chromium through the real sign-in redirects.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import PortailSettings, Settings
from tests.replay import Replay, nights_replayed, shared
from tests.widgets.conftest import browser  # noqa: F401 - the package's fixture, Debian's chromium

BODY = "252909999"  # Syndicat intercommunal des eaux de l'Aber: acts to decide, an individual one
OTHER_BODY = "212900997"  # Commune de Kerdigor
TEST_AGENTS = {
    "agent.eaux-aber": {"name": "Agent du Syndicat des eaux de l'Aber", "organismes": [BODY], "roles": []},
    "rh.eaux-aber": {"name": "Agent RH du Syndicat des eaux de l'Aber", "organismes": [BODY], "roles": ["rh"]},
    "agent.kerdigor": {"name": "Agent de la Commune de Kerdigor", "organismes": [OTHER_BODY], "roles": []},
    "admin.region": {"name": "Administrateur régional", "organismes": [], "roles": ["admin-regional"]},
    "agent.quota": {"name": "Agent pressé", "organismes": [BODY], "roles": []},
    "agent.sans-organisme": {"name": "Agent sans organisme", "organismes": ["12345"], "roles": ["rh"]},
}


@dataclass
class Portail:
    url: str
    store: Path
    settings: Settings
    portail: PortailSettings


@pytest.fixture(scope="package")
def provider() -> Iterator[str]:
    from portail.demo import demo_provider

    with demo_provider(PortailSettings(), agents=TEST_AGENTS) as issuer:
        yield issuer


@contextmanager
def serving(replay: Replay, portail: PortailSettings | None = None, state: Path | None = None) -> Iterator[Portail]:
    """A portail on ``replay``'s store, its decisions republished in its process, its own state
    (sessions, operations) in ``state`` (default: a folder of its own, outside the replay)."""
    from portail.app import create_app
    from portail.auth import oidc_client
    from portail.server import Server

    with replay.active() as settings, tempfile.TemporaryDirectory(prefix="portail-state-") as scratch:
        portail = (portail or PortailSettings()).with_overrides(state_url=str(state or scratch))
        server = Server(create_app(settings, portail, oidc_client(portail)), "127.0.0.1", 0).start()
        try:
            yield Portail(server.url, replay.store, settings, portail)
        finally:
            server.stop()


@pytest.fixture(scope="package")
def replayed(tmp_path_factory) -> Iterator[Replay]:
    """The demo nights through the actes chain, once for the package."""
    yield from nights_replayed(tmp_path_factory.mktemp("portail"))


@pytest.fixture(scope="module")
def reading(replayed, provider) -> Iterator[Portail]:
    """A portail on the package's store, for tests that read or are refused: they must write nothing."""
    for replay in shared(replayed):
        with serving(replay) as portail:
            yield portail


@pytest.fixture
def deciding(replayed, provider, tmp_path) -> Iterator[Portail]:
    """A portail on a copy of the store, for a test whose decisions are recorded and republished."""
    with serving(replayed.copy(tmp_path / "replay")) as portail:
        yield portail


@pytest.fixture
def context(browser):  # noqa: F811 - the imported fixture
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1200, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    assert not errors, f"script errors or dialogs in the page: {errors}"


def sign_in(page, portail: Portail, sub: str, start: str = "/a-statuer"):
    """The real redirect flow: the portail sends the browser to the provider, the agent picks their
    account there, the provider sends the browser back with a code."""
    page.goto(portail.url + start)
    page.get_by_role("link", name="Se connecter avec le compte de la région").click()
    page.locator(f"button[name='sub'][value='{sub}']").click()
    page.wait_for_url(f"{portail.url}/**")
    return page
