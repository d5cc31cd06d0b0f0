"""Access tokens that live no longer than auth.refreshMarginSeconds (60 s by default): the margin is capped at half
the token's lifetime, so a fresh one is handed out as it is, and many callers at once cause one refresh."""

from __future__ import annotations

import pytest

from pingcli.domain.tokens import TokenSet

from .test_tokens_refresh_logout import LOCK, NOW, config, pingcli, refreshes, session, sign_in, stores  # noqa: F401


@pytest.fixture
def five_second_tokens(world, pingcli):
    world.provider.access_token_lifetime = 5
    sign_in(world, pingcli)
    world.provider.requests.clear()
    return world


def test_a_fresh_five_second_token_is_handed_out_without_a_refresh(five_second_tokens, pingcli):
    stored = session(five_second_tokens).tokens.access_token

    tokens = [pingcli("auth", "token").token for _ in range(3)]

    assert tokens == [stored] * 3
    assert five_second_tokens.provider.requests == []


@pytest.mark.parametrize("callers", [2, 5])
def test_many_callers_of_a_short_lived_token_cause_one_refresh(five_second_tokens, pingcli, callers):
    world = five_second_tokens
    world.clock.advance(3)  # 2 s left: within half its lifetime, so due for a refresh
    printed = []

    def caller(index: int):
        # Each one read the stored session, found it due, and then waited for the lock the next one took first.
        if index + 1 < callers:
            world.locks.another_process_holds(LOCK, lambda: printed.append(caller(index + 1)))
        return pingcli("auth", "token")

    printed.append(caller(0))

    assert len(printed) == callers and all(ran.code == 0 for ran in printed)
    assert world.locks.waited == [LOCK] * (callers - 1)
    assert len(refreshes(world.provider)) == 1
    assert {ran.token for ran in printed} == {session(world).tokens.access_token}


def test_the_margin_is_capped_at_half_the_lifetime_and_unchanged_for_long_lived_tokens():
    short = TokenSet("a", "Bearer", NOW, NOW + 5, ())
    assert not short.due_for_refresh(NOW + 2.4, 60) and short.due_for_refresh(NOW + 2.5, 60)
    hour = TokenSet("a", "Bearer", NOW, NOW + 3600, ())
    assert not hour.due_for_refresh(NOW + 3539, 60) and hour.due_for_refresh(NOW + 3540, 60)
    assert not TokenSet("a", "Bearer", NOW, None, ()).due_for_refresh(NOW + 10**6, 60)
