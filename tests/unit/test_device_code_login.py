"""Signing in with the device authorization grant (RFC 8628), against the fake provider."""

import io
import json
import re
from urllib.parse import urlsplit

import attrs
import pytest
from dependency_injector import providers

from pingcli.adapters.fakes import FakeClock, FakeConsole, FakeProvider
from pingcli.domain import device_code
from pingcli.domain.device_code import DeviceAuthorization, Granted, Wait, next_step
from pingcli.domain.errors import AuthorizationDenied, BadProviderResponse, SignInFailed
from pingcli.domain.provider import HttpResponse
from pingcli.domain.settings import GrantType, env_name
from pingcli.domain.usecases.login import SignedIn
from pingcli.entrypoints.main import main

from .conftest import ISSUER, profile_with


class Terminal(FakeConsole):
    """The terminal as a person reads it: when pingcli shows a code, they act on it at another device."""

    def __init__(self, person=None) -> None:
        super().__init__()
        self.person = person
        self.codes_read: list[str] = []

    def say(self, message: str) -> None:
        super().say(message)
        shown = re.search(r"enter the code\s+(\S+)", message)
        if shown:
            self.codes_read.append(shown.group(1))
            if self.person is not None:
                self.person(shown.group(1))


def device_profile():
    return profile_with(**{"service.demo.authentication.type": "device_code"})


def sign_in(world):
    profile = device_profile()
    return world.login().one(profile, profile.service("demo"))


def json_response(status, body):
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())


# --- The whole flow ------------------------------------------------------------------------


def test_the_device_flow_shows_where_to_go_and_the_code_exactly_as_the_provider_sent_it(world):
    issued = []

    def person(code):
        issued.extend(world.provider.device_user_codes)
        world.provider.approve_device(code)

    world.console = Terminal(person)
    result = sign_in(world)

    assert isinstance(result, SignedIn) and result.grant is GrantType.DEVICE_CODE
    [code] = world.console.codes_read
    assert issued == [code]
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", code)  # the hyphen is kept
    assert f"{ISSUER}/device\n" in world.console.text
    assert f"{ISSUER}/device?user_code={code}" in world.console.text
    assert world.browser.opened_urls == [] and world.listeners.listeners == []


@pytest.mark.parametrize("timeout, shown", [(300, 300), (30, 30), (5000, 600)])  # the code lives 600 s
def test_the_device_prompt_says_how_long_it_waits(world, timeout, shown):
    world.console = Terminal(world.provider.approve_device)
    profile = device_profile()

    world.login().one(profile, profile.service("demo"), timeout=timeout)

    assert f"Waiting up to {shown} s for you to finish there (Ctrl-C cancels)…" in world.console.text


def test_a_device_sign_in_is_stored_as_a_device_code_session(world):
    world.console = Terminal(world.provider.approve_device)
    sign_in(world)

    saved = world.store.saved[-1]
    assert saved.grant is GrantType.DEVICE_CODE
    assert (saved.profile, saved.service, saved.client_id) == ("default", "demo", "cli-public")
    assert saved.identity.preferred_username == "demo"
    assert saved.tokens.refresh_token in world.provider.refresh_tokens


