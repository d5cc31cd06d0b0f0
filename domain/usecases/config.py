"""Reading and changing configuration: keys validated against the registry, profiles managed by name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import attrs

from ..client_auth import MASK
from ..errors import ConfigError, LockTimeout, StorageUnavailable
from ..ports import ConfigStore, Locks, SecretStore, SessionStore
from ..settings import (
    DEFAULT_PROFILE,
    KEYS,
    NAME_RULE,
    SECRET_MARKER,
    GrantType,
    Key,
    Profile,
    StorageType,
    check_name,
    env_hint,
    env_name,
    env_twin,
    find_key,
    is_allowed_name,
    is_known_key,
    parse_env_value,
    parse_stored,
    parse_value,
    resolve_profile,
    secret_key,
    secret_of,
    service_env_form,
)


STORAGE_KEY = "auth.storage.type"
# A change of the configuration file waits this long for another process's change; a storage migration,
# the longest, waits up to 15 s for each service's locks while it holds this one.
CONFIG_LOCK_TIMEOUT = 60.0


def _is_secret(key: str) -> bool:
    try:
        return find_key(key)[0].secret
    except ConfigError:  # a key this version does not know: not a secret of ours
        return False


@attrs.frozen
class ProfileChoice:
    name: str
    source: str  # "flag", "environment", "config file", "default"


def _service_of(key: str) -> str | None:
    """The service a `service.NAME.…` key of the file names, whatever that name is (`"a b"` too).

    (A name with a dot in it never gets here: the config store refuses it, as it would read back as two keys.)
    """
    if not key.startswith("service.") or key.count(".") < 2:
        return None
    return key.split(".")[1]


@attrs.frozen
class Configuration:
    store: ConfigStore
    env: Mapping[str, str]
    profile_flag: str | None = None
    # Held around every read-modify-write of the file: without it, concurrent `config set`s each write back
    # what they read, and all but one change are lost. None: nothing else shares the store (tests).
    locks: Locks | None = None
    _editing: list[int] = attrs.field(factory=lambda: [0], init=False, eq=False, repr=False)

    @contextlib.contextmanager
    def editing(self) -> Iterator[None]:
        """Hold the configuration file's lock for what runs inside; nested uses (one command's steps) hold it once."""
        with contextlib.ExitStack() as held:
            if self.locks is not None and not self._editing[0]:
                try:
                    held.enter_context(self.locks.hold(self.store.lock_name, CONFIG_LOCK_TIMEOUT))
                except LockTimeout:
                    raise LockTimeout(f"changing {self.store.location}", CONFIG_LOCK_TIMEOUT) from None
                except StorageUnavailable as error:
                    raise ConfigError(
                        f"cannot change {self.store.location}: its lock cannot be taken ({error.backend}: "
                        f"{error.reason})",
                        "nothing was changed; make that directory writable (it is in pingcli's cache directory, "
                        "PINGCLI_CACHE_DIR) and try again",
                    ) from None
            self._editing[0] += 1
            try:
                yield
            finally:
                self._editing[0] -= 1

    def _file_active(self) -> str | None:
        """activeProfile as the file gives it, checked: a name pingcli could not use is an error, never skipped."""
        active, _ = self.store.load()
        if active is None:
            return None
        where = f"activeProfile in {self.store.location}"
        if not isinstance(active, str):
            raise ConfigError(
                f"{where} is not a profile name: {active!r} is not a string",
                'write it in quotes (activeProfile = "NAME"), or choose a profile: pingcli config profiles use NAME',
            )
        if not is_allowed_name(active):
            raise ConfigError(
                f"{where} names the profile {active!r}, which is not an allowed profile name",
                f"a profile name may contain {NAME_RULE}; rename the profile in the file, or choose another: "
                "pingcli config profiles use NAME",
            )
        return active

    def active(self) -> ProfileChoice:
        active = self._file_active()
        if self.profile_flag:
            return ProfileChoice(check_name("profile", self.profile_flag), "flag")
        if self.env.get("PINGCLI_PROFILE"):
            try:
                return ProfileChoice(check_name("profile", self.env["PINGCLI_PROFILE"]), "environment")
            except ConfigError as error:  # fixed in the variable, not by renaming a profile
                hint = f"{error.hint}; {env_hint('PINGCLI_PROFILE')}"
                raise ConfigError(f"PINGCLI_PROFILE: {error.message}", hint) from None
        if active:
            return ProfileChoice(active, "config file")
        return ProfileChoice(DEFAULT_PROFILE, "default")

    def _stored(self, name: str, must_exist: bool) -> dict[str, Any]:
        _, profiles = self.store.load()
        if name not in profiles:
            if must_exist and name != DEFAULT_PROFILE:
                known = ", ".join(sorted(p for p in profiles if is_allowed_name(p))) or "none"
                raise ConfigError(
                    f"there is no profile {name!r} in {self.store.location} (profiles: {known})",
                    f"pingcli config profiles create {name}",
                )
            return {}
        for key in sorted(profiles[name]):
            service = _service_of(key)
            if service is not None and not is_allowed_name(service):
                raise ConfigError(
                    f"profile {name!r} in {self.store.location} has a service named {service!r}, which is not an "
                    "allowed service name",
                    f"a service name may contain {NAME_RULE}; rename the service in the file",
                )
        return profiles[name]

    def profile(self) -> Profile:
        name = self.active().name
        return resolve_profile(name, self._stored(name, must_exist=True), self.env)

    def set(self, key: str, raw: str) -> Any:
        if find_key(key)[0].secret:  # the file never holds one: see usecases/client_secrets.py
            raise ConfigError(f"{key} is a secret; it is kept in the token store, not in the configuration file")
        value = parse_value(key, raw)
        with self.editing():
            name = self.active().name
            self.check_service_name(key)
            self.store.set_value(name, key, value)
        return value

    def check_service_name(self, key: str) -> None:
        """Refuse a new service whose PINGCLI_SERVICE_<NAME>_* variables (client secret too) another already reads."""
        _, service = find_key(key)
        name = self.active().name
        stored = self._stored(name, must_exist=True)
        if service is None:
            return
        twin = env_twin(service, {n.split(".")[1] for n in stored if n.startswith("service.") and n.count(".") >= 2})
        if twin is not None:
            rest = key.removeprefix(f"service.{service}.")
            raise ConfigError(
                f"service name {service!r} is too close to the service {twin!r} of profile {name!r}: both would read "
                f"the environment variables PINGCLI_SERVICE_{service_env_form(service)}_*",
                f"use {twin!r} (pingcli config set service.{twin}.{rest}=...), or a name of its own",
            )

    def unset(self, key: str) -> bool:
        find_key(key)
        with self.editing():
            name = self.active().name
            self._stored(name, must_exist=True)
            return self.store.unset_value(name, key)

    def get(self, key: str) -> tuple[Any, str]:
        """The effective value of a key and where it came from."""
        registry_key, _ = find_key(key)
        name = self.active().name
        stored = self._stored(name, must_exist=True)
        if env_name(key) in self.env:
            value = parse_env_value(key, env_name(key), self.env[env_name(key)])
            return (MASK if registry_key.secret else value), f"environment ({env_name(key)})"
        if key in stored:
            # What commands use, as they read it (a bad value is the error they give), not the file's spelling.
            value = MASK if registry_key.secret else parse_stored(name, key, stored[key])
            return value, f"profile {name!r}"
        return registry_key.default, "default"

    def keys(self) -> tuple[Key, ...]:
        return KEYS

    def profiles(self) -> tuple[list[str], str]:
        """The profiles pingcli can use (a name it does not allow is warned about, see file_warnings)."""
        return self.profile_names(), self.active().name

    def profile_names(self) -> list[str]:
        _, profiles = self.store.load()
        names = {name for name in profiles if is_allowed_name(name)} | {DEFAULT_PROFILE}
        return sorted(names)

    def show(self, name: str | None = None) -> tuple[str, dict[str, Any]]:
        name = check_name("profile", name) if name else self.active().name
        stored = self._stored(name, must_exist=True)
        return name, {key: (MASK if _is_secret(key) else value) for key, value in sorted(stored.items())}

    def stored_profile(self, name: str) -> tuple[Profile, dict[str, Any]]:
        """A profile's effective settings and what its file section holds (secrets unmasked: markers)."""
        stored = self._stored(name, must_exist=True)
        return resolve_profile(name, stored, self.env), stored

    def file_warnings(self) -> list[str]:
        """What in the file pingcli ignores or cannot use, said once per command (the command goes on).

        An activeProfile or a service of the profile in use with a name that is not allowed is not here:
        the command fails on it, saying so.
        """
        active, profiles = self.store.load()
        where = self.store.location
        warnings = [
            f"unknown top-level key {key} in {where}: ignored (at the top level pingcli reads only activeProfile "
            "and [profiles.NAME] tables)"
            for key in self.store.unknown_top_level_keys()
        ]
        try:
            in_use: str | None = self.active().name
        except ConfigError:
            in_use = None  # the command itself says why
        for name in sorted(profiles):
            if not is_allowed_name(name):
                if name != active:
                    warnings.append(f"profile {name!r} in {where} cannot be used: a profile name may contain "
                                    f"{NAME_RULE}; rename it in the file")
                continue
            services = {_service_of(key) for key in profiles[name]}
            bad = sorted(s for s in services if s is not None and not is_allowed_name(s))
            if name != in_use:
                warnings += [f"service {service!r} of profile {name!r} in {where} cannot be used: a service name "
                             f"may contain {NAME_RULE}; rename it in the file" for service in bad]
            for key in sorted(profiles[name]):
                if _service_of(key) not in bad and not is_known_key(key):
                    warnings.append(f"unknown key {key} in profile {name} of {where}: ignored (see pingcli config "
                                    "list-keys)")
        return warnings

    def write_secret_marker(self, key: str, present: bool) -> bool:
        """Put SECRET_MARKER under `key` in the active profile (or take it away); the secret is elsewhere."""
        with self.editing():
            name = self.active().name
            self._stored(name, must_exist=True)
            if present:
                self.store.set_value(name, key, SECRET_MARKER)
                return True
            return self.store.unset_value(name, key)

    def create(self, name: str) -> None:
        check_name("profile", name)
        with self.editing():
            _, profiles = self.store.load()
            if name in profiles:
                raise ConfigError(f"profile {name!r} already exists", f"pingcli config profiles use {name}")
            self.store.create_profile(name)

    def delete(self, name: str) -> None:
        with self.editing():
            self.deletable(name)
            self.store.delete_profile(name)

    def deletable(self, name: str) -> dict[str, Any]:
        """The file section of a profile that may be deleted (it exists and is not the active one)."""
        check_name("profile", name)
        _, profiles = self.store.load()
        if name not in profiles:
            raise ConfigError(f"there is no profile {name!r}", "pingcli config profiles list")
        if name == self.active().name:
            raise ConfigError(
                f"profile {name!r} is the active profile", "switch first: pingcli config profiles use OTHER"
            )
        return profiles[name]

    def use(self, name: str) -> None:
        check_name("profile", name)
        with self.editing():
            _, profiles = self.store.load()
            if name not in profiles and name != DEFAULT_PROFILE:
                raise ConfigError(f"there is no profile {name!r}", f"pingcli config profiles create {name}")
            self.store.set_active(name)


