"""Hostile and odd callbacks on the real loopback listener, through the whole login against the fake provider.

The listener is the real one (sockets on 127.0.0.1); the provider is `FakeProvider` as the HttpClient, so a
hundred sign-ins take seconds. The Browser port is played by classes here that act like a browser would.
Also: the parser of outside data that tests/unit/test_parsers_never_crash.py does not cover (JWKS documents),
and what a garbled provider answer is called (truncated JSON, a redirect).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pingcli.adapters.fakes import FakeClock, FakeConsole, FakeLocks, FakeProvider, FakeSessionStore
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.loopback_listener import LoopbackListener, LoopbackListenerFactory
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.domain.errors import IdTokenInvalid, PingcliError
from pingcli.domain.provider import HttpResponse, read_json_object
from pingcli.domain.usecases.login import Login

from .conftest import ISSUER, profile_with

PROFILE = profile_with(**{"service.demo.authentication.authorizationCode.redirectURIPort": 0})
SERVICE = PROFILE.service("demo")


class RecordingListenerFactory(LoopbackListenerFactory):
    """The real factory; it also remembers the ports it really bound."""

    def __init__(self) -> None:
        self.bound_ports: list[int] = []

    def bind(self, port: int, setting: str) -> LoopbackListener:
        listener = super().bind(port, setting)
        self.bound_ports.append(listener.port)
        return listener


def get(url_or_port, target: str | None = None) -> tuple[int, str]:
    """A browser's GET to the listener: (status, page)."""
    if target is None:
        parts = urlsplit(url_or_port)
        port, target = parts.port, parts.path + ("?" + parts.query if parts.query else "")
    else:
        port = url_or_port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        conn.close()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def make_login(provider: FakeProvider, browser, listeners: LoopbackListenerFactory) -> tuple[Login, FakeSessionStore]:
    store = FakeSessionStore()
    login = Login(
        http=provider, metadata=DiscoveryClient(provider), listeners=listeners, browser=browser,
        clock=provider.clock, id_tokens=JwksIdTokenValidator(provider), store=store, console=FakeConsole(),
        locks=FakeLocks(),
    )
    return login, store


@pytest.fixture(scope="module")
def provider() -> FakeProvider:
    return FakeProvider(ISSUER, FakeClock())


@pytest.fixture
def fresh(provider: FakeProvider) -> FakeProvider:
    provider.requests.clear()
    return provider


# --- 2. A provider that redirects at once ------------------------------------------------------------


class InstantRedirectBrowser:
    """The provider redirects before `open` even returns: the callback reaches the listener before it waits."""

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.opened_urls: list[str] = []
        self.answers: list[int] = []
        self.errors: list[BaseException] = []

    def open(self, url: str) -> bool:
        self.opened_urls.append(url)
        redirect = urlsplit(self.provider.authorize(url))
        sent = threading.Event()

        def follow() -> None:
            try:
                conn = http.client.HTTPConnection(redirect.hostname, redirect.port, timeout=10)
                conn.request("GET", f"{redirect.path}?{redirect.query}")  # connected and sent
                sent.set()
                response = conn.getresponse()
                response.read()
                self.answers.append(response.status)
                conn.close()
            except BaseException as error:  # surfaced by the test
                self.errors.append(error)
            finally:
                sent.set()

        threading.Thread(target=follow, daemon=True).start()
        assert sent.wait(5), "the redirect was not sent"
        return True


def test_a_provider_that_redirects_instantly_signs_in_a_hundred_times_out_of_a_hundred(fresh):
    listeners = RecordingListenerFactory()
    browser = InstantRedirectBrowser(fresh)
    login, store = make_login(fresh, browser, listeners)

    for attempt in range(100):
        result = login.one(PROFILE, SERVICE, timeout=10)
        assert result.identity.sub == "user-demo", attempt

    assert browser.errors == [] and browser.answers == [200] * 100
    assert len(store.saved) == 100
    token_requests = fresh.requests_to("/token")
    assert len(token_requests) == 100 and len(listeners.bound_ports) == 100
    for opened, token_request, port in zip(browser.opened_urls, token_requests, listeners.bound_ports):
        assert port != 0
        expected = f"http://127.0.0.1:{port}/callback"
        assert query_of(opened)["redirect_uri"] == expected
        assert token_request.form["redirect_uri"] == expected


# --- 3. Stray and odd requests on the real listener ---------------------------------------------------


