"""Token sets as the token endpoint hands them out (RFC 6749 §5.1), and when they expire."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import BadProviderResponse


_LONGEST_LIFETIME = 10**9  # about 31 years, in seconds


def _expires_in(value: Any) -> float | None:
    """`expires_in` as providers really send it: 3600, "3600", 3600.0; anything unusable means unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except (ValueError, OverflowError):
            return None
    if not isinstance(value, (int, float)):
        return None
    # No real lifetime is this long, and an expiry past the year 9999 cannot even be shown as a date.
    # Compared before any float conversion: an integer of 400 digits has none.
    if value <= 0 or value > _LONGEST_LIFETIME or not math.isfinite(value):
        return None
    return float(value)


@attrs.frozen
class TokenSet:
    access_token: str = attrs.field(repr=False)
    token_type: str
    received_at: float
    expires_at: float | None
    scope: tuple[str, ...]
    refresh_token: str | None = attrs.field(default=None, repr=False)
    id_token: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_token_response(
        cls,
        body: Mapping[str, Any],
        received_at: float,
        requested_scope: str,
        previous: TokenSet | None = None,
        endpoint: str = "token endpoint",
    ) -> TokenSet:
        """Expiry counts from local receive time, so a wrong local clock cannot make tokens look expired.

        A missing `scope` means "as requested" (RFC 6749 §5.1); a missing `refresh_token` on refresh keeps
        the old one (§6).
        """
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise BadProviderResponse(endpoint, "no access_token in the response")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() not in {"bearer", "dpop", "n_a"}:
            raise BadProviderResponse(endpoint, f"unsupported token_type {str(token_type)[:40]!r}")
        refresh = body.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh):
            raise BadProviderResponse(endpoint, "refresh_token is not a string")
        id_token = body.get("id_token")
        if id_token is not None and not isinstance(id_token, str):
            raise BadProviderResponse(endpoint, "id_token is not a string")
        scope = body.get("scope")
        scopes = tuple(scope.split()) if isinstance(scope, str) and scope.strip() else tuple(requested_scope.split())
        lifetime = _expires_in(body.get("expires_in"))
        return cls(
            access_token=access,
            token_type=token_type,
            received_at=received_at,
            expires_at=None if lifetime is None else received_at + lifetime,
            scope=scopes,
            refresh_token=refresh or (previous.refresh_token if previous else None),
            id_token=id_token or (previous.id_token if previous else None),
        )

    def expires_within(self, now: float, margin: float) -> bool:
        """Unknown expiry counts as still valid: the next 401 tells (RFC 6749 §5.1 makes expires_in optional)."""
        return self.expires_at is not None and self.expires_at - now <= margin
