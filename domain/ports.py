"""The ports: what the domain needs from the world, as small Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .authorization_code import CallbackVerdict
from .leftover import Leftover
from .provider import HttpResponse, ProviderMetadata
from .session import Session


class HttpClient(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """One request, no redirects followed. `endpoint` names it in errors ("token endpoint").

        Raises ProviderUnreachable on network failure or timeout, BadProviderResponse on an oversize body.
        """


class Browser(Protocol):
    def open(self, url: str) -> bool:
        """True only if a browser was really started for the URL."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None: ...


class CallbackListener(Protocol):
    """The loopback redirect receiver of RFC 8252 §7.3."""

    port: int

    def wait(self, judge: Callable[[str, str], CallbackVerdict], timeout: float) -> CallbackVerdict:
        """Answer each request with the judge's verdict until one ends the flow; return that one.

        `judge(path, query)`; raises CallbackTimeout after `timeout` seconds.
        """

    def close(self) -> None: ...


class CallbackListenerFactory(Protocol):
    def bind(self, port: int, setting: str) -> CallbackListener:
        """Listen on 127.0.0.1:port (0: any free port); CallbackPortUnavailable naming `setting` if taken."""


class IdTokenValidator(Protocol):
    def validate(
        self, id_token: str, *, metadata: ProviderMetadata, client_id: str, nonce: str | None, now: float
    ) -> Mapping[str, Any]:
        """The claims of a fully validated ID token (OpenID Connect Core §3.1.3.7), or IdTokenInvalid."""


class SessionStore(Protocol):
    """Where sessions are kept, as auth.storage.type says."""

    description: str  # shown by `auth status`: "Secret Service (gnome-keyring)", a file path, "not stored"

    def load(self, profile: str, service: str) -> Session | None: ...

    def save(self, session: Session) -> None: ...

    def delete(self, profile: str, service: str) -> bool:
        """True if something was removed."""

    def leftovers(self, profile: str, service: str) -> list[Leftover]:
        """Copies of the service's session set aside as unreadable, and a session a newer pingcli wrote."""

    def remove_leftover(self, profile: str, service: str, leftover: Leftover) -> bool:
        """Remove one of `leftovers()`; True if something was removed."""

    def forget_profile(self, profile: str) -> None:
        """Once a profile is deleted: remove what the store keeps for it that holds nothing (an empty directory)."""


class SecretStore(Protocol):
    """Client secrets, kept by the same adapters as the sessions (never in the configuration file).

    `name` says which secret of the service it is: the grant it is for ("authorization_code").
    """

    description: str

    def load_secret(self, profile: str, service: str, name: str) -> str | None: ...

    def save_secret(self, profile: str, service: str, name: str, secret: str) -> None:
        """Kept and read back, or StorageUnavailable."""

    def delete_secret(self, profile: str, service: str, name: str) -> bool:
        """True if something was removed."""


class MetadataSource(Protocol):
    def metadata(self, issuer: str) -> ProviderMetadata:
        """The provider's discovery document (possibly cached), validated against the issuer."""


class Console(Protocol):
    """Progress for the person at the terminal (stderr); results go through the entrypoint's renderer."""

    def say(self, message: str) -> None: ...


class ConfigStore(Protocol):
    location: str
    # The Locks name every change of this store is made under; the same for every path that reaches it.
    lock_name: str

    def load(self) -> tuple[Any, dict[str, dict[str, Any]]]:
        """(active profile as written, unchecked: None when absent; {profile: {flat key: value}})."""

    def unknown_top_level_keys(self) -> list[str]:
        """Keys beside the active profile and the profiles, which pingcli ignores (a typo, another version)."""

    def set_value(self, profile: str, key: str, value: Any) -> None: ...

    def unset_value(self, profile: str, key: str) -> bool: ...

    def create_profile(self, profile: str) -> None: ...

    def delete_profile(self, profile: str) -> None: ...

    def set_active(self, profile: str) -> None: ...


class Locks(Protocol):
    """Mutual exclusion between pingcli processes, per name (e.g. "tokens/default/demo")."""

    def hold(self, name: str, timeout: float, on_wait: Callable[[], None] | None = None) -> AbstractContextManager[None]:
        """Held until the context exits; `on_wait` is called once if another holder makes us wait.

        A holder that dies releases the lock; waiting longer than `timeout` raises LockTimeout.
        """