def test_each_poll_is_a_device_code_token_request_for_the_code_the_provider_issued(world):
    world.console = Terminal(world.provider.approve_device)
    sign_in(world)

    [authorization_request] = world.provider.requests_to("/device_authorization")
    assert authorization_request.form == {"client_id": "cli-public", "scope": "openid profile email offline_access"}
    [poll] = world.provider.requests_to("/token")
    assert poll.form["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert poll.form["client_id"] == "cli-public" and poll.form["device_code"]


def test_the_grant_flag_signs_in_with_the_device_code_whatever_the_profile_says(world):
    world.console = Terminal(world.provider.approve_device)
    profile = profile_with()

    result = world.login().one(profile, profile.service("demo"), grant=GrantType.DEVICE_CODE)

    assert result.grant is GrantType.DEVICE_CODE
    assert world.store.saved[-1].grant is GrantType.DEVICE_CODE


# --- Pacing (RFC 8628 §3.5) ----------------------------------------------------------------


def test_polls_wait_the_default_interval_and_five_seconds_more_after_each_slow_down(world):
    world.console = Terminal(world.provider.approve_device)
    world.provider.device_answers.extend(["authorization_pending", "slow_down", "slow_down"])

    sign_in(world)

    assert world.clock.sleeps == [5, 5, 10, 15]
    assert len(world.provider.requests_to("/token")) == 4
    assert world.store.saved[-1].grant is GrantType.DEVICE_CODE


def test_the_interval_the_provider_gives_is_the_one_used(world):
    world.provider = FakeProvider(ISSUER, world.clock, device_interval=7)
    world.console = Terminal(world.provider.approve_device)
    world.provider.device_answers.extend(["authorization_pending", "slow_down"])

    sign_in(world)

    assert world.clock.sleeps == [7, 7, 12]


def test_a_missing_interval_means_five_seconds(world):
    world.console = Terminal(world.provider.approve_device)
    world.provider.device_answers.append("authorization_pending")

    sign_in(world)

    assert world.clock.sleeps == [5, 5]


def test_the_first_poll_waits_one_interval_after_the_code_is_shown(world):
    world.console = Terminal(world.provider.approve_device)
    started = world.clock.now()

    sign_in(world)

    assert world.clock.sleeps == [5]
    assert world.store.saved[-1].tokens.received_at == started + 5


# --- Pacing as the provider sees it (issue: hostile input, case 8) --------------------------


class Stopwatch:
    """The fake provider as the HttpClient, noting when (by the fake clock) each request reached it.

    The clock's own record says how long pingcli slept; this says what the provider saw, which is what
    RFC 8628 §3.5 is about: a poll sent before its sleep, or twice after one, shows here and not there.
    """

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.polls: list[float] = []
        self.authorized_at: float | None = None
        self.device_answer: dict | None = None

    def request(self, method, url, *, endpoint, form=None, headers=None):
        path = urlsplit(url).path
        if path == "/token" and (form or {}).get("grant_type") == device_code.GRANT_TYPE:
            self.polls.append(self.provider.clock.now())
        response = self.provider.request(method, url, endpoint=endpoint, form=form, headers=headers)
        if path == "/device_authorization":
            self.authorized_at = self.provider.clock.now()
            self.device_answer = json.loads(response.body)
        return response


def timed(world) -> tuple[Stopwatch, object]:
    stopwatch = Stopwatch(world.provider)
    return stopwatch, attrs.evolve(world.login(), http=stopwatch)


def gaps(stopwatch: Stopwatch) -> list[float]:
    times = [stopwatch.authorized_at, *stopwatch.polls]
    return [later - earlier for earlier, later in zip(times, times[1:])]


def test_pending_slow_down_slow_down_then_tokens_reach_the_provider_at_least_5_10_and_15_s_apart(world):
    world.provider = FakeProvider(ISSUER, world.clock, device_interval=5)
    world.console = Terminal(world.provider.approve_device)
    world.provider.device_answers.extend(["authorization_pending", "slow_down", "slow_down"])
    stopwatch, login = timed(world)
    profile = device_profile()

    result = login.one(profile, profile.service("demo"))

    assert stopwatch.device_answer["interval"] == 5
    first, *between = gaps(stopwatch)
    assert first >= 5  # the first poll, one interval after the code was shown
    assert len(between) == 3  # pending, slow_down, slow_down, then the tokens
    for gap, at_least in zip(between, (5, 10, 15)):
        assert at_least <= gap < at_least + 1, between
    assert result.grant is GrantType.DEVICE_CODE and world.store.saved


def test_a_missing_interval_means_polls_5_s_apart_as_the_provider_sees_them(world):
    world.console = Terminal(world.provider.approve_device)
    world.provider.device_answers.extend(["authorization_pending", "authorization_pending"])
    stopwatch, login = timed(world)
    profile = device_profile()

    login.one(profile, profile.service("demo"))

    assert "interval" not in stopwatch.device_answer
    assert gaps(stopwatch) == [5, 5, 5]


def run_pingcli(provider: FakeProvider, tmp_path, *argv: str) -> tuple[int, str, str]:
    """The command in process, as a person runs it, with the fake provider and its fake clock behind it."""
    out, err = io.StringIO(), io.StringIO()

    def configure(container):
        container.http.override(providers.Object(provider))
        container.clock.override(providers.Object(provider.clock))

    env = {
        "PINGCLI_CONFIG": str(tmp_path / "config.toml"),
        "PINGCLI_DATA_DIR": str(tmp_path / "data"),
        "PINGCLI_CACHE_DIR": str(tmp_path / "cache"),
        env_name("service.demo.issuer"): ISSUER,
        env_name("service.demo.authentication.type"): "device_code",
        env_name("service.demo.authentication.deviceCode.clientID"): "cli-public",
        env_name("auth.storage.type"): "file_system",
    }
    (tmp_path / "config.toml").touch()  # a file PINGCLI_CONFIG names must exist; the settings are all above
    code = main(list(argv), env, out, err, configure=configure)
    return code, out.getvalue(), err.getvalue()


def files_under(directory) -> list:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_expired_token_after_pending_answers_exits_5_saying_the_code_expired_and_polls_no_more(tmp_path):
    provider = FakeProvider(ISSUER, FakeClock(), device_interval=5)
    provider.device_answers.extend(["authorization_pending", "authorization_pending", "expired_token",
                                    "authorization_pending"])  # there to be taken, were pingcli to poll again

    code, out, err = run_pingcli(provider, tmp_path, "auth", "login")

    assert code == 5, err
    assert "pingcli: demo: the device code expired before the sign-in was completed\n" in err
    assert "Traceback" not in err and out == ""
    assert len(provider.requests_to("/token")) == 3
    assert list(provider.device_answers) == ["authorization_pending"]
    assert files_under(tmp_path / "data") == [] and files_under(tmp_path / "cache" / "locks") == []


def test_a_code_valid_10_s_polled_every_5_s_while_always_pending_stops_by_itself_at_10_s(tmp_path):
    provider = FakeProvider(ISSUER, FakeClock())
    provider.queue_response("/device_authorization", json_response(200, {
        "device_code": "dev-123", "user_code": "WXYZ-BCDF", "verification_uri": ISSUER + "/device",
        "expires_in": 10, "interval": 5,
    }))
    for _ in range(20):  # a provider that always says pending
        provider.queue_response("/token", json_response(400, {"error": "authorization_pending"}))
    started = provider.clock.now()

    code, _, err = run_pingcli(provider, tmp_path, "auth", "login")

    assert code == 5, err
    assert "the device code expired" in err and "Traceback" not in err
    assert provider.clock.now() - started == pytest.approx(10, abs=0.5)  # stopped by itself, at about 10 s
    assert len(provider.requests_to("/token")) == 2  # at 5 s and 10 s: none after the code expired
    assert files_under(tmp_path / "data") == []


# --- How polling ends without a sign-in ----------------------------------------------------


def test_an_expired_code_ends_the_sign_in_and_nothing_polls_after_it(world):
    world.console = Terminal()  # nobody approves
    world.provider.device_answers.extend(["authorization_pending", "authorization_pending", "expired_token"])

    with pytest.raises(SignInFailed) as raised:
        sign_in(world)

    assert "the device code expired" in raised.value.message
    assert "pingcli auth login again" in raised.value.hint
    assert len(world.provider.requests_to("/token")) == 3
    assert world.clock.sleeps == [5, 5, 5]
    assert world.store.saved == []


def test_a_person_who_declines_sees_why_and_nothing_is_stored(world):
    world.console = Terminal(world.provider.deny_device)

    with pytest.raises(AuthorizationDenied) as raised:
        sign_in(world)

    assert raised.value.error == "access_denied"
    assert raised.value.message == (
        "the provider refused the sign-in: access_denied: the end-user denied the authorization request"
    )
    assert "if that was a mistake" in raised.value.hint
    assert world.store.saved == []
    assert len(world.provider.requests_to("/token")) == 1


def test_access_denied_without_a_description_still_says_the_sign_in_was_declined(world):
    world.console = Terminal()
    world.provider.device_answers.append("access_denied")

    with pytest.raises(AuthorizationDenied) as raised:
        sign_in(world)

    assert raised.value.message == "the provider refused the sign-in: access_denied: the sign-in was declined"
    assert world.store.saved == []


def test_polling_stops_by_itself_when_the_code_would_expire(world):
    world.console = Terminal()
    world.provider.queue_response("/device_authorization", json_response(200, {
        "device_code": "dev-123",
        "user_code": "WXYZ-BCDF",
        "verification_uri": ISSUER + "/device",
        "expires_in": 10,
        "interval": 5,
    }))
    for _ in range(20):  # a provider that always says pending
        world.provider.queue_response("/token", json_response(400, {"error": "authorization_pending"}))
    started = world.clock.now()

    with pytest.raises(SignInFailed) as raised:
        sign_in(world)

    assert "the device code expired" in raised.value.message
    assert world.clock.now() - started == pytest.approx(10, abs=0.5)  # by itself, at about 10 s
    assert len(world.provider.requests_to("/token")) == 2
    assert world.store.saved == []


def test_an_unexpected_error_while_polling_stops_and_is_shown_as_the_provider_said(world):
    world.console = Terminal()
    world.provider.device_answers.extend(["authorization_pending", "invalid_grant"])

    with pytest.raises(AuthorizationDenied) as raised:
        sign_in(world)

    assert raised.value.error == "invalid_grant"
    assert "invalid_grant" in raised.value.message
    assert len(world.provider.requests_to("/token")) == 2


def test_a_provider_without_a_device_endpoint_is_reported_before_anything_is_shown(world):
    document = json.loads(world.provider.request("GET", ISSUER + "/.well-known/openid-configuration",
                                                 endpoint="discovery document").body)
    del document["device_authorization_endpoint"]
    world.provider.queue_response("/.well-known/openid-configuration", json_response(200, document))
    world.console = Terminal()

    with pytest.raises(BadProviderResponse, match="does not offer the device code grant"):
        sign_in(world)

    assert world.console.codes_read == []


# --- The domain: the authorization response and the poller's decisions ---------------------

RECEIVED_AT = 1_000.0
RESPONSE = {
    "device_code": "dev-1",
    "user_code": "BCDF-GHJK",
    "verification_uri": "https://idp.example.test/device",
    "verification_uri_complete": "https://idp.example.test/device?user_code=BCDF-GHJK",
    "expires_in": 600,
    "interval": 5,
}


def authorization(**changes):
    body = {**RESPONSE, **changes}
    return DeviceAuthorization.from_response({k: v for k, v in body.items() if v is not None}, RECEIVED_AT)


def refusal(error, description=None):
    return AuthorizationDenied(error, description, "the token endpoint")


def test_the_authorization_response_is_read_as_sent():
    read = authorization()
    assert read.device_code == "dev-1"
    assert read.user_code == "BCDF-GHJK"
    assert read.verification_uri == "https://idp.example.test/device"
    assert read.verification_uri_complete == "https://idp.example.test/device?user_code=BCDF-GHJK"
    assert read.expires_at == RECEIVED_AT + 600
    assert read.interval == 5


@pytest.mark.parametrize("interval", [None, 0, -3, "soon", True])
def test_a_missing_or_unusable_interval_means_five_seconds(interval):
    assert authorization(interval=interval).interval == device_code.DEFAULT_INTERVAL == 5


def test_numbers_sent_as_strings_are_understood():
    read = authorization(interval="7", expires_in="300")
    assert (read.interval, read.expires_at) == (7, RECEIVED_AT + 300)


def test_the_older_verification_url_name_is_accepted():
    read = authorization(verification_uri=None, verification_url="https://idp.example.test/activate")
    assert read.verification_uri == "https://idp.example.test/activate"


def test_without_verification_uri_complete_there_is_none():
    assert authorization(verification_uri_complete=None).verification_uri_complete is None


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"device_code": None}, "no device_code"),
        ({"device_code": ""}, "no device_code"),
        ({"user_code": None}, "no usable user_code"),
        ({"user_code": "AB\nCD"}, "no usable user_code"),
        ({"user_code": "X" * 65}, "no usable user_code"),
        ({"verification_uri": None}, "no verification_uri"),
        ({"verification_uri": "javascript:alert(1)"}, "verification_uri is not a web address"),
        ({"verification_uri_complete": "file:///etc/passwd"}, "verification_uri_complete is not a web address"),
        ({"expires_in": None}, "expires_in is missing"),
        ({"expires_in": 0}, "expires_in is missing"),
        ({"expires_in": "never"}, "expires_in is missing"),
    ],
)
def test_an_unusable_authorization_response_says_what_is_wrong(changes, complaint):
    with pytest.raises(BadProviderResponse) as raised:
        authorization(**changes)
    assert complaint in raised.value.message
    assert "device authorization endpoint" in raised.value.message


