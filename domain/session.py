"""A stored sign-in: the tokens of one service and the identity they belong to."""

from __future__ import annotations

import attrs

from .identity import AuditIdentity
from .settings import GrantType
from .tokens import TokenSet


@attrs.frozen
class Session:
    profile: str
    service: str
    issuer: str
    client_id: str
    grant: GrantType
    tokens: TokenSet
    identity: AuditIdentity
    signed_in_at: float
    # Set when the provider rejected the refresh token; the identity stays for `auth status`.
    expired: bool = False


def login_lock(profile: str, service: str) -> str:
    """Held for a whole sign-in: a second `auth login` waits for the first instead of opening another tab."""
    return f"login/{profile}/{service}"


def token_lock(profile: str, service: str) -> str:
    """Held around reading, refreshing, writing and deleting one service's session, across processes."""
    return f"tokens/{profile}/{service}"
