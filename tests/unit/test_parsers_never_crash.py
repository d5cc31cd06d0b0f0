"""Every parser of outside data either parses it or raises a PingcliError: never anything else.

Outside data is what a provider, a browser, the environment or a hand-edited file can send. Python's json
reads NaN, Infinity and integers of thousands of digits, so those are outside data too.
"""

import base64
import contextlib
import json
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pingcli.adapters.config_toml import TomlConfigStore
from pingcli.adapters.fakes import FakeProvider
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.domain.authorization_code import AuthorizationAttempt, Verdict, judge_callback
from pingcli.domain.device_code import DeviceAuthorization
from pingcli.domain.errors import PingcliError
from pingcli.domain.identity import AuditIdentity
from pingcli.domain.provider import HttpResponse, ProviderMetadata, read_json_object
from pingcli.domain.settings import KEYS, env_name, resolve_profile
from pingcli.domain.tokens import TokenSet

ISSUER = "https://idp.example.test"
NOW = 1_800_000_000.0
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Strategies for outside data ------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
numbers = (
    st.integers()
    | st.integers(min_value=10**300, max_value=10**400)  # more than a float holds
    | st.floats()  # NaN and Infinity included: json.loads reads them
    | st.sampled_from([0, -1, 5, 3600, "3600", " 60 ", "1e400", "nan", "Infinity", True, False])
)
json_scalars = st.none() | st.booleans() | numbers | text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
urls = (
    st.builds(
        str.__add__,
        st.sampled_from(["https://", "http://", "ftp://", "javascript:", "", "https://[", "http://]"]),
        text,
    )
    | st.sampled_from([ISSUER + "/token", "https://other.example/x", "https://[::1]/x", "https://[nope/x"])
)


def objects_with(**fields):
    """JSON objects that usually carry these fields (with the given values or any JSON), plus strays."""
    known = st.fixed_dictionaries({}, optional={name: strategy | json_values for name, strategy in fields.items()})
    strays = st.dictionaries(text, json_values, max_size=3)
    return st.builds(lambda extra, main: {**extra, **main}, strays, known)


# --- The sign-in callback --------------------------------------------------------------------------

ATTEMPT = AuthorizationAttempt.start(
    issuer=ISSUER,
    authorization_endpoint=ISSUER + "/authorize",
    client_id="cli-public",
    port=7464,
    path="/callback",
    scope="openid offline_access",
)
query_words = st.sampled_from(["state", "code", "iss", "error", "error_description", "x"]) | text
query_values = st.sampled_from([ATTEMPT.state, ISSUER, "access_denied", "abc", ""]) | text
queries = text | st.lists(
    st.builds(lambda k, v: f"{k}={v}", query_words, query_values), max_size=8
).map("&".join)


@PROPERTY
@given(path=st.sampled_from(["/callback", "/", "/favicon.ico"]) | text, query=queries)
@example(path="/callback", query="&".join(["a=1"] * 100))  # more fields than parse_qsl allows
@example(path="/callback", query="state=" + "x" * 9000)
@example(path="/callback", query=f"state={ATTEMPT.state}&state={ATTEMPT.state}&code=c")
def test_any_request_to_the_listener_gets_a_verdict_and_only_this_attempts_state_ends_the_flow(path, query):
    verdict = judge_callback(ATTEMPT, path, query)

    assert isinstance(verdict.verdict, Verdict) and 200 <= verdict.status < 500
    if verdict.ends_flow:
        assert path == "/callback"
        assert [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "state"] == [ATTEMPT.state]
    if verdict.verdict is Verdict.SUCCEEDED:
        assert verdict.code


# --- Provider answers ---------------------------------------------------------------------------

token_responses = objects_with(
    access_token=text,
    token_type=st.sampled_from(["Bearer", "bearer", "DPoP", "N_A", "mac"]),
    expires_in=numbers,
    refresh_token=text,
    id_token=text,
    scope=text,
)


@PROPERTY
@given(body=token_responses, requested=text)
@example(body={"access_token": "a", "token_type": "Bearer", "expires_in": 10**400}, requested="openid")
@example(body={"access_token": "a", "token_type": "Bearer", "expires_in": float("nan")}, requested="openid")
def test_a_token_response_parses_or_is_refused(body, requested):
    with contextlib.suppress(PingcliError):
        tokens = TokenSet.from_token_response(body, NOW, requested)
        assert tokens.expires_at is None or tokens.expires_at >= NOW


def test_an_expires_in_too_large_for_a_float_means_an_unknown_expiry():
    body = json.loads('{"access_token": "a", "token_type": "Bearer", "expires_in": 1' + "0" * 400 + "}")
    assert TokenSet.from_token_response(body, NOW, "openid").expires_at is None


device_responses = objects_with(
    device_code=text,
    user_code=text,
    verification_uri=urls,
    verification_url=urls,
    verification_uri_complete=urls,
    expires_in=numbers,
    interval=numbers,
)


