"""Token sets as the token endpoint hands them out (RFC 6749 §5.1), and when they expire."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import BadProviderResponse


_LONGEST_LIFETIME = 10**9  # about 31 years, in seconds

# RFC 6749 Appendix A: access and refresh tokens are 1*VSCHAR (%x20-7E), a token type is 1*name-char (§7.1,
# A.13). Anything else (a newline, a control or non-ASCII character) could not even go into an HTTP header,
# and would break the request there, with the token in the error. An ID token (a JWT: base64url and dots) is
# held to VSCHAR too; whether it is a well-formed JWT is the ID token validator's "format" check.
_VSCHAR = re.compile(r"[\x20-\x7e]+")
_TOKEN_TYPE = re.compile(r"[A-Za-z0-9._-]+")


def _check_token(endpoint: str, field: str, value: str, pattern: re.Pattern[str]) -> None:
    """The field is named, its value never: it is a credential (or, for token_type, beside them)."""
    if not pattern.fullmatch(value):
        raise BadProviderResponse(endpoint, f"its {field} contains characters a token cannot have")


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
        _check_token(endpoint, "access_token", access, _VSCHAR)
        token_type = body.get("token_type")
        if isinstance(token_type, str):
            _check_token(endpoint, "token_type", token_type, _TOKEN_TYPE)
        if not isinstance(token_type, str) or token_type.lower() not in {"bearer", "dpop", "n_a"}:
            raise BadProviderResponse(endpoint, f"unsupported token_type {str(token_type)[:40]!r}")
        refresh = body.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh):
            raise BadProviderResponse(endpoint, "refresh_token is not a string")
        if refresh:
            _check_token(endpoint, "refresh_token", refresh, _VSCHAR)
        id_token = body.get("id_token")
        if id_token is not None and not isinstance(id_token, str):
            raise BadProviderResponse(endpoint, "id_token is not a string")
        if id_token:
            _check_token(endpoint, "id_token", id_token, _VSCHAR)
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

    def due_for_refresh(self, now: float, margin: float) -> bool:
        """Whether to refresh before handing the token out: it expires within `margin`, at most half its lifetime.

        A token that lives no longer than the margin would otherwise be refreshed on every use, and each of
        many processes waiting for the refresh lock would refresh again the token the first one just got.
        """
        if self.expires_at is None:
            return False
        return self.expires_within(now, min(margin, (self.expires_at - self.received_at) / 2))
