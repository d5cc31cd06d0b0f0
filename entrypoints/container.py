"""The composition root: configuration in, adapters wired to ports, use cases out."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from pingcli.adapters.config_toml import TomlConfigStore
from pingcli.adapters.file_lock import FileLocks, ThreadLocks
from pingcli.adapters.loopback_listener import LoopbackListenerFactory
from pingcli.adapters.oidc_discovery import CachedDiscovery
from pingcli.adapters.provider_cache import ProviderCache
from pingcli.adapters.session_stores import FileSessionStore, KeyringSessionStore, MemorySessionStore
from pingcli.adapters.system_clock import SystemClock
from pingcli.adapters.terminal import StreamConsole
from pingcli.adapters.web_browser import NoBrowser, WebBrowser
from pingcli.domain.usecases.config import Configuration, DeleteProfile
from pingcli.domain.usecases.login import Login
from pingcli.domain.settings import StorageType
from pingcli.domain.usecases.client_secrets import ClientSecrets
from pingcli.domain.usecases.logout import Logout
from pingcli.domain.usecases.storage_migration import ChangeStorage
from pingcli.domain.usecases.status import Status
from pingcli.domain.usecases.token import GetToken, Refresher


# urllib3 and PyJWT (with cryptography) take about 45 ms to import: only commands that reach the provider
# pay for them, so `auth status` and `config` stay quick.
def _http_client(**kwargs: Any) -> Any:
    from pingcli.adapters.http_urllib3 import Urllib3HttpClient

    return Urllib3HttpClient(**kwargs)


def _id_token_validator(*args: Any, **kwargs: Any) -> Any:
    from pingcli.adapters.id_token import JwksIdTokenValidator

    return JwksIdTokenValidator(*args, **kwargs)


class Container(containers.DeclarativeContainer):
    """`config` carries: env, config_path, config_required_by, sessions_dir, locks_dir, namespace, cache_dir,
    http_timeout, profile_flag, storage_type, open_browser, trace, stderr."""

    config = providers.Configuration()

    console = providers.Singleton(StreamConsole, config.stderr)
    clock = providers.Singleton(SystemClock)
    http = providers.Singleton(_http_client, trace=config.trace, timeout=config.http_timeout)
    # Public provider metadata only (discovery, JWKS): kept whatever auth.storage.type says.
    provider_cache = providers.Singleton(ProviderCache, config.cache_dir)
    discovery = providers.Singleton(CachedDiscovery, http, provider_cache, clock)
    id_tokens = providers.Singleton(_id_token_validator, http, cache=provider_cache)
    listeners = providers.Singleton(LoopbackListenerFactory)
    browser = providers.Selector(
        config.browser,
        system=providers.Singleton(WebBrowser),
        none=providers.Singleton(NoBrowser),
    )
    config_store = providers.Singleton(TomlConfigStore, config.config_path, config.config_required_by)
    # `namespace`: None for the default configuration file, else its own names in every store and lock.
    keyring_store = providers.Singleton(KeyringSessionStore, namespace=config.namespace)
    file_store = providers.Singleton(FileSessionStore, config.sessions_dir, namespace=config.namespace)
    memory_store = providers.Singleton(MemorySessionStore)
    session_store = providers.Selector(
        config.storage_type, secure_local=keyring_store, file_system=file_store, none=memory_store
    )
    # Every store at once, by type: moving sessions between them, and client secrets (they keep both).
    session_stores = providers.Dict(
        {StorageType.SECURE_LOCAL: keyring_store, StorageType.FILE_SYSTEM: file_store, StorageType.NONE: memory_store}
    )
    locks = providers.Selector(
        config.storage_type,
        secure_local=providers.Singleton(FileLocks, config.locks_dir, namespace=config.namespace),
        file_system=providers.Singleton(FileLocks, config.locks_dir, namespace=config.namespace),
        none=providers.Singleton(ThreadLocks),
    )

    # Whatever the token store: every process shares the configuration file, so its changes are locked between them.
    config_locks = providers.Singleton(FileLocks, config.locks_dir)
    configuration = providers.Factory(
        Configuration, config_store, config.env, config.profile_flag, locks=config_locks
    )
    login = providers.Factory(
        Login,
        http=http,
        metadata=discovery,
        listeners=listeners,
        browser=browser,
        clock=clock,
        id_tokens=id_tokens,
        store=session_store,
        console=console,
        locks=locks,
    )
    status = providers.Factory(Status, store=session_store, clock=clock)
    refresher = providers.Factory(
        Refresher, http=http, metadata=discovery, id_tokens=id_tokens, store=session_store, clock=clock, locks=locks
    )
    token = providers.Factory(GetToken, refresher=refresher, store=session_store, login=login)
    logout = providers.Factory(Logout, http=http, metadata=discovery, store=session_store, locks=locks)
    client_secrets = providers.Factory(ClientSecrets, configuration=configuration, stores=session_stores)
    delete_profile = providers.Factory(DeleteProfile, configuration=configuration, stores=session_stores)
    change_storage = providers.Factory(
        ChangeStorage,
        configuration=configuration,
        stores=session_stores,
        # Held across processes whatever the old or new type: a refresh must not write to the old store meanwhile.
        locks=providers.Singleton(FileLocks, config.locks_dir, namespace=config.namespace),
    )
