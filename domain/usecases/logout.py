"""Sign out: revoke what the provider issued (RFC 7009), then remove it locally whatever happened."""

from __future__ import annotations

import attrs

from ..client_auth import ClientAuth
from ..errors import ConfigError, PingcliError, StorageUnavailable, printable
from ..leftover import Leftover
from ..ports import HttpClient, Locks, MetadataSource, SessionStore
from ..session import Session, token_lock
from ..settings import GrantType, Profile
from .provider_calls import revoke

LOCK_TIMEOUT = 60.0


@attrs.frozen
class LeftoverCleared:
    """What logout did with one leftover (domain/leftover.py): a set-aside copy, or a newer pingcli's session."""

    place: str
    newer: bool
    revoked: str  # "revoked", "no_endpoint", "failed", "unreadable" (no token could be read from it)
    removed: bool
    revocation_error: str | None = None  # "failed": why, in words
    problem: str | None = None  # not removed: why


@attrs.frozen
class SignedOut:
    service: str
    removed: bool
    revoked: str  # one of a fixed few, for scripts: "revoked", "not_stored", "no_endpoint", "failed"
    revocation_error: str | None = None  # "failed": why, in words
    leftovers: tuple[LeftoverCleared, ...] = ()
    leftovers_unchecked: str | None = None  # why the store could not be searched for leftovers


@attrs.frozen
class Logout:
    http: HttpClient
    metadata: MetadataSource
    store: SessionStore
    locks: Locks

    def __call__(self, profile: Profile, services: tuple[str, ...] = ()) -> list[SignedOut]:
        names = list(services) or sorted(profile.services)
        for name in names:
            profile.service(name)
        return [self._one(profile, name) for name in names]

    def _one(self, profile: Profile, name: str) -> SignedOut:
        # Under the token lock: a refresh finishing meanwhile must not write its tokens back after the delete.
        with self.locks.hold(token_lock(profile.name, name), LOCK_TIMEOUT):
            session = self.store.load(profile.name, name)
            revoked, why = ("not_stored", None) if session is None else self._revoke(
                session, self._client(profile, session))
            # Before the session itself: a session a newer pingcli wrote is a leftover, its tokens revoked first.
            try:
                cleared, unchecked = self._clear_leftovers(profile, name), None
            except StorageUnavailable as error:
                cleared, unchecked = (), error.reason
            removed = self.store.delete(profile.name, name)
        return SignedOut(name, removed, revoked, why, cleared, unchecked)

    def _clear_leftovers(self, profile: Profile, name: str) -> tuple[LeftoverCleared, ...]:
        done = []
        for leftover in self.store.leftovers(profile.name, name):
            revoked, why = ("unreadable", None) if leftover.tokens is None else self._revoke_leftover(
                profile, name, leftover)
            try:
                removed, problem = self.store.remove_leftover(profile.name, name, leftover), None
            except StorageUnavailable as error:
                removed, problem = False, error.reason
            done.append(LeftoverCleared(leftover.place, leftover.newer, revoked, removed, why, problem))
        return tuple(done)

    def _revoke_leftover(self, profile: Profile, name: str, leftover: Leftover) -> tuple[str, str | None]:
        """At the issuer and as the client the leftover names; what it does not name, the service's settings say."""
        settings = profile.service(name)
        try:
            grant = GrantType(leftover.grant)
        except ValueError:
            grant = settings.grant
        try:
            client_id = leftover.client_id or settings.client_id(grant)
        except ConfigError as error:
            return "failed", printable(error.message)
        try:
            client = settings.client_auth_for(client_id, grant)
        except ConfigError:
            client = ClientAuth(client_id)
        issuer = leftover.issuer or settings.issuer
        if not issuer:
            return "failed", "neither it nor the service names an issuer"
        tokens = leftover.tokens
        assert tokens is not None
        try:
            metadata = self.metadata.metadata(issuer)
        except PingcliError as error:
            return "failed", printable(error.message)
        outcome = revoke(self.http, metadata, tokens, client)
        if outcome.startswith("failed: "):
            return "failed", outcome.removeprefix("failed: ")
        return outcome, None

    def _revoke(self, session: Session, client: ClientAuth) -> tuple[str, str | None]:
        try:
            metadata = self.metadata.metadata(session.issuer)
        except PingcliError as error:
            return "failed", printable(error.message)
        outcome = revoke(self.http, metadata, session.tokens, client)
        if outcome.startswith("failed: "):
            return "failed", outcome.removeprefix("failed: ")
        return outcome, None

    @staticmethod
    def _client(profile: Profile, session: Session) -> ClientAuth:
        """A confidential client authenticates its revocation requests (§2.1); without its secret, try as public."""
        try:
            return profile.service(session.service).client_auth_for(session.client_id, session.grant)
        except ConfigError:
            return ClientAuth(session.client_id)
