"""Who is signed in to which service of a profile. Reads the store only: never refreshes, never signs in."""

from __future__ import annotations

import attrs

from ..identity import AuditIdentity
from ..ports import Clock, SessionStore
from ..settings import GrantType, Profile


@attrs.frozen
class ServiceStatus:
    service: str
    issuer: str | None
    storage: str
    signed_in: bool
    state: str  # "signed_in", "not_signed_in", "expired" (the refresh token was refused or is missing)
    identity: AuditIdentity | None = None
    grant: GrantType | None = None
    access_token_expires_at: float | None = None
    has_refresh_token: bool = False
    refresh_refused: bool = False
    signed_in_at: float | None = None


@attrs.frozen
class Status:
    store: SessionStore
    clock: Clock

    def __call__(self, profile: Profile, services: tuple[str, ...] = ()) -> list[ServiceStatus]:
        names = list(services) or sorted(profile.services)
        for name in names:
            profile.service(name)
        return [self._one(profile, name) for name in names]

    def _one(self, profile: Profile, name: str) -> ServiceStatus:
        issuer = profile.services[name].issuer
        session = self.store.load(profile.name, name)
        if session is None:
            return ServiceStatus(name, issuer, self.store.description, False, "not_signed_in")
        tokens = session.tokens
        usable = not session.expired and (
            tokens.refresh_token is not None or not tokens.expires_within(self.clock.now(), 0)
        )
        return ServiceStatus(
            service=name,
            issuer=session.issuer,
            storage=self.store.description,
            signed_in=usable,
            state="signed_in" if usable else "expired",
            identity=session.identity,
            grant=session.grant,
            access_token_expires_at=tokens.expires_at,
            has_refresh_token=tokens.refresh_token is not None and not session.expired,
            refresh_refused=session.expired,
            signed_in_at=session.signed_in_at,
        )
