"""A valid access token for a service: the stored one, refreshed under a lock when it is about to expire."""

from __future__ import annotations

import attrs

from ..client_auth import ClientAuth
from ..errors import (
    AuthorizationDenied,
    IdTokenInvalid,
    NotSignedIn,
    RefreshedButNotStored,
    SessionExpired,
    SignInFailed,
    StorageUnavailable,
)
from ..ports import Clock, HttpClient, IdTokenValidator, Locks, MetadataSource, SessionStore
from ..session import Session, token_lock, unusable_under
from ..settings import Profile, ServiceSettings, StorageType
from ..tokens import TokenSet
from .login import Login, SignedIn
from .provider_calls import post_form, revoke

LOCK_TIMEOUT = 60.0
# `auth token --refresh` after a 401: a token another pingcli got this recently is the answer, not a reason
# to refresh again, so a burst of callers that all saw the same 401 still causes one refresh.
RECENT_REFRESH = 10.0


@attrs.frozen
class AccessToken:
    service: str
    token: str = attrs.field(repr=False)
    expires_at: float | None
    scope: tuple[str, ...]
    refreshed: bool
    # auth.storage.type=none: "none" (no refresh token was issued) or "not_revoked" (the provider issued one
    # unasked, and it was left valid); None with a store that keeps the session.
    unkept_refresh_token: str | None = None


def expired_error(service: str, why: str) -> SessionExpired:
    return SessionExpired(f"the session for {service} has expired: {why}", f"run pingcli auth login --service {service}")


@attrs.frozen
class Refresher:
    """RFC 6749 §6, with OpenID Connect Core §12.2's rules for an ID token that comes back."""

    http: HttpClient
    metadata: MetadataSource
    id_tokens: IdTokenValidator
    store: SessionStore
    clock: Clock
    locks: Locks

    def fresh(
        self, session: Session, margin: float, client: ClientAuth | None = None, refused: bool = False
    ) -> tuple[Session, bool]:
        """The session with an access token valid for more than `margin` seconds, and whether it was refreshed.

        `client` authenticates the refresh request (a confidential client's secret); default: the session's
        client_id alone, as a public client. `refused`: the caller's resource server answered 401 to the
        stored access token, so it is refreshed whatever its expiry says (RFC 6750 §3.1, invalid_token), unless
        another pingcli got a new one within RECENT_REFRESH seconds: that one is the answer.

        Many processes may ask at once: the first refreshes under the lock, the others re-read and find
        the new token, so a provider that rotates refresh tokens sees exactly one refresh.
        """
        if session.expired:
            raise expired_error(session.service, "the provider refused its refresh token")
        asked_at = self.clock.now()
        if not refused and not session.tokens.due_for_refresh(asked_at, margin):
            return session, False
        with self.locks.hold(token_lock(session.profile, session.service), LOCK_TIMEOUT):
            current = self.store.load(session.profile, session.service)
            if current is None:
                raise NotSignedIn(f"not signed in to {session.service}", "run pingcli auth login")
            if current.expired:
                raise expired_error(session.service, "the provider refused its refresh token")
            if refused:
                if (current.tokens.access_token != session.tokens.access_token
                        or current.tokens.received_at >= asked_at - RECENT_REFRESH):
                    return current, False  # another pingcli already replaced the refused token
            elif not current.tokens.due_for_refresh(self.clock.now(), margin):
                return current, False
            if not current.tokens.refresh_token:
                why = "the access token was refused (HTTP 401)" if refused else "the access token expired"
                raise expired_error(session.service, f"{why} and there is no refresh token")
            return self._refresh(current, client or ClientAuth(current.client_id)), True

    def _refresh(self, session: Session, client: ClientAuth) -> Session:
        metadata = self.metadata.metadata(session.issuer)
        form = {"grant_type": "refresh_token", "refresh_token": session.tokens.refresh_token or "",
                "client_id": session.client_id}
        received_at = self.clock.now()
        try:
            body = post_form(self.http, metadata.token_endpoint, "token endpoint", form, client)
        except AuthorizationDenied as refusal:
            if refusal.error != "invalid_grant":
                raise
            # Keep what is still useful (the identity, for `auth status`) until logout or the next login.
            self.store.save(attrs.evolve(session, expired=True))
            raise expired_error(session.service, "the provider refused the refresh token") from None
        tokens = TokenSet.from_token_response(body, received_at, " ".join(session.tokens.scope), session.tokens)
        if body.get("id_token"):
            claims = self.id_tokens.validate(
                tokens.id_token or "", metadata=metadata, client_id=session.client_id, nonce=None, now=self.clock.now()
            )
            if claims.get("sub") != session.identity.sub:
                raise IdTokenInvalid("subject", "the refreshed ID token names another subject (Core §12.2)")
        refreshed = attrs.evolve(session, tokens=tokens)
        try:
            self.store.save(refreshed)
        except StorageUnavailable as error:
            # Handed to nobody and kept nowhere: end them at the provider. A refresh token that came back
            # unchanged is the stored session's own, still good: leave it be.
            rotated = tokens.refresh_token != session.tokens.refresh_token
            new = tokens if rotated else attrs.evolve(tokens, refresh_token=None)
            revoked = revoke(self.http, metadata, new, client)
            stored = self._after_unkept_rotation(session) if rotated and revoked == "revoked" else "kept"
            raise RefreshedButNotStored(session.service, error, rotated, revoked, stored) from None
        return refreshed

    def _after_unkept_rotation(self, session: Session) -> str:
        """The stored session once the refresh used up its refresh token and the new tokens were revoked.

        Nothing in it works any more, yet `auth status` and `auth token` would go on offering it: remove it
        (an unlink works on a full disk), else mark it expired. What became of it, for RefreshedButNotStored.
        """
        try:
            self.store.delete(session.profile, session.service)
            return "removed"
        except StorageUnavailable as error:
            not_removed = error.reason
        try:
            self.store.save(attrs.evolve(session, expired=True))
        except StorageUnavailable:
            return f"left: {not_removed}"  # a store that can neither delete nor write: one reason says it
        return f"marked_expired: {not_removed}"


