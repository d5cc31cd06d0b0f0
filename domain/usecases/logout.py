"""Sign out: revoke what the provider issued (RFC 7009), then remove it locally whatever happened."""

from __future__ import annotations

import attrs

from ..client_auth import ClientAuth
from ..errors import AuthorizationDenied, ConfigError, PingcliError, printable
from ..ports import HttpClient, MetadataSource, SessionStore
from ..provider import read_json_object
from ..session import Session
from ..settings import Profile


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

    def __call__(self, profile: Profile, services: tuple[str, ...] = ()) -> list[SignedOut]:
        names = list(services) or sorted(profile.services)
        for name in names:
            profile.service(name)
        return [self._one(profile, name) for name in names]

    def _one(self, profile: Profile, name: str) -> SignedOut:
        session = self.store.load(profile.name, name)
        revoked = "not_stored" if session is None else self._revoke(session, self._client(profile, session))
        removed = self.store.delete(profile.name, name)
        return SignedOut(name, removed, revoked)

    @staticmethod
    def _client(profile: Profile, session: Session) -> ClientAuth:
        """A confidential client authenticates its revocation requests (§2.1); without its secret, try as public."""
        try:
            return profile.service(session.service).client_auth_for(session.client_id, session.grant)
        except ConfigError:
            return ClientAuth(session.client_id)

    def _revoke(self, session: Session, client: ClientAuth) -> str:
        """Refresh token first: revoking it ends the grant, access token included at most providers (§2.1)."""
        try:
            endpoint = self.metadata.metadata(session.issuer).revocation_endpoint
            if not endpoint:
                return "no_endpoint"
            tokens = session.tokens
            pairs = [(tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")]
            for token, hint in pairs:
                if token:
                    form = client.form({"token": token, "token_type_hint": hint})
                    response = self.http.request(
                        "POST", endpoint, endpoint="revocation endpoint", form=form, headers=client.headers() or None
                    )
                    if response.status != 200:
                        read_json_object(response, "revocation endpoint")
            return "revoked"
        except AuthorizationDenied as error:
            return f"failed: {printable(error.message)}"
        except PingcliError as error:
            return f"failed: {printable(error.message)}"