def test_the_first_wait_is_one_interval():
    assert device_code.first_wait(authorization(interval=8)) == Wait(8, 8)


def test_pending_means_wait_the_same_interval_again():
    assert next_step(authorization(), 5, refusal("authorization_pending"), RECEIVED_AT + 5) == Wait(5, 5)


def test_slow_down_adds_five_seconds_to_this_and_every_later_wait():
    step = next_step(authorization(), 5, refusal("slow_down"), RECEIVED_AT + 5)
    assert step == Wait(10, 10)
    assert next_step(authorization(), step.interval, refusal("slow_down"), RECEIVED_AT + 15) == Wait(15, 15)
    assert next_step(authorization(), 15, refusal("authorization_pending"), RECEIVED_AT + 30) == Wait(15, 15)


def test_tokens_end_the_polling():
    body = {"access_token": "a", "token_type": "Bearer"}
    assert next_step(authorization(), 5, body, RECEIVED_AT + 5) == Granted(body)


def test_expired_token_ends_the_polling_with_a_sign_in_failure():
    with pytest.raises(SignInFailed, match="the device code expired"):
        next_step(authorization(), 5, refusal("expired_token"), RECEIVED_AT + 5)


def test_access_denied_keeps_the_providers_description():
    with pytest.raises(AuthorizationDenied) as raised:
        next_step(authorization(), 5, refusal("access_denied", "User said no"), RECEIVED_AT + 5)
    assert raised.value.message == "the provider refused the sign-in: access_denied: User said no"


def test_any_other_error_is_raised_as_the_provider_sent_it():
    sent = refusal("invalid_client", "unknown client")
    with pytest.raises(AuthorizationDenied) as raised:
        next_step(authorization(), 5, sent, RECEIVED_AT + 5)
    assert raised.value is sent


def test_no_wait_is_planned_past_the_codes_expiry():
    read = authorization(expires_in=10, interval=5)
    assert next_step(read, 5, refusal("authorization_pending"), RECEIVED_AT + 5) == Wait(5, 5)
    with pytest.raises(SignInFailed, match="the device code expired"):
        next_step(read, 5, refusal("authorization_pending"), RECEIVED_AT + 10)


def test_a_slow_down_that_would_outlive_the_code_ends_the_polling():
    read = authorization(expires_in=12, interval=5)
    with pytest.raises(SignInFailed, match="the device code expired"):
        next_step(read, 5, refusal("slow_down"), RECEIVED_AT + 5)
