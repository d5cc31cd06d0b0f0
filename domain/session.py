"""A stored sign-in: the tokens of one service and the identity they belong to."""

from __future__ import annotations

import attrs

from .identity import AuditIdentity
from .settings import GrantType, ServiceSettings
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


@attrs.frozen
class NotForThisService:
    """Why a stored session must not be used for the service as its settings now stand."""

    state: str  # "other_issuer", "other_client", "mfa_missing"
    reason: str


def unusable_under(session: Session, settings: ServiceSettings) -> NotForThisService | None:
    """None when the session is one the service's settings still name; else why not.

    A service pointed at another issuer or client must not keep getting the old provider's tokens, and a
    requireMFA switched on after a password-only sign-in must not be met by that sign-in.
    """
    if settings.issuer and session.issuer != settings.issuer:
        return NotForThisService(
            "other_issuer",
            f"the stored session is for issuer {session.issuer}, but {_naming(settings, 'issuer', settings.issuer)}",
        )
    if session.grant is GrantType.AUTHORIZATION_CODE:
        client_id, key = settings.authorization_code.client_id, "authorizationCode.clientID"
    else:
        client_id, key = settings.device_code.client_id, "deviceCode.clientID"
    if client_id and session.client_id != client_id:
        return NotForThisService(
            "other_client",
            f"the stored session is for client ID {session.client_id}, but "
            f"{_naming(settings, f'authentication.{key}', client_id, key)}",
        )
    if settings.require_mfa and not session.identity.meets_mfa(settings.acr_values):
        return NotForThisService(
            "mfa_missing",
            "the stored session does not meet the service's multi-factor requirement (requireMFA=true): "
            f"it was authenticated by {session.identity.methods}",
        )
    return None


def _naming(settings: ServiceSettings, suffix: str, value: str, key: str | None = None) -> str:
    """Who names `value`: the profile (with its key), or, when a variable gives it, the settings (with the variable)."""
    variable = settings.source_of(suffix)
    if variable:
        return f"the settings name {value} (from {variable})"
    return f"the profile names {value}" + (f" ({key})" if key else "")


def login_lock(profile: str, service: str) -> str:
    """Held for a whole sign-in: a second `auth login` waits for the first instead of opening another tab."""
    return f"login/{profile}/{service}"


def token_lock(profile: str, service: str) -> str:
    """Held around reading, refreshing, writing and deleting one service's session, across processes."""
    return f"tokens/{profile}/{service}"
