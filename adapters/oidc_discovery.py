"""OpenID Provider discovery (OpenID Connect Discovery 1.0 §4) over the HttpClient port."""

from __future__ import annotations

from pingcli.domain.ports import HttpClient
from pingcli.domain.provider import ProviderMetadata, discovery_url, read_json_object

ENDPOINT = "discovery document"


class DiscoveryClient:
    """Fetches each issuer's metadata once per process."""

    def __init__(self, http: HttpClient) -> None:
        self._http = http
        self._known: dict[str, ProviderMetadata] = {}

    def metadata(self, issuer: str) -> ProviderMetadata:
        if issuer not in self._known:
            response = self._http.request("GET", discovery_url(issuer), endpoint=ENDPOINT)
            self._known[issuer] = ProviderMetadata.from_document(read_json_object(response, ENDPOINT), issuer)
        return self._known[issuer]
