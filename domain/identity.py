"""The audit identity: who signed in, at which issuer, and how they authenticated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import BadProviderResponse, SignInFailed, printable

PROFILE_CLAIMS = ("preferred_username", "name", "email")


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e11 and math.isfinite(value)


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


@attrs.frozen
class AuditIdentity:
    sub: str
    issuer: str
    preferred_username: str | None = None
    name: str | None = None
    email: str | None = None
    amr: tuple[str, ...] = ()
    acr: str | None = None
    auth_time: int | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], userinfo: Mapping[str, Any] | None = None) -> AuditIdentity:
        """From validated ID token claims, completed from userinfo, whose `sub` must match (Core §5.3.2)."""
        if userinfo is not None and userinfo.get("sub") != claims.get("sub"):
            raise BadProviderResponse("userinfo endpoint", "its sub does not match the ID token's sub")
        merged = dict(userinfo or {})
        merged.update({k: v for k, v in claims.items() if v is not None})
        amr = claims.get("amr")
        auth_time = claims.get("auth_time")
        return cls(
            sub=str(claims["sub"]),
            issuer=str(claims["iss"]),
            preferred_username=_text(merged, "preferred_username"),
            name=_text(merged, "name"),
            email=_text(merged, "email"),
            amr=tuple(a for a in amr if isinstance(a, str)) if isinstance(amr, list) else (),
            acr=_text(claims, "acr"),
            auth_time=int(auth_time) if _is_time(auth_time) else None,
        )

    def lacks_profile_claims(self) -> bool:
        return not all((self.preferred_username, self.name, self.email))

    @property
    def display(self) -> str:
        who = self.preferred_username or self.email or self.sub
        return f"{self.name} ({who})" if self.name and self.name != who else who

    @property
    def used_mfa(self) -> bool:
        return "mfa" in self.amr

    @property
    def methods(self) -> str:
        """`amr` for a person to read: "pwd, otp", or "no amr" when the provider named none."""
        return ", ".join(self.amr) or "no amr"

    def meets_mfa(self, acr_values: str | None) -> bool:
        """RFC 8176 `mfa` in amr, or an acr among those pingcli asked for (acr_values)."""
        return self.used_mfa or bool(acr_values and self.acr in acr_values.split())

    def check_mfa(self, acr_values: str | None) -> None:
        """pingcli asks for MFA (acr_values) and then checks the ID token shows it (RFC 8176 `mfa`)."""
        if self.meets_mfa(acr_values):
            return
        raise SignInFailed(
            f"the sign-in did not use multi-factor authentication (amr {printable(self.methods)}, "
            f"acr {printable(self.acr or 'none')})",
            "sign in again and complete the second factor; the service requires it (requireMFA=true)",
        )
