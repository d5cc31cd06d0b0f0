"""Tokens that keep working (issue 3): refresh, `auth token --refresh` after a 401, expiry, scopes, logout, status.

Most tests run the command in process (`main`) wired to the shipped fakes, and look at what a person sees
(stdout, stderr, exit code), what is stored, and what the provider received.
"""

from __future__ import annotations

import datetime
import io
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import pytest
from dependency_injector import providers

from pingcli.adapters.fakes import MFA_USER, FakeClock, FakeConfigStore, FakeProvider, FakeSessionStore
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.domain.client_auth import ClientAuth
from pingcli.domain.errors import IdTokenInvalid, StorageUnavailable
from pingcli.domain.provider import HttpResponse
from pingcli.domain.session import login_lock, token_lock
from pingcli.domain.settings import StorageType
from pingcli.domain.tokens import TokenSet
from pingcli.domain.usecases.provider_calls import revoke
from pingcli.domain.usecases.token import RECENT_REFRESH
from pingcli.entrypoints.main import main
from pingcli.entrypoints.render import relative

from .conftest import ISSUER

NOW = 1_800_000_000.0  # FakeClock's start
LOCK = token_lock("default", "demo")
SCOPES = "openid profile email offline_access"
SETTINGS = {
    "service.demo.issuer": ISSUER,
    "service.demo.authentication.authorizationCode.clientID": "cli-public",
    "service.demo.authentication.deviceCode.clientID": "cli-public",
    "auth.storage.type": "file_system",
}


