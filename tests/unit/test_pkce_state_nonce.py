"""The authorization request's secrets: PKCE (RFC 7636), state and nonce, and the URL that carries them."""

import base64
import re
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingcli.domain import pkce
from pingcli.domain.authorization_code import AuthorizationAttempt

UNRESERVED = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def attempt(**changes):
    arguments = {
        "issuer": "https://idp.example.test",
        "authorization_endpoint": "https://idp.example.test/authorize",
        "client_id": "cli-public",
        "port": 7464,
        "path": "/callback",
        "scope": "openid profile email offline_access",
    }
    arguments.update(changes)
    return AuthorizationAttempt.start(**arguments)


def query_of(url):
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


def entropy_bits(token):
    return 8 * len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


# --- PKCE --------------------------------------------------------------------------------


def test_a_new_verifier_is_43_to_128_unreserved_characters():
    for _ in range(200):
        assert UNRESERVED.fullmatch(pkce.new_verifier())


def test_the_challenge_is_the_rfc_7636_appendix_b_example():
    # The verifier as printed in RFC 7636 Appendix B (base64url of its 32 example octets).
    assert pkce.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_appendix_b_verifier_is_the_base64url_of_its_example_octets():
    octets = bytes([116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
                    22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121])
    assert base64.urlsafe_b64encode(octets).rstrip(b"=").decode() == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def test_the_url_carries_the_challenge_of_the_attempts_verifier_with_s256():
    started = attempt()
    sent = query_of(started.url())
    assert sent["code_challenge"] == [pkce.challenge(started.verifier)]
    assert sent["code_challenge_method"] == ["S256"]
    assert "code_challenge_method=S256" in started.url()


def test_the_token_request_sends_the_verifier_and_the_same_redirect_uri():
    started = attempt()
    assert started.token_request("the-code") == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://127.0.0.1:7464/callback",
        "client_id": "cli-public",
        "code_verifier": started.verifier,
    }


@pytest.mark.parametrize(
    "verifier",
    [
        "a" * 42,  # too short
        "a" * 129,  # too long
        "a" * 42 + "/",  # not unreserved
        "a" * 42 + "é",
        "a" * 43 + "\n",  # a trailing newline is not one of the 43 to 128 characters
    ],
)
def test_a_verifier_outside_the_rfc_is_refused(verifier):
    with pytest.raises(ValueError, match="43 to 128 unreserved characters"):
        pkce.challenge(verifier)


def test_an_attempt_cannot_hold_a_verifier_outside_the_rfc():
    with pytest.raises(ValueError):
        attrs.evolve(attempt(), verifier="short")


# --- State and nonce ----------------------------------------------------------------------


def test_state_nonce_and_verifier_are_new_for_every_attempt():
    attempts = [attempt() for _ in range(500)]
    states = {a.state for a in attempts}
    nonces = {a.nonce for a in attempts}
    verifiers = {a.verifier for a in attempts}
    assert len(states) == len(nonces) == len(verifiers) == 500
    assert not states & nonces


def test_state_and_nonce_carry_at_least_256_bits():
    started = attempt()
    assert entropy_bits(started.state) >= 256
    assert entropy_bits(started.nonce) >= 256


def test_the_url_carries_this_attempts_state_and_nonce():
    started = attempt()
    sent = query_of(started.url())
    assert sent["state"] == [started.state] and sent["nonce"] == [started.nonce]


def test_secrets_stay_out_of_the_attempts_repr():
    started = attempt()
    shown = repr(started)
    assert started.state not in shown and started.nonce not in shown and started.verifier not in shown


# --- The authorization URL ----------------------------------------------------------------


def test_the_redirect_uri_is_the_loopback_ip_with_the_bound_port_and_path():
    sent = query_of(attempt(port=51234, path="/cb").url())
    assert sent["redirect_uri"] == ["http://127.0.0.1:51234/cb"]
    assert sent["response_type"] == ["code"]


def test_consent_is_prompted_for_when_offline_access_is_requested():
    assert query_of(attempt(scope="openid offline_access").url())["prompt"] == ["consent"]


def test_consent_is_not_prompted_for_without_offline_access():
    assert "prompt" not in query_of(attempt(scope="openid profile").url())
    assert "prompt" not in query_of(attempt(scope="openid offline_access_like").url())


def test_acr_values_are_sent_when_set_and_only_then():
    assert query_of(attempt(acr_values="urn:mfa phr").url())["acr_values"] == ["urn:mfa phr"]
    assert "acr_values" not in query_of(attempt().url())


def test_an_endpoint_with_its_own_query_keeps_it():
    url = attempt(authorization_endpoint="https://idp.example.test/authorize?tenant=acme").url()
    assert url.startswith("https://idp.example.test/authorize?tenant=acme&")
    assert query_of(url)["tenant"] == ["acme"]


words = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    client_id=words,
    scope=st.lists(words.filter(lambda w: w.strip() and " " not in w), min_size=1, max_size=5).map(" ".join),
    acr_values=st.none() | words,
    port=st.integers(1, 65535),
    path=st.text(min_size=0, max_size=20).map(lambda p: "/" + p),
    endpoint_query=st.sampled_from(["", "?tenant=acme", "?a=1&b=two"]),
)
def test_every_parameter_comes_back_from_the_authorization_url(client_id, scope, acr_values, port, path, endpoint_query):
    started = attempt(
        authorization_endpoint="https://idp.example.test/authorize" + endpoint_query,
        client_id=client_id,
        scope=scope,
        acr_values=acr_values,
        port=port,
        path=path,
    )
    url = started.url()
    sent = query_of(url)

    assert urlsplit(url).path == "/authorize"
    assert sent.pop("client_id") == [client_id]
    assert sent.pop("scope") == [scope]
    assert sent.pop("redirect_uri") == [f"http://127.0.0.1:{port}{path}"]
    assert sent.pop("state") == [started.state]
    assert sent.pop("nonce") == [started.nonce]
    assert sent.pop("code_challenge") == [pkce.challenge(started.verifier)]
    assert sent.pop("code_challenge_method") == ["S256"]
    assert sent.pop("response_type") == ["code"]
    if acr_values:
        assert sent.pop("acr_values") == [acr_values]
    if "offline_access" in scope.split():
        assert sent.pop("prompt") == ["consent"]
    assert sent == query_of("https://x/" + endpoint_query) if endpoint_query else sent == {}
