"""What a token store keeps for a service besides a session this pingcli can use."""

from __future__ import annotations

import attrs

from .tokens import TokenSet


@attrs.frozen
class Leftover:
    """A copy of a session set aside as unreadable, or a session a newer pingcli wrote (left where it is).

    Either may hold tokens the provider still honours, which nothing else would ever revoke: `auth logout`
    revokes those that can still be read and removes the leftover, and `config profiles delete` counts it as
    something the profile keeps.
    """

    place: str  # for people: a file's path, or a keyring entry and its service
    key: str  # for the store that listed it: which of its files or entries this is
    newer: bool = False  # a session in a format version this pingcli does not read, not a set-aside copy
    issuer: str | None = None
    client_id: str | None = None
    grant: str | None = None
    access_token: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)

    @property
    def tokens(self) -> TokenSet | None:
        """What can be revoked (RFC 7009 needs nothing but the token); None when no token could be read."""
        if not self.access_token and not self.refresh_token:
            return None
        return TokenSet(self.access_token or "", "Bearer", 0.0, None, (), refresh_token=self.refresh_token)
