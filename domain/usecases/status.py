"""Who is signed in to which service of a profile. Reads the store only: never refreshes, never signs in."""

from __future__ import annotations

import attrs

from ..identity import AuditIdentity
from ..ports import Clock, SessionStore
from ..session import unusable_under
from ..settings import GrantType, Profile, StorageType


@attrs.frozen
class ServiceStatus:
    service: str
    issuer: str | None
    storage: str
    signed_in: bool
    # "signed_in"; "not_signed_in"; "expired" (the refresh token was refused or is missing); a stored session the
    # service's settings no longer name: "other_issuer", "other_client", "mfa_missing" (requireMFA not met).
    state: str
    identity: AuditIdentity | None = None
    grant: GrantType | None = None
    access_token_expires_at: float | None = None
    has_refresh_token: bool = False
    refresh_refused: bool = False
    signed_in_at: float | None = None
    reason: str | None = None  # why not signed in, when there is more to say than "nothing stored"
    kept: bool = True  # False: auth.storage.type=none, which keeps no session between commands


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
        kept = profile.storage is not StorageType.NONE
        if session is None:
            reason = None if kept else (
                "auth.storage.type=none keeps nothing between commands; pingcli auth token signs in each time it runs"
            )
            return ServiceStatus(name, issuer, self.store.description, False, "not_signed_in", reason=reason,
                                 kept=kept)
        tokens = session.tokens
        problem = unusable_under(session, profile.services[name])
        usable = problem is None and not session.expired and (
            tokens.refresh_token is not None or not tokens.expires_within(self.clock.now(), 0)
        )
        if problem is not None:
            state, reason = problem.state, problem.reason
        elif usable:
            state, reason = "signed_in", None
        elif session.expired:
            state, reason = "expired", "the provider refused the refresh token"
        else:
            state, reason = "expired", "the access token expired and there is no refresh token"
        return ServiceStatus(
            service=name,
            issuer=session.issuer,
            storage=self.store.description,
            signed_in=usable,
            state=state,
            reason=reason,
            kept=kept,
            identity=session.identity,
            grant=session.grant,
            access_token_expires_at=tokens.expires_at,
            has_refresh_token=tokens.refresh_token is not None and not session.expired,
            refresh_refused=session.expired,
            signed_in_at=session.signed_in_at,
        )
