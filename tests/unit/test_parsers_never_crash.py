"""Every parser of outside data either parses it or raises a PingcliError: never anything else.

Outside data is what a provider, a browser, the environment or a hand-edited file can send. Python's json
reads NaN, Infinity and integers of thousands of digits, so those are outside data too.
"""

import base64
import contextlib
import hashlib
import io
import json
import math
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from pingcli.adapters.codec import session_to_bytes
from pingcli.adapters.config_toml import TomlConfigStore
from pingcli.adapters.fakes import FakeProvider
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.adapters.session_stores import FileSessionStore, KeyringSessionStore
from pingcli.domain.authorization_code import AuthorizationAttempt, Verdict, judge_callback
from pingcli.domain.client_auth import ClientAuth
from pingcli.domain.device_code import DeviceAuthorization, Wait, next_step
from pingcli.domain.errors import AuthorizationDenied, BadProviderResponse, PingcliError, ProviderUnreachable
from pingcli.domain.identity import AuditIdentity
from pingcli.domain.provider import HttpResponse, ProviderMetadata, read_json_object
from pingcli.domain.settings import KEYS, env_name, is_allowed_name, resolve_profile
from pingcli.domain.tokens import TokenSet
from pingcli.domain.usecases.config import Configuration
from pingcli.domain.usecases.provider_calls import revoke
from pingcli.entrypoints.cli_args import build_parser
from pingcli.entrypoints.main import _http_timeout, main
from tests.support.sessions import make_session

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
        _, profiles = TomlConfigStore(scratch).load()
        assert all(isinstance(values, dict) for values in profiles.values())
        # activeProfile comes as written (a number, a table): the use case takes a name from it, or refuses it.
        assert is_allowed_name(Configuration(TomlConfigStore(scratch), {}).active().name)
        Configuration(TomlConfigStore(scratch), {}).file_warnings()


# --- Stored sessions and client secrets, as each store reads them back ------------------------------
# The codec's own property is in test_codec.py; these go through the stores, which also set aside what
# they cannot read, and check that a readable session belongs where it was found.

REAL_BLOB = session_to_bytes(make_session())
SESSION_FIELDS = [
    ("version",), ("session",), ("session", "profile"), ("session", "service"), ("session", "grant"),
    ("session", "tokens"), ("session", "tokens", "access_token"), ("session", "tokens", "expires_at"),
    ("session", "tokens", "scope"), ("session", "identity", "amr"), ("session", "identity", "auth_time"),
    ("session", "signed_in_at"), ("session", "expired"),
]


@st.composite
def session_blobs(draw) -> bytes:
    """What a store may find: the session as written, cut short, with one field changed or gone, or any bytes."""
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return draw(st.binary(max_size=300))
    if shape == 1:
        return REAL_BLOB[: draw(st.integers(0, len(REAL_BLOB)))]
    envelope = json.loads(REAL_BLOB)
    if shape == 2:
        *parents, name = draw(st.sampled_from(SESSION_FIELDS))
        holder = envelope
        for parent in parents:
            holder = holder[parent]
        if draw(st.booleans()):
            holder[name] = draw(json_values)
        else:
            del holder[name]
    return json.dumps(envelope).encode()


class _NotViable:
    """A priority that keyring's own backend detection reads as "not suitable here", so it never picks the class."""

    def __get__(self, instance, owner):
        raise RuntimeError("a test stand-in")


class MemoryKeyring(KeyringBackend):
    """The keyring library's side of an OS keyring, in a dict: what the store reads is whatever is in it."""

    priority = _NotViable()

    def __init__(self, entries: dict[str, str]) -> None:
        super().__init__()
        self.entries = dict(entries)

    def get_password(self, service, username):
        return self.entries.get(username)

    def set_password(self, service, username, password):
        self.entries[username] = password

    def delete_password(self, service, username):
        if self.entries.pop(username, None) is None:
            raise PasswordDeleteError("no such entry")