def iso_z(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen
class Ran:
    code: int
    out: str
    err: str

    @property
    def token(self) -> str:
        assert self.code == 0, self.err
        assert self.out.count("\n") == 1 and self.out.endswith("\n"), self.out
        return self.out.strip()

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def config():
    return FakeConfigStore({"default": dict(SETTINGS)})


@pytest.fixture
def stores(world):
    """The store behind each auth.storage.type; all the world's store unless a test puts another in."""
    return {kind: world.store for kind in StorageType}


@pytest.fixture
def pingcli(world, config, stores, tmp_path):
    """The command, in this process, with every port wired to the world's fakes (read at each run)."""

    def run(*argv: str) -> Ran:
        out, err = io.StringIO(), io.StringIO()

        def configure(container):
            container.config_store.override(providers.Object(config))
            world.plug_into(container)
            container.keyring_store.override(providers.Object(stores[StorageType.SECURE_LOCAL]))
            container.file_store.override(providers.Object(stores[StorageType.FILE_SYSTEM]))
            container.memory_store.override(providers.Object(stores[StorageType.NONE]))

        env = {"PINGCLI_CONFIG": str(tmp_path / "config.toml"), "PINGCLI_CACHE_DIR": str(tmp_path / "cache"),
               "PINGCLI_DATA_DIR": str(tmp_path / "data")}
        code = main(list(argv), env, out, err, configure=configure)
        return Ran(code, out.getvalue(), err.getvalue())

    return run


def sign_in(world, pingcli, *argv: str, user=None) -> None:
    world.person_signs_in(**({"user": user} if user else {}))
    login = pingcli("auth", "login", *argv)
    assert login.code == 0, login.err


@pytest.fixture
def signed_in(world, pingcli):
    sign_in(world, pingcli)
    return world


def session(world, profile="default", service="demo"):
    return world.store.sessions[(profile, service)]


def refreshes(provider):
    return [r for r in provider.requests_to("/token") if r.form and r.form.get("grant_type") == "refresh_token"]


def alive(provider, token: str) -> bool:
    """RFC 7662 at the fake provider: does it still honour the token?"""
    answer = provider.request("POST", ISSUER + "/introspect", endpoint="introspection endpoint", form={"token": token})
    return json.loads(answer.body)["active"]


def resource_server_says(provider, token: str) -> int:
    """What a resource server (the provider's userinfo) answers to the token: 200, or 401."""
    return provider.request("GET", ISSUER + "/userinfo", endpoint="userinfo endpoint",
                            headers={"Authorization": f"Bearer {token}"}).status


def used_up(provider, refresh_token: str) -> None:
    """Someone else refreshes with this token first: a rotating provider refuses it from now on."""
    answer = provider.request("POST", ISSUER + "/token", endpoint="token endpoint", form={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "cli-public"})
    assert answer.status == 200


# --- `auth token`: refreshed within the margin, and only then ----------------------------------------------------


@pytest.mark.parametrize("margin, left, refreshed", [
    (None, 61, False), (None, 60, True), ("300", 301, False), ("300", 300, True),
])
def test_auth_token_refreshes_first_only_when_the_token_expires_within_the_margin(signed_in, pingcli, margin, left,
                                                                                   refreshed):
    if margin:
        assert pingcli("config", "set", f"auth.refreshMarginSeconds={margin}").code == 0
    before = session(signed_in).tokens
    signed_in.clock.advance(3600 - left)
    signed_in.provider.requests.clear()

    token = pingcli("auth", "token").token

    assert token == session(signed_in).tokens.access_token
    if refreshed:
        assert token != before.access_token and len(refreshes(signed_in.provider)) == 1
    else:
        assert token == before.access_token and signed_in.provider.requests == []


# --- What a refresh answer changes (RFC 6749 §6) --------------------------------------------------------------


def test_a_refresh_answer_without_a_refresh_token_keeps_the_one_held(signed_in, pingcli):
    signed_in.provider.rotate_refresh_tokens = False
    before = session(signed_in).tokens
    signed_in.clock.advance(3600)

    token = pingcli("auth", "token").token

    after = session(signed_in).tokens
    assert token == after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token
    signed_in.clock.advance(3600)
    assert pingcli("auth", "token").code == 0  # the kept one still works
    assert [r.form["refresh_token"] for r in refreshes(signed_in.provider)] == [before.refresh_token] * 2


def test_a_refresh_answer_with_a_new_refresh_token_replaces_the_old_one_in_the_same_write(signed_in, pingcli):
    before = session(signed_in).tokens
    writes = len(signed_in.store.saved)
    signed_in.clock.advance(3600)

    token = pingcli("auth", "token").token

    after = session(signed_in).tokens
    assert after.refresh_token != before.refresh_token
    assert signed_in.provider.refresh_tokens[after.refresh_token]["active"] is True
    assert alive(signed_in.provider, before.refresh_token) is False  # rotated: only the new one is any use
    [write] = signed_in.store.saved[writes:]
    assert write.tokens.access_token == token and write.tokens.refresh_token == after.refresh_token
    signed_in.clock.advance(3600)
    assert pingcli("auth", "token").code == 0
    assert refreshes(signed_in.provider)[-1].form["refresh_token"] == after.refresh_token


def test_a_refused_refresh_token_means_session_expired_and_status_still_knows_who(signed_in, pingcli):
    used_up(signed_in.provider, session(signed_in).tokens.refresh_token)
    signed_in.clock.advance(3600)

    refused = pingcli("auth", "token")

    assert refused.code == 4 and refused.out == ""
    assert refused.err == ("pingcli: the session for demo has expired: the provider refused the refresh token\n"
                           "  run pingcli auth login --service demo\n")
    kept = session(signed_in)
    assert kept.expired and kept.identity.preferred_username == "demo"
    status = pingcli("auth", "status")
    assert status.code == 4
    assert status.out.splitlines()[1:4] == [
        "demo: session expired: the provider refused the refresh token",
        "  sign in again: pingcli auth login --service demo",
        "  who      Demo User (demo) <demo@example.test>",
    ]
    assert "; the provider refused the refresh token\n" in status.out
    [entry] = pingcli("auth", "status", "--output", "json").json()["services"]
    assert entry["state"] == "expired" and entry["signed_in"] is False
    assert entry["refresh_token_refused"] is True and entry["has_refresh_token"] is False
    assert entry["identity"]["sub"] == "user-demo"
    signed_in.provider.requests.clear()
    again = pingcli("auth", "token", "--refresh")
    assert again.code == 4 and signed_in.provider.requests == []  # known refused: not sent again


def test_after_a_refused_refresh_token_logout_and_login_still_work(signed_in, pingcli):
    used_up(signed_in.provider, session(signed_in).tokens.refresh_token)
    signed_in.clock.advance(3600)
    assert pingcli("auth", "token").code == 4

    sign_in(signed_in, pingcli)

    assert not session(signed_in).expired
    assert pingcli("auth", "status").code == 0
    assert pingcli("auth", "token").code == 0
    assert pingcli("auth", "logout").code == 0
    assert ("default", "demo") not in signed_in.store.sessions


def test_a_provider_failing_during_a_refresh_does_not_end_the_session(signed_in, pingcli):
    signed_in.provider.queue_response("/token", HttpResponse(503, {"content-type": "text/html"}, b"<h1>busy</h1>"))
    signed_in.clock.advance(3600)

    failed = pingcli("auth", "token")

    assert failed.code == 6 and failed.out == "" and "token endpoint" in failed.err
    assert not session(signed_in).expired
    assert pingcli("auth", "token").code == 0


# --- expires_in as providers send it -------------------------------------------------------------------------

LIFETIMES = [(3600, 3600), ("3600", 3600), (3600.0, 3600), (None, None), ("abc", None), (-5, None),
             (1e300, None), (10**400, None)]


@pytest.mark.parametrize("sent, lifetime", LIFETIMES)
def test_expires_in_at_sign_in_never_crashes_and_an_unusable_one_is_shown_as_unknown(world, pingcli, sent,
                                                                                      lifetime):
    world.provider.access_token_lifetime = sent  # None: absent from the answer
    sign_in(world, pingcli)

    token = pingcli("auth", "token", "--output", "json")
    status = pingcli("auth", "status")
    entry = pingcli("auth", "status", "--output", "json").json()["services"][0]

    expected = None if lifetime is None else iso_z(NOW + lifetime)
    assert token.code == 0 and token.json()["expires_at"] == expected
    assert status.code == 0 and entry["access_token_expires_at"] == expected
    if lifetime is None:
        assert "access token expiry unknown; refresh token held" in status.out
    else:
        assert f"access token expires in 60 min ({expected}); refresh token held" in status.out


@pytest.mark.parametrize("sent, lifetime", LIFETIMES)
def test_expires_in_in_a_refresh_answer_never_crashes_either(signed_in, pingcli, sent, lifetime):
    signed_in.provider.access_token_lifetime = sent
    signed_in.clock.advance(3600)

    token = pingcli("auth", "token", "--output", "json")

    assert token.code == 0, token.err
    assert token.json()["expires_at"] == (None if lifetime is None else iso_z(NOW + 3600 + lifetime))
    assert len(refreshes(signed_in.provider)) == 1


def test_with_an_unknown_expiry_the_token_is_used_until_a_401_and_then_refreshed_once(world, pingcli):
    world.provider.access_token_lifetime = None
    sign_in(world, pingcli)
    first = session(world).tokens.access_token
    world.clock.advance(10 * 3600)
    world.provider.requests.clear()

    assert pingcli("auth", "token").token == first
    assert world.provider.requests == []  # no expiry known: no reason to refresh
    world.provider.reject_access_token(first)
    assert resource_server_says(world.provider, first) == 401

    renewed = pingcli("auth", "token", "--refresh").token

    assert renewed != first and resource_server_says(world.provider, renewed) == 200
    assert len(refreshes(world.provider)) == 1


def test_expiry_counts_from_local_receive_time_so_a_wrong_local_clock_does_not_make_tokens_look_expired(world,
                                                                                                   pingcli):
    # This machine's clock is 3590 s ahead of the provider's: the provider's own idea of the expiry (its time
    # plus an hour) would be 10 s away here, and the token would be refreshed at once.
    world.provider = FakeProvider(ISSUER, FakeClock(NOW - 3590))
    sign_in(world, pingcli)
    world.provider.requests.clear()

    token = pingcli("auth", "token", "--output", "json")

    assert token.json()["expires_at"] == iso_z(NOW + 3600)
    assert world.provider.requests == []


# --- Granted scope (RFC 6749 §5.1) ---------------------------------------------------------------------------


def test_a_granted_scope_that_differs_from_the_request_is_stored_and_shown(world, pingcli):
    world.provider.granted_scope = "openid offline_access"

    sign_in(world, pingcli)

    assert parse_qs(urlsplit(world.browser.opened_urls[0]).query)["scope"] == [SCOPES]
    assert session(world).tokens.scope == ("openid", "offline_access")
    assert pingcli("auth", "token", "--output", "json").json()["scope"] == "openid offline_access"


def test_an_absent_scope_means_as_requested(world, pingcli):
    world.provider.granted_scope = ""  # the token response carries no scope

    sign_in(world, pingcli)

    assert pingcli("auth", "token", "--output", "json").json()["scope"] == SCOPES


@pytest.mark.parametrize("at_refresh, stored", [("", "openid offline_access"), ("openid", "openid")])
def test_a_refresh_answer_keeps_the_granted_scope_unless_it_names_another(world, pingcli, at_refresh, stored):
    world.provider.granted_scope = "openid offline_access"
    sign_in(world, pingcli)
    world.provider.granted_scope = at_refresh
    world.clock.advance(3600)

    token = pingcli("auth", "token", "--output", "json")

    assert len(refreshes(world.provider)) == 1
    assert token.json()["scope"] == stored and session(world).tokens.scope == tuple(stored.split())


# --- `auth token --refresh` after a 401 from a resource server -----------------------------------------------


def test_after_a_401_auth_token_refresh_gets_a_token_the_resource_server_accepts(signed_in, pingcli):
    signed_in.clock.advance(600)  # the stored expiry says it has 50 minutes left
    refused = session(signed_in).tokens.access_token
    signed_in.provider.reject_access_token(refused)
    assert pingcli("auth", "token").token == refused  # without --refresh only the expiry counts

    renewed = pingcli("auth", "token", "--refresh").token

    assert renewed != refused and renewed == session(signed_in).tokens.access_token
    assert resource_server_says(signed_in.provider, renewed) == 200
    assert len(refreshes(signed_in.provider)) == 1


@pytest.mark.parametrize("clock_before, clock_after", [
    (0, 0),
    (0, RECENT_REFRESH + 5),  # this one gets the lock long after the refresh
    (-60, 0),  # the system clock is set back a minute meanwhile: the refresh looks older than the 401
])
def test_callers_that_saw_the_same_401_cause_one_refresh_whoever_gets_the_lock_first(signed_in, pingcli,
                                                                                     clock_before, clock_after):
    signed_in.clock.advance(600)
    refused = session(signed_in).tokens.access_token
    signed_in.provider.reject_access_token(refused)
    other = []

    def other_process() -> None:
        # It saw the same 401 and took the lock first.
        signed_in.clock.advance(clock_before)
        other.append(pingcli("auth", "token", "--refresh"))
        signed_in.clock.advance(clock_after)

    signed_in.locks.another_process_holds(LOCK, other_process)

    mine = pingcli("auth", "token", "--refresh").token

    assert signed_in.locks.waited == [LOCK]
    assert other[0].token == mine != refused
    assert len(refreshes(signed_in.provider)) == 1


def test_a_caller_that_asks_just_after_the_refresh_gets_that_token_without_another(signed_in, pingcli):
    signed_in.clock.advance(600)
    signed_in.provider.reject_access_token(session(signed_in).tokens.access_token)
    first = pingcli("auth", "token", "--refresh").token
    signed_in.clock.advance(RECENT_REFRESH - 1)

    late = pingcli("auth", "token", "--refresh").token  # it saw the 401 on the old token, and reads the new one

    assert late == first and len(refreshes(signed_in.provider)) == 1


def test_a_401_on_a_token_older_than_the_recent_window_refreshes_again(signed_in, pingcli):
    signed_in.clock.advance(600)
    signed_in.provider.reject_access_token(session(signed_in).tokens.access_token)
    first = pingcli("auth", "token", "--refresh").token
    signed_in.clock.advance(RECENT_REFRESH + 1)
    signed_in.provider.reject_access_token(first)

    second = pingcli("auth", "token", "--refresh").token

    assert second not in (first, "") and resource_server_says(signed_in.provider, second) == 200
    assert len(refreshes(signed_in.provider)) == 2


def test_a_401_with_no_refresh_token_says_to_sign_in_again(world, config, pingcli):
    config.profiles["default"]["service.demo.authentication.authorizationCode.scopes"] = "openid profile email"
    sign_in(world, pingcli)
    assert session(world).tokens.refresh_token is None
    world.clock.advance(600)
    world.provider.reject_access_token(session(world).tokens.access_token)
    world.provider.requests.clear()

    refused = pingcli("auth", "token", "--refresh")

    assert refused.code == 4 and refused.out == ""
    assert "the access token was refused (HTTP 401) and there is no refresh token" in refused.err
    assert "run pingcli auth login --service demo" in refused.err
    assert world.provider.requests == []


# --- Many processes: locks ----------------------------------------------------------------------------------


def test_a_second_login_for_a_service_already_signing_in_waits_for_it_and_opens_no_second_tab(world, pingcli):
    world.person_signs_in()
    other = []
    world.locks.another_process_holds(login_lock("default", "demo"), lambda: other.append(pingcli("auth", "login")))

    login = pingcli("auth", "login")

    assert other[0].code == 0 and login.code == 0, login.err
    assert "Another pingcli is signing in to demo; waiting for it to finish" in world.console.text
    assert login.out.startswith("Signed in to demo as Demo User (demo) <demo@example.test>\n")
    assert len(world.browser.opened_urls) == 1
    assert len(world.provider.requests_to("/token")) == 1
    assert len(world.store.saved) == 1


def test_a_second_login_whose_first_failed_signs_in_itself(world, pingcli):
    world.person_signs_in()
    world.locks.another_process_holds(login_lock("default", "demo"), lambda: None)  # it stored nothing

    login = pingcli("auth", "login")

    assert login.code == 0, login.err
    assert len(world.browser.opened_urls) == 1 and ("default", "demo") in world.store.sessions


@pytest.mark.parametrize("argv", [("auth", "token"), ("auth", "token", "--refresh"), ("auth", "logout")])
def test_a_token_lock_held_too_long_ends_with_a_clear_message_and_changes_nothing(signed_in, pingcli, argv):
    signed_in.clock.advance(3600)
    stored = session(signed_in)
    signed_in.locks.busy.add(LOCK)
    signed_in.provider.requests.clear()

    stuck = pingcli(*argv)

    assert stuck.code == 7 and stuck.out == ""
    assert stuck.err == ("pingcli: another pingcli process has been using tokens/default/demo for more than 60 s\n"
                         "  wait for it to finish or stop it, then try again\n")
    assert session(signed_in) == stored and signed_in.provider.requests_to("/token") == []
    assert signed_in.provider.requests_to("/revoke") == []


# --- ID token times: leeway and clock skew -------------------------------------------------------------------


def iso_offset(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds")


def test_a_provider_clock_ahead_within_the_leeway_still_signs_in(world, pingcli):
    world.provider = FakeProvider(ISSUER, FakeClock(NOW + 119))  # ID token iat 119 s in this machine's future

    sign_in(world, pingcli)

    assert pingcli("auth", "status").code == 0


def test_a_provider_clock_ahead_beyond_the_leeway_is_a_clock_skew_error_showing_both_times(world, pingcli):
    world.provider = FakeProvider(ISSUER, FakeClock(NOW + 300))
    world.person_signs_in()

    login = pingcli("auth", "login")

    assert login.code == 5 and "Traceback" not in login.err
    assert "clock skew" in login.err
    assert iso_offset(NOW + 300) in login.err and iso_offset(NOW) in login.err
    assert world.store.saved == []


@pytest.fixture
def validation(world):
    validator = JwksIdTokenValidator(world.provider)
    metadata = DiscoveryClient(world.provider).metadata(ISSUER)

    def validate(**claims):
        token = world.provider.sign_id_token({"iss": ISSUER, "sub": "user-demo", "aud": "cli-public", "iat": NOW,
                                              "exp": NOW + 3600, **claims})
        return validator.validate(token, metadata=metadata, client_id="cli-public", nonce=None, now=NOW)

    return validate


def test_an_id_token_not_valid_until_within_the_leeway_is_accepted(validation):
    assert validation(nbf=NOW + 120)["nbf"] == NOW + 120


def test_an_id_token_not_valid_until_beyond_the_leeway_names_clock_skew_and_both_times(validation):
    with pytest.raises(IdTokenInvalid) as refused:
        validation(nbf=NOW + 121)
    assert refused.value.check == "not-before"
    assert "clock skew" in refused.value.message
    assert iso_offset(NOW + 121) in refused.value.message and iso_offset(NOW) in refused.value.message


def test_an_id_token_issued_exactly_at_the_leeway_is_accepted_and_a_second_later_is_not(validation):
    assert validation(iat=NOW + 120)["iat"] == NOW + 120
    with pytest.raises(IdTokenInvalid, match="clock skew"):
        validation(iat=NOW + 121)


# --- Logout: revoke (RFC 7009), then remove locally whatever happened -----------------------------------------


def test_logout_revokes_the_refresh_token_then_the_access_token_and_removes_the_session(signed_in, pingcli):
    tokens = session(signed_in).tokens
    signed_in.provider.requests.clear()

    logout = pingcli("auth", "logout")

    assert logout.code == 0 and logout.err == ""
    assert logout.out == "demo: signed out (tokens revoked at the provider and removed here)\n"
    sent = [(r.form["token"], r.form["token_type_hint"]) for r in signed_in.provider.requests_to("/revoke")]
    assert sent == [(tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")]
    assert not alive(signed_in.provider, tokens.refresh_token) and not alive(signed_in.provider, tokens.access_token)
    assert ("default", "demo") not in signed_in.store.sessions
    assert pingcli("auth", "status").code == 3


def test_when_revoking_the_refresh_token_fails_the_access_token_is_still_revoked_and_the_session_removed(
    signed_in, pingcli
):
    tokens = session(signed_in).tokens
    signed_in.provider.queue_response("/revoke", HttpResponse(503, {"content-type": "text/plain"}, b"down"))

    logout = pingcli("auth", "logout")

    assert logout.code == 0
    assert logout.out == "demo: signed out here (removed locally), but not revoked at the provider\n"
    assert logout.err.startswith("pingcli: warning: demo: revocation at the provider failed: refresh token: the "
                                 "revocation endpoint sent a response pingcli cannot use: HTTP 503; ")
    assert "the tokens were removed here and stay valid there until they expire" in logout.err
    hints = [r.form["token_type_hint"] for r in signed_in.provider.requests_to("/revoke")]
    assert hints == ["refresh_token", "access_token"]
    assert alive(signed_in.provider, tokens.refresh_token) is True
    assert alive(signed_in.provider, tokens.access_token) is False
    assert ("default", "demo") not in signed_in.store.sessions


def test_when_the_provider_cannot_be_asked_logout_warns_and_still_removes_the_session(signed_in, pingcli):
    signed_in.provider.queue_response("/.well-known/openid-configuration",
                                      HttpResponse(500, {"content-type": "text/html"}, b"<h1>oops</h1>"))

    logout = pingcli("auth", "logout", "--output", "json")

    assert logout.code == 0
    [entry] = logout.json()["services"]
    assert entry["removed"] is True and entry["revocation"] == "failed"
    assert "the discovery document" in entry["revocation_error"]
    assert "pingcli: warning: demo: revocation at the provider failed" in logout.err
    assert signed_in.provider.requests_to("/revoke") == []
    assert ("default", "demo") not in signed_in.store.sessions


def test_without_a_revocation_endpoint_logout_says_removed_locally_only(signed_in, pingcli):
    signed_in.provider.offers_revocation = False

    logout = pingcli("auth", "logout")

    assert logout.code == 0 and logout.err == ""
    assert logout.out == "demo: signed out; removed locally only (the provider offers no revocation)\n"
    assert signed_in.provider.requests_to("/revoke") == []
    assert ("default", "demo") not in signed_in.store.sessions


def test_logout_all_signs_out_of_every_service_of_every_profile(world, config, pingcli):
    config.profiles["work"] = {**{k.replace(".demo.", ".wiki."): v for k, v in SETTINGS.items()},
                               **{k.replace(".demo.", ".ci."): v for k, v in SETTINGS.items()}}
    sign_in(world, pingcli)
    sign_in(world, pingcli, "--profile", "work")
    assert set(world.store.sessions) == {("default", "demo"), ("work", "wiki"), ("work", "ci")}
    held = {key: s.tokens for key, s in world.store.sessions.items()}

    logout = pingcli("auth", "logout", "--all")

    assert logout.code == 0, logout.err
    assert logout.out.splitlines() == [
        f"{name}: signed out (tokens revoked at the provider and removed here)"
        for name in ("demo (profile default)", "ci (profile work)", "wiki (profile work)")
    ]
    assert world.store.sessions == {}
    for tokens in held.values():
        assert not alive(world.provider, tokens.refresh_token) and not alive(world.provider, tokens.access_token)


def test_logout_all_goes_on_past_a_profile_whose_store_is_unavailable_and_says_what_it_did(world, config, stores,
                                                                                          pingcli):
    sign_in(world, pingcli)
    config.profiles["aaa"] = {**SETTINGS, "auth.storage.type": "secure_local"}
    stores[StorageType.SECURE_LOCAL] = FakeSessionStore(
        "Secret Service", fail_with=StorageUnavailable("Secret Service", "the keyring is locked", "unlock it"))

    logout = pingcli("auth", "logout", "--all")

    assert logout.code == 7
    assert logout.out == "demo (profile default): signed out (tokens revoked at the provider and removed here)\n"
    assert logout.err == "pingcli: profile aaa: the token store (Secret Service) is not usable: the keyring is locked\n" \
                         "  unlock it\n"
    assert world.store.sessions == {}


def test_logout_waits_for_a_refresh_in_progress_and_revokes_what_that_refresh_wrote(signed_in, pingcli):
    signed_in.clock.advance(3600)
    refreshed = []
    signed_in.locks.another_process_holds(LOCK, lambda: refreshed.append(pingcli("auth", "token")))

    logout = pingcli("auth", "logout")

    assert logout.code == 0 and signed_in.locks.waited == [LOCK]
    new_access = refreshed[0].token
    [refresh] = refreshes(signed_in.provider)
    revoked = [r.form["token"] for r in signed_in.provider.requests_to("/revoke")]
    assert new_access in revoked and refresh.form["refresh_token"] not in revoked  # the new pair, not the old
    assert not alive(signed_in.provider, new_access)
    assert all(not record["active"] for record in signed_in.provider.refresh_tokens.values())
    assert ("default", "demo") not in signed_in.store.sessions


# --- revoke(), the request itself ----------------------------------------------------------------------------


@pytest.fixture
def tokens():
    return TokenSet("the-access-token", "Bearer", NOW, NOW + 3600, ("openid",), refresh_token="the-refresh-token")


def test_revoke_without_an_endpoint_sends_nothing(world, tokens):
    world.provider.offers_revocation = False
    metadata = DiscoveryClient(world.provider).metadata(ISSUER)
    world.provider.requests.clear()

    assert revoke(world.provider, metadata, tokens, ClientAuth("cli-public")) == "no_endpoint"
    assert world.provider.requests == []


def test_revoke_never_raises_and_sends_nothing_more_once_the_endpoint_cannot_be_reached(world, tokens):
    metadata = attrs.evolve(DiscoveryClient(world.provider).metadata(ISSUER),
                            revocation_endpoint="https://elsewhere.example.test/revoke")
    world.provider.requests.clear()

    result = revoke(world.provider, metadata, tokens, ClientAuth("cli-public"))

    assert result.startswith("failed: refresh token: cannot reach the revocation endpoint at https://elsewhere")
    assert result.endswith("; access token: not sent, the provider being unreachable")
    assert [r.form["token_type_hint"] for r in world.provider.requests] == ["refresh_token"]  # one timeout, not two
    assert "the-access-token" not in result and "the-refresh-token" not in result


def test_revoke_takes_any_200_as_revoked_whatever_its_body(world, tokens):
    metadata = DiscoveryClient(world.provider).metadata(ISSUER)
    for _ in range(2):
        world.provider.queue_response("/revoke", HttpResponse(200, {"content-type": "text/html"}, b"<p>ok?"))

    assert revoke(world.provider, metadata, tokens, ClientAuth("cli-public")) == "revoked"  # RFC 7009 §2.2


def test_revoke_names_the_providers_error_and_still_tries_the_access_token(world, tokens):
    metadata = DiscoveryClient(world.provider).metadata(ISSUER)
    world.provider.queue_response("/revoke", HttpResponse(
        400, {"content-type": "application/json"}, b'{"error": "unsupported_token_type"}'))

    result = revoke(world.provider, metadata, tokens, ClientAuth("cli-public"))

    assert result.startswith("failed: refresh token: ") and "unsupported_token_type" in result
    assert "access token" not in result
    assert world.provider.revoked == ["the-access-token"]


def test_revoke_sends_only_the_access_token_when_no_refresh_token_is_held(world, tokens):
    metadata = DiscoveryClient(world.provider).metadata(ISSUER)

    result = revoke(world.provider, metadata, attrs.evolve(tokens, refresh_token=None), ClientAuth("cli-public"))

    assert result == "revoked"
    assert [(r.form["token"], r.form["token_type_hint"]) for r in world.provider.requests_to("/revoke")] == [
        ("the-access-token", "access_token")]


# --- `auth status` -------------------------------------------------------------------------------------------


def test_status_shows_who_issuer_grant_expiry_refresh_token_storage_and_how_they_authenticated(world, pingcli):
    sign_in(world, pingcli, user=MFA_USER)
    world.clock.advance(600)

    status = pingcli("auth", "status")

    assert status.code == 0, status.err
    assert status.out == "\n".join([
        "Profile default",
        "demo: signed in as Mia Factor (mfa) <mfa@example.test>",
        f"  issuer   {ISSUER}",
        "  subject  user-mfa",
        f"  authenticated by pwd, otp, mfa (multi-factor); acr urn:pingcli:acr:mfa at {iso_z(NOW)}",
        "  grant    authorization_code",
        f"  access token expires in 50 min ({iso_z(NOW + 3600)}); refresh token held",
        "  storage  fake store",
    ]) + "\n"
    [entry] = pingcli("auth", "status", "--output", "json").json()["services"]
    assert entry == {
        "service": "demo", "signed_in": True, "state": "signed_in", "storage": "fake store", "issuer": ISSUER,
        "grant": "authorization_code", "access_token_expires_at": iso_z(NOW + 3600), "has_refresh_token": True,
        "refresh_token_refused": False, "reason": None,
        "identity": {"sub": "user-mfa", "issuer": ISSUER, "preferred_username": "mfa", "name": "Mia Factor",
                     "email": "mfa@example.test", "amr": ["pwd", "otp", "mfa"], "acr": "urn:pingcli:acr:mfa",
                     "auth_time": iso_z(NOW)},
    }


def test_status_exits_0_only_when_every_service_of_the_profile_is_signed_in(world, config, pingcli):
    config.profiles["default"].update({k.replace(".demo.", ".wiki."): v for k, v in SETTINGS.items()})
    sign_in(world, pingcli, "--service", "demo")

    partly = pingcli("auth", "status")

    assert partly.code == 3
    assert "wiki: not signed in (run: pingcli auth login --service wiki)" in partly.out
    assert pingcli("auth", "status", "--service", "demo").code == 0
    sign_in(world, pingcli, "--service", "wiki")
    assert pingcli("auth", "status").code == 0


def test_with_several_services_token_and_logout_act_on_the_one_named(world, config, pingcli):
    config.profiles["default"].update({k.replace(".demo.", ".wiki."): v for k, v in SETTINGS.items()})
    sign_in(world, pingcli)
    demo, wiki = session(world).tokens, session(world, service="wiki").tokens

    unnamed = pingcli("auth", "token")
    named = pingcli("auth", "token", "--service", "wiki").token
    logout = pingcli("auth", "logout", "--service", "wiki")

    assert unnamed.code == 2 and unnamed.out == "" and "pingcli auth token --service NAME" in unnamed.err
    assert named == wiki.access_token
    assert logout.out == "wiki: signed out (tokens revoked at the provider and removed here)\n"
    assert set(world.store.sessions) == {("default", "demo")}
    assert alive(world.provider, demo.refresh_token) and not alive(world.provider, wiki.refresh_token)


def test_status_without_services_is_not_signed_in(world, config, pingcli):
    config.profiles["default"] = {"auth.storage.type": "file_system"}

    status = pingcli("auth", "status")

    assert status.code == 3 and "has no services" in status.out


def test_status_never_refreshes_signs_in_or_takes_a_lock(signed_in, pingcli):
    signed_in.clock.advance(2 * 3600)  # the access token expired an hour ago; a refresh token is held
    signed_in.provider.requests.clear()
    writes, locks, opened = len(signed_in.store.saved), list(signed_in.locks.held), list(signed_in.browser.opened_urls)

    status = pingcli("auth", "status")

    assert status.code == 0
    assert f"access token expired 60 min ago ({iso_z(NOW + 3600)}); refresh token held" in status.out
    assert signed_in.provider.requests == []
    assert len(signed_in.store.saved) == writes and signed_in.locks.held == locks
    assert signed_in.browser.opened_urls == opened


def test_status_with_storage_none_never_signs_in(world, config, pingcli):
    config.profiles["default"]["auth.storage.type"] = "none"
    world.person_signs_in()

    status = pingcli("auth", "status")

    assert status.code == 3 and "demo: not signed in" in status.out
    assert world.browser.opened_urls == [] and world.provider.requests == []


def test_status_says_just_now_at_the_moment_of_expiry(signed_in, pingcli):
    signed_in.clock.advance(3600)
    assert f"access token expired just now ({iso_z(NOW + 3600)})" in pingcli("auth", "status").out


@pytest.mark.parametrize("seconds, text", [
    (0, "just now"), (0.999, "just now"), (-0.999, "just now"), (1, "in 1 s"), (-1, "1 s ago"),
    (89, "in 89 s"), (90, "in 2 min"), (-3600, "60 min ago"), (5400, "in 2 h"), (2 * 86400, "in 2 days"),
])
def test_relative_times(seconds, text):
    assert relative(seconds) == text


# --- A new user's findings: sessions the profile no longer names, refresh tokens used up, storage none, MFA -------

OTHER_ISSUER = "https://idp2.example.test"


def test_after_the_issuer_changes_the_old_session_is_not_used_by_token_or_status(signed_in, config, pingcli):
    config.profiles["default"]["service.demo.issuer"] = OTHER_ISSUER
    signed_in.provider.requests.clear()

    for argv in (("auth", "token"), ("auth", "token", "--refresh")):
        refused = pingcli(*argv)

        assert refused.code == 3 and refused.out == ""
        assert refused.err == (f"pingcli: not signed in to demo: the stored session is for issuer {ISSUER}, "
                               f"but the profile names {OTHER_ISSUER}\n"
                               "  run pingcli auth login --service demo\n")
    signed_in.clock.advance(3600)  # expired: still no refresh at the old issuer
    assert pingcli("auth", "token").code == 3
    assert signed_in.provider.requests == []

    status = pingcli("auth", "status")
    assert status.code == 3
    assert status.out.splitlines()[1:4] == [
        f"demo: not signed in: the stored session is for issuer {ISSUER}, but the profile names {OTHER_ISSUER}",
        "  sign in again: pingcli auth login --service demo",
        "  who      Demo User (demo) <demo@example.test>",
    ]
    [entry] = pingcli("auth", "status", "--output", "json").json()["services"]
    assert entry["state"] == "other_issuer" and entry["signed_in"] is False and entry["issuer"] == ISSUER
    assert entry["reason"] == f"the stored session is for issuer {ISSUER}, but the profile names {OTHER_ISSUER}"


def test_after_the_client_id_changes_the_old_session_is_not_used(signed_in, config, pingcli):
    config.profiles["default"]["service.demo.authentication.authorizationCode.clientID"] = "cli-other"

    refused = pingcli("auth", "token")

    assert refused.code == 3 and refused.out == ""
    assert ("the stored session is for client ID cli-public, but the profile names cli-other "
            "(authorizationCode.clientID)") in refused.err
    [entry] = pingcli("auth", "status", "--output", "json").json()["services"]
    assert entry["state"] == "other_client" and entry["signed_in"] is False


def test_logout_of_a_session_for_the_old_issuer_revokes_it_there_and_removes_it(signed_in, config, pingcli):
    tokens = session(signed_in).tokens
    config.profiles["default"]["service.demo.issuer"] = OTHER_ISSUER  # the fake provider does not answer there

    logout = pingcli("auth", "logout")

    assert logout.code == 0 and logout.err == ""
    assert logout.out == "demo: signed out (tokens revoked at the provider and removed here)\n"
    assert not alive(signed_in.provider, tokens.refresh_token) and not alive(signed_in.provider, tokens.access_token)
    assert ("default", "demo") not in signed_in.store.sessions


FULL_DISK = StorageUnavailable("file store /data", "cannot write /data/default/demo.json: the disk is full",
                               "free some disk space, or use another store")


def test_a_refresh_whose_new_tokens_cannot_be_kept_says_so_revokes_them_and_exits_7(signed_in, pingcli):
    stored = session(signed_in)
    signed_in.clock.advance(3600)
    signed_in.store.refuse_writes = FULL_DISK

    refused = pingcli("auth", "token")

    assert refused.code == 7 and refused.out == ""
    assert refused.err == (
        "pingcli: the provider issued new tokens for demo, but they could not be kept: the token store "
        "(file store /data) is not usable: cannot write /data/default/demo.json: the disk is full; the stored "
        "session, whose refresh token this refresh used up, was removed: pingcli is no longer signed in to demo; "
        "the new tokens were revoked at the provider\n"
        "  free some disk space, or use another store; then sign in again: pingcli auth login --service demo\n")
    [refresh] = refreshes(signed_in.provider)
    assert refresh.form["refresh_token"] == stored.tokens.refresh_token
    new_refresh = [t for t in signed_in.provider.refresh_tokens if t != stored.tokens.refresh_token]
    new_access = [t for t in signed_in.provider.access_tokens if t != stored.tokens.access_token]
    assert len(new_refresh) == 1 and len(new_access) == 1
    revoked = [(r.form["token"], r.form["token_type_hint"]) for r in signed_in.provider.requests_to("/revoke")]
    assert revoked == [(new_refresh[0], "refresh_token"), (new_access[0], "access_token")]
    assert not alive(signed_in.provider, new_refresh[0]) and not alive(signed_in.provider, new_access[0])
    assert ("default", "demo") not in signed_in.store.sessions and signed_in.store.saved == [stored]  # no write
    assert signed_in.store.deleted == [("default", "demo")]  # removed (an unlink works on a full disk), not rewritten
    assert not any(t in refused.err for t in new_refresh + new_access)


def test_a_refresh_that_rotates_nothing_and_cannot_be_kept_leaves_the_stored_refresh_token_alone(signed_in, pingcli):
    signed_in.provider.rotate_refresh_tokens = False
    stored = session(signed_in)
    signed_in.clock.advance(3600)
    signed_in.store.refuse_writes = FULL_DISK

    refused = pingcli("auth", "token")

    assert refused.code == 7 and refused.out == ""
    assert refused.err.startswith("pingcli: the provider issued a new access token for demo, but it could not be "
                                  "kept: the token store (file store /data) is not usable: ")
    assert "the stored session still holds its refresh token; the new access token was revoked" in refused.err
    assert [r.form["token_type_hint"] for r in signed_in.provider.requests_to("/revoke")] == ["access_token"]
    assert alive(signed_in.provider, stored.tokens.refresh_token)
    signed_in.store.refuse_writes = None
    assert pingcli("auth", "token").code == 0  # once the disk has room, the stored session works


def test_with_storage_none_login_revokes_the_tokens_after_showing_who_signed_in(world, config, pingcli):
    config.profiles["default"]["auth.storage.type"] = "none"
    world.person_signs_in()

    login = pingcli("auth", "login")

    assert login.code == 0, login.err
    assert login.out == (
        "Signed in to demo as Demo User (demo) <demo@example.test>\n"
        f"  issuer {ISSUER}, subject user-demo, authenticated by pwd; acr urn:pingcli:acr:pwd\n"
        "  tokens were not stored (auth.storage.type=none); they were revoked at the provider (refresh token, "
        "then access token), so none of them is valid any more\n")
    assert world.provider.requests_to("/userinfo") and world.provider.requests[-1].path == "/revoke"
    revoked = [r.form["token_type_hint"] for r in world.provider.requests_to("/revoke")]
    assert revoked == ["refresh_token", "access_token"]
    tokens = [*world.provider.refresh_tokens, *world.provider.access_tokens]
    assert len(tokens) == 2 and not any(alive(world.provider, t) for t in tokens)
    assert pingcli("auth", "login", "--output", "json").json()["services"][0]["revocation"] == "revoked"


def test_with_storage_none_token_asks_for_no_refresh_token_and_says_how_long_the_printed_one_lasts(world, config,
                                                                                                   pingcli):
    config.profiles["default"]["auth.storage.type"] = "none"
    world.person_signs_in()

    token = pingcli("auth", "token")

    printed = token.token
    [authorization] = world.browser.opened_urls
    assert "offline_access" not in parse_qs(urlsplit(authorization).query)["scope"][0].split()
    assert world.provider.refresh_tokens == {}  # nothing long-lived was issued, so nothing is left valid unseen
    assert world.provider.requests_to("/revoke") == [] and alive(world.provider, printed)
    assert token.err.endswith(
        "pingcli: demo: auth.storage.type=none keeps nothing: no refresh token was asked for or issued; the access "
        f"token printed stays valid until {iso_z(NOW + 3600)}\n")


class GrantsOfflineAccessUnasked(FakeProvider):
    """A provider that hands out a refresh token whatever the scope asked for."""

    def authorize(self, authorization_url, **kwargs):
        parts = urlsplit(authorization_url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query.update(scope=query["scope"] + " offline_access", prompt="consent")
        return super().authorize(parts._replace(query=urlencode(query)).geturl(), **kwargs)


def test_with_storage_none_a_refresh_token_issued_unasked_is_left_valid_and_said_so(world, config, pingcli):
    config.profiles["default"]["auth.storage.type"] = "none"
    world.provider = GrantsOfflineAccessUnasked(ISSUER, world.clock)
    world.person_signs_in()

    token = pingcli("auth", "token")

    printed = token.token
    [refresh] = world.provider.refresh_tokens
    assert world.provider.requests_to("/revoke") == []  # revoking it would end the printed token at most providers
    assert alive(world.provider, printed) and alive(world.provider, refresh)
    assert ("the provider issued a refresh token unasked; it was not revoked, as at most providers that would also "
            "end the access token printed, and it stays valid there until it expires; the access token printed "
            f"stays valid until {iso_z(NOW + 3600)}\n") in token.err


def test_with_storage_none_and_no_revocation_login_says_the_tokens_stay_valid(world, config, pingcli):
    config.profiles["default"]["auth.storage.type"] = "none"
    world.provider.offers_revocation = False
    world.person_signs_in()

    login = pingcli("auth", "login")

    assert login.code == 0
    assert login.out.endswith("  tokens were not stored (auth.storage.type=none); the provider offers no revocation, "
                              "so they stay valid there until they expire\n")


def test_status_with_storage_none_says_nothing_is_kept_and_that_token_signs_in_each_time(world, config, pingcli):
    config.profiles["default"]["auth.storage.type"] = "none"

    status = pingcli("auth", "status")

    assert status.code == 3
    assert "pingcli auth login" not in status.out
    assert status.out.splitlines()[1] == ("demo: not signed in: auth.storage.type=none keeps nothing between "
                                          "commands; pingcli auth token signs in each time it runs")


def test_a_sign_in_refused_for_missing_mfa_is_revoked_and_names_amr_plainly(world, config, pingcli):
    config.profiles["default"]["service.demo.authentication.requireMFA"] = True
    world.person_signs_in()

    login = pingcli("auth", "login")

    assert login.code == 5
    assert "did not use multi-factor authentication (amr pwd, acr urn:pingcli:acr:pwd)" in login.err
    assert "['pwd']" not in login.err
    assert "the tokens of this sign-in were revoked at the provider" in login.err
    tokens = [*world.provider.refresh_tokens, *world.provider.access_tokens]
    assert len(tokens) == 2 and not any(alive(world.provider, t) for t in tokens)
    assert world.store.saved == []


def test_after_requiring_mfa_a_password_only_session_is_not_signed_in_and_token_refuses_it(signed_in, config,
                                                                                          pingcli):
    config.profiles["default"]["service.demo.authentication.requireMFA"] = True
    signed_in.provider.requests.clear()

    refused = pingcli("auth", "token")
    status = pingcli("auth", "status")

    assert refused.code == 5 and refused.out == "" and signed_in.provider.requests == []
    assert refused.err == (
        "pingcli: the stored session for demo does not meet the service's multi-factor requirement "
        "(requireMFA=true): it was authenticated by pwd\n"
        "  sign in again and complete the second factor: pingcli auth login --service demo\n")
    assert status.code == 3
    assert status.out.splitlines()[1] == ("demo: not signed in: the stored session does not meet the service's "
                                          "multi-factor requirement (requireMFA=true): it was authenticated by pwd")
    [entry] = pingcli("auth", "status", "--output", "json").json()["services"]
    assert entry["state"] == "mfa_missing" and entry["signed_in"] is False
    sign_in(signed_in, pingcli, user=MFA_USER)
    assert pingcli("auth", "status").code == 0 and pingcli("auth", "token").code == 0


def test_status_exits_4_when_a_session_expired_and_no_service_is_merely_not_signed_in(signed_in, config, pingcli):
    used_up(signed_in.provider, session(signed_in).tokens.refresh_token)
    signed_in.clock.advance(3600)
    assert pingcli("auth", "token").code == 4

    assert pingcli("auth", "status").code == 4
    config.profiles["default"].update({k.replace(".demo.", ".wiki."): v for k, v in SETTINGS.items()})
    assert pingcli("auth", "status").code == 3  # wiki is not signed in at all: 3 wins
    assert pingcli("auth", "status", "--service", "demo").code == 4


def test_signing_in_again_revokes_the_tokens_of_the_session_it_replaces(signed_in, pingcli):
    old = session(signed_in).tokens

    login = pingcli("auth", "login")

    assert login.code == 0 and login.err == ""
    assert "  the tokens of the session it replaces were revoked at the provider\n" in login.out
    new = session(signed_in).tokens
    assert new.refresh_token != old.refresh_token
    assert not alive(signed_in.provider, old.refresh_token) and not alive(signed_in.provider, old.access_token)
    assert alive(signed_in.provider, new.refresh_token) and alive(signed_in.provider, new.access_token)


def test_a_failure_to_revoke_the_replaced_session_is_a_warning_only(signed_in, pingcli):
    old = session(signed_in).tokens
    signed_in.provider.queue_response("/revoke", HttpResponse(503, {"content-type": "text/plain"}, b"down"))

    login = pingcli("auth", "login")

    assert login.code == 0
    assert login.err == ("pingcli: warning: demo: the tokens of the session this sign-in replaces could not all be "
                         "revoked at the provider (refresh token: the revocation endpoint sent a response pingcli "
                         "cannot use: HTTP 503); they stay valid there until they expire\n")
    assert session(signed_in).tokens.refresh_token != old.refresh_token
    assert alive(signed_in.provider, old.refresh_token) and not alive(signed_in.provider, old.access_token)


def test_logout_sends_no_second_revocation_once_the_provider_is_unreachable(signed_in, pingcli):
    discovery = signed_in.provider.request("GET", ISSUER + "/.well-known/openid-configuration", endpoint="discovery")
    document = {**json.loads(discovery.body), "revocation_endpoint": "https://unreachable.example.test/revoke"}
    signed_in.provider.queue_response("/.well-known/openid-configuration", HttpResponse(
        200, {"content-type": "application/json"}, json.dumps(document).encode()))
    signed_in.provider.requests.clear()

    logout = pingcli("auth", "logout")

    assert logout.code == 0
    assert [r.form["token_type_hint"] for r in signed_in.provider.requests if r.form and "token" in r.form] == [
        "refresh_token"]
    assert "refresh token: cannot reach the revocation endpoint at https://unreachable.example.test" in logout.err
    assert "; access token: not sent, the provider being unreachable;" in logout.err
    assert ("default", "demo") not in signed_in.store.sessions


def test_a_failed_revocation_is_reported_once_in_words_that_fit_revocation(signed_in, pingcli):
    for _ in range(2):
        signed_in.provider.queue_response("/revoke", HttpResponse(
            401, {"content-type": "application/json"},
            b'{"error": "invalid_client", "error_description": "client authentication failed"}'))

    logout = pingcli("auth", "logout")

    assert logout.code == 0
    assert logout.out == "demo: signed out here (removed locally), but not revoked at the provider\n"
    assert logout.err == (
        "pingcli: warning: demo: revocation at the provider failed: refresh token: the revocation endpoint refused "
        "the request: invalid_client: client authentication failed; access token: the revocation endpoint refused "
        "the request: invalid_client: client authentication failed; the tokens were removed here and stay valid "
        "there until they expire\n")
    assert "sign-in" not in logout.err


def test_a_store_that_refuses_only_the_write_at_login_revokes_the_new_tokens_and_exits_7(world, pingcli):
    world.store.refuse_writes = FULL_DISK
    world.person_signs_in()

    login = pingcli("auth", "login")

    assert login.code == 7 and login.out == ""
    assert "pingcli: demo: signed in to demo as Demo User (demo), but the tokens could not be kept" in login.err
    assert "the disk is full" in login.err and "the tokens were revoked at the provider" in login.err
    tokens = [*world.provider.refresh_tokens, *world.provider.access_tokens]
    assert len(tokens) == 2 and not any(alive(world.provider, t) for t in tokens)


def test_the_help_of_token_refresh_says_a_token_got_in_the_last_seconds_is_returned(capsys):
    assert main(["auth", "token", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert f"unless another pingcli got a new one in the last {RECENT_REFRESH:g} s" in shown
