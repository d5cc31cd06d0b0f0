"""Client secrets of confidential clients: in the profile's token store, never in the config file, shown masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..client_auth import MASK
from ..errors import ConfigError, PingcliError, StorageUnavailable
from ..ports import SecretStore
from ..settings import (
    SECRET_MARKER,
    ClientSecret,
    GrantType,
    Profile,
    SecretSource,
    StorageType,
    env_name,
    parse_value,
    secret_missing,
    secret_of,
)
from .config import Configuration


@attrs.frozen
class SecretSet:
    key: str
    stored_in: str
    overridden_by: str | None  # the environment variable that takes precedence over it, when set


@attrs.frozen
class SecretShown:
    key: str
    value: str | None  # MASK unless unmasked; None when there is no secret
    source: str


def _where_none_keeps_nothing(key: str) -> ConfigError:
    return ConfigError(
        f"{key} cannot be stored with auth.storage.type=none: that store keeps nothing beyond one command",
        f"give it in the environment instead: {env_name(key)}=..., or choose a store that keeps secrets: "
        "pingcli config set auth.storage.type=secure_local (or file_system)",
    )


@attrs.frozen
class ClientSecrets:
    """`config set/get/unset` of a clientSecret key, and the secrets a command needs (`fill`)."""

    configuration: Configuration
    stores: Mapping[StorageType, SecretStore]

    def _key(self, key: str) -> tuple[str, GrantType]:
        found = secret_of(key)
        if found is None:
            raise ConfigError(f"{key} is not a client secret key")
        return found

    def set(self, key: str, raw: str) -> SecretSet:
        """Keep the secret in the token store (read back to be sure), then a marker in the file."""
        service, grant = self._key(key)
        secret = parse_value(key, raw)
        # The file's lock from its first read to the marker: a storage change meanwhile would leave the secret
        # in the store it is leaving.
        with self.configuration.editing():
            return self._set(key, service, grant, secret)

    def _set(self, key: str, service: str, grant: GrantType, secret: str) -> SecretSet:
        self.configuration.check_service_name(key)
        profile = self.configuration.profile()
        if profile.storage is StorageType.NONE:
            raise _where_none_keeps_nothing(key)
        store = self.stores[profile.storage]
        previous = store.load_secret(profile.name, service, grant.value)
        store.save_secret(profile.name, service, grant.value, secret)
        try:
            if store.load_secret(profile.name, service, grant.value) != secret:
                raise StorageUnavailable(store.description, "it did not keep the client secret (reading it back gave "
                                         "something else)")
            self.configuration.write_secret_marker(key, present=True)
        except PingcliError:
            self._put_back(store, profile.name, service, grant, previous)
            raise
        variable = env_name(key)
        return SecretSet(key, store.description, variable if variable in self.configuration.env else None)

    @staticmethod
    def _put_back(store: SecretStore, profile: str, service: str, grant: GrantType, previous: str | None) -> None:
        try:
            if previous is None:
                store.delete_secret(profile, service, grant.value)
            else:
                store.save_secret(profile, service, grant.value, previous)
        except PingcliError:
            pass  # the error being raised says what failed; this store is misbehaving already

    def unset(self, key: str) -> bool:
        """Remove the secret from the token store first (no orphan if the file cannot be written), then the marker."""
        service, grant = self._key(key)
        with self.configuration.editing():
            profile = self.configuration.profile()
            removed = False
            if profile.storage is not StorageType.NONE:
                removed = self.stores[profile.storage].delete_secret(profile.name, service, grant.value)
            return self.configuration.write_secret_marker(key, present=False) or removed

    def get(self, key: str, unmask: bool = False) -> SecretShown:
        """The effective secret and its source, masked unless `unmask`; one kept in the store is read to be sure."""
        service, grant = self._key(key)
        profile = self.configuration.profile()
        settings = profile.services.get(service)
        secret = settings.client_secret(grant) if settings is not None else None
        if secret is None:
            return SecretShown(key, None, "default")
        if secret.source is SecretSource.ENVIRONMENT:
            return SecretShown(key, secret.value if unmask else MASK, f"environment ({env_name(key)})")
        if secret.source is SecretSource.CONFIG_FILE:
            _, stored = self.configuration.stored_profile(profile.name)
            return SecretShown(
                key, str(stored[key]) if unmask else MASK,
                f"profile {profile.name!r}, in plain text in the configuration file: move it to the token store "
                f"with pingcli config set {key}",
            )
        secret = self._looked_up(profile, service, grant, secret)
        if secret.value is None:
            raise secret_missing(service, grant, secret.looked_in)
        return SecretShown(key, secret.value if unmask else MASK, f"token store ({secret.looked_in})")

    def show(self, name: str | None, unmask: bool) -> tuple[str, dict[str, Any]]:
        """`config profiles show`: the profile's stored settings, client secrets masked unless `unmask`."""
        name, values = self.configuration.show(name)
        if not unmask:
            return name, values
        profile, stored = self.configuration.stored_profile(name)
        for key in values:
            found = secret_of(key)
            if found is None:
                continue
            if stored[key] != SECRET_MARKER:
                values[key] = str(stored[key])
                continue
            looked = self._looked_up(profile, *found, ClientSecret(SecretSource.TOKEN_STORE))
            values[key] = looked.value if looked.value is not None else "<missing from the token store>"
        return name, values

    def _looked_up(self, profile: Profile, service: str, grant: GrantType, secret: ClientSecret) -> ClientSecret:
        """The secret with its value read from the profile's token store (None if not there); `looked_in` says where."""
        if profile.storage is StorageType.NONE:
            return attrs.evolve(secret, looked_in="auth.storage.type=none keeps nothing")
        store = self.stores[profile.storage]
        value = store.load_secret(profile.name, service, grant.value)
        return attrs.evolve(secret, value=value, looked_in=store.description)

    def fill(self, profile: Profile) -> Profile:
        """The profile with the secrets kept in its token store read in (for sign-in, refresh, revocation)."""
        services = dict(profile.services)
        for name, settings in profile.services.items():
            for grant in GrantType:
                secret = settings.client_secret(grant)
                if secret is None or secret.source is not SecretSource.TOKEN_STORE or secret.value is not None:
                    continue
                secret = self._looked_up(profile, name, grant, secret)
                if grant is GrantType.AUTHORIZATION_CODE:
                    settings = attrs.evolve(
                        settings, authorization_code=attrs.evolve(settings.authorization_code, client_secret=secret)
                    )
                else:
                    settings = attrs.evolve(
                        settings, device_code=attrs.evolve(settings.device_code, client_secret=secret)
                    )
            services[name] = settings
        return attrs.evolve(profile, services=services)
