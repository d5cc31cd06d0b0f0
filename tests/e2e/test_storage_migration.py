"""Changing auth.storage.type while signed in: the tokens (and client secrets) move, nothing is left behind."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import PINGCLI
from tests.support.op import CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET
from tests.support.secret_service import SecretServiceSession

AC_KEY = "service.demo.authentication.authorizationCode.clientSecret"


def keyring_items(secret_service, monkeypatch) -> list[dict[str, str]]:
    """The attributes of every item in the login keyring, read with secretstorage (not through pingcli)."""
    import secretstorage

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        return sorted((dict(item.get_attributes()) for item in collection.get_all_items()),
                      key=lambda attributes: attributes.get("username", ""))
    finally:
        connection.close()


def stored_files(terminal) -> list[str]:
    """Files that hold sessions or client secrets (the store's one-time notice marker holds nothing)."""
    return sorted(p.name for p in terminal.files_under_home() if "sessions" in p.parts and p.name != ".notice-shown")


def sessions_dir(terminal):
    return terminal.home / ".local/share/pingcli/sessions"


@pytest.fixture
def keyring_terminal(terminal, tmp_path):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        terminal.env.update(secret_service.env)
        # The files go under the person's HOME, as they would without a test keyring.
        home = terminal.home
        terminal.env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
                            XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
        yield terminal, secret_service


def set_storage(terminal, storage: str) -> subprocess.CompletedProcess:
    return terminal.run("config", "set", f"auth.storage.type={storage}")


def test_file_system_to_the_keyring_and_back_moves_sessions_and_secrets_and_leaves_no_orphan(
    keyring_terminal, op, monkeypatch
):
    terminal, secret_service = keyring_terminal
    terminal.configure(op.issuer, storage="file_system")
    client = f"service.demo.authentication.authorizationCode.clientID={CONFIDENTIAL_CLIENT_ID}"
    assert terminal.run("config", "set", client).returncode == 0
    secret = subprocess.run([str(PINGCLI), "config", "set", AC_KEY], env=terminal.env, input=CONFIDENTIAL_CLIENT_SECRET,
                            capture_output=True, text=True, timeout=60)
    assert secret.returncode == 0, secret.stderr
    assert terminal.run("auth", "login").returncode == 0
    token = terminal.run("auth", "token").stdout.strip()
    assert stored_files(terminal) == ["demo.authorization_code.client-secret", "demo.json"]
    assert keyring_items(secret_service, monkeypatch) == []

    to_keyring = set_storage(terminal, "secure_local")

    assert to_keyring.returncode == 0, to_keyring.stderr
    where = sessions_dir(terminal)
    assert f"moved the session of demo from {where} to Secret Service (gnome-keyring)" in to_keyring.stdout
    assert (f"moved the client secret of demo (authorization_code) from {where} to Secret Service (gnome-keyring)"
            in to_keyring.stdout)
    assert to_keyring.stdout.rstrip().endswith("auth.storage.type = secure_local (was file_system)")
    assert stored_files(terminal) == []
    assert [item["username"] for item in keyring_items(secret_service, monkeypatch)] == [
        "default/demo", "default/demo/client-secret/authorization_code"]
    for path in terminal.files_under_home() + secret_service.files():
        data = path.read_bytes()
        assert token.encode() not in data and CONFIDENTIAL_CLIENT_SECRET.encode() not in data, path
    code, status = terminal.status()
    assert code == 0 and status["services"][0]["storage"] == "Secret Service (gnome-keyring)"
    assert terminal.run("auth", "token").stdout.strip() == token  # the same session: no new sign-in, no refresh

    to_files = set_storage(terminal, "file_system")

    assert to_files.returncode == 0, to_files.stderr
    assert f"moved the session of demo from Secret Service (gnome-keyring) to {where}" in to_files.stdout
    assert keyring_items(secret_service, monkeypatch) == []
    assert stored_files(terminal) == ["demo.authorization_code.client-secret", "demo.json"]
    code, status = terminal.status()
    assert code == 0 and status["services"][0]["storage"] == str(where)
    assert terminal.run("auth", "token").stdout.strip() == token
    assert CONFIDENTIAL_CLIENT_SECRET not in to_keyring.stdout + to_keyring.stderr + to_files.stdout + to_files.stderr
    assert terminal.run("auth", "logout").returncode == 0  # the secret still works, from its new place
    assert op.count("/token/revocation") >= 1 and all(
        r["status"] == 200 for r in op.requests() if r["path"] == "/token/revocation")


def test_moving_to_none_removes_the_stored_session_and_says_so(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    assert terminal.run("auth", "login").returncode == 0

    result = set_storage(terminal, "none")

    assert result.returncode == 0, result.stderr
    assert f"removed the session of demo from {sessions_dir(terminal)}: auth.storage.type=none keeps nothing" in (
        result.stdout)
    assert "not revoked" in result.stdout
    assert stored_files(terminal) == []
    assert terminal.status()[0] == 3


def test_a_keyring_that_is_not_there_changes_nothing(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    assert terminal.run("auth", "login").returncode == 0
    token = terminal.run("auth", "token").stdout.strip()

    result = set_storage(terminal, "secure_local")

    assert result.returncode == 7
    assert "nothing was changed: auth.storage.type is still file_system" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert terminal.run("config", "get", "auth.storage.type").stdout == "file_system\n"
    assert stored_files(terminal) == ["demo.json"]
    assert terminal.run("auth", "token").stdout.strip() == token


def test_leaving_a_keyring_that_is_not_there_is_allowed_and_says_what_could_not_be_checked(terminal, op):
    terminal.configure(op.issuer, storage="secure_local")

    result = set_storage(terminal, "file_system")

    assert result.returncode == 0, result.stderr
    assert "could not look into" in result.stdout and "left there" in result.stdout
    assert terminal.run("config", "get", "auth.storage.type").stdout == "file_system\n"


def test_the_change_as_json_lists_each_move(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    assert terminal.run("auth", "login").returncode == 0

    result = terminal.run("config", "set", "auth.storage.type=none", "--output", "json")

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["value"], body["previous"]) == ("none", "file_system")
    assert body["moved"] == [{"service": "demo", "what": "the session of demo", "outcome": "removed",
                              "from": str(sessions_dir(terminal)), "to": "not stored (auth.storage.type=none)",
                              "problem": None}]
