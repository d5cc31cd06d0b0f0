"""Unit tests wire the use cases to the shipped fakes."""

from __future__ import annotations

import attrs
import pytest
from dependency_injector import providers

from pingcli.adapters.fakes import (
    FakeBrowser,
    FakeCallbackListenerFactory,
    FakeClock,
    FakeConsole,
    FakeLocks,
    FakeProvider,
    FakeSessionStore,
)
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.domain.settings import resolve_profile
from pingcli.domain.usecases.login import Login

ISSUER = "https://idp.example.test"


@attrs.define
class World:
    clock: FakeClock
    provider: FakeProvider
    listeners: FakeCallbackListenerFactory
    browser: FakeBrowser
    store: FakeSessionStore
    console: FakeConsole
    locks: FakeLocks = attrs.field(factory=FakeLocks)

    def login(self) -> Login:
        return Login(
            http=self.provider,
            metadata=DiscoveryClient(self.provider),
            listeners=self.listeners,
            browser=self.browser,
            clock=self.clock,
            id_tokens=JwksIdTokenValidator(self.provider),
            store=self.store,
            console=self.console,
            locks=self.locks,
        )

    def plug_into(self, container) -> None:
        """Replace the container's provider-facing adapters with this world's fakes (for `main(configure=...)`)."""
        container.http.override(providers.Object(self.provider))
        container.discovery.override(providers.Object(DiscoveryClient(self.provider)))
        container.id_tokens.override(providers.Object(JwksIdTokenValidator(self.provider)))
        container.clock.override(providers.Object(self.clock))
        container.locks.override(providers.Object(self.locks))
        container.listeners.override(providers.Object(self.listeners))
        container.browser.override(providers.Object(self.browser))
        container.console.override(providers.Object(self.console))

    def person_signs_in(self, **kwargs) -> None:
        """The browser, once opened, signs the demo user in and follows the redirect to the listener."""
        self.browser.on_open = lambda url: self.listeners.deliver(self.provider.authorize(url, **kwargs))


@pytest.fixture
def world() -> World:
    clock = FakeClock()
    return World(
        clock=clock,
        provider=FakeProvider(ISSUER, clock),
        listeners=FakeCallbackListenerFactory(clock),
        browser=FakeBrowser(),
        store=FakeSessionStore(),
        console=FakeConsole(),
    )


def profile_with(**settings):
    stored = {
        "service.demo.issuer": ISSUER,
        "service.demo.authentication.authorizationCode.clientID": "cli-public",
        "service.demo.authentication.deviceCode.clientID": "cli-public",
        "auth.storage.type": "file_system",
    }
    stored.update({k.replace("__", "."): v for k, v in settings.items()})
    return resolve_profile("default", stored, {})
