"""Signing in with the authorization code grant, against the fake provider."""

from urllib.parse import parse_qs, urlsplit

import pytest

from pingcli.adapters.fakes import MFA_USER
from pingcli.domain.errors import AuthorizationDenied, CallbackPortUnavailable, CallbackTimeout, SignInFailed
from pingcli.domain.settings import GrantType
from pingcli.domain.usecases.login import SignedIn

from .conftest import profile_with


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_person_who_signs_in_in_the_browser_is_stored_with_their_audit_identity(world):
    world.person_signs_in()
    result = world.login().one(profile_with(), profile_with().service("demo"))

    assert isinstance(result, SignedIn)
    assert result.identity.preferred_username == "demo"
    assert result.identity.name == "Demo User"  # completed from userinfo: not in the ID token
    assert result.identity.amr == ("pwd",)
    saved = world.store.saved[-1]
    assert saved.identity.sub == "user-demo" and saved.grant is GrantType.AUTHORIZATION_CODE
    assert saved.tokens.refresh_token in world.provider.refresh_tokens


def test_the_authorization_request_carries_pkce_state_nonce_and_the_bound_port(world):
    world.person_signs_in()
    world.login().one(profile_with(), profile_with().service("demo"))

    sent = query_of(world.browser.opened_urls[0])
    listener = world.listeners.listeners[0]
    assert sent["redirect_uri"] == f"http://127.0.0.1:{listener.port}/callback"
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 32 and len(sent["nonce"]) >= 32
    assert sent["prompt"] == "consent"  # offline_access is requested
    token_form = world.provider.requests_to("/token")[0].form
    assert token_form["redirect_uri"] == sent["redirect_uri"]
    assert listener.closed


def test_stray_requests_do_not_end_the_flow_and_the_real_callback_does(world):
    def person(url):
        port = world.listeners.listeners[-1].port
        for stray in ("/favicon.ico", "/", "/callback?foo=bar", "/callback?state=wrong&code=stolen"):
            world.listeners.deliver(f"http://127.0.0.1:{port}{stray}")
        world.listeners.deliver(world.provider.authorize(url) + "&session_state=X")

    world.browser.on_open = person
    result = world.login().one(profile_with(), profile_with().service("demo"))

    assert isinstance(result, SignedIn)
    statuses = [status for _, status in world.listeners.listeners[0].answered]
    assert statuses == [404, 404, 400, 400, 200]
    assert len(world.provider.requests_to("/token")) == 1


def test_an_error_from_the_provider_ends_the_flow_without_a_token_request(world):
    world.browser.on_open = lambda url: world.listeners.deliver(world.provider.deny(url, "User cancelled <b>é</b>\n"))

    with pytest.raises(AuthorizationDenied) as raised:
        world.login().one(profile_with(), profile_with().service("demo"))

    assert "access_denied: User cancelled <b>é</b>" in raised.value.message
    assert "\n" not in raised.value.message
    assert world.provider.requests_to("/token") == [] and world.store.saved == []


def test_a_taken_port_fails_before_any_browser_opens(world):
    world.listeners.taken.add(7464)
    with pytest.raises(CallbackPortUnavailable) as raised:
        world.login().one(profile_with(), profile_with().service("demo"))
    assert "7464" in raised.value.message and "redirectURIPort" in raised.value.hint
    assert world.browser.opened_urls == [] and world.provider.requests_to("/token") == []


def test_when_no_browser_opens_the_url_is_printed_and_the_flow_still_waits(world):
    world.browser.works = False

    def person_types_the_url():  # the person copies the printed URL into a browser elsewhere on this machine
        url = world.console.lines[0].split("\n")[1].strip()
        world.listeners.deliver(world.provider.authorize(url))

    login = world.login()
    original_wait = world.listeners.bind

    def bind(port, setting):
        listener = original_wait(port, setting)
        real_wait = listener.wait

        def wait(judge, timeout):
            person_types_the_url()
            return real_wait(judge, timeout)

        listener.wait = wait
        return listener

    world.listeners.bind = bind
    result = login.one(profile_with(), profile_with().service("demo"))

    assert isinstance(result, SignedIn)
    assert "browser has been opened" not in world.console.text
    assert "--device-code" in world.console.text


def test_no_callback_within_the_timeout_stores_nothing(world):
    with pytest.raises(CallbackTimeout):
        world.login().one(profile_with(), profile_with().service("demo"), timeout=3)
    assert world.store.saved == [] and world.listeners.bound == set()


def test_a_callback_naming_another_issuer_is_refused(world):
    def person(url):
        redirect = world.provider.authorize(url, include_iss=False)
        world.listeners.deliver(redirect + "&iss=https%3A%2F%2Fevil.example")

    world.browser.on_open = person
    with pytest.raises(SignInFailed, match="RFC 9207"):
        world.login().one(profile_with(), profile_with().service("demo"))
    assert world.provider.requests_to("/token") == []


def test_mfa_required_refuses_a_password_only_sign_in_and_accepts_mfa(world):
    profile = profile_with(**{"service.demo.authentication.requireMFA": True})
    world.person_signs_in()
    with pytest.raises(SignInFailed, match="multi-factor"):
        world.login().one(profile, profile.service("demo"))
    assert world.store.saved == []

    world.person_signs_in(user=MFA_USER)
    result = world.login().one(profile, profile.service("demo"))
    assert result.identity.amr == ("pwd", "otp", "mfa")


def test_every_service_of_the_profile_is_signed_in_in_turn(world):
    profile = profile_with(**{
        "service.second.issuer": "https://idp.example.test",
        "service.second.authentication.authorizationCode.clientID": "cli-public",
        "service.second.authentication.authorizationCode.redirectURIPort": 0,
    })
    world.person_signs_in()
    results = world.login().all(profile)
    assert [r.service for r in results] == ["demo", "second"]
    assert {(s.profile, s.service) for s in world.store.saved} == {("default", "demo"), ("default", "second")}