class StrayRequestsBrowser:
    """Before the real callback: a favicon, the root, a callback without state, a forged callback."""

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.pages: dict[str, tuple[int, str]] = {}
        self.tokens_requested_before_the_real_callback: int | None = None
        self.code: str | None = None
        self.errors: list[BaseException] = []
        self.thread: threading.Thread | None = None

    def open(self, url: str) -> bool:
        def browse() -> None:
            try:
                query = query_of(url)
                port = urlsplit(query["redirect_uri"]).port
                self.pages["favicon"] = get(port, "/favicon.ico")
                self.pages["root"] = get(port, "/")
                self.pages["no state"] = get(port, "/callback?foo=bar")
                self.pages["wrong state"] = get(port, "/callback?" + urlencode(
                    {"code": "FORGED", "state": "not-the-state", "iss": ISSUER}))
                time.sleep(0.2)  # had any of them ended the wait, the token request would be under way
                self.tokens_requested_before_the_real_callback = len(self.provider.requests_to("/token"))
                self.code = query_of(self.provider.authorize(url))["code"]
                self.pages["callback"] = get(port, "/callback?" + urlencode(
                    {"session_state": "X", "iss": ISSUER, "code": self.code, "state": query["state"]}))
            except BaseException as error:
                self.errors.append(error)

        self.thread = threading.Thread(target=browse, daemon=True)
        self.thread.start()
        return True


def test_stray_requests_neither_end_the_sign_in_nor_show_success_and_the_real_callback_completes_it(fresh):
    browser = StrayRequestsBrowser(fresh)
    login, store = make_login(fresh, browser, LoopbackListenerFactory())

    result = login.one(PROFILE, SERVICE, timeout=10)
    browser.thread.join(5)  # it reads the last page after pingcli has the code

    assert browser.errors == []
    assert result.identity.sub == "user-demo" and len(store.saved) == 1
    pages = browser.pages
    assert pages["favicon"][0] == 404
    assert pages["root"][0] == 404 and "Not the sign-in callback" in pages["root"][1]
    assert pages["no state"][0] == 400 and "Not the sign-in callback" in pages["no state"][1]
    assert pages["wrong state"][0] == 400 and "does not belong to the sign-in" in pages["wrong state"][1]
    for name in ("favicon", "root", "no state", "wrong state"):
        assert "Sign-in received" not in pages[name][1], name
    assert pages["callback"][0] == 200 and "Sign-in received" in pages["callback"][1]
    assert browser.tokens_requested_before_the_real_callback == 0
    [token_request] = fresh.requests_to("/token")
    assert token_request.form["code"] == browser.code  # C, the code of the real callback
    assert all(r.form is None or r.form.get("code") != "FORGED" for r in fresh.requests)


# --- 4. An idle connection ---------------------------------------------------------------------------


class IdleConnectionBrowser:
    """Opens a connection and says nothing on it, then delivers the real callback on a second one."""

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.idle: socket.socket | None = None
        self.answer: tuple[int, str] | None = None
        self.seconds: float | None = None
        self.errors: list[BaseException] = []
        self.thread: threading.Thread | None = None

    def open(self, url: str) -> bool:
        def browse() -> None:
            try:
                port = urlsplit(query_of(url)["redirect_uri"]).port
                self.idle = socket.create_connection(("127.0.0.1", port), timeout=10)
                time.sleep(0.3)  # the listener has accepted it and is reading from it
                redirect = self.provider.authorize(url)
                started = time.monotonic()
                self.answer = get(redirect)
                self.seconds = time.monotonic() - started
            except BaseException as error:
                self.errors.append(error)

        self.thread = threading.Thread(target=browse, daemon=True)
        self.thread.start()
        return True


def test_a_connection_that_sends_nothing_does_not_delay_the_callback_on_another(fresh):
    browser = IdleConnectionBrowser(fresh)
    login, store = make_login(fresh, browser, LoopbackListenerFactory())

    started = time.monotonic()
    try:
        result = login.one(PROFILE, SERVICE, timeout=10)
        browser.thread.join(5)
    finally:
        if browser.idle is not None:
            browser.idle.close()

    assert browser.errors == []
    assert result.identity.sub == "user-demo" and len(store.saved) == 1
    assert browser.answer is not None and browser.answer[0] == 200
    assert browser.seconds is not None and browser.seconds < 1.0
    assert time.monotonic() - started < 3.0  # not the listener's 10 s read timeout


# --- Parsers not covered elsewhere: the provider's JWKS ---------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                              HealthCheck.function_scoped_fixture])


class JwksServedAs:
    """An HttpClient whose every answer is this JWKS body (the fake provider for everything else)."""

    def __init__(self, provider: FakeProvider, body: bytes) -> None:
        self.provider, self.body = provider, body

    def request(self, method, url, *, endpoint, form=None, headers=None) -> HttpResponse:
        if urlsplit(url).path == "/jwks":
            return HttpResponse(200, {"content-type": "application/json"}, self.body)
        return self.provider.request(method, url, endpoint=endpoint, form=form, headers=headers)


text = st.text(max_size=20)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
                           max_leaves=8)