def _without_offline_access(settings: ServiceSettings) -> ServiceSettings:
    def scopes(requested: str) -> str:
        return " ".join(scope for scope in requested.split() if scope != "offline_access")

    return attrs.evolve(
        settings,
        authorization_code=attrs.evolve(settings.authorization_code, scopes=scopes(settings.authorization_code.scopes)),
        device_code=attrs.evolve(settings.device_code, scopes=scopes(settings.device_code.scopes)),
    )


@attrs.frozen
class GetToken:
    refresher: Refresher
    store: SessionStore
    login: Login

    def __call__(self, profile: Profile, service: str, refused: bool = False) -> AccessToken:
        """`refused`: the last token handed out got a 401; refresh it (once, across processes)."""
        settings = profile.service(service)
        session = self.store.load(profile.name, service)
        if session is None and profile.storage is StorageType.NONE:
            # Nothing is ever stored: sign in here, in this process, then hand the token out. Without
            # offline_access: a refresh token nobody keeps is of use to nobody, and revoking one would also end,
            # at most providers (RFC 7009 §2.1, a grant's tokens go together), the access token handed out.
            result = self.login.one(profile, _without_offline_access(settings))
            assert isinstance(result, SignedIn)
            session = self.store.load(profile.name, service)
        if session is None:
            raise NotSignedIn(f"not signed in to {service}", f"run pingcli auth login --service {service}")
        problem = unusable_under(session, settings)
        if problem is not None and problem.state == "mfa_missing":
            raise SignInFailed(
                problem.reason.replace("the stored session", f"the stored session for {service}", 1),
                f"sign in again and complete the second factor: pingcli auth login --service {service}",
            )
        if problem is not None:
            raise NotSignedIn(f"not signed in to {service}: {problem.reason}",
                              f"run pingcli auth login --service {service}")
        client = settings.client_auth_for(session.client_id, session.grant)
        session, refreshed = self.refresher.fresh(session, profile.refresh_margin, client, refused)
        unkept = None
        if profile.storage is StorageType.NONE:
            # A provider may issue a refresh token unasked; it is left alone, as said above, and said so.
            unkept = "not_revoked" if session.tokens.refresh_token else "none"
            self.store.delete(profile.name, service)
        return AccessToken(service, session.tokens.access_token, session.tokens.expires_at, session.tokens.scope,
                           refreshed, unkept)
