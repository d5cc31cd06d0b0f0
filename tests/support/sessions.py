"""Sessions for tests, built from the domain's own classes."""

from __future__ import annotations

from typing import Any

import attrs

from pingcli.domain.identity import AuditIdentity
from pingcli.domain.session import Session
from pingcli.domain.settings import GrantType
from pingcli.domain.tokens import TokenSet

__all__ = ["make_session", "ISSUER"]

ISSUER = "https://issuer.example"
SIGNED_IN_AT = 1_700_000_000.0


def make_session(
    profile: str = "default",
    service: str = "demo",
    access_token: str = "at-0123456789abcdef",
    refresh_token: str | None = "rt-0123456789abcdef",
    id_token: str | None = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
    **changes: Any,
) -> Session:
    """A signed-in session of alice at ISSUER; `changes` replace any other Session field."""
    session = Session(
        profile=profile,
        service=service,
        issuer=ISSUER,
        client_id="pingcli-test",
        grant=GrantType.AUTHORIZATION_CODE,
        tokens=TokenSet(
            access_token=access_token,
            token_type="Bearer",
            received_at=SIGNED_IN_AT,
            expires_at=SIGNED_IN_AT + 3600,
            scope=("openid", "profile", "email", "offline_access"),
            refresh_token=refresh_token,
            id_token=id_token,
        ),
        identity=AuditIdentity(
            sub="alice-sub",
            issuer=ISSUER,
            preferred_username="alice",
            name="Alice Example",
            email="alice@example.com",
            amr=("pwd", "otp", "mfa"),
            acr="urn:pingcli:mfa",
            auth_time=int(SIGNED_IN_AT),
        ),
        signed_in_at=SIGNED_IN_AT,
    )
    return attrs.evolve(session, **changes) if changes else session
