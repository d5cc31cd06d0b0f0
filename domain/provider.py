"""What pingcli knows of an OpenID Provider: its discovery document, and how its JSON answers are read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import AuthorizationDenied, BadProviderResponse, printable

DISCOVERY_PATH = "/.well-known/openid-configuration"


@attrs.frozen
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery §4: the issuer with the well-known path appended."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def _endpoint(doc: Mapping[str, Any], name: str, issuer: str, required: bool) -> str | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadProviderResponse("discovery document", f"{name} is missing or not a string")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        issuer_scheme = urlsplit(issuer).scheme
    except ValueError:
        raise BadProviderResponse("discovery document", f"{name} is not an https URL") from None
    secure = parts.scheme == "https" or (parts.scheme == "http" and issuer_scheme == "http")
    if not secure or not hostname:
        raise BadProviderResponse("discovery document", f"{name} is not an https URL: {value!r}")
    return value


@attrs.frozen
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str | None
    token_endpoint: str
    jwks_uri: str | None
    userinfo_endpoint: str | None
    device_authorization_endpoint: str | None
    revocation_endpoint: str | None
    introspection_endpoint: str | None
    id_token_signing_alg_values_supported: tuple[str, ...]
    authorization_response_iss_parameter_supported: bool

    @classmethod
    def from_document(cls, doc: Any, expected_issuer: str) -> ProviderMetadata:
        """Parse a discovery document; its issuer must equal the configured one (Discovery §4.3)."""
        if not isinstance(doc, Mapping):
            raise BadProviderResponse("discovery document", "it is not a JSON object")
        issuer = doc.get("issuer")
        if not isinstance(issuer, str) or issuer != expected_issuer:  # exact match: Discovery §4.3
            raise BadProviderResponse(
                "discovery document",
                f"its issuer {printable(issuer, 120)!r} is not the configured {expected_issuer!r}",
            )
        algs = doc.get("id_token_signing_alg_values_supported") or ()
        if not isinstance(algs, (list, tuple)) or not all(isinstance(a, str) for a in algs):
            raise BadProviderResponse("discovery document", "id_token_signing_alg_values_supported is not a list")
        return cls(
            issuer=issuer,
            authorization_endpoint=_endpoint(doc, "authorization_endpoint", issuer, False),
            token_endpoint=_endpoint(doc, "token_endpoint", issuer, True) or "",
            jwks_uri=_endpoint(doc, "jwks_uri", issuer, False),
            userinfo_endpoint=_endpoint(doc, "userinfo_endpoint", issuer, False),
            device_authorization_endpoint=_endpoint(doc, "device_authorization_endpoint", issuer, False),
            revocation_endpoint=_endpoint(doc, "revocation_endpoint", issuer, False),
            introspection_endpoint=_endpoint(doc, "introspection_endpoint", issuer, False),
            id_token_signing_alg_values_supported=tuple(algs),
            authorization_response_iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
            is True,
        )


def read_json_object(response: HttpResponse, endpoint: str) -> dict[str, Any]:
    """A provider's JSON object answer, or a BadProviderResponse / AuthorizationDenied saying why not.

    Error bodies follow RFC 6749 §5.2 (`error`, `error_description`).
    """
    body = response.body
    cut_short = False
    try:
        parsed = json.loads(body.decode("utf-8")) if body else None
    except json.JSONDecodeError as error:
        parsed = None
        # Valid so far but ending early ("Unterminated string", "Expecting value" at the very end).
        rest = error.doc.rstrip()
        cut_short = bool(rest) and (error.pos >= len(rest) or error.msg.startswith("Unterminated string"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and response.status >= 400:
        description = parsed.get("error_description")
        raise AuthorizationDenied(
            parsed["error"], description if isinstance(description, str) else None, f"the {endpoint}"
        )
    if response.status >= 400:
        refused = BadProviderResponse(endpoint, f"HTTP {response.status}")
        if endpoint == "discovery document" and response.status in (404, 410):
            # Nothing at the issuer's well-known address: the issuer URL is wrong, waiting will not help.
            refused.hint = (
                "the issuer URL is probably wrong (there is no discovery document under it): "
                "check service.NAME.issuer (pingcli config get service.NAME.issuer)"
            )
        raise refused
    if response.status in (301, 302, 303, 307, 308):
        # The HttpClient follows no redirects: a provider's endpoints answer where discovery says they are.
        location = response.headers.get("location")
        to = f" to {printable(location, 120)}" if location else ""
        raise BadProviderResponse(endpoint, f"HTTP {response.status}, a redirect{to}, which pingcli does not follow")
    if parsed is None:
        kind = response.headers.get("content-type", "unknown content type")
        if not body:
            what = "an empty body"
        elif cut_short:
            what = "JSON that breaks off before its end (a truncated body)"
        else:
            what = f"a body that is not JSON ({printable(kind, 60)})"
        raise BadProviderResponse(endpoint, f"HTTP {response.status} with {what}")
    if not isinstance(parsed, dict):
        raise BadProviderResponse(endpoint, f"JSON that is not an object ({type(parsed).__name__})")
    return parsed
