"""The errors pingcli reports: what went wrong, what to do next, and which exit code it means."""

from __future__ import annotations

import enum
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: object, limit: int = 300) -> str:
    """Text from outside (a provider, a callback) made safe for one terminal line."""
    cleaned = _CONTROL.sub(" ", str(text)).strip()
    cleaned = re.sub(r" {2,}", " ", cleaned)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def revocation_fate(tokens: str, revoked: str, plural: bool = True) -> str:
    """What a revocation (RFC 7009) of `tokens` came to, from its outcome: "revoked", "no_endpoint", "failed: …"."""
    if revoked == "revoked":
        return f"{tokens} {'were' if plural else 'was'} revoked at the provider"
    if revoked == "no_endpoint":
        return f"the provider offers no revocation: {tokens} {'stay' if plural else 'stays'} valid there until " \
               f"{'they expire' if plural else 'it expires'}"
    return f"{tokens} could not be revoked at the provider ({revoked.removeprefix('failed: ')})"


class Outcome(enum.Enum):
    """What kind of failure an error is; the entrypoint maps each to a documented exit code."""

    FAILURE = "failure"
    BAD_CONFIGURATION = "bad_configuration"
    NOT_SIGNED_IN = "not_signed_in"
    SESSION_EXPIRED = "session_expired"
    SIGN_IN_FAILED = "sign_in_failed"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    CANCELLED = "cancelled"


class PingcliError(Exception):
    """Base of every error pingcli expects; anything else is a bug."""

    outcome = Outcome.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(PingcliError):
    outcome = Outcome.BAD_CONFIGURATION


class NotSignedIn(PingcliError):
    outcome = Outcome.NOT_SIGNED_IN


class SessionExpired(PingcliError):
    outcome = Outcome.SESSION_EXPIRED


class SignInFailed(PingcliError):
    outcome = Outcome.SIGN_IN_FAILED


class CallbackPortUnavailable(SignInFailed):
    """The loopback port for the redirect could not be bound (RFC 8252 §7.3)."""

    def __init__(self, port: int, reason: str, setting: str) -> None:
        super().__init__(
            f"cannot listen for the sign-in callback on 127.0.0.1:{port}: {printable(reason)}",
            f"free the port, or choose another: pingcli config set {setting}=0 (0 picks any free port)",
        )
        self.port = port


class AuthorizationDenied(SignInFailed):
    """The provider answered with an OAuth error (RFC 6749 §4.1.2.1, §5.2; RFC 8628 §3.5)."""

    def __init__(self, error: str, description: str | None, where: str, hint: str | None = None) -> None:
        text = printable(error, 80)
        if description:
            text += f": {printable(description)}"
        super().__init__(f"{where} refused the sign-in: {text}", hint)
        self.error = error
        self.description = description


class CallbackTimeout(SignInFailed):
    pass


