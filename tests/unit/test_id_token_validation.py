"""ID token validation (OpenID Connect Core §3.1.3.7): the real validator against the fake provider's keys."""

import base64
import datetime
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pingcli.adapters.fakes import FakeProvider
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.domain.errors import IdTokenInvalid

ISSUER = "https://idp.example.test"
CLIENT_ID = "cli-public"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def provider():
    return FakeProvider(ISSUER)


@pytest.fixture
def validator(provider):
    return JwksIdTokenValidator(provider)


@pytest.fixture
def metadata(provider):
    return DiscoveryClient(provider).metadata(ISSUER)


def claims(**changes):
    base = {"iss": ISSUER, "sub": "user-demo", "aud": CLIENT_ID, "iat": NOW, "exp": NOW + 3600, "nonce": NONCE}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header, payload, signature=b""):
    return f"{b64url(json.dumps(header).encode())}.{b64url(payload)}.{b64url(signature)}"


def rejection(validator, metadata, token, nonce=NONCE, now=NOW):
    with pytest.raises(IdTokenInvalid) as raised:
        validator.validate(token, metadata=metadata, client_id=CLIENT_ID, nonce=nonce, now=now)
    return raised.value


def accepted(validator, metadata, token, nonce=NONCE, now=NOW):
    return validator.validate(token, metadata=metadata, client_id=CLIENT_ID, nonce=nonce, now=now)


def iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds")


# --- A good token ----------------------------------------------------------------------------


def test_a_token_the_provider_signed_for_this_client_and_this_sign_in_is_accepted(provider, validator, metadata):
    got = accepted(validator, metadata, provider.sign_id_token(claims(amr=["pwd"])))
    assert got["sub"] == "user-demo" and got["amr"] == ["pwd"]


def test_without_a_nonce_to_check_none_is_required(provider, validator, metadata):
    got = accepted(validator, metadata, provider.sign_id_token(claims(nonce=None)), nonce=None)
    assert got["sub"] == "user-demo"


def test_several_audiences_are_accepted_when_azp_names_this_client(provider, validator, metadata):
    token = provider.sign_id_token(claims(aud=[CLIENT_ID, "api"], azp=CLIENT_ID))
    assert accepted(validator, metadata, token)["azp"] == CLIENT_ID


def test_the_jwks_is_fetched_once_for_tokens_with_a_known_key(provider, metadata):
    validator = JwksIdTokenValidator(provider)
    before = len(provider.requests_to("/jwks"))
    accepted(validator, metadata, provider.sign_id_token(claims()))
    accepted(validator, metadata, provider.sign_id_token(claims()))
    assert len(provider.requests_to("/jwks")) - before == 1


# --- The algorithm and the signature ------------------------------------------------------------


def test_an_unsigned_token_is_refused_on_the_algorithm(validator, metadata):
    token = compact({"alg": "none", "typ": "JWT"}, json.dumps(claims()).encode())
    assert rejection(validator, metadata, token).check == "algorithm"


def test_a_token_hmac_signed_with_the_providers_public_key_is_refused_on_the_algorithm(provider, validator, metadata):
    jwks = json.loads(provider.request("GET", ISSUER + "/jwks", endpoint="JWKS endpoint").body)
    public_pem = jwt.PyJWK(jwks["keys"][0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": provider.kid}).encode())
    payload = b64url(json.dumps(claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()

    refused = rejection(validator, metadata, f"{header}.{payload}.{b64url(signature)}")

    assert refused.check == "algorithm"
    assert "'HS256' is not accepted" in refused.message


def test_an_algorithm_the_provider_does_not_offer_is_refused(provider, validator, metadata):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="PS256", headers={"kid": provider.kid})
    assert rejection(validator, metadata, token).check == "algorithm"


def test_a_valid_signature_by_another_key_under_the_providers_kid_is_refused(provider, validator, metadata):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), impostor, algorithm="RS256", headers={"kid": provider.kid})

    refused = rejection(validator, metadata, token)

    assert refused.check == "signature"
    assert "does not verify" in refused.message


def test_an_unknown_kid_fetches_the_jwks_again_once_and_then_refuses(provider, metadata):
    validator = JwksIdTokenValidator(provider)
    before = len(provider.requests_to("/jwks"))
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), impostor, algorithm="RS256", headers={"kid": "rotated-away"})

    refused = rejection(validator, metadata, token)

    assert refused.check == "signature"
    assert "no RS256 key with kid 'rotated-away'" in refused.message
    assert len(provider.requests_to("/jwks")) - before == 2


def test_three_segments_that_are_not_base64url_are_refused_on_the_format(validator, metadata):
    refused = rejection(validator, metadata, "not*base64.at$all.no%pe")
    assert refused.check == "format"
    assert "not a signed JWT" in refused.message