@st.composite
def jwks_documents(draw, real_jwk: dict):
    """Mostly `{"keys": [...]}` with keys that resemble the provider's (some fields changed or dropped)."""
    def key():
        base = draw(st.sampled_from([real_jwk, {}]))
        changed = draw(st.dictionaries(
            st.sampled_from(["kty", "kid", "use", "alg", "n", "e", "crv", "x", "y", "k"]) | text,
            st.sampled_from(["RSA", "EC", "oct", "OKP", "sig", "enc", "RS256", "HS256", "none", real_jwk["kid"],
                             "AQAB", "", "!!", real_jwk["n"][:20]]) | json_values,
            max_size=3,
        ))
        dropped = draw(st.sets(st.sampled_from(sorted(real_jwk)), max_size=3))
        return {k: v for k, v in {**base, **changed}.items() if k not in dropped}

    shape = draw(st.integers(0, 3))
    if shape == 0:
        return draw(json_values)
    keys = [key() for _ in range(draw(st.integers(0, 3)))]
    if shape == 1:
        keys = draw(st.lists(json_values, max_size=3)) + keys
    return {"keys": keys} if shape != 3 else {"keys": draw(json_values)}


@pytest.fixture(scope="module")
def signed(provider: FakeProvider):
    now = int(provider.clock.now())
    token = provider.sign_id_token({"iss": ISSUER, "sub": "s", "aud": "cli-public", "iat": now, "exp": now + 60})
    real_jwk = json.loads(provider.request("GET", ISSUER + "/jwks", endpoint="JWKS endpoint").body)["keys"][0]
    return token, real_jwk


def test_any_jwks_document_gives_the_claims_or_a_pingcli_error(provider, signed):
    token, real_jwk = signed
    metadata = DiscoveryClient(provider).metadata(ISSUER)

    @PROPERTY
    @given(document=jwks_documents(real_jwk))
    @example(document={"keys": [{**real_jwk, "n": "!!"}]})
    @example(document={"keys": [{**real_jwk, "kty": "oct", "k": "c2VjcmV0"}]})
    @example(document={"keys": [{**real_jwk, "alg": "HS256"}]})
    @example(document={"keys": [real_jwk, real_jwk]})
    def check(document):
        body = json.dumps(document).encode()
        validator = JwksIdTokenValidator(JwksServedAs(provider, body))
        with contextlib.suppress(PingcliError):
            claims = validator.validate(token, metadata=metadata, client_id="cli-public", nonce=None,
                                        now=provider.clock.now())
            assert claims["sub"] == "s"  # only the real key can have verified it

    check()


def test_a_jwks_whose_only_key_is_symmetric_cannot_verify_anything(provider, signed):
    token, real_jwk = signed
    metadata = DiscoveryClient(provider).metadata(ISSUER)
    body = json.dumps({"keys": [{"kty": "oct", "kid": real_jwk["kid"], "k": "c2VjcmV0", "alg": "RS256"}]}).encode()

    with pytest.raises(IdTokenInvalid) as raised:
        JwksIdTokenValidator(JwksServedAs(provider, body)).validate(
            token, metadata=metadata, client_id="cli-public", nonce=None, now=provider.clock.now())
    assert raised.value.check == "signature"


# --- What a garbled provider answer is called ---------------------------------------------------------

DOCUMENT = json.dumps({"issuer": ISSUER, "keys": [{"kid": "k", "n": "abc"}], "interval": 5}).encode()


@pytest.mark.parametrize("length", range(1, len(DOCUMENT)))
def test_json_cut_off_anywhere_is_called_truncated(length):
    with pytest.raises(PingcliError) as raised:
        read_json_object(HttpResponse(200, {"content-type": "application/json"}, DOCUMENT[:length]), "token endpoint")
    assert "the token endpoint" in raised.value.message and "truncated" in raised.value.message


@pytest.mark.parametrize("body", [b"<html><h1>Hi</h1></html>", b"   ", b'{"a": 1} trailing', b"\xff\xfe"])
def test_a_body_that_is_not_json_is_not_called_truncated(body):
    with pytest.raises(PingcliError) as raised:
        read_json_object(HttpResponse(200, {"content-type": "text/html"}, body), "token endpoint")
    assert "not JSON (text/html)" in raised.value.message and "truncated" not in raised.value.message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_named_as_one_with_where_it_points(status):
    response = HttpResponse(status, {"location": ISSUER + "/elsewhere"}, b"")
    with pytest.raises(PingcliError) as raised:
        read_json_object(response, "discovery document")
    assert raised.value.message == (
        f"the discovery document sent a response pingcli cannot use: HTTP {status}, a redirect to "
        f"{ISSUER}/elsewhere, which pingcli does not follow"
    )
