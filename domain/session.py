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
