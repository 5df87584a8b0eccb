"""The portail's demo: a loopback OpenID Connect provider (``oidc-provider-mock``, a development
dependency) with sample agents of the demo region, each a button on its sign-in page.

The provider listens on ``localhost`` and the portail on ``127.0.0.1``: two hosts, so that each
keeps its own cookies, as two sites would in production.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core.config import PORTAIL_OIDC_CONN_ID, PortailSettings

# Sample agents of config/registry-demo.yaml, by the claims the region's provider would give them.
SAMPLE_AGENTS = {
    "agent.eaux-aber": {"name": "Agent du Syndicat des eaux de l'Aber", "organismes": ["252909999"], "roles": []},
    "rh.eaux-aber": {"name": "Agent RH du Syndicat des eaux de l'Aber", "organismes": ["252909999"], "roles": ["rh"]},
    "agent.departement": {"name": "Agent du Département de Penn-ar-Bed-Démo", "organismes": ["222909996"], "roles": []},
    "agent.kerdigor": {"name": "Agent de la Commune de Kerdigor", "organismes": ["212900997"], "roles": []},
    "admin.region": {"name": "Administrateur régional", "organismes": [], "roles": ["admin-regional"]},
}


class MockMissing(RuntimeError):
    pass


def sample_users(settings: PortailSettings, agents: dict | None = None) -> list:
    """The provider's users, with the claims under the names the portail reads."""
    try:
        from oidc_provider_mock import User
    except ImportError:
        raise MockMissing("the demo's OpenID Connect provider is a development dependency: "
                          "pip install -r requirements-dev.txt (or make install-dev)") from None
    return [
        User(sub=sub, claims={"name": agent["name"], "preferred_username": sub, "email": f"{sub}@demo.invalid",
                              settings.bodies_claim: agent["organismes"], settings.roles_claim: agent["roles"]})
        for sub, agent in (agents or SAMPLE_AGENTS).items()
    ]


@contextmanager
def demo_provider(settings: PortailSettings, port: int = 0, agents: dict | None = None) -> Iterator[str]:
    """The provider on loopback for the time of the block, and the Airflow connection the portail
    reads pointing at it (a random client secret, accepted by the provider); yields its issuer URL."""
    import logging

    import oidc_provider_mock
    import werkzeug.serving

    app = oidc_provider_mock.app(user_claims=sample_users(settings, agents), require_nonce=True)
    server = werkzeug.serving.make_server("localhost", port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider-mock", daemon=True)
    thread.start()
    issuer = f"http://localhost:{server.server_port}"
    variable = f"AIRFLOW_CONN_{PORTAIL_OIDC_CONN_ID.upper()}"
    before = os.environ.get(variable)
    os.environ[variable] = json.dumps({"conn_type": "http", "host": issuer, "login": "digor-portail-demo",
                                       "password": secrets.token_urlsafe(16)})
    try:
        yield issuer
    finally:
        if before is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = before
        server.shutdown()
        thread.join(timeout=10)
