"""Profiles and service settings, and the registry of every configuration key pingcli knows."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .client_auth import ClientAuth
from .errors import ConfigError

DEFAULT_PROFILE = "default"
DEFAULT_REDIRECT_PORT = 7464
DEFAULT_REDIRECT_PATH = "/callback"
DEFAULT_SCOPES = "openid profile email offline_access"
# What the configuration file holds for a client secret: the secret itself is in the token store.
SECRET_MARKER = "<stored in the token store>"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Names become keyring entries, file names and lock names: said the same way wherever one is refused.
NAME_RULE = "letters, digits, '-' and '_' (at most 64, starting with a letter or digit)"


class StorageType(enum.Enum):
    SECURE_LOCAL = "secure_local"
    FILE_SYSTEM = "file_system"
    NONE = "none"


class GrantType(enum.Enum):
    AUTHORIZATION_CODE = "authorization_code"
    DEVICE_CODE = "device_code"


class SecretSource(enum.Enum):
    ENVIRONMENT = "environment"
    TOKEN_STORE = "token store"  # the file holds SECRET_MARKER
    CONFIG_FILE = "config file"  # written in the file by hand, in plain text: refused when it would be used


@attrs.frozen
class ClientSecret:
    """Where a client secret comes from; its value once read (from the environment, or the token store)."""

    source: SecretSource
    value: str | None = attrs.field(default=None, repr=False)
    looked_in: str | None = None  # the token store it was looked for in (and not found), for the message
    variable: str | None = None  # source ENVIRONMENT: the variable that gives it, named when it is refused


_GRANT_WORD = {GrantType.AUTHORIZATION_CODE: "authorizationCode", GrantType.DEVICE_CODE: "deviceCode"}


def secret_key(service: str, grant: GrantType) -> str:
    """`service.demo.authentication.authorizationCode.clientSecret` for (demo, authorization_code)."""
    return f"service.{service}.authentication.{_GRANT_WORD[grant]}.clientSecret"


def secret_of(name: str) -> tuple[str, GrantType] | None:
    """(service, grant) when `name` is a client secret key, else None."""
    for grant, word in _GRANT_WORD.items():
        suffix = f".authentication.{word}.clientSecret"
        if name.startswith("service.") and name.endswith(suffix):
            service = name.removeprefix("service.").removesuffix(suffix)
            if service and "." not in service:
                return check_name("service", service), grant
    return None


def secret_missing(service: str, grant: GrantType, looked_in: str | None) -> ConfigError:
    key = secret_key(service, grant)
    where = f" ({looked_in})" if looked_in else ""
    return ConfigError(
        f"the client secret of service {service!r} for the {grant.value} grant is not in the token store{where}",
        f"set it again: pingcli config set {key} (it is read from standard input), or give it in {env_name(key)}",
    )


def check_name(kind: str, name: str) -> str:
    if not is_allowed_name(name):
        raise ConfigError(f"{kind} name {name!r} is not allowed", f"use {NAME_RULE}")
    return name


def is_allowed_name(name: object) -> bool:
    return isinstance(name, str) and _NAME.match(name) is not None


def _enum(kind: type[enum.Enum]) -> Callable[[str], Any]:
    allowed = ", ".join(member.value for member in kind)

    def parse(raw: str) -> str:
        if raw not in {member.value for member in kind}:
            raise ValueError(f"must be one of: {allowed}")
        return raw

    parse.allowed = allowed  # type: ignore[attr-defined]
    return parse


def _port(raw: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError("must be a whole number from 0 to 65535 (0 picks any free port)") from None
    if not 0 <= value <= 65535:
        raise ValueError("must be a whole number from 0 to 65535 (0 picks any free port)")
    return value


def _path(raw: str) -> str:
    if not raw.startswith("/") or any(c in raw for c in "?#\\ ") or not raw.isprintable():
        raise ValueError("must be a URL path starting with '/' (no spaces, '?', '#')")
    return raw


def _issuer(raw: str) -> str:
    parts = urlsplit(raw)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("must be an https:// URL (http:// only for 127.0.0.1 or localhost)")
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an https:// URL with a host and no query or fragment")
    # Kept exactly as given: the discovery document's issuer must match it exactly (Discovery §4.3).
    return raw


def _text(raw: str) -> str:
    if not raw.strip() or not raw.isprintable():
        raise ValueError("must be non-empty printable text")
    return raw.strip()


def _scopes(raw: str) -> str:
    scopes = raw.split()
    if not scopes or any(not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", s) for s in scopes):
        raise ValueError("must be scope names separated by spaces (RFC 6749 §3.3)")
    return " ".join(scopes)


def _bool(raw: str) -> bool:
    value = str(raw).strip().lower()
    if value in {"true", "yes", "1", "on"}:
        return True
    if value in {"false", "no", "0", "off"}:
        return False
    raise ValueError("must be true or false")


def _secret(raw: str) -> str:
    if not raw.strip() or not raw.strip().isprintable():
        raise ValueError("must be non-empty printable text")
    return raw.strip()


def _seconds(raw: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError("must be a whole number of seconds from 0 to 86400") from None
    if not 0 <= value <= 86400:
        raise ValueError("must be a whole number of seconds from 0 to 86400")
    return value


@attrs.frozen
class Key:
    """One configuration key: `service.*.x` stands for every service's `x`."""

    pattern: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False  # kept in the token store, never in the file, printed masked

    @property
    def per_service(self) -> bool:
        return self.pattern.startswith("service.*.")

    @property
    def suffix(self) -> str:
        return self.pattern.removeprefix("service.*.")