@PROPERTY
@given(body=device_responses)
@example(body={"device_code": "d", "user_code": "u", "verification_uri": "https://[x", "expires_in": 5})
@example(body={"device_code": "d", "user_code": "u", "verification_uri": "https://idp\uff03x/", "expires_in": 5})
def test_a_device_authorization_response_parses_or_is_refused(body):
    with contextlib.suppress(PingcliError):
        read = DeviceAuthorization.from_response(body, NOW)
        assert read.expires_at >= NOW and read.interval > 0


# Addresses that urllib.parse.urlsplit refuses with ValueError rather than parse.
UNSPLITTABLE = ["https://[x", "https://[1.2.3.4]/", "https://[not-an-ip]/", "https://idp\uff03x/"]


@pytest.mark.parametrize("address", UNSPLITTABLE)
def test_a_verification_uri_that_is_not_a_url_is_a_bad_provider_response(address):
    body = {"device_code": "d", "user_code": "u", "verification_uri": address, "expires_in": 5}
    with pytest.raises(PingcliError, match="verification_uri is not a web address"):
        DeviceAuthorization.from_response(body, NOW)


ENDPOINTS = ["authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
             "device_authorization_endpoint", "revocation_endpoint", "introspection_endpoint"]
discovery_documents = objects_with(
    issuer=st.sampled_from([ISSUER, ISSUER + "/", "https://evil.example"]),
    id_token_signing_alg_values_supported=st.lists(st.sampled_from(["RS256", "none"]) | text, max_size=3),
    authorization_response_iss_parameter_supported=st.booleans(),
    **{name: urls for name in ENDPOINTS},
)


@PROPERTY
@given(document=discovery_documents | json_values)
@example(document={"issuer": ISSUER, "token_endpoint": "https://[nope"})
@example(document={"issuer": ISSUER, "token_endpoint": ISSUER + "/token", "jwks_uri": "https://[1.2.3.4]/jwks"})
def test_a_discovery_document_parses_or_is_refused(document):
    with contextlib.suppress(PingcliError):
        ProviderMetadata.from_document(document, ISSUER)


@pytest.mark.parametrize("address", UNSPLITTABLE)
def test_a_discovery_endpoint_that_is_not_a_url_is_a_bad_provider_response(address):
    with pytest.raises(PingcliError, match="token_endpoint is not an https URL"):
        ProviderMetadata.from_document({"issuer": ISSUER, "token_endpoint": address}, ISSUER)


bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | objects_with(error=text, error_description=text).map(lambda v: json.dumps(v).encode())
)
responses = st.builds(
    HttpResponse,
    status=st.integers(100, 599),
    headers=st.dictionaries(st.sampled_from(["content-type", "cache-control"]) | text, text, max_size=3),
    body=bodies,
)


@PROPERTY
@given(response=responses)
@example(response=HttpResponse(200, {}, b"[" * 100_000))
@example(response=HttpResponse(200, {}, b"\xff\xfe"))
@example(response=HttpResponse(400, {"content-type": "text/html\x1b[31m"}, b"<h1>oops</h1>"))
def test_any_http_answer_is_a_json_object_or_an_error_that_says_why(response):
    with contextlib.suppress(PingcliError):
        assert isinstance(read_json_object(response, "token endpoint"), dict)


# --- Claims -------------------------------------------------------------------------------------

validated_claims = st.builds(
    lambda sub, iss, rest: {**rest, "sub": sub, "iss": iss},
    text.filter(bool),
    text,
    objects_with(preferred_username=text, name=text, email=text, amr=st.lists(text, max_size=3), acr=text,
                 auth_time=numbers),
)


@PROPERTY
@given(claims=validated_claims, userinfo=st.none() | objects_with(sub=text, name=text, email=text))
@example(claims={"sub": "s", "iss": ISSUER, "auth_time": float("inf")}, userinfo=None)
@example(claims={"sub": "s", "iss": ISSUER, "auth_time": float("nan")}, userinfo=None)
def test_an_identity_is_read_from_any_validated_claims(claims, userinfo):
    with contextlib.suppress(PingcliError):
        identity = AuditIdentity.from_claims(claims, userinfo)
        assert identity.sub == claims["sub"] and identity.display


@pytest.mark.parametrize("auth_time", [float("inf"), float("-inf"), float("nan")])
def test_an_auth_time_that_is_not_a_real_time_is_left_out(auth_time):
    identity = AuditIdentity.from_claims({"sub": "s", "iss": ISSUER, "auth_time": auth_time})
    assert identity.auth_time is None


# --- ID tokens ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider():
    return FakeProvider(ISSUER)


@pytest.fixture(scope="module")
def metadata(provider):
    return DiscoveryClient(provider).metadata(ISSUER)


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


