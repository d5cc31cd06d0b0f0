"""ID token validation (OpenID Connect Core §3.1.3.7) with PyJWT, keys from the provider's JWKS."""

from __future__ import annotations

import datetime
import hmac
import json
import math
from collections.abc import Mapping
from typing import Any

import jwt
from jwt.exceptions import InvalidKeyError, InvalidTokenError, PyJWKError

from pingcli.domain.errors import BadProviderResponse, IdTokenInvalid
from pingcli.domain.ports import HttpClient
from pingcli.domain.provider import ProviderMetadata

from .provider_cache import NoCache, ProviderCache

# Asymmetric algorithms only: `none` and the HMAC family (whose key a public client would have to
# share with everyone) are never accepted, whatever the token's header says.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
JWKS_ENDPOINT = "JWKS endpoint"


class JwksIdTokenValidator:
    """Keys come from the JWKS: per process, and across processes from `cache` while it is fresh."""

    def __init__(
        self, http: HttpClient, leeway: float = 120.0, cache: ProviderCache | NoCache | None = None
    ) -> None:
        self._http = http
        self._leeway = leeway
        self._cache = cache if cache is not None else NoCache()
        self._jwks: dict[str, list[Mapping[str, Any]]] = {}

    def _keys(self, jwks_uri: str, refresh: bool, now: float) -> list[Mapping[str, Any]]:
        if refresh or jwks_uri not in self._jwks:
            self._jwks[jwks_uri] = self._cache.get(
                self._http, jwks_uri, endpoint=JWKS_ENDPOINT, now=now, read=_jwks_keys, force=refresh
            )
        return self._jwks[jwks_uri]

    def _key_for(self, metadata: ProviderMetadata, kid: Any, alg: str, now: float) -> Any:
        if not metadata.jwks_uri:
            raise IdTokenInvalid("signature", "the provider publishes no jwks_uri to check signatures with")
        # An unknown kid may mean the provider rotated its keys: fetch the JWKS again, once, past any cache.
        for refresh in (False, True):
            candidates = [
                k
                for k in self._keys(metadata.jwks_uri, refresh, now)
                if (kid is None or k.get("kid") == kid) and k.get("use", "sig") == "sig" and k.get("alg", alg) == alg
            ]
            if len(candidates) == 1 or (kid is not None and candidates):
                try:
                    return jwt.PyJWK(dict(candidates[0]), algorithm=alg).key
                except (PyJWKError, InvalidKeyError, ValueError, TypeError) as error:  # an unusable JWK
                    raise IdTokenInvalid("signature", f"the provider's key {kid!r} cannot be used: {error}") from None
            if len(candidates) > 1:
                raise IdTokenInvalid("signature", "the token names no key (kid) and the provider has several")
        raise IdTokenInvalid("signature", f"the provider's JWKS has no {alg} key with kid {kid!r}")

    def validate(
        self, id_token: str, *, metadata: ProviderMetadata, client_id: str, nonce: str | None, now: float
    ) -> Mapping[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except (InvalidTokenError, ValueError, TypeError) as error:
            raise IdTokenInvalid("format", f"it is not a signed JWT ({error})") from None
        alg = header.get("alg")
        offered = set(metadata.id_token_signing_alg_values_supported) or {"RS256"}
        if alg not in ALLOWED_ALGORITHMS or alg not in offered:
            raise IdTokenInvalid("algorithm", f"alg {str(alg)[:20]!r} is not accepted")
        key = self._key_for(metadata, header.get("kid"), alg, now)
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[alg],
                # Time and audience are checked below against the injected clock and Core's rules.
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False,
                         "verify_iss": False},
            )
        except jwt.InvalidSignatureError:
            raise IdTokenInvalid("signature", "the signature does not verify with the provider's key") from None
        except (InvalidTokenError, ValueError, TypeError, json.JSONDecodeError) as error:
            raise IdTokenInvalid("format", str(error)) from None
        if not isinstance(claims, dict):
            raise IdTokenInvalid("format", "the payload is not a JSON object")
        self._check_claims(claims, metadata.issuer, client_id, nonce, now)
        return claims

    def _check_claims(
        self, claims: dict[str, Any], issuer: str, client_id: str, nonce: str | None, now: float
    ) -> None:
        if claims.get("iss") != issuer:
            raise IdTokenInvalid("issuer", f"iss is {str(claims.get('iss'))[:120]!r}, expected {issuer!r}")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise IdTokenInvalid("subject", "sub is missing")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if client_id not in audiences:
            raise IdTokenInvalid("audience", f"aud does not contain the client ID {client_id!r}")
        azp = claims.get("azp")
        if azp is not None and azp != client_id:
            raise IdTokenInvalid("authorized party", f"azp is {str(azp)[:80]!r}, not {client_id!r}")
        if len(audiences) > 1 and azp is None:
            raise IdTokenInvalid("authorized party", "several audiences and no azp")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_time(exp):
            raise IdTokenInvalid("expiry", "exp is missing or not a number")
        if not _is_time(iat):
            raise IdTokenInvalid("issued-at", "iat is missing or not a number")
        if now > exp + self._leeway:
            raise IdTokenInvalid("expiry", f"it expired at {_iso(exp)}; the time here is {_iso(now)}")
        if iat > now + self._leeway:
            raise IdTokenInvalid(
                "issued-at",
                f"it was issued at {_iso(iat)}, in the future of this machine's clock ({_iso(now)}); "
                "check the clock (clock skew)",
            )
        nbf = claims.get("nbf")
        if nbf is not None and not _is_time(nbf):
            raise IdTokenInvalid("not-before", "nbf is not a number")
        if nbf is not None and nbf > now + self._leeway:
            raise IdTokenInvalid(
                "not-before",
                f"it is not valid before {_iso(nbf)}, in the future of this machine's clock ({_iso(now)}); "
                "check the clock (clock skew)",
            )
        if nonce is not None:
            got = claims.get("nonce")
            if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
                raise IdTokenInvalid("nonce", "the nonce is not the one this sign-in sent")


def _jwks_keys(document: dict[str, Any]) -> list[Mapping[str, Any]]:
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise BadProviderResponse(JWKS_ENDPOINT, "it has no 'keys' list")
    return [k for k in keys if isinstance(k, dict)]


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e11 and math.isfinite(value)


def _iso(seconds: float) -> str:
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return str(seconds)