_AC = "service.*.authentication.authorizationCode."
_DC = "service.*.authentication.deviceCode."
KEYS: tuple[Key, ...] = (
    Key("auth.storage.type", _enum(StorageType), StorageType.SECURE_LOCAL.value,
        "where tokens are kept: secure_local (the OS keyring), file_system (a file only you can read), none"),
    Key("auth.refreshMarginSeconds", _seconds, 60,
        "refresh an access token that expires within this many seconds"),
    Key("service.*.issuer", _issuer, None,
        "the OpenID Provider's issuer URL; endpoints come from its discovery document"),
    Key("service.*.authentication.type", _enum(GrantType), GrantType.AUTHORIZATION_CODE.value,
        "how a person signs in: authorization_code (browser) or device_code (a code to enter elsewhere)"),
    Key("service.*.authentication.acrValues", _scopes, None,
        "authentication context classes to request (acr_values), space-separated"),
    Key("service.*.authentication.requireMFA", _bool, False,
        "refuse a sign-in whose ID token does not show multi-factor authentication (amr 'mfa' or a requested acr)"),
    Key(_AC + "clientID", _text, None, "the OAuth client ID used for the authorization code grant"),
    Key(_AC + "redirectURIPort", _port, DEFAULT_REDIRECT_PORT,
        "the loopback port for the redirect; 0 picks any free port (the provider must allow it, RFC 8252 §7.3)"),
    Key(_AC + "redirectURIPath", _path, DEFAULT_REDIRECT_PATH, "the path of the loopback redirect URI"),
    Key(_AC + "scopes", _scopes, DEFAULT_SCOPES, "scopes requested with the authorization code grant"),
    Key(_AC + "clientSecret", _secret, None,
        "the client secret of a confidential client (sent with HTTP Basic, RFC 6749 §2.3.1); kept in the token "
        "store, never in this file; `config set` with no value reads it from standard input", secret=True),
    Key(_DC + "clientID", _text, None, "the OAuth client ID used for the device code grant"),
    Key(_DC + "scopes", _scopes, DEFAULT_SCOPES, "scopes requested with the device code grant"),
    Key(_DC + "clientSecret", _secret, None,
        "the client secret of a confidential client for the device code grant; kept like "
        "authorizationCode.clientSecret", secret=True),
)
_BY_PATTERN = {key.pattern: key for key in KEYS}


