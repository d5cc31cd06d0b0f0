"""OpenID Provider discovery (OpenID Connect Discovery 1.0 §4) over the HttpClient port."""

from __future__ import annotations

from pingcli.domain.ports import Clock, HttpClient
from pingcli.domain.provider import ProviderMetadata, discovery_url

from .provider_cache import NoCache, ProviderCache
from .system_clock import SystemClock

ENDPOINT = "discovery document"


class CachedDiscovery:
    """Each issuer's metadata once per process and, given a ProviderCache, once per cache lifetime.

    Every document, cached or not, is validated against the issuer asked for (Discovery §4.3).
    """

    def __init__(
        self, http: HttpClient, cache: ProviderCache | NoCache | None = None, clock: Clock | None = None
    ) -> None:
        self._http = http
        self._cache = cache if cache is not None else NoCache()
        self._clock = clock if clock is not None else SystemClock()
        self._known: dict[str, ProviderMetadata] = {}

    def metadata(self, issuer: str) -> ProviderMetadata:
        if issuer not in self._known:
            self._known[issuer] = self._cache.get(
                self._http,
                discovery_url(issuer),
                endpoint=ENDPOINT,
                now=self._clock.now(),
                read=lambda document: ProviderMetadata.from_document(document, issuer),
            )
        return self._known[issuer]


# Without a cache: each issuer's metadata once per process (the name older callers and tests use).
DiscoveryClient = CachedDiscovery
