"""How pingcli authenticates as an OAuth client: public (client_id only) or confidential (client_secret_basic)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import quote_plus

import attrs

MASK = "********"


@attrs.frozen
class ClientAuth:
    """The client a request is made for, with its secret when it is a confidential client.

    RFC 6749 §2.3.1: a confidential client sends `Authorization: Basic base64(id ":" secret)`, where id
    and secret are first encoded with application/x-www-form-urlencoded (Appendix B). The client_id
    stays in the form as well (allowed by §3.2.1, and required there for public clients); the secret is
    never put in the form, so it appears in no request body and no trace.
    """

    client_id: str
    secret: str | None = attrs.field(default=None, repr=False)
    setting: str | None = None  # the configuration key of its secret, named when the provider refuses the client
    # The environment variable its secret came from: then that, not `config set`, is what to fix.
    secret_variable: str | None = None

    @property
    def confidential(self) -> bool:
        return self.secret is not None

    def form(self, form: Mapping[str, str]) -> dict[str, str]:
        return {**form, "client_id": self.client_id}

    def headers(self) -> dict[str, str]:
        if self.secret is None:
            return {}
        pair = f"{quote_plus(self.client_id, safe='')}:{quote_plus(self.secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")}