def find_key(name: str) -> tuple[Key, str | None]:
    """The registry entry for a concrete key, and the service it names (if any)."""
    if name in _BY_PATTERN and not _BY_PATTERN[name].per_service:
        return _BY_PATTERN[name], None
    if name.startswith("service."):
        service, _, rest = name.removeprefix("service.").partition(".")
        key = _BY_PATTERN.get("service.*." + rest)
        if key is not None and service:
            return key, check_name("service", service)
    raise ConfigError(f"unknown configuration key {name!r}", "see every key with: pingcli config list-keys")


def parse_value(name: str, raw: str) -> Any:
    key, _ = find_key(name)
    try:
        return key.parse(str(raw))
    except ValueError as error:
        if key.secret:  # never echoed, and never suggested on a command line, where shell history keeps it
            raise ConfigError(
                f"{name} is not valid: {error}",
                f"give it on standard input (pingcli config set {name} < FILE, or type it when asked), "
                f"or in the environment: {env_name(name)}",
            ) from None
        raise ConfigError(f"{name}={raw!r} is not valid: {error}", f"pingcli config set {name}=VALUE") from None


def parse_env_value(name: str, variable: str, raw: str) -> Any:
    """A key's value given in the environment: a bad one is fixed in the variable, not with `config set`."""
    key, _ = find_key(name)
    try:
        return key.parse(str(raw))
    except ValueError as error:
        raise ConfigError(f"{variable} is not valid: {error}", env_hint(variable)) from None


def env_hint(variable: str) -> str:
    return f"fix the environment variable {variable}, or unset it: unset {variable}"


def env_name(name: str) -> str:
    """`auth.storage.type` -> `PINGCLI_AUTH_STORAGE_TYPE`; camelCase words split (clientID -> CLIENT_ID)."""
    service, _, rest = name.removeprefix("service.").partition(".")
    if name.startswith("service.") and rest:
        # The service as the variables that name it are read (service_env_form): myApp is MYAPP, not MY_APP.
        return f"PINGCLI_SERVICE_{service_env_form(service)}_" + env_name(rest).removeprefix("PINGCLI_")
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words)
    return "PINGCLI_" + re.sub(r"[^A-Za-z0-9]+", "_", words).upper()


def service_env_form(service: str) -> str:
    """How a service is spelt in its variables: `my-svc`, `my_svc` and `MY_SVC` are all MY_SVC."""
    return re.sub(r"[^A-Za-z0-9]", "_", service).upper()


def env_twin(service: str, others: Iterable[str]) -> str | None:
    """Another service name that would read the same PINGCLI_SERVICE_<NAME>_* variables, if any."""
    form = service_env_form(service)
    return next((other for other in sorted(others) if other != service and service_env_form(other) == form), None)


def env_twins_error(service: str, twin: str, profile: str) -> ConfigError:
    return ConfigError(
        f"services {min(service, twin)!r} and {max(service, twin)!r} of profile {profile!r} would both read the "
        f"environment variables PINGCLI_SERVICE_{service_env_form(service)}_*",
        f"keep one of them: pingcli --profile {profile} config unset service.{max(service, twin)}.KEY for each of "
        f"its keys (see pingcli config profiles show {profile}), then set them again under a name of its own",
    )


def is_known_key(name: str) -> bool:
    """Whether `name` is a key of the registry (a configuration file may hold keys of other versions, or typos)."""
    try:
        find_key(name)
    except ConfigError:
        return False
    return True


def is_setting_variable(variable: str) -> bool:
    """Whether `variable` is the environment name of a configuration key (PINGCLI_SERVICE_<NAME>_... included)."""
    if any(variable == env_name(key.pattern) for key in KEYS if not key.per_service):
        return True
    return bool(_env_service_values({variable: ""}, set()))


@attrs.frozen
class AuthorizationCodeSettings:
    client_id: str | None
    redirect_port: int
    redirect_path: str
    scopes: str
    client_secret: ClientSecret | None = None


@attrs.frozen
class DeviceCodeSettings:
    client_id: str | None
    scopes: str
    client_secret: ClientSecret | None = None