@st.composite
def keyring_entries(draw) -> dict[str, str]:
    """The main entry and its chunks as a keyring may hold them: whole, chunked (checksum right or not), or junk."""
    encoded = base64.b64encode(draw(session_blobs())).decode()
    shape = draw(st.integers(0, 2))
    if shape == 0:
        return {"default/demo": draw(st.sampled_from([encoded, "{"]) | text)}
    pieces = [encoded[i:i + 200] for i in range(0, len(encoded), 200)] or [""]
    count = draw(st.sampled_from([len(pieces), len(pieces) + 1, 0, -1, 5000, "2"]))
    digest = draw(st.sampled_from([hashlib.sha256(encoded.encode()).hexdigest(), "0" * 64]) | text)
    entries = {f"default/demo#{i}": piece for i, piece in enumerate(pieces)}
    if shape == 2:
        entries.update(draw(st.dictionaries(st.sampled_from(["default/demo#0", "default/demo#1", "default/demo#9"]),
                                            text, max_size=2)))
    entries["default/demo"] = json.dumps({"pingcli-chunked": 1, "chunks": count, "sha256": digest})
    return entries


def assert_the_stored_session_or_nothing(load) -> None:
    try:
        session = load()
    except PingcliError:
        return
    assert session is None or (session.profile, session.service) == ("default", "demo")


@PROPERTY
@given(blob=session_blobs())
@example(blob=REAL_BLOB)
@example(blob=b"")
@example(blob=REAL_BLOB.replace(b'"version":1', b'"version":1e400'))
def test_any_session_file_is_read_set_aside_or_refused(blob):
    with tempfile.TemporaryDirectory() as directory:
        store = FileSessionStore(Path(directory))
        path = store.path_of("default", "demo")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(blob)
        path.chmod(0o600)
        assert_the_stored_session_or_nothing(lambda: store.load("default", "demo"))


@PROPERTY
@given(blob=st.binary(max_size=200) | json_values.map(lambda v: json.dumps({"client_secret": v}).encode()))
@example(blob=b'{"client_secret": ""}')
def test_any_client_secret_file_is_read_or_refused(blob):
    with tempfile.TemporaryDirectory() as directory:
        store = FileSessionStore(Path(directory))
        path = store.secret_path_of("default", "demo", "authorization_code")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(blob)
        path.chmod(0o600)
        with contextlib.suppress(PingcliError):
            secret = store.load_secret("default", "demo", "authorization_code")
            assert isinstance(secret, str) and secret


@PROPERTY
@given(entries=keyring_entries())
@example(entries={"default/demo": base64.b64encode(REAL_BLOB).decode()})
@example(entries={"default/demo": '{"pingcli-chunked": 1, "chunks": 2, "sha256": "x"}', "default/demo#0": "QQ=="})
def test_any_keyring_entry_is_read_set_aside_or_refused(entries):
    store = KeyringSessionStore(MemoryKeyring(entries), timeout=10)
    assert_the_stored_session_or_nothing(lambda: store.load("default", "demo"))


@PROPERTY
@given(main=text, chunks=st.lists(text, max_size=3))
@example(main='{"pingcli-chunked": 1, "chunks": 1, "sha256": "0"}', chunks=["s3cr3t"])
def test_any_keyring_client_secret_is_read_or_refused(main, chunks):
    name = "default/demo/client-secret/authorization_code"
    entries = {name: main, **{f"{name}#{i}": chunk for i, chunk in enumerate(chunks)}}
    store = KeyringSessionStore(MemoryKeyring(entries), timeout=10)
    with contextlib.suppress(PingcliError):
        secret = store.load_secret("default", "demo", "authorization_code")
        assert secret is None or isinstance(secret, str)


# --- Error answers while polling for a device code (RFC 8628 §3.5) ----------------------------------

POLLED = DeviceAuthorization.from_response(
    {"device_code": "d", "user_code": "BCDF-GHJK", "verification_uri": ISSUER + "/device", "expires_in": 600,
     "interval": 5},
    NOW,
)
poll_errors = objects_with(
    error=st.sampled_from(["authorization_pending", "slow_down", "expired_token", "access_denied", "invalid_grant"]),
    error_description=text,
)


@PROPERTY
@given(status=st.sampled_from([200, 400, 401, 429, 500]) | st.integers(100, 599),
       body=poll_errors | json_values, interval=st.floats(1, 60), elapsed=st.floats(0, 700))
