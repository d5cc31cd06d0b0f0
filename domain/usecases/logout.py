"""Sign out: revoke what the provider issued (RFC 7009), then remove it locally whatever happened."""

from __future__ import annotations

import attrs

from ..client_auth import ClientAuth
from ..errors import ConfigError, PingcliError, printable
from ..ports import HttpClient, Locks, MetadataSource, SessionStore
from ..session import Session, token_lock
from ..settings import Profile
from .provider_calls import revoke

LOCK_TIMEOUT = 60.0


@attrs.frozen
class SignedOut:
    service: str
    removed: bool
    revoked: str  # "revoked", "not_stored", "no_endpoint", "failed: <why>"


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
            revoked = "not_stored" if session is None else self._revoke(session, self._client(profile, session))
            removed = self.store.delete(profile.name, name)
        return SignedOut(name, removed, revoked)

    def _revoke(self, session: Session, client: ClientAuth) -> str:
        try:
            metadata = self.metadata.metadata(session.issuer)
        except PingcliError as error:
            return f"failed: {printable(error.message)}"
        return revoke(self.http, metadata, session.tokens, client)

    @staticmethod
    def _client(profile: Profile, session: Session) -> ClientAuth:
        """A confidential client authenticates its revocation requests (§2.1); without its secret, try as public."""
        try:
            return profile.service(session.service).client_auth_for(session.client_id, session.grant)
        except ConfigError:
            return ClientAuth(session.client_id)
