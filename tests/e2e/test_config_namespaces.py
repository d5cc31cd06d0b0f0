"""Two configuration files with the same profile and service names (default / demo): each keeps its own session,
in files and in a real keyring (gnome-keyring on a private D-Bus session); signing in, moving the store and
signing out with one never touches the other's. The default file keeps the names pingcli always used."""

from __future__ import annotations

import base64
import json

import pytest

from tests.e2e.test_tokens import introspect
from tests.support.secret_service import SecretServiceSession

ASSIGNMENTS = (
    "service.demo.authentication.type=authorization_code",
    "service.demo.authentication.authorizationCode.clientID=cli-public",
    "service.demo.authentication.authorizationCode.redirectURIPort=0",
)


@pytest.fixture
def other(terminal, tmp_path):
    """pingcli with `--config other.toml`, in the same shell as the default file's."""
    path = tmp_path / "elsewhere" / "other.toml"
    path.parent.mkdir()

    def run(*args: str):
        return terminal.run("--config", str(path), *args)

    run.path = path
    return run


def configure(run, issuer: str, storage: str) -> None:
    for assignment in (f"service.demo.issuer={issuer}", *ASSIGNMENTS, f"auth.storage.type={storage}"):
        result = run("config", "set", assignment)
        assert result.returncode == 0, result.stderr


def session_files(terminal) -> dict[str, dict]:
    """The stored tokens of each session file, by its path below the sessions directory."""
    sessions = terminal.home / ".local/share/pingcli/sessions"
    return {p.relative_to(sessions).as_posix(): json.loads(p.read_text())["session"]["tokens"]
            for p in sessions.rglob("demo.json")}


def test_two_files_keep_their_own_sessions_in_the_file_store_and_logout_in_one_leaves_the_other(terminal, op, other):
    configure(terminal.run, op.issuer, "file_system")
    configure(other, op.issuer, "file_system")

    assert terminal.run("auth", "login").returncode == 0
    assert other("auth", "login").returncode == 0

    stored = session_files(terminal)
    [namespaced] = [path for path in stored if path != "default/demo.json"]
    assert namespaced.startswith("config.") and namespaced.endswith("/default/demo.json")
    mine, theirs = stored["default/demo.json"], stored[namespaced]
    assert mine["refresh_token"] != theirs["refresh_token"]
    assert all(introspect(op, t) for t in (mine["access_token"], mine["refresh_token"]))  # not replaced, not revoked
    assert other("auth", "logout").returncode == 0
    assert session_files(terminal) == {"default/demo.json": mine}
    assert not introspect(op, theirs["refresh_token"]) and introspect(op, mine["refresh_token"])
    assert terminal.run("auth", "status").returncode == 0 and other("auth", "status").returncode == 3
    assert terminal.run("auth", "token").stdout.strip() == mine["access_token"]


def keyring_sessions(secret_service, monkeypatch) -> dict[str, dict]:
    """The tokens of each pingcli session entry in the keyring, by entry name."""
    import secretstorage

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    connection = secretstorage.dbus_init()
    try:
        found = {}
        for collection in secretstorage.get_all_collections(connection):
            for item in collection.get_all_items():
                attributes = item.get_attributes()
                if attributes.get("service") == "pingcli":
                    found[attributes["username"]] = json.loads(base64.b64decode(item.get_secret()))["session"]["tokens"]
        return found
    finally:
        connection.close()


def test_two_files_keep_their_own_sessions_in_a_real_keyring_and_moving_one_store_moves_only_its_own(
    terminal, op, other, tmp_path, monkeypatch
):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        home = terminal.home
        terminal.env.update(secret_service.env)
        terminal.env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
                            XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
        configure(terminal.run, op.issuer, "secure_local")
        configure(other, op.issuer, "secure_local")
        assert terminal.run("auth", "login").returncode == 0
        assert other("auth", "login").returncode == 0

        entries = keyring_sessions(secret_service, monkeypatch)
        [namespaced] = [name for name in entries if name != "default/demo"]
        assert namespaced.startswith("config.") and namespaced.endswith("/default/demo")
        mine, theirs = entries["default/demo"], entries[namespaced]
        assert mine["refresh_token"] != theirs["refresh_token"] and introspect(op, mine["refresh_token"])

        moved = other("config", "set", "auth.storage.type=file_system")

        assert moved.returncode == 0, moved.stderr
        assert "moved the session of demo from Secret Service (gnome-keyring) to " in moved.stdout
        assert keyring_sessions(secret_service, monkeypatch) == {"default/demo": mine}
        assert list(session_files(terminal).values()) == [theirs]
        assert other("auth", "logout").returncode == 0
        assert keyring_sessions(secret_service, monkeypatch) == {"default/demo": mine}
        assert session_files(terminal) == {}
        assert not introspect(op, theirs["refresh_token"])
        assert introspect(op, mine["access_token"]) and introspect(op, mine["refresh_token"])
        status = terminal.run("auth", "status")
        assert status.returncode == 0 and "storage  Secret Service (gnome-keyring)" in status.stdout
