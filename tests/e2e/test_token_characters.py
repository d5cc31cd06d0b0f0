"""A provider whose token response holds a token with a line break (and a header line after it), through real HTTP:
`auth login` and a refresh end with a bad provider response (exit 6) naming the field, never its value, also with
--debug; nothing is stored and the token goes into no request. Before, the userinfo request's header raised a
ValueError: exit 1, and --debug printed the token."""

from __future__ import annotations

import pytest

from tests.e2e.test_hostile_input import backdate, fresh_hostile, hostile, service_env, session_files  # noqa: F401
from tests.support.hostile_op import INJECTED


@pytest.mark.parametrize("field", ["access_token", "refresh_token", "id_token"])
def test_a_token_with_a_line_break_at_sign_in_is_exit_6_naming_the_field_only(terminal, fresh_hostile, field):
    env = service_env(fresh_hostile.issuer, "device_code")
    fresh_hostile.spoil_token(field)

    login = terminal.run("auth", "login", "--debug", env=env, timeout=30)

    assert login.returncode == 6, login.stderr
    assert (f"pingcli: demo: the token endpoint sent a response pingcli cannot use: its {field} contains characters a "
            "token cannot have") in login.stderr
    assert INJECTED not in login.stdout + login.stderr
    assert not any(token in login.stderr for token in fresh_hostile.issued)
    assert fresh_hostile.count("userinfo") == 0 and session_files(terminal) == []


def test_a_token_with_a_line_break_in_a_refresh_answer_is_exit_6_and_the_debug_traceback_shows_no_token(
    terminal, fresh_hostile
):
    env = service_env(fresh_hostile.issuer, "device_code")
    assert terminal.run("auth", "login", env=env).returncode == 0
    backdate(terminal, 60)  # not "just got by another pingcli": --refresh really asks the provider
    fresh_hostile.spoil_token("access_token")

    refreshed = terminal.run("auth", "token", "--refresh", "--debug", env=env, timeout=30)

    assert refreshed.returncode == 6 and refreshed.stdout == ""
    assert "its access_token contains characters a token cannot have" in refreshed.stderr
    assert "Traceback" in refreshed.stderr and "BadProviderResponse" in refreshed.stderr
    assert INJECTED not in refreshed.stderr
    assert not any(token in refreshed.stderr for token in fresh_hostile.issued)
    assert terminal.run("auth", "status", env=env).returncode == 0  # the stored session is kept