@example(status=400, body={"error": "slow_down"}, interval=5.0, elapsed=590.0)
@example(status=400, body={"error": ["authorization_pending"]}, interval=5.0, elapsed=0.0)
def test_any_answer_to_a_device_poll_means_wait_tokens_or_a_pingcli_error(status, body, interval, elapsed):
    response = HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())
    try:
        answer = read_json_object(response, "token endpoint")
    except AuthorizationDenied as refusal:
        answer = refusal
    except PingcliError:
        return
    with contextlib.suppress(PingcliError):
        step = next_step(POLLED, interval, answer, NOW + elapsed)
        if isinstance(step, Wait):
            assert step.seconds >= interval  # never faster than told (§3.5)
            assert NOW + elapsed + step.seconds <= POLLED.expires_at  # and never past the code's life


# --- Answers from the revocation endpoint (RFC 7009) ----------------------------------------------------

REVOCABLE = ProviderMetadata.from_document(
    {"issuer": ISSUER, "token_endpoint": ISSUER + "/token", "revocation_endpoint": ISSUER + "/revoke"}, ISSUER
)
HELD = TokenSet("at-0123456789", "Bearer", NOW, NOW + 3600, ("openid",), refresh_token="rt-0123456789")


class Answers:
    """An HttpClient that gives these answers in turn; an exception in the list is raised instead."""

    def __init__(self, answers) -> None:
        self.answers = list(answers)

    def request(self, method, url, *, endpoint, form=None, headers=None):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


failures = st.sampled_from([
    ProviderUnreachable("revocation endpoint", ISSUER + "/revoke", "timed out after 30 s"),
    BadProviderResponse("revocation endpoint", "the response is larger than 1 MiB"),
])


@PROPERTY
@given(answers=st.lists(responses | failures, min_size=2, max_size=2))
@example(answers=[HttpResponse(200, {"content-type": "text/html"}, b"<p>ok?"), HttpResponse(200, {}, b"")])
def test_any_answer_from_the_revocation_endpoint_is_revoked_or_a_failure_and_never_raises(answers):
    result = revoke(Answers(answers), REVOCABLE, HELD, ClientAuth("cli-public"))

    assert result == "revoked" or result.startswith("failed: ")
    fine = all(isinstance(a, HttpResponse) and a.status == 200 for a in answers)
    assert (result == "revoked") == fine  # a 200 is success whatever its body (§2.2); anything else is not
    assert "at-0123456789" not in result and "rt-0123456789" not in result


# --- What a person types: PINGCLI_HTTP_TIMEOUT and --timeout ------------------------------------------


@PROPERTY
@given(raw=text | st.sampled_from(["nan", "inf", "-1", "0", "1e9", "10,30", "1,2,3", ",", " 5 ", "1e400"]))
@example(raw="nan")
@example(raw="10,nan")
def test_any_http_timeout_setting_is_read_as_seconds_or_is_a_usage_error(raw):
    with contextlib.suppress(PingcliError):
        connect, read = _http_timeout({"PINGCLI_HTTP_TIMEOUT": raw})
        assert 0 < connect <= 3600 and 0 < read <= 3600


@PROPERTY
@given(raw=text | st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e400", "3", "0.5", " 7 ", "1_0"]))
@example(raw="nan")  # before the fix: reached the wait loop and ended in "unexpected error" (exit 1)
@example(raw="inf")  # likewise: int(inf) in the "Waiting up to" line
def test_any_login_timeout_on_the_command_line_is_a_positive_number_or_a_usage_error(raw):
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            args = build_parser().parse_args(["auth", "login", "--timeout", raw])
        except SystemExit as exit_:
            assert exit_.code == 2
            return
    assert math.isfinite(args.timeout) and args.timeout > 0


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "0", "-3"])
def test_a_login_timeout_that_is_no_number_of_seconds_is_exit_2_before_anything_happens(raw):
    err = io.StringIO()
    code = main(["auth", "login", f"--timeout={raw}"], {"PINGCLI_CONFIG": "/nonexistent/config.toml"},
                io.StringIO(), err)

    usage = err.getvalue()  # argparse's usage errors go to the stream main() was given
    assert code == 2
    assert f"argument --timeout: {raw!r} is not a positive number of seconds" in usage and "Traceback" not in usage
