"""A refresh whose new tokens the store refuses: what becomes of the stored session, said exactly.

When the refresh rotated the refresh token (the stored one is used up) and the new tokens were revoked (on the
bundled provider that ends the whole grant), nothing stored works any more: it is removed (an unlink works on a
full disk), else marked expired, else the message says it is still there and cannot be refreshed.
"""

from __future__ import annotations

import attrs

from pingcli.adapters.fakes import FakeSessionStore
from pingcli.domain.errors import StorageUnavailable

from .test_tokens_refresh_logout import (  # noqa: F401 - fixtures
    FULL_DISK,
    alive,
    config,
    pingcli,
    refreshes,
    session,
    signed_in,
    stores,
)

READ_ONLY = StorageUnavailable("file store /data", "cannot remove /data/default/demo.json: Read-only file system",
                               "check the owner and permissions of /data/default, or use another store")


def test_after_a_rotated_refresh_that_could_not_be_kept_the_session_is_gone_not_signed_in_with_a_dead_token(
    signed_in, pingcli
):
    stored = session(signed_in)
    signed_in.clock.advance(3600 - 30)  # within the margin, the stored access token not yet expired
    signed_in.store.refuse_writes = FULL_DISK

    assert pingcli("auth", "token").code == 7

    assert not alive(signed_in.provider, stored.tokens.refresh_token)  # used up by the refresh
    status = pingcli("auth", "status")
    assert status.code == 3 and "demo: not signed in" in status.out and "refresh token held" not in status.out
    signed_in.provider.requests.clear()
    token = pingcli("auth", "token")
    assert token.code == 3 and token.out == "" and "not signed in to demo" in token.err
    assert signed_in.provider.requests == []  # nothing sent with a used-up refresh token


def test_when_the_used_up_session_can_be_neither_removed_nor_rewritten_the_message_says_it_is_still_there(
    signed_in, pingcli
):
    stored = session(signed_in)
    signed_in.clock.advance(3600)
    signed_in.store.refuse_writes = FULL_DISK
    signed_in.store.refuse_deletes = READ_ONLY

    refused = pingcli("auth", "token")

    assert refused.code == 7 and refused.out == ""
    assert refused.err == (
        "pingcli: the provider issued new tokens for demo, but they could not be kept: the token store "
        "(file store /data) is not usable: cannot write /data/default/demo.json: the disk is full; the stored "
        "session, whose refresh token this refresh used up, could be neither removed nor marked expired (cannot "
        "remove /data/default/demo.json: Read-only file system): it is still stored, and pingcli auth status still "
        "shows it as signed in, but it cannot be refreshed; the new tokens were revoked at the provider\n"
        "  free some disk space, or use another store; then sign in again, which replaces it: pingcli auth login "
        "--service demo\n")
    assert "probably" not in refused.err
    assert session(signed_in) == stored


class KeepsNoNewTokens(FakeSessionStore):
    """A keyring that refuses to delete (macOS without user interaction) and to store the refreshed tokens
    (they no longer fit), yet can rewrite the stored session."""

    def save(self, session):
        if not session.expired and ("default", "demo") in self.sessions:
            raise FULL_DISK
        super().save(session)


def test_when_the_used_up_session_cannot_be_removed_it_is_marked_expired_and_not_offered_again(
    signed_in, pingcli, stores
):
    store = KeepsNoNewTokens()
    store.sessions = dict(signed_in.store.sessions)
    stored = session(signed_in)
    signed_in.store = store
    for kind in stores:
        stores[kind] = store
    store.refuse_deletes = READ_ONLY
    signed_in.clock.advance(3600)

    refused = pingcli("auth", "token")

    assert refused.code == 7
    assert ("the stored session, whose refresh token this refresh used up, could not be removed (cannot remove "
            "/data/default/demo.json: Read-only file system) and was marked expired: pingcli will not use it; the new "
            "tokens were revoked at the provider") in refused.err
    assert store.sessions[("default", "demo")] == attrs.evolve(stored, expired=True)
    assert pingcli("auth", "status").code == 4
    signed_in.provider.requests.clear()
    assert pingcli("auth", "token").code == 4 and signed_in.provider.requests == []


def test_a_rotated_refresh_whose_new_tokens_could_not_be_revoked_leaves_the_session_and_says_exactly_why(
    signed_in, pingcli
):
    stored = session(signed_in)
    signed_in.provider.offers_revocation = False
    signed_in.clock.advance(3600)
    signed_in.store.refuse_writes = FULL_DISK

    refused = pingcli("auth", "token")

    assert refused.code == 7
    assert ("the stored session was left as it was: its refresh token is the one this refresh replaced, which a "
            "provider that rotates refresh tokens no longer accepts; the provider offers no revocation: the new tokens "
            "stay valid there until they expire") in refused.err
    assert session(signed_in) == stored and len(refreshes(signed_in.provider)) == 1
