"""The login use case with every real adapter against a provider that misbehaves (tests/support/hostile_op.py).

The end-to-end tests (tests/e2e/test_hostile_input.py) see each kind of garbage from the terminal with the
device grant; here the authorization code grant meets it after the callback, where the stakes are an
authorization code that must be sent once and never replayed, and a listener that must be let go.
"""

from __future__ import annotations

import io
import threading
import time
import urllib.request

import pytest

from pingcli.adapters.fakes import FakeConsole
from pingcli.adapters.file_lock import ThreadLocks
from pingcli.adapters.http_urllib3 import Urllib3HttpClient
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.loopback_listener import LoopbackListenerFactory
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.adapters.session_stores import MemorySessionStore
from pingcli.adapters.system_clock import SystemClock
from pingcli.domain.errors import BadProviderResponse, IdTokenInvalid, ProviderUnreachable
from pingcli.domain.settings import env_name, resolve_profile
from pingcli.domain.usecases.login import Login
from pingcli.entrypoints.main import main
from tests.support.hostile_op import CLIENT_ID, FORGERIES, GARBAGE, HostileProvider

pytestmark = pytest.mark.integration

TIMEOUT = 1.5  # seconds, connect and read: how long a hanging provider is given here


@pytest.fixture(scope="module")
def hostile():
    with HostileProvider() as provider:
        yield provider


@pytest.fixture
def fresh(hostile):
    hostile.reset()
    yield hostile
    hostile.reset()


class FollowingBrowser:
    """Follows the provider's instant redirect to the callback, on another thread, as a browser would."""

    def __init__(self) -> None:
        self.opened_urls: list[str] = []

    def open(self, url: str) -> bool:
        self.opened_urls.append(url)

        def follow() -> None:
            try:
                urllib.request.urlopen(url, timeout=10).read()
            except Exception:
                pass

        threading.Thread(target=follow, daemon=True).start()
        return True


class RecordingListenerFactory(LoopbackListenerFactory):
    def __init__(self) -> None:
        self.bound_ports: list[int] = []

    def bind(self, port, setting):
        listener = super().bind(port, setting)
        self.bound_ports.append(listener.port)
        return listener


def sign_in(issuer: str):
    http = Urllib3HttpClient(timeout=(TIMEOUT, TIMEOUT))
    store, listeners = MemorySessionStore(), RecordingListenerFactory()
    login = Login(
        http=http, metadata=DiscoveryClient(http), listeners=listeners, browser=FollowingBrowser(),
        clock=SystemClock(), id_tokens=JwksIdTokenValidator(http), store=store, console=FakeConsole(),
        locks=ThreadLocks(),
    )
    profile = resolve_profile("default", {
        "service.demo.issuer": issuer,
        "service.demo.authentication.authorizationCode.clientID": CLIENT_ID,
        "service.demo.authentication.authorizationCode.redirectURIPort": 0,
        "auth.storage.type": "none",
    }, {})
    try:
        return login.one(profile, profile.service("demo"), timeout=10), None, store, listeners
    except Exception as error:  # the test looks at it
        return None, error, store, listeners


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_from_the_token_endpoint_after_the_callback_is_reported_and_the_code_is_sent_once(fresh, kind):
    fresh.break_endpoint("token", kind)

    started = time.monotonic()
    result, error, store, listeners = sign_in(fresh.issuer)
    elapsed = time.monotonic() - started

    expected = ProviderUnreachable if kind in {"connection_reset", "hang"} else BadProviderResponse
    assert result is None and isinstance(error, expected), error
    assert error.endpoint == "token endpoint" and GARBAGE[kind] in error.message
    assert fresh.count("token") == 1  # never replayed, never followed
    assert store.load("default", "demo") is None
    assert elapsed < TIMEOUT + 3
    [port] = listeners.bound_ports
    LoopbackListenerFactory().bind(port, "redirectURIPort").close()  # let go before the code was exchanged


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_id_token_after_a_real_callback_is_refused_naming_the_check(fresh, forgery):
    fresh.forge_id_token(forgery)

    result, error, store, _ = sign_in(fresh.issuer)

    assert result is None and isinstance(error, IdTokenInvalid), error
    assert error.check == FORGERIES[forgery]
    assert store.load("default", "demo") is None


def test_the_hostile_provider_signs_in_through_the_real_adapters_when_nothing_is_broken(fresh):
    result, error, store, _ = sign_in(fresh.issuer)

    assert error is None
    assert result.identity.name == "Hostile Test User"  # completed from userinfo
    assert fresh.count("token") == 1 and fresh.count("userinfo") == 1


# --- PINGCLI_HTTP_TIMEOUT: main -> container -> the HTTP client ---------------------------------------


def run_main(issuer: str, timeout: str, tmp_path) -> tuple[int, str, float]:
    env = {
        "HOME": str(tmp_path),
        "PINGCLI_CONFIG": str(tmp_path / "config.toml"),
        "PINGCLI_DATA_DIR": str(tmp_path / "data"),
        "PINGCLI_CACHE_DIR": str(tmp_path / "cache"),
        env_name("service.demo.issuer"): issuer,
        env_name("service.demo.authentication.deviceCode.clientID"): CLIENT_ID,
        env_name("auth.storage.type"): "none",
        "PINGCLI_HTTP_TIMEOUT": timeout,
    }
    (tmp_path / "config.toml").touch()  # a file PINGCLI_CONFIG names must exist; the settings are all above
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    code = main(["auth", "login", "--device-code"], env=env, stdout=out, stderr=err)
    return code, err.getvalue(), time.monotonic() - started


def test_the_http_timeout_from_the_environment_bounds_a_provider_that_hangs(fresh, tmp_path):
    fresh.break_endpoint("discovery", "hang")

    code, err, elapsed = run_main(fresh.issuer, "1", tmp_path)

    assert code == 6
    assert "cannot reach the discovery document" in err and "timed out after 1 s" in err
    assert 1.0 <= elapsed < 3.0


@pytest.mark.parametrize("value", ["soon", "0", "-1", "1,2,3", "nan", "1e9"])
def test_an_unusable_http_timeout_is_a_usage_error(fresh, tmp_path, value):
    code, err, _ = run_main(fresh.issuer, value, tmp_path)

    assert code == 2
    assert "PINGCLI_HTTP_TIMEOUT" in err and "Traceback" not in err
    assert fresh.requests == []