class Store(SessionStore, SecretStore, Protocol):
    """Every token store keeps both sessions and client secrets."""


def _leftovers_kept(store: Store, profile: str, service: str) -> list[str]:
    """Leftovers (domain/leftover.py) said as things kept: their tokens may be live, and logout revokes them."""
    leftovers = store.leftovers(profile, service)
    kept = [f"the session of {service} written by a newer pingcli" for leftover in leftovers if leftover.newer]
    copies = sum(1 for leftover in leftovers if not leftover.newer)
    if copies:
        kept.append(f"{copies} set-aside {'copy' if copies == 1 else 'copies'} of the session of {service}")
    return kept


@attrs.frozen
class ProfileDeleted:
    name: str
    unchecked: tuple[str, ...] = ()  # "OS keyring (no usable keyring)": stores that could not be looked into


@attrs.frozen
class DeleteProfile:
    """`pingcli config profiles delete NAME`, refused while the profile still keeps something in a token store.

    Deleting only the file section would orphan what the stores keep under the profile's name: tokens still
    valid at the provider that no later `auth logout --all` finds, and client secrets nothing removes. So the
    person is told what is where and how to remove it (logout revokes the tokens first) rather than have pingcli
    decide to revoke on a delete.
    """

    configuration: Configuration
    stores: Mapping[StorageType, Store]

    def __call__(self, name: str) -> ProfileDeleted:
        with self.configuration.editing():  # what is looked for in the stores is what the file says now
            return self._delete(name)

    def _delete(self, name: str) -> ProfileDeleted:
        stored = self.configuration.deletable(name)
        variable = env_name(STORAGE_KEY)
        effective, kinds = self._storage_types(stored, self.configuration.env.get(variable))
        services = {n.split(".")[1] for n in stored if n.startswith("service.") and n.count(".") >= 2}
        try:
            services |= set(resolve_profile(name, stored, self.configuration.env).services)
        except ConfigError:
            pass  # a broken profile may still be deleted; its own section names its services
        markers = sorted(key for key, value in stored.items() if value == SECRET_MARKER and secret_of(key))
        # (store, what it keeps, the client secret key or None for a session); None store: the file's word for it
        found: list[tuple[StorageType | None, str, str | None]] = []
        unchecked = []
        for kind in kinds:
            store = self.stores[kind]
            try:
                for service in sorted(services):
                    if store.load(name, service) is not None:
                        found.append((kind, f"the session of {service}", None))
                    found += [(kind, what, None) for what in _leftovers_kept(store, name, service)]
                    for grant in GrantType:
                        if store.load_secret(name, service, grant.value) is not None:
                            what = f"the client secret of {service} ({grant.value})"
                            found.append((kind, what, secret_key(service, grant)))
            except StorageUnavailable as error:
                unchecked.append(f"{store.description} ({error.reason})")
                # The file says these are kept there; believe it when the store cannot answer.
                found += [(None, f"{key} (in {store.description}, says the configuration file)", key)
                          for key in markers]
        if found:
            raise self._refusal(name, found, effective, variable)
        self.configuration.delete(name)
        for kind in kinds:
            try:
                self.stores[kind].forget_profile(name)
            except StorageUnavailable:
                pass  # what is left is empty: nothing is orphaned by leaving it
        return ProfileDeleted(name, tuple(unchecked))

    @staticmethod
    def _storage_types(stored: Mapping[str, Any], from_env: str | None) -> tuple[StorageType, list[StorageType]]:
        """The store the profile uses now, and every store that may hold something of it (not `none`)."""
        kinds = []
        for given in (stored.get(STORAGE_KEY, find_key(STORAGE_KEY)[0].default), from_env):
            try:
                kinds.append(StorageType(str(given)))
            except ValueError:
                continue
        kinds = list(dict.fromkeys(kinds)) or [StorageType(find_key(STORAGE_KEY)[0].default)]
        effective = kinds[-1]
        return effective, [kind for kind in kinds if kind is not StorageType.NONE]

    def _refusal(
        self, name: str, found: list[tuple[StorageType | None, str, str | None]], effective: StorageType,
        variable: str,
    ) -> ConfigError:
        places: dict[str, list[str]] = {}
        steps: list[str] = []
        for kind, what, key in found:
            place = "" if kind is None else f" in {self.stores[kind].description}"
            places.setdefault(place, []).append(what)
            # The commands act on the store the profile uses in this environment: name another one when it is not.
            prefix = "" if kind is None or kind is effective else f"{variable}={kind.value} "
            if key is None:
                step = f"sign out first (this revokes the tokens): {prefix}pingcli --profile {name} auth logout"
            else:
                step = f"{prefix}pingcli --profile {name} config unset {key}"
            if step not in steps:
                steps.append(step)
        held = "; ".join(f"{', '.join(what)}{place}" for place, what in places.items())
        return ConfigError(
            f"profile {name!r} still keeps {held}; deleting it would leave them there, out of reach of pingcli",
            "; ".join(steps) + f"; then: pingcli config profiles delete {name}",
        )
