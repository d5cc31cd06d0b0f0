"""The authorization code grant: the request (RFC 6749 §4.1, RFC 7636, RFC 8252) and the callback's judgement."""

from __future__ import annotations

import enum
import hmac
import secrets
from urllib.parse import parse_qsl, urlencode

import attrs

from . import pkce
from .errors import AuthorizationDenied, SignInFailed, printable


@attrs.frozen
class AuthorizationAttempt:
    """One authorization request and the secrets that tie its callback and token request to it."""

    issuer: str
    authorization_endpoint: str
    client_id: str
    redirect_uri: str
    callback_path: str
    scope: str
    state: str = attrs.field(repr=False)
    nonce: str = attrs.field(repr=False)
    verifier: str = attrs.field(repr=False, validator=attrs.validators.matches_re(pkce.VERIFIER))
    acr_values: str | None = None
    iss_required: bool = False

    @classmethod
    def start(
        cls,
        *,
        issuer: str,
        authorization_endpoint: str,
        client_id: str,
        port: int,
        path: str,
        scope: str,
        acr_values: str | None = None,
        iss_required: bool = False,
    ) -> AuthorizationAttempt:
        """Call once the listener is bound: the redirect URI carries the real port (RFC 8252 §7.3)."""
        return cls(
            issuer=issuer,
            authorization_endpoint=authorization_endpoint,
            client_id=client_id,
            redirect_uri=f"http://127.0.0.1:{port}{path}",
            callback_path=path,
            scope=scope,
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=pkce.new_verifier(),
            acr_values=acr_values,
            iss_required=iss_required,
        )

    def url(self) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": pkce.challenge(self.verifier),
            "code_challenge_method": "S256",
        }
        if "offline_access" in self.scope.split():
            # OpenID Connect Core §11: offline_access is ignored unless consent is prompted for.
            params["prompt"] = "consent"
        if self.acr_values:
            params["acr_values"] = self.acr_values
        separator = "&" if "?" in self.authorization_endpoint else "?"
        return self.authorization_endpoint + separator + urlencode(params)

    def token_request(self, code: str) -> dict[str, str]:
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
        }


class Verdict(enum.Enum):
    IGNORED = "ignored"  # not the callback (favicon, probes): keep waiting
    REJECTED = "rejected"  # looks like a callback but fails a check: keep waiting
    SUCCEEDED = "succeeded"  # the code arrived: the flow ends
    FAILED = "failed"  # the provider reported an error, or the response is unsafe: the flow ends


@attrs.frozen
class CallbackVerdict:
    verdict: Verdict
    status: int
    message: str  # plain text for the page; the listener escapes it
    code: str | None = attrs.field(default=None, repr=False)
    error: SignInFailed | None = None

    @property
    def ends_flow(self) -> bool:
        return self.verdict in (Verdict.SUCCEEDED, Verdict.FAILED)


_MAX_QUERY = 8192


def judge_callback(attempt: AuthorizationAttempt, path: str, query: str) -> CallbackVerdict:
    """Decide what one request to the loopback listener means (RFC 6749 §4.1.2, RFC 9207, RFC 8252 §8).

    Only the exact path with the exact `state` can end the flow; anything else leaves it waiting, so a
    stray request or a forged one cannot cut a sign-in short.
    """
    if path != attempt.callback_path:
        return CallbackVerdict(Verdict.IGNORED, 404, "This is not the sign-in callback.")
    if len(query) > _MAX_QUERY:
        return CallbackVerdict(Verdict.REJECTED, 414, "The sign-in callback was too long.")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except ValueError:
        return CallbackVerdict(Verdict.REJECTED, 400, "The sign-in callback could not be read.")
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    if any(len(values) > 1 for name, values in params.items() if name in {"state", "code", "error", "iss"}):
        return CallbackVerdict(Verdict.REJECTED, 400, "The sign-in callback repeats a parameter.")
    state = params.get("state", [""])[0]
    if not state or not hmac.compare_digest(state.encode(), attempt.state.encode()):
        return CallbackVerdict(
            Verdict.REJECTED, 400, "This sign-in callback does not belong to the sign-in pingcli is waiting for."
        )
    iss = params.get("iss", [None])[0]
    if iss is not None and iss != attempt.issuer:
        return CallbackVerdict(
            Verdict.FAILED,
            400,
            "The sign-in response came from another issuer; pingcli refused it.",
            error=SignInFailed(
                f"the authorization response names issuer {printable(iss, 120)!r}, not {attempt.issuer!r} (RFC 9207)",
                "nothing was exchanged; check the service's issuer setting and sign in again",
            ),
        )
    if iss is None and attempt.iss_required:
        return CallbackVerdict(
            Verdict.FAILED,
            400,
            "The sign-in response did not say which issuer sent it; pingcli refused it.",
            error=SignInFailed(
                "the authorization response lacks the iss parameter its provider promises (RFC 9207 §2.4)",
                "sign in again; if it persists, tell the service's administrator",
            ),
        )
    if "error" in params:
        error = params["error"][0]
        description = params.get("error_description", [None])[0]
        shown = printable(error, 80) + (f": {printable(description)}" if description else "")
        return CallbackVerdict(
            Verdict.FAILED,
            400,
            f"Sign-in failed: {shown}",
            error=AuthorizationDenied(error, description, "the provider"),
        )
    code = params.get("code", [""])[0]
    if not code:
        return CallbackVerdict(Verdict.REJECTED, 400, "The sign-in callback carries no authorization code.")
    return CallbackVerdict(
        Verdict.SUCCEEDED, 200, "pingcli received your sign-in; the terminal shows the result.", code=code
    )