def test_a_signed_payload_that_is_not_json_is_refused_on_the_format(provider, validator, metadata):
    # FakeProvider signs only claim dicts; signing raw bytes needs its key.
    token = jwt.api_jws.encode(b"this is not json", provider._key, algorithm="RS256", headers={"kid": provider.kid})
    assert rejection(validator, metadata, token).check == "format"


def test_a_payload_that_is_not_json_under_a_forged_signature_is_refused_on_the_signature(provider, validator, metadata):
    token = compact({"alg": "RS256", "kid": provider.kid}, b"this is not json", b"x" * 256)
    assert rejection(validator, metadata, token).check == "signature"


# --- The claims -------------------------------------------------------------------------------


def test_another_issuer_is_refused(provider, validator, metadata):
    refused = rejection(validator, metadata, provider.sign_id_token(claims(iss="https://evil.example")))
    assert refused.check == "issuer"
    assert "https://evil.example" in refused.message and ISSUER in refused.message


def test_an_audience_without_this_client_is_refused(provider, validator, metadata):
    refused = rejection(validator, metadata, provider.sign_id_token(claims(aud=["someone-else", "api"])))
    assert refused.check == "audience"
    assert CLIENT_ID in refused.message


def test_several_audiences_without_azp_are_refused(provider, validator, metadata):
    refused = rejection(validator, metadata, provider.sign_id_token(claims(aud=[CLIENT_ID, "api"])))
    assert refused.check == "authorized party"
    assert "several audiences and no azp" in refused.message


def test_an_azp_naming_another_client_is_refused(provider, validator, metadata):
    refused = rejection(validator, metadata, provider.sign_id_token(claims(azp="another-client")))
    assert refused.check == "authorized party"
    assert "another-client" in refused.message


def test_a_missing_subject_is_refused(provider, validator, metadata):
    assert rejection(validator, metadata, provider.sign_id_token(claims(sub=None))).check == "subject"


def test_a_token_expired_beyond_the_two_minute_leeway_is_refused(provider, validator, metadata):
    token = provider.sign_id_token(claims(iat=NOW - 3600, exp=NOW - 121))
    refused = rejection(validator, metadata, token)
    assert refused.check == "expiry"
    assert iso(NOW - 121) in refused.message and iso(NOW) in refused.message


def test_a_token_expired_within_the_leeway_is_accepted(provider, validator, metadata):
    token = provider.sign_id_token(claims(iat=NOW - 3600, exp=NOW - 119))
    assert accepted(validator, metadata, token)["exp"] == NOW - 119


def test_a_token_issued_in_the_future_beyond_the_leeway_points_at_clock_skew(provider, validator, metadata):
    token = provider.sign_id_token(claims(iat=NOW + 121, exp=NOW + 3600))
    refused = rejection(validator, metadata, token)
    assert refused.check == "issued-at"
    assert "clock skew" in refused.message
    assert iso(NOW + 121) in refused.message and iso(NOW) in refused.message


def test_a_token_issued_slightly_in_the_future_is_accepted(provider, validator, metadata):
    assert accepted(validator, metadata, provider.sign_id_token(claims(iat=NOW + 119)))["iat"] == NOW + 119


def test_a_token_not_yet_valid_is_refused(provider, validator, metadata):
    assert rejection(validator, metadata, provider.sign_id_token(claims(nbf=NOW + 600))).check == "not-before"


@pytest.mark.parametrize("exp", [float("nan"), float("inf")])
def test_an_expiry_that_is_not_a_real_time_is_refused(provider, validator, metadata, exp):
    # Python's json reads NaN and Infinity; a token that never expires is not one to accept.
    assert rejection(validator, metadata, provider.sign_id_token(claims(exp=exp))).check == "expiry"


def test_an_issue_time_that_is_not_a_real_time_is_refused(provider, validator, metadata):
    assert rejection(validator, metadata, provider.sign_id_token(claims(iat=float("nan")))).check == "issued-at"


def test_a_nonce_from_another_sign_in_is_refused(provider, validator, metadata):
    refused = rejection(validator, metadata, provider.sign_id_token(claims(nonce="someone-elses-nonce")))
    assert refused.check == "nonce"


def test_a_missing_nonce_is_refused_when_one_was_sent(provider, validator, metadata):
    assert rejection(validator, metadata, provider.sign_id_token(claims(nonce=None))).check == "nonce"


def test_every_refusal_tells_the_person_nothing_was_stored(provider, validator, metadata):
    refused = rejection(validator, metadata, provider.sign_id_token(claims(iss="https://evil.example")))
    assert refused.message.startswith("the ID token failed the issuer check: ")
    assert "nothing was stored" in refused.hint