@attrs.frozen
class ServiceSettings:
    name: str
    issuer: str | None
    grant: GrantType
    authorization_code: AuthorizationCodeSettings
    device_code: DeviceCodeSettings
    acr_values: str | None = None
    require_mfa: bool = False
    # Key (after `service.NAME.`) -> the environment variable that gave its value, for messages that name it.
    from_environment: Mapping[str, str] = attrs.field(factory=dict, eq=False)

    def source_of(self, suffix: str) -> str | None:
        """The environment variable `service.NAME.<suffix>` comes from, or None when it is the profile's."""
        return self.from_environment.get(suffix)

    def client_id(self, grant: GrantType) -> str:
        if grant is GrantType.AUTHORIZATION_CODE:
            client_id, key = self.authorization_code.client_id, "authorizationCode.clientID"
        else:
            client_id, key = self.device_code.client_id, "deviceCode.clientID"
        if not client_id:
            raise ConfigError(
                f"service {self.name!r} has no client ID for the {grant.value} grant",
                f"pingcli config set service.{self.name}.authentication.{key}=CLIENT_ID",
            )
        return client_id

    def _grant_settings(self, grant: GrantType) -> AuthorizationCodeSettings | DeviceCodeSettings:
        return self.authorization_code if grant is GrantType.AUTHORIZATION_CODE else self.device_code

    def client_secret(self, grant: GrantType) -> ClientSecret | None:
        return self._grant_settings(grant).client_secret

    def client_auth(self, grant: GrantType) -> ClientAuth:
        """The client to authenticate as with this grant: with its secret when one is configured."""
        client_id = self.client_id(grant)
        secret = self.client_secret(grant)
        key = secret_key(self.name, grant)
        if secret is None:
            return ClientAuth(client_id, setting=key)
        if secret.source is SecretSource.CONFIG_FILE:
            raise ConfigError(
                f"{key} is written in plain text in the configuration file; pingcli takes client secrets only "
                "from the token store or the environment",
                f"move it to the token store: pingcli config set {key}=SECRET (the file then keeps only a marker)",
            )
        if secret.value is None:
            raise secret_missing(self.name, grant, secret.looked_in)
        return ClientAuth(client_id, secret.value, key, secret_variable=secret.variable)

    def client_auth_for(self, client_id: str, grant: GrantType) -> ClientAuth:
        """The client of a stored session: with the configured secret while that client is still configured."""
        if self._grant_settings(grant).client_id != client_id:
            return ClientAuth(client_id)
        return self.client_auth(grant)

    def require_issuer(self) -> str:
        if not self.issuer:
            raise ConfigError(
                f"service {self.name!r} has no issuer",
                f"pingcli config set service.{self.name}.issuer=https://issuer.example",
            )
        return self.issuer

    def scopes(self, grant: GrantType) -> str:
        return self.authorization_code.scopes if grant is GrantType.AUTHORIZATION_CODE else self.device_code.scopes


@attrs.frozen
class Profile:
    name: str
    storage: StorageType
    refresh_margin: int
    services: Mapping[str, ServiceSettings]

    def service(self, name: str) -> ServiceSettings:
        if name not in self.services:
            known = ", ".join(sorted(self.services)) or "none"
            raise ConfigError(
                f"profile {self.name!r} has no service {name!r} (configured: {known})",
                f"pingcli config set service.{name}.issuer=https://issuer.example",
            )
        return self.services[name]


def _env_service_values(
    env: Mapping[str, str], known: set[str], variables: dict[str, str] | None = None
) -> dict[str, str]:
    """Service keys from the environment, e.g. PINGCLI_SERVICE_DEMO_ISSUER; `variables` gets key -> variable.

    A variable names a configured service when its upper-snake form matches (`my-app` is MY_APP);
    otherwise it defines a new service named in lower case.
    """
    found: dict[str, str] = {}
    by_env_form = {service_env_form(name): name for name in sorted(known)}
    suffixes = {env_name("x." + key.suffix).removeprefix("PINGCLI_X_"): key for key in KEYS if key.per_service}
    for variable, value in env.items():
        if not variable.startswith("PINGCLI_SERVICE_"):
            continue
        middle = variable.removeprefix("PINGCLI_SERVICE_")
        for suffix, key in suffixes.items():
            if middle.endswith("_" + suffix) and len(middle) > len(suffix) + 1:
                service_part = middle[: -len(suffix) - 1]
                service = by_env_form.get(service_part, service_part.lower())
                found[f"service.{service}.{key.suffix}"] = value
                if variables is not None:
                    variables[f"service.{service}.{key.suffix}"] = variable
    return found


