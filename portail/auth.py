"""Who the agent is and what they may do, from the ID token of the region's OpenID Connect provider.

Sign-in is the authorisation code flow through authlib (state, nonce, the ID token's signature,
issuer and audience checked by it). The rights come from the token's claims only: the bodies
(SIRENs) the agent acts for, the HR role (acts that may name a person) and the regional admin
role (every body). The session keeps the agent as these claims gave them, for a bounded time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

from authlib.integrations.starlette_client import OAuth

from core.config import PortailSettings
from core.connections import get_connection
from core.failures import ExpectedFailure
from core.publication_rule import exposes_a_person

SIREN = re.compile(r"^\d{9}$")


class OidcNotConfigured(ExpectedFailure):
    hint = ("define the Airflow connection digor_portail_oidc (host: the issuer URL, login: the client id, "
            "password: the client secret), e.g. in AIRFLOW_CONN_DIGOR_PORTAIL_OIDC")


@dataclass(frozen=True)
class Agent:
    sub: str
    name: str
    identity: str  # what the ledger records as the decision's author
    sirens: tuple[str, ...]
    hr: bool
    admin: bool
    email: str = ""  # where the daily digest goes, when the agent asks for it

    def acts_for(self, siren: str) -> bool:
        return self.admin or siren in self.sirens

    def may_see(self, siren: str, nature_code: str, matiere_code: str) -> bool:
        """An act of one of the agent's bodies; one that may name a person only with the HR role."""
        return self.acts_for(siren) and (self.hr or not exposes_a_person(nature_code, matiere_code))

    @property
    def pseudonym(self) -> str:
        """Who, in logs, without personal data: a digest of the subject."""
        return hashlib.sha256(self.sub.encode()).hexdigest()[:12]

    def to_session(self) -> dict:
        return {**asdict(self), "sirens": list(self.sirens)}

    @classmethod
    def from_session(cls, data: dict) -> Agent:
        return cls(**{**data, "sirens": tuple(data["sirens"])})


def _claim(claims: dict, path: str):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _values(value) -> list[str]:
    """A claim holding a list, or one string of items separated by spaces or commas."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item for item in re.split(r"[\s,]+", value) if item]
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if str(item).strip()]
    return []


def agent_from_claims(claims: dict, settings: PortailSettings) -> Agent:
    """The agent the claims describe; SIRENs that are not nine digits are ignored."""
    roles = set(_values(_claim(claims, settings.roles_claim)))
    sirens = tuple(sorted({s for s in _values(_claim(claims, settings.bodies_claim)) if SIREN.match(s)}))
    sub = str(claims.get("sub", ""))
    name = str(claims.get("name") or claims.get("preferred_username") or claims.get("email") or sub)
    identity = str(claims.get("preferred_username") or claims.get("email") or sub)
    email = str(claims.get("email") or "")
    return Agent(sub=sub, name=name, identity=identity, sirens=sirens,
                 hr=settings.hr_role in roles, admin=settings.admin_role in roles, email=email if "@" in email else "")


def oidc_client(settings: PortailSettings) -> OAuth:
    """The provider's client, from the Airflow connection (issuer, client id, client secret)."""
    conn = get_connection(settings.oidc_conn_id)
    try:
        issuer = conn.base_url(default_scheme="https").rstrip("/")
    except ValueError as error:
        raise OidcNotConfigured(str(error)) from None
    if not conn.login:
        raise OidcNotConfigured(f"Airflow connection {settings.oidc_conn_id!r} has no login (the client id)")
    oauth = OAuth()
    oauth.register(
        "region",
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_id=conn.login,
        client_secret=conn.password or "",
        client_kwargs={"scope": "openid profile email"},
    )
    return oauth
