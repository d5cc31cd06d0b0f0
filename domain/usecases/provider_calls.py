"""Requests to a provider's endpoints, shared by the use cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..client_auth import ClientAuth
from ..identity import AuditIdentity
from ..ports import HttpClient, IdTokenValidator
from ..provider import ProviderMetadata, read_json_object
from ..errors import (
    AuthorizationDenied,
    BadProviderResponse,
    IdTokenInvalid,
    PingcliError,
    ProviderUnreachable,
    printable,
)
from ..settings import env_name
from ..tokens import TokenSet


def post_form(
    http: HttpClient, url: str, endpoint: str, form: Mapping[str, str], client: ClientAuth | None = None
) -> dict[str, Any]:
    """POST a form; with `client`, as that client (HTTP Basic when it has a secret, RFC 6749 §2.3.1)."""
    if client is not None:
        headers = client.headers() or None
        response = http.request("POST", url, endpoint=endpoint, form=client.form(form), headers=headers)
    else:
        response = http.request("POST", url, endpoint=endpoint, form=form)
    try:
        return read_json_object(response, endpoint)
    except AuthorizationDenied as refusal:
        if refusal.error == "invalid_client" and client is not None and client.setting and refusal.hint is None:
            if client.secret_variable:
                refusal.hint = f"check the client secret in the environment variable {client.secret_variable}"
            elif client.confidential:
                refusal.hint = (
                    f"check the client secret: pingcli config set {client.setting} (it is read from standard input)"
                )
            else:
                refusal.hint = (
                    f"if {client.client_id} is a confidential client, give pingcli its secret: pingcli config set "
                    f"{client.setting} (it is read from standard input), or in the environment: "
                    f"{env_name(client.setting)}"
                )
        raise


def audit_identity(
    http: HttpClient,
    validator: IdTokenValidator,
    metadata: ProviderMetadata,
    *,
    id_token: str | None,
    access_token: str,
    client_id: str,
    nonce: str | None,
    now: float,
) -> AuditIdentity:
    """Validate the ID token and complete its claims from userinfo when it lacks profile claims."""
    if not id_token:
        raise IdTokenInvalid("presence", "the token response has no id_token; is 'openid' among the scopes?")
    claims = validator.validate(id_token, metadata=metadata, client_id=client_id, nonce=nonce, now=now)
    identity = AuditIdentity.from_claims(claims)
    if identity.lacks_profile_claims() and metadata.userinfo_endpoint:
        endpoint = "userinfo endpoint"
        response = http.request(
            "GET", metadata.userinfo_endpoint, endpoint=endpoint, headers={"Authorization": f"Bearer {access_token}"}
        )
        userinfo = read_json_object(response, endpoint)
        if not isinstance(userinfo.get("sub"), str):
            raise BadProviderResponse(endpoint, "no sub in the response")
        identity = AuditIdentity.from_claims(claims, userinfo)
    return identity


def revoke(http: HttpClient, metadata: ProviderMetadata, tokens: TokenSet, client: ClientAuth) -> str:
    """RFC 7009: "revoked", "no_endpoint" or "failed: <why>"; never raises a PingcliError.

    Refresh token first: revoking it ends the grant, access token included at most providers (§2.1).
    A refused or unreadable answer to the first still lets the second be tried; a provider that cannot be
    reached (or timed out) is not asked again, so a hung endpoint costs one network timeout, not two.
    A 200 is success whatever its body says (§2.2).
    """
    endpoint = metadata.revocation_endpoint
    if not endpoint:
        return "no_endpoint"
    failures = []
    unreachable = False
    for token, hint in ((tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")):
        if not token:
            continue
        what = hint.replace("_", " ")
        if unreachable:
            failures.append(f"{what}: not sent, the provider being unreachable")
            continue
        form = client.form({"token": token, "token_type_hint": hint})
        try:
            response = http.request(
                "POST", endpoint, endpoint="revocation endpoint", form=form, headers=client.headers() or None
            )
            if response.status != 200:
                read_json_object(response, "revocation endpoint")
                raise BadProviderResponse("revocation endpoint", f"HTTP {response.status}")
        except AuthorizationDenied as refusal:
            # Its own message speaks of a sign-in; here the provider refused a revocation request.
            text = printable(refusal.error, 80) + (f": {printable(refusal.description)}" if refusal.description else "")
            failures.append(f"{what}: the revocation endpoint refused the request: {text}")
        except ProviderUnreachable as error:
            unreachable = True
            failures.append(f"{what}: {printable(error.message)}")
        except PingcliError as error:
            failures.append(f"{what}: {printable(error.message)}")
    return f"failed: {'; '.join(failures)}" if failures else "revoked"