def parse_stored(profile: str, name: str, given: Any) -> Any:
    """A key's value as the profile's file section holds it (TOML: a string, a number, a boolean), parsed."""
    key, _ = find_key(name)
    try:
        return key.parse(str(given).lower() if isinstance(given, bool) else str(given))
    except ValueError as error:
        raise ConfigError(
            f"{name} in profile {profile!r} is not valid: {error}",
            f"pingcli --profile {profile} config set {name}=VALUE",
        ) from None


def resolve_profile(name: str, stored: Mapping[str, Any], env: Mapping[str, str]) -> Profile:
    """A profile's effective settings. Precedence: environment, then profile file, then default.

    (Command-line flags such as --device-code are applied by the use case on top of this.)
    """
    raw: dict[str, Any] = dict(stored)
    known = {n.split(".")[1] for n in raw if n.startswith("service.") and n.count(".") >= 2}
    for service in sorted(known):
        twin = env_twin(service, known)
        if twin is not None:
            raise env_twins_error(service, twin, name)
    variables: dict[str, str] = {}
    env_values = _env_service_values(env, known, variables)
    for key in KEYS:
        if not key.per_service and env_name(key.pattern) in env:
            env_values[key.pattern] = env[env_name(key.pattern)]
            variables[key.pattern] = env_name(key.pattern)
    services = {n.split(".")[1] for n in list(raw) + list(env_values) if n.startswith("service.")}

    def value(name: str) -> Any:
        key, _ = find_key(name)
        if name in env_values:
            try:
                return key.parse(str(env_values[name]))
            except ValueError as error:
                variable = variables[name]
                raise ConfigError(f"{variable} is not valid: {error}", env_hint(variable)) from None
        if name in raw:
            return parse_stored(name_, name, raw[name])
        return key.default if key.default is None else key.parse(str(key.default))

    def secret(name: str) -> ClientSecret | None:
        if name in env_values:
            return ClientSecret(SecretSource.ENVIRONMENT, value(name), variable=variables[name])
        if name not in raw:
            return None
        if raw[name] == SECRET_MARKER:
            return ClientSecret(SecretSource.TOKEN_STORE)
        return ClientSecret(SecretSource.CONFIG_FILE)

    name_ = name
    built = {}
    for service in sorted(services):
        check_name("service", service)
        prefix = f"service.{service}."
        built[service] = ServiceSettings(
            name=service,
            issuer=value(prefix + "issuer"),
            grant=GrantType(value(prefix + "authentication.type")),
            authorization_code=AuthorizationCodeSettings(
                client_id=value(prefix + "authentication.authorizationCode.clientID"),
                redirect_port=value(prefix + "authentication.authorizationCode.redirectURIPort"),
                redirect_path=value(prefix + "authentication.authorizationCode.redirectURIPath"),
                scopes=value(prefix + "authentication.authorizationCode.scopes"),
                client_secret=secret(prefix + "authentication.authorizationCode.clientSecret"),
            ),
            device_code=DeviceCodeSettings(
                client_id=value(prefix + "authentication.deviceCode.clientID"),
                scopes=value(prefix + "authentication.deviceCode.scopes"),
                client_secret=secret(prefix + "authentication.deviceCode.clientSecret"),
            ),
            acr_values=value(prefix + "authentication.acrValues"),
            require_mfa=value(prefix + "authentication.requireMFA"),
            from_environment={k.removeprefix(prefix): v for k, v in variables.items() if k.startswith(prefix)},
        )
    return Profile(
        name=name,
        storage=StorageType(value("auth.storage.type")),
        refresh_margin=value("auth.refreshMarginSeconds"),
        services=built,
    )