class IdTokenInvalid(SignInFailed):
    """An ID token failed one of the checks of OpenID Connect Core §3.1.3.7."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(
            f"the ID token failed the {check} check: {printable(detail)}",
            "nothing was stored; if this persists, the provider or something between you and it is misbehaving",
        )
        self.check = check


class ProviderUnavailable(PingcliError):
    outcome = Outcome.PROVIDER_UNAVAILABLE


class ProviderUnreachable(ProviderUnavailable):
    def __init__(self, endpoint: str, url: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the {endpoint} at {printable(url, 120)}: {printable(reason)}",
            "check the network and the service's issuer setting, then try again",
        )
        self.endpoint = endpoint


class BadProviderResponse(ProviderUnavailable):
    def __init__(self, endpoint: str, what: str) -> None:
        super().__init__(
            f"the {endpoint} sent a response pingcli cannot use: {printable(what)}",
            "try again later; if it persists, check the service's issuer setting or tell its administrator",
        )
        self.endpoint = endpoint


class StorageUnavailable(PingcliError):
    outcome = Outcome.STORAGE_UNAVAILABLE

    def __init__(self, backend: str, reason: str, hint: str | None = None) -> None:
        super().__init__(
            f"the token store ({backend}) is not usable: {printable(reason)}",
            hint
            or "use another store: pingcli config set auth.storage.type=file_system "
            "(a file only you can read) or auth.storage.type=none (sign in every session)",
        )
        self.backend = backend
        self.reason = reason


class SignedInButNotStored(StorageUnavailable):
    """The provider signed the person in; the store refused the tokens (issue: say so, never write elsewhere)."""

    def __init__(self, service: str, who: str, cause: StorageUnavailable, revoked: bool) -> None:
        PingcliError.__init__(
            self,
            f"signed in to {service} as {printable(who)}, but the tokens could not be kept: {cause.message}",
            f"{cause.hint}; then sign in again"
            + (" (the tokens were revoked at the provider: none is left valid)" if revoked
               else " (the tokens could not be revoked at the provider; they expire by themselves)"),
        )
        self.backend = cause.backend
        self.reason = cause.reason


class SignInNotStarted(StorageUnavailable):
    """The store cannot even be read: found out before the browser opens or anything reaches the provider."""

    def __init__(self, cause: StorageUnavailable) -> None:
        PingcliError.__init__(
            self, f"{cause.message}; the sign-in was not started, as its tokens could not be kept", cause.hint
        )
        self.backend = cause.backend
        self.reason = cause.reason


class RefreshedButNotStored(StorageUnavailable):
    """A refresh the provider answered, whose tokens the store refused (a full disk): nothing was handed out.

    `stored` is what became of the stored session: "kept" (as it was), "removed", "marked_expired: <why it
    could not be removed>" or "left: <why it could be neither removed nor changed>".
    """

    def __init__(self, service: str, cause: StorageUnavailable, rotated: bool, revoked: str,
                 stored: str = "kept") -> None:
        login = f"pingcli auth login --service {service}"
        if rotated:
            what = f"the provider issued new tokens for {service}, but they could not be kept"
            tokens = "the new tokens"
            hint = f"{cause.hint}; then sign in again: {login}"
            used_up = "the stored session, whose refresh token this refresh used up,"
            if stored == "removed":
                consequence = f"{used_up} was removed: pingcli is no longer signed in to {service}"
            elif stored.startswith("marked_expired: "):
                why = stored.removeprefix("marked_expired: ")
                consequence = f"{used_up} could not be removed ({why}) and was marked expired: pingcli will not use it"
            elif stored.startswith("left: "):
                why = stored.removeprefix("left: ")
                consequence = (
                    f"{used_up} could be neither removed nor marked expired ({why}): it is still stored, and "
                    "pingcli auth status still shows it as signed in, but it cannot be refreshed"
                )
                hint = f"{cause.hint}; then sign in again, which replaces it: {login}"
            else:  # the new tokens are still valid at the provider, so the grant may still be too
                consequence = (
                    "the stored session was left as it was: its refresh token is the one this refresh replaced, "
                    "which a provider that rotates refresh tokens no longer accepts"
                )
        else:
            what = f"the provider issued a new access token for {service}, but it could not be kept"
            consequence = "the stored session still holds its refresh token"
            tokens = "the new access token"
            hint = cause.hint
        fate = revocation_fate(tokens, revoked, plural=rotated)
        PingcliError.__init__(self, f"{what}: {cause.message}; {consequence}; {fate}", hint)
        self.backend = cause.backend
        self.reason = cause.reason
        self.stored = stored


class Cancelled(PingcliError):
    outcome = Outcome.CANCELLED

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message, None)


class LockTimeout(PingcliError):
    outcome = Outcome.STORAGE_UNAVAILABLE

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(
            f"another pingcli process has been {what} for more than {int(seconds)} s",
            "wait for it to finish or stop it, then try again",
        )
