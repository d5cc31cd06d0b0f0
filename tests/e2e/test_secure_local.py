"""secure_local against a real Secret Service (gnome-keyring on a private D-Bus session)."""

from __future__ import annotations

import pytest

from tests.support.secret_service import SecretServiceSession


@pytest.fixture
def keyring_terminal(terminal, tmp_path):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        terminal.env.update(secret_service.env)
        terminal.env["HOME"] = str(terminal.home)
        yield terminal, secret_service


def test_tokens_go_to_the_keyring_and_logout_takes_them_out(keyring_terminal, op):
    terminal, secret_service = keyring_terminal
    terminal.configure(op.issuer, storage="secure_local")

    login = terminal.run("auth", "login")

    assert login.returncode == 0, login.stderr
    assert "tokens stored in Secret Service (gnome-keyring)" in login.stdout
    code, status = terminal.status()
    assert code == 0 and status["services"][0]["storage"] == "Secret Service (gnome-keyring)"
    token = terminal.run("auth", "token").stdout.strip()
    assert token
    for path in terminal.files_under_home() + secret_service.files():
        assert token.encode() not in path.read_bytes(), f"the access token is in plaintext in {path}"

    assert terminal.run("auth", "logout").returncode == 0
    assert terminal.status()[0] == 3
    assert terminal.run("auth", "token").returncode == 3


def test_a_locked_keyring_is_reported_as_locked_not_as_signed_out(keyring_terminal, op):
    terminal, secret_service = keyring_terminal
    terminal.configure(op.issuer, storage="secure_local")
    assert terminal.run("auth", "login").returncode == 0
    secret_service.lock()

    status = terminal.run("auth", "status")
    token = terminal.run("auth", "token")

    assert status.returncode == 7 and "locked" in status.stderr
    assert token.returncode == 7 and "locked" in token.stderr and token.stdout == ""


def test_auth_status_names_the_keyring_in_use_signed_in_or_not(keyring_terminal, op):
    terminal, _ = keyring_terminal
    terminal.configure(op.issuer, storage="secure_local")

    before = terminal.run("auth", "status")
    assert terminal.run("auth", "login").returncode == 0
    after = terminal.run("auth", "status")

    assert before.returncode == 3 and "demo: not signed in" in before.stdout
    assert after.returncode == 0 and "demo: signed in as Demo User" in after.stdout
    for status in (before, after):
        assert "  storage  Secret Service (gnome-keyring)\n" in status.stdout + "\n"