THE_PROVIDERS_KID = object()  # stands for the fake provider's kid, known only once it exists


def jwt_shaped():
    """Three base64url segments: a JSON header (often RS256 with the provider's kid), any payload, any signature."""
    headers = objects_with(
        alg=st.sampled_from(["RS256", "none", "HS256", "ES256"]),
        kid=st.sampled_from([THE_PROVIDERS_KID, "old"]),
    )
    payloads = st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode())
    return st.tuples(headers, payloads, st.binary(max_size=300))


def compact(parts, kid):
    header, payload, signature = parts
    header = {k: kid if v is THE_PROVIDERS_KID else v for k, v in header.items()}
    return ".".join([segment(json.dumps(header).encode()), segment(payload), segment(signature)])


@PROPERTY
@given(token=text | st.lists(text, min_size=3, max_size=3).map(".".join) | jwt_shaped())
@example(token=({"alg": "RS256", "kid": THE_PROVIDERS_KID}, b"not json", b"\0" * 256))
@example(token=({"alg": "RS256", "kid": ["a", "list"]}, b"{}", b""))
@example(token=({"alg": ["RS256"]}, b"{}", b""))
def test_any_string_as_an_id_token_is_validated_or_refused(provider, metadata, token):
    id_token = token if isinstance(token, str) else compact(token, provider.kid)
    validator = JwksIdTokenValidator(provider)
    with contextlib.suppress(PingcliError):
        validator.validate(id_token, metadata=metadata, client_id="cli-public", nonce="n", now=NOW)


@pytest.mark.parametrize("id_token", ["", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AAAA"])
def test_tokens_that_are_barely_tokens_are_refused(provider, metadata, id_token):
    with pytest.raises(PingcliError):
        JwksIdTokenValidator(provider).validate(id_token, metadata=metadata, client_id="cli-public", nonce="n",
                                                now=NOW)


# --- Settings from a profile and the environment --------------------------------------------------

service_names = st.sampled_from(["demo", "my-app", "my_app", "Demo", "x" * 64, "x" * 65, "", "*", "a.b"]) | text
setting_values = (
    json_scalars
    | st.sampled_from(["https://idp.example.test", "http://127.0.0.1:9000", "https://[x", "0", "65536", "/cb",
                       "device_code", "file_system", "yes", "openid profile"])
)


@st.composite
def stored_profiles(draw):
    stored = {}
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(KEYS))
        name = key.pattern.replace("*", draw(service_names)) if key.per_service else key.pattern
        stored[name] = draw(setting_values)
    return stored


@st.composite
def environments(draw):
    env = draw(st.dictionaries(st.sampled_from(["PINGCLI_PROFILE", "PINGCLI_SERVICE_", "PATH"]) | text, text,
                               max_size=3))
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(KEYS))
        name = key.pattern.replace("*", draw(service_names)) if key.per_service else key.pattern
        env[env_name(name)] = draw(setting_values.map(str))
    return env


@PROPERTY
@given(stored=stored_profiles(), env=environments())
@example(stored={"service.demo.issuer": "https://[x"}, env={})
@example(stored={}, env={"PINGCLI_SERVICE___ISSUER": "https://idp.example.test"})
def test_any_stored_profile_and_environment_resolve_or_are_refused(stored, env):
    with contextlib.suppress(PingcliError):
        profile = resolve_profile("default", stored, env)
        for service in profile.services.values():
            assert service.authorization_code.redirect_path.startswith("/")
            assert 0 <= service.authorization_code.redirect_port <= 65535


# --- The configuration file ---------------------------------------------------------------------

toml_lines = st.sampled_from([
    "[profiles]", "[profiles.default]", "[profiles.default.service.demo]", "[[profiles]]", "[[profiles.default]]",
    'activeProfile = "work"', "activeProfile = 3", "profiles = 1", 'profiles.default = "x"',
    'auth.storage.type = "none"', "auth = 1", 'issuer = "https://idp.example.test"', "x = {a = 1, b = [1, 2]}",
    "[profiles.default.auth]", "[profiles.work.service.demo.authentication]", "type = 'device_code'",
    "# a comment", "", "   ", 'a."b.c" = 1', "k = 1979-05-27T07:32:00Z", "n = nan", "i = inf",
]) | text


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("toml") / "config.toml"


@PROPERTY
@given(content=st.lists(toml_lines, max_size=10).map("\n".join).map(str.encode) | st.binary(max_size=200))
@example(content=b"[profiles.default]\nauth.storage.type = 'none'\n[profiles.default.auth]\n")
@example(content=b"\xff\xfe[profiles]")
def test_any_configuration_file_loads_or_is_refused(scratch, content):
    scratch.write_bytes(content)
    with contextlib.suppress(PingcliError):
        active, profiles = TomlConfigStore(scratch).load()
        assert active is None or isinstance(active, str)
        assert all(isinstance(values, dict) for values in profiles.values())
