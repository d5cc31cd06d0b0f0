"""The login use case with every real adapter (urllib3, loopback listener, PyJWT + JWKS) against oidc-provider."""

from __future__ import annotations

import threading

import pytest

from pingcli.adapters.fakes import FakeConsole
from pingcli.adapters.file_lock import ThreadLocks
from pingcli.adapters.http_urllib3 import Urllib3HttpClient
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.loopback_listener import LoopbackListenerFactory
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.adapters.session_stores import MemorySessionStore
from pingcli.adapters.system_clock import SystemClock
from pingcli.domain.errors import AuthorizationDenied
from pingcli.domain.settings import GrantType, resolve_profile
from pingcli.domain.usecases.login import Login
from tests.support.op import ALICE, LocalProvider, provider_env
from tests.support.person import Person

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def op():
    with LocalProvider(provider_env(device_interval=1)) as provider:
        yield provider


class PersonAtTheBrowser:
    """The Browser port played by a scripted person on another thread (the provider's pages are real)."""

    def __init__(self, person: Person, deny: bool = False) -> None:
        self.person, self.deny = person, deny
        self.opened_urls: list[str] = []
        self.errors: list[BaseException] = []

    def open(self, url: str) -> bool:
        self.opened_urls.append(url)

        def act():
            try:
                (self.person.deny if self.deny else self.person.authorize)(url)
            except BaseException as error:  # surfaced by the test
                self.errors.append(error)

        threading.Thread(target=act, daemon=True).start()
        return True


def make_login(browser, console=None) -> tuple[Login, MemorySessionStore]:
    http = Urllib3HttpClient()
    store = MemorySessionStore()
    return Login(
        http=http, metadata=DiscoveryClient(http), listeners=LoopbackListenerFactory(), browser=browser,
        clock=SystemClock(), id_tokens=JwksIdTokenValidator(http), store=store, console=console or FakeConsole(),
        locks=ThreadLocks(),
    ), store


def profile(issuer: str):
    return resolve_profile("default", {
        "service.demo.issuer": issuer,
        "service.demo.authentication.authorizationCode.clientID": "cli-public",
        "service.demo.authentication.authorizationCode.redirectURIPort": 0,
        "service.demo.authentication.deviceCode.clientID": "cli-public",
        "auth.storage.type": "none",
    }, {})


def test_authorization_code_sign_in_validates_the_id_token_and_completes_the_identity_from_userinfo(op):
    browser = PersonAtTheBrowser(Person(ALICE.username, ALICE.password))
    login, store = make_login(browser)
    op.clear_requests()

    result = login.one(profile(op.issuer), profile(op.issuer).service("demo"), timeout=30)

    assert browser.errors == []
    assert result.identity.name == "Alice Example" and result.identity.email == "alice@example.test"
    assert result.identity.issuer == op.issuer and result.identity.amr == ("pwd",)
    session = store.load("default", "demo")
    assert session is not None and session.tokens.refresh_token, "offline_access with prompt=consent gives one"
    assert op.count("/token", grant_type="authorization_code") == 1
    assert op.count("/me") == 1  # profile claims come only from userinfo at this provider


def test_device_code_sign_in_polls_until_the_person_approves(op):
    console = FakeConsole()
    login, store = make_login(PersonAtTheBrowser(Person(ALICE.username, ALICE.password)), console)

    def person_reads_the_terminal():
        import re
        import time

        for _ in range(100):
            match = re.search(r"open\n\s+(\S+)\nand enter the code\s+(\S+)", console.text)
            if match:
                Person(ALICE.username, ALICE.password).enter_device_code(match.group(1), match.group(2))
                return
            time.sleep(0.05)

    threading.Thread(target=person_reads_the_terminal, daemon=True).start()
    result = login.one(profile(op.issuer), profile(op.issuer).service("demo"), GrantType.DEVICE_CODE, timeout=30)

    assert result.identity.preferred_username == "alice"
    assert store.load("default", "demo").grant is GrantType.DEVICE_CODE


def test_a_refusal_at_the_provider_is_an_access_denied_error(op):
    login, store = make_login(PersonAtTheBrowser(Person(ALICE.username, ALICE.password), deny=True))
    with pytest.raises(AuthorizationDenied) as raised:
        login.one(profile(op.issuer), profile(op.issuer).service("demo"), timeout=30)
    assert raised.value.error == "access_denied"
    assert store.load("default", "demo") is None
