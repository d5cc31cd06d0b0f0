"""Sign a person in to each configured service, with the grant the profile (or a flag) names."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .. import device_code
from ..authorization_code import AuthorizationAttempt, judge_callback
from ..client_auth import ClientAuth
from ..errors import (
    AuthorizationDenied,
    BadProviderResponse,
    CallbackTimeout,
    ConfigError,
    PingcliError,
    SignedInButNotStored,
    SignInFailed,
    SignInNotStarted,
    StorageUnavailable,
    printable,
    revocation_fate,
)
from ..identity import AuditIdentity
from ..ports import (
    Browser,
    CallbackListener,
    CallbackListenerFactory,
    Clock,
    Console,
    HttpClient,
    IdTokenValidator,
    Locks,
    MetadataSource,
    SessionStore,
)
from ..provider import ProviderMetadata
from ..session import Session, login_lock, token_lock
from ..settings import GrantType, Profile, ServiceSettings, StorageType
from ..tokens import TokenSet
from .provider_calls import audit_identity, post_form, revoke

LOCK_TIMEOUT = 60.0


@attrs.frozen
class SignedIn:
    service: str
    grant: GrantType
    identity: AuditIdentity
    stored_in: str
    persisted: bool
    # auth.storage.type=none: what revoking the tokens nobody keeps gave ("revoked", "no_endpoint", "failed: …").
    revoked: str | None = None
    # The session this sign-in replaced: what revoking its tokens gave; None when there was none to revoke.
    replaced: str | None = None


@attrs.frozen
class ServiceFailed:
    service: str
    error: PingcliError


@attrs.frozen
class Login:
    http: HttpClient
    metadata: MetadataSource
    listeners: CallbackListenerFactory
    browser: Browser
    clock: Clock
    id_tokens: IdTokenValidator
    store: SessionStore
    console: Console
    locks: Locks

    def all(
        self,
        profile: Profile,
        services: Sequence[str] = (),
        grant: GrantType | None = None,
        open_browser: bool = True,
        timeout: float = 300,
    ) -> list[SignedIn | ServiceFailed]:
        """Each service in turn; one failing does not stop the rest (each result says what happened)."""
        names = list(services) or sorted(profile.services)
        if not names:
            raise ConfigError(
                f"profile {profile.name!r} has no services to sign in to",
                "pingcli config set service.NAME.issuer=https://issuer.example",
            )
        results: list[SignedIn | ServiceFailed] = []
        for name in names:
            settings = profile.service(name)
            try:
                results.append(self.one(profile, settings, grant, open_browser, timeout, end_unkept=True))
            except PingcliError as error:
                results.append(ServiceFailed(name, error))
        return results

    def one(
        self,
        profile: Profile,
        settings: ServiceSettings,
        grant: GrantType | None = None,
        open_browser: bool = True,
        timeout: float = 300,
        end_unkept: bool = False,
    ) -> SignedIn:
        """`end_unkept`: with auth.storage.type=none, revoke the tokens once the identity is known (`auth login`
        keeps nothing, so nothing may stay valid); `auth token` passes False, as it hands the access token out.
        """
        try:
            # A store that cannot even be read will not keep the tokens either: say so before the person spends
            # a sign-in on it (no browser, nothing sent to the provider).
            self.store.load(profile.name, settings.name)
        except StorageUnavailable as error:
            raise SignInNotStarted(error) from None
        started = self.clock.now()
        waited: list[bool] = []

        def another_sign_in_is_running() -> None:
            waited.append(True)
            self.console.say(f"Another pingcli is signing in to {settings.name}; waiting for it to finish…")

        # One sign-in per service at a time: a second `auth login` waits instead of opening a second tab.
        with self.locks.hold(login_lock(profile.name, settings.name), timeout + 60, another_sign_in_is_running):
            if waited:
                current = self.store.load(profile.name, settings.name)
                if current is not None and not current.expired and current.signed_in_at >= started:
                    return SignedIn(settings.name, current.grant, current.identity, self.store.description,
                                    profile.storage is not StorageType.NONE)
            return self._sign_in(profile, settings, grant, open_browser, timeout, end_unkept)

    def _sign_in(
        self,
        profile: Profile,
        settings: ServiceSettings,
        grant: GrantType | None,
        open_browser: bool,
        timeout: float,
        end_unkept: bool,
    ) -> SignedIn:
        grant = grant or settings.grant
        issuer = settings.require_issuer()
        client_id = settings.client_auth(grant).client_id  # a missing client secret fails here, before the browser
        if grant is GrantType.AUTHORIZATION_CODE:
            # The port first: a taken one fails before anything is sent to the provider or cached (RFC 8252 §7.3).
            setting = f"service.{settings.name}.authentication.authorizationCode.redirectURIPort"
            listener = self.listeners.bind(settings.authorization_code.redirect_port, setting)
            try:
                metadata = self.metadata.metadata(issuer)
                tokens, nonce = self._authorization_code(settings, metadata, client_id, listener, open_browser,
                                                         timeout)
            finally:
                listener.close()
        else:
            metadata = self.metadata.metadata(issuer)
            tokens, nonce = self._device_code(settings, metadata, client_id, timeout), None
        identity = audit_identity(
            self.http,
            self.id_tokens,
            metadata,
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            client_id=client_id,
            nonce=nonce,
            now=self.clock.now(),
        )
        if settings.require_mfa:
            try:
                identity.check_mfa(settings.acr_values)
            except SignInFailed as refusal:
                # Refused here, so nobody will use these tokens: end them at the provider too.
                revoked = revoke(self.http, metadata, tokens, settings.client_auth(grant))
                refusal.hint = f"{refusal.hint}; {revocation_fate('the tokens of this sign-in', revoked)}"
                raise
        session = Session(
            profile=profile.name,
            service=settings.name,
            issuer=metadata.issuer,
            client_id=client_id,
            grant=grant,
            tokens=tokens,
            identity=identity,
            signed_in_at=self.clock.now(),
        )
        try:
            with self.locks.hold(token_lock(profile.name, settings.name), LOCK_TIMEOUT):
                # Read under the lock: a refresh may have rotated the tokens being replaced since sign-in began.
                replaced = self.store.load(profile.name, settings.name)
                self.store.save(session)
        except StorageUnavailable as error:
            # Tokens nobody can keep are of use to nobody: end the grant rather than leave it live at the provider.
            revoked = revoke(self.http, metadata, tokens, settings.client_auth(grant))
            raise SignedInButNotStored(settings.name, identity.display, error, revoked == "revoked") from None
        kept = profile.storage is not StorageType.NONE
        unkept = None
        if not kept and end_unkept:
            unkept = revoke(self.http, metadata, tokens, settings.client_auth(grant))
            self.store.delete(profile.name, settings.name)
        return SignedIn(settings.name, grant, identity, self.store.description, kept, unkept,
                        self._end_replaced(replaced, tokens, settings))

    def _end_replaced(self, replaced: Session | None, tokens: TokenSet, settings: ServiceSettings) -> str | None:
        """Revoke what the new sign-in replaced, at the replaced session's own issuer; failing is only news."""
        if replaced is None:
            return None
        before = replaced.tokens
        old = attrs.evolve(
            before,
            refresh_token=None if before.refresh_token == tokens.refresh_token else before.refresh_token,
            access_token="" if before.access_token == tokens.access_token else before.access_token,  # "": not sent
        )
        if not old.refresh_token and not old.access_token:
            return None
        try:
            client = settings.client_auth_for(replaced.client_id, replaced.grant)
        except ConfigError:
            client = ClientAuth(replaced.client_id)  # its secret is gone: try as a public client
        try:
            metadata = self.metadata.metadata(replaced.issuer)
        except PingcliError as error:
            return f"failed: {printable(error.message)}"
        return revoke(self.http, metadata, old, client)

    def _authorization_code(
        self,
        settings: ServiceSettings,
        metadata: ProviderMetadata,
        client_id: str,
        listener: CallbackListener,
        open_browser: bool,
        timeout: float,
    ) -> tuple[TokenSet, str]:
        """RFC 6749 §4.1 with PKCE (RFC 7636) and a loopback redirect (RFC 8252 §7.3) on a bound listener."""
        if not metadata.authorization_endpoint:
            raise BadProviderResponse("discovery document", "it has no authorization_endpoint")
        try:
            attempt = AuthorizationAttempt.start(
                issuer=metadata.issuer,
                authorization_endpoint=metadata.authorization_endpoint,
                client_id=client_id,
                port=listener.port,
                path=settings.authorization_code.redirect_path,
                scope=settings.authorization_code.scopes,
                acr_values=settings.acr_values,
                iss_required=metadata.authorization_response_iss_parameter_supported,
            )
            url = attempt.url()
            if open_browser and self.browser.open(url):
                self.console.say(
                    f"Signing in to {settings.name}: your browser has been opened. If it shows nothing, open:\n  {url}"
                )
            else:
                reason = "" if open_browser else " (--no-browser)"
                self.console.say(
                    f"Signing in to {settings.name}: open this address in a browser on this machine{reason}:\n"
                    f"  {url}\n"
                    "No browser was opened. On a machine without a browser, use the device code grant: "
                    f"pingcli auth login --device-code, or service.{settings.name}.authentication.type=device_code"
                )
            self.console.say(f"Waiting up to {int(timeout)} s for the sign-in to finish (Ctrl-C cancels)…")
            verdict = listener.wait(lambda path, query: judge_callback(attempt, path, query), timeout)
        finally:
            listener.close()  # before the token request: the browser's later requests find nothing listening
        if verdict.error is not None:
            raise verdict.error
        assert verdict.code is not None
        received_at = self.clock.now()
        body = post_form(self.http, metadata.token_endpoint, "token endpoint", attempt.token_request(verdict.code),
                         settings.client_auth(GrantType.AUTHORIZATION_CODE))
        return TokenSet.from_token_response(body, received_at, attempt.scope), attempt.nonce

    def _device_code(
        self, settings: ServiceSettings, metadata: ProviderMetadata, client_id: str, timeout: float
    ) -> TokenSet:
        """RFC 8628: show the code, then poll at the interval the poller decides."""
        if not metadata.device_authorization_endpoint:
            raise BadProviderResponse(
                "discovery document",
                "it has no device_authorization_endpoint; this provider does not offer the device code grant",
            )
        scope = settings.device_code.scopes
        form = {"client_id": client_id, "scope": scope}
        if settings.acr_values:
            form["acr_values"] = settings.acr_values
        started = self.clock.now()
        client = settings.client_auth(GrantType.DEVICE_CODE)
        body = post_form(self.http, metadata.device_authorization_endpoint, device_code.ENDPOINT, form, client)
        authorization = device_code.DeviceAuthorization.from_response(body, started)
        lines = [
            f"Signing in to {settings.name}: on any device with a browser, open",
            f"  {authorization.verification_uri}",
            f"and enter the code  {authorization.user_code}",
        ]
        if authorization.verification_uri_complete:
            lines.append(f"(or open {authorization.verification_uri_complete} , which carries the code)")
        # Polling ends at the earlier of --timeout and the code's own expiry (RFC 8628 §3.2 expires_in).
        limit = min(timeout, authorization.expires_at - started)
        lines.append(f"Waiting up to {int(limit)} s for you to finish there (Ctrl-C cancels)…")
        self.console.say("\n".join(lines))
        step: device_code.Wait | device_code.Granted = device_code.first_wait(authorization)
        while isinstance(step, device_code.Wait):
            if self.clock.now() + step.seconds > started + timeout:
                raise CallbackTimeout(
                    f"the sign-in was not completed within {int(timeout)} s",
                    "run pingcli auth login again (--timeout sets how long to wait)",
                )
            self.clock.sleep(step.seconds)
            received_at = self.clock.now()
            try:
                response: dict | AuthorizationDenied = post_form(
                    self.http, metadata.token_endpoint, "token endpoint", authorization.token_request(client_id),
                    client,
                )
            except AuthorizationDenied as refusal:
                response = refusal
            step = device_code.next_step(authorization, step.interval, response, self.clock.now())
        return TokenSet.from_token_response(step.body, received_at, scope)
