"""pingcli run in the test's process through `main`, on a desk of fakes: the shipped in-memory provider,
listener, browser and clock, a configuration in memory, private directories, and pingcli's real keyring
store over a `keyring` backend the test chooses (the OS side, stood in for; never a pingcli port).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from dependency_injector import providers
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from pingcli.adapters.fakes import FakeBrowser, FakeCallbackListenerFactory, FakeClock, FakeConfigStore, FakeProvider
from pingcli.adapters.session_stores import FileSessionStore, KeyringSessionStore, config_namespace
from pingcli.entrypoints.main import _paths, main

__all__ = ["Desk", "MemoryKeyring", "ISSUER", "sessions_of"]


def sessions_of(data_dir: Path, config_file: Path) -> Path:
    """Where pingcli's file store keeps the sessions of `config_file`: a namespace of its own, unless it is the
    default configuration file (see config_namespace)."""
    namespace = config_namespace(config_file, _paths({}, None)[0])
    return FileSessionStore(data_dir / "sessions", namespace=namespace).directory

ISSUER = "https://idp.example.test"


class _NeverChosen:
    def __get__(self, instance, owner):
        raise RuntimeError("a test stand-in, never chosen by keyring itself")


class MemoryKeyring(KeyringBackend):
    """Entries in a dict, keyed like every OS keyring by (service, username)."""

    priority = _NeverChosen()

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("No such password!")


class Desk:
    """One person's machine: a provider, a keyring backend, private directories; each `run` is one command."""

    def __init__(self, tmp_path: Path, backend, storage: str = "secure_local", max_value_bytes: int | None = None,
                 timeout: float = 10.0):
        self.tmp = tmp_path / "machine"
        self.backend = backend
        self.max_value_bytes = max_value_bytes
        self.timeout = timeout
        self.clock = FakeClock()
        self.provider = FakeProvider(ISSUER, self.clock)
        self.listeners = FakeCallbackListenerFactory(self.clock)
        self.user = None  # who signs in next; None: the provider's demo user
        self.browsers: list[FakeBrowser] = []  # one per command run
        self.config = FakeConfigStore({"default": {
            "service.demo.issuer": ISSUER,
            "service.demo.authentication.authorizationCode.clientID": "cli-public",
            "service.demo.authentication.authorizationCode.redirectURIPort": 0,
            "auth.storage.type": storage,
        }})
        self.env = {
            "PINGCLI_CONFIG": str(self.tmp / "config" / "config.toml"),
            "PINGCLI_DATA_DIR": str(self.tmp / "data"),
            "PINGCLI_CACHE_DIR": str(self.tmp / "cache"),
        }

    @property
    def sessions(self) -> Path:
        """The file store's directory for this desk's configuration file."""
        return sessions_of(Path(self.env["PINGCLI_DATA_DIR"]), Path(self.env["PINGCLI_CONFIG"]))

    def _person_signs_in(self, url: str) -> None:
        redirect = self.provider.authorize(url) if self.user is None else self.provider.authorize(url, user=self.user)
        self.listeners.deliver(redirect)

    def run(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        # A new store per command, as each pingcli process has its own.
        store = KeyringSessionStore(self.backend, timeout=self.timeout, max_value_bytes=self.max_value_bytes)
        browser = FakeBrowser(on_open=self._person_signs_in)
        self.browsers.append(browser)

        def configure(container):
            container.config_store.override(providers.Object(self.config))
            container.http.override(providers.Object(self.provider))
            container.clock.override(providers.Object(self.clock))
            container.listeners.override(providers.Object(self.listeners))
            container.browser.override(providers.Object(browser))
            container.keyring_store.override(providers.Object(store))

        code = main(list(argv), self.env, out, err, configure=configure)
        return code, out.getvalue(), err.getvalue()

    def opened_urls(self) -> list[str]:
        return [url for browser in self.browsers for url in browser.opened_urls]

    def issued_tokens(self) -> list[str]:
        return [*self.provider.access_tokens, *self.provider.refresh_tokens]

    def alive(self, token: str) -> bool:
        """RFC 7662 at the provider: is the token still good?"""
        response = self.provider.request("POST", ISSUER + "/introspect", endpoint="introspection endpoint",
                                         form={"token": token})
        return json.loads(response.body)["active"]

    def files_written(self) -> list[str]:
        """Every file pingcli left, except the public discovery and JWKS cache, which any store may keep."""
        return sorted(
            p.relative_to(self.tmp).as_posix() for p in self.tmp.rglob("*")
            if p.is_file() and "providers" not in p.relative_to(self.tmp).parts
        )
