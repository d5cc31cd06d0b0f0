"""Reading and changing configuration: keys validated against the registry, profiles managed by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..client_auth import MASK
from ..errors import ConfigError
from ..ports import ConfigStore
from ..settings import (
    DEFAULT_PROFILE,
    KEYS,
    SECRET_MARKER,
    Key,
    Profile,
    check_name,
    env_name,
    find_key,
    parse_value,
    resolve_profile,
)


def _is_secret(key: str) -> bool:
    try:
        return find_key(key)[0].secret
    except ConfigError:  # a key this version does not know: not a secret of ours
        return False


@attrs.frozen
class ProfileChoice:
    name: str
    source: str  # "flag", "environment", "config file", "default"


@attrs.frozen
class Configuration:
    store: ConfigStore
    env: Mapping[str, str]
    profile_flag: str | None = None

    def active(self) -> ProfileChoice:
        active, _ = self.store.load()
        if self.profile_flag:
            return ProfileChoice(check_name("profile", self.profile_flag), "flag")
        if self.env.get("PINGCLI_PROFILE"):
            return ProfileChoice(check_name("profile", self.env["PINGCLI_PROFILE"]), "environment")
        if active:
            return ProfileChoice(active, "config file")
        return ProfileChoice(DEFAULT_PROFILE, "default")

    def _stored(self, name: str, must_exist: bool) -> dict[str, Any]:
        _, profiles = self.store.load()
        if name not in profiles:
            if must_exist and name != DEFAULT_PROFILE:
                known = ", ".join(sorted(profiles)) or "none"
                raise ConfigError(
                    f"there is no profile {name!r} in {self.store.location} (profiles: {known})",
                    f"pingcli config profiles create {name}",
                )
            return {}
        return profiles[name]

    def profile(self) -> Profile:
        name = self.active().name
        return resolve_profile(name, self._stored(name, must_exist=True), self.env)

    def set(self, key: str, raw: str) -> Any:
        if find_key(key)[0].secret:  # the file never holds one: see usecases/client_secrets.py
            raise ConfigError(f"{key} is a secret; it is kept in the token store, not in the configuration file")
        value = parse_value(key, raw)
        name = self.active().name
        self._stored(name, must_exist=True)
        self.store.set_value(name, key, value)
        return value

    def unset(self, key: str) -> bool:
        find_key(key)
        name = self.active().name
        self._stored(name, must_exist=True)
        return self.store.unset_value(name, key)

    def get(self, key: str) -> tuple[Any, str]:
        """The effective value of a key and where it came from."""
        registry_key, _ = find_key(key)
        name = self.active().name
        stored = self._stored(name, must_exist=True)
        if env_name(key) in self.env:
            value = parse_value(key, self.env[env_name(key)])
            return (MASK if registry_key.secret else value), f"environment ({env_name(key)})"
        if key in stored:
            return (MASK if registry_key.secret else stored[key]), f"profile {name!r}"
        return registry_key.default, "default"

    def keys(self) -> tuple[Key, ...]:
        return KEYS

    def profiles(self) -> tuple[list[str], str]:
        _, profiles = self.store.load()
        names = set(profiles) | {DEFAULT_PROFILE}
        return sorted(names), self.active().name

    def show(self, name: str | None = None) -> tuple[str, dict[str, Any]]:
        name = check_name("profile", name) if name else self.active().name
        stored = self._stored(name, must_exist=True)
        return name, {key: (MASK if _is_secret(key) else value) for key, value in sorted(stored.items())}

    def stored_profile(self, name: str) -> tuple[Profile, dict[str, Any]]:
        """A profile's effective settings and what its file section holds (secrets unmasked: markers)."""
        stored = self._stored(name, must_exist=True)
        return resolve_profile(name, stored, self.env), stored

    def write_secret_marker(self, key: str, present: bool) -> bool:
        """Put SECRET_MARKER under `key` in the active profile (or take it away); the secret is elsewhere."""
        name = self.active().name
        self._stored(name, must_exist=True)
        if present:
            self.store.set_value(name, key, SECRET_MARKER)
            return True
        return self.store.unset_value(name, key)

    def create(self, name: str) -> None:
        check_name("profile", name)
        _, profiles = self.store.load()
        if name in profiles:
            raise ConfigError(f"profile {name!r} already exists", f"pingcli config profiles use {name}")
        self.store.create_profile(name)

    def delete(self, name: str) -> None:
        check_name("profile", name)
        _, profiles = self.store.load()
        if name not in profiles:
            raise ConfigError(f"there is no profile {name!r}", "pingcli config profiles list")
        if name == self.active().name:
            raise ConfigError(
                f"profile {name!r} is the active profile", "switch first: pingcli config profiles use OTHER"
            )
        self.store.delete_profile(name)

    def use(self, name: str) -> None:
        check_name("profile", name)
        _, profiles = self.store.load()
        if name not in profiles and name != DEFAULT_PROFILE:
            raise ConfigError(f"there is no profile {name!r}", f"pingcli config profiles create {name}")
        self.store.set_active(name)
