"""The installed pingcli signs a person in, then finds it cannot keep the tokens: it says so, ends the grant at
the provider, writes nothing anywhere else, and exits 7.

pingcli never kept these tokens, so there is nothing to introspect: the provider's request log says which grant
the sign-in got (`grant_id` of the code exchange) and which grants a revocation ended (`revoked_grants`).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support.secret_service import SecretServiceSession


def ended_at_the_provider(op) -> bool:
    """Whether the grant of the one sign-in since op.clear_requests() was revoked by a revocation request."""
    requests = op.requests()
    [grant] = [r["grant_id"] for r in requests if r.get("grant_type") == "authorization_code" and r["status"] == 200]
    return any(grant in r.get("revoked_grants", ()) for r in requests
               if r["path"] == "/token/revocation" and r["status"] == 200 and r.get("client_id") == "cli-public")


def written(terminal) -> list[str]:
    """Files pingcli wrote under HOME besides its configuration and the public discovery and JWKS cache."""
    files = terminal.files_under_home()
    assert any(p.name == "config.toml" for p in files), "pingcli keeps its files elsewhere: this would prove nothing"
    return sorted(
        p.relative_to(terminal.home).as_posix() for p in files
        if p.name != "config.toml" and not {".cache", "providers"} <= set(p.parts)
    )


def use_keyring(terminal, secret_service) -> None:
    """The keyring's bus and backend; pingcli's own files still under the person's HOME, where `written` looks."""
    home = terminal.home
    terminal.env.update(secret_service.env)
    terminal.env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
                        XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))


def assert_refused_and_revoked(login, op, backend: str, reason: str) -> None:
    assert login.returncode == 7, login.stderr
    assert login.stdout == ""
    assert "pingcli: demo: signed in to demo as Demo User (demo), but the tokens could not be kept" in login.stderr
    assert f"the token store ({backend}) is not usable: {reason}" in login.stderr
    assert "pingcli config set auth.storage.type=file_system" in login.stderr
    assert "auth.storage.type=none" in login.stderr
    assert "the tokens were revoked at the provider" in login.stderr
    assert "Traceback" not in login.stderr
    assert ended_at_the_provider(op)


def test_without_a_session_bus_the_sign_in_completes_is_not_kept_is_revoked_and_nothing_is_written(terminal, op):
    terminal.configure(op.issuer, storage="secure_local")
    op.clear_requests()

    login = terminal.run("auth", "login")

    bus = terminal.env["DBUS_SESSION_BUS_ADDRESS"].removeprefix("unix:path=")
    assert_refused_and_revoked(login, op, "OS keyring",
                               f"no OS keyring is available: the D-Bus session bus {bus} does not exist")
    assert written(terminal) == []
    status = terminal.run("auth", "status")
    assert status.returncode == 7 and "no OS keyring is available" in status.stderr
    assert "not signed in" not in status.stdout + status.stderr


def keyring_items(secret_service, monkeypatch) -> list[dict[str, str]]:
    """The attributes of every item in every collection, read with secretstorage (readable while locked).

    Without `xdg:schema`, which secretstorage adds on creation and gnome-keyring does not always show.
    """
    import secretstorage

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    connection = secretstorage.dbus_init()
    try:
        return [{k: v for k, v in item.get_attributes().items() if k != "xdg:schema"}
                for collection in secretstorage.get_all_collections(connection) for item in collection.get_all_items()]
    finally:
        connection.close()


def another_apps_item(secret_service, monkeypatch) -> dict[str, str]:
    """Create the login keyring (gnome-keyring makes it on first use) with one item that is not pingcli's."""
    import secretstorage

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    connection = secretstorage.dbus_init()
    try:
        attributes = {"service": "another-app", "username": "someone"}
        secretstorage.get_default_collection(connection).create_item("another app", dict(attributes), b"its secret")
    finally:
        connection.close()
    return attributes


@pytest.mark.parametrize("how", ["locked", "never unlocked"])
def test_a_locked_keyring_refuses_the_tokens_and_is_reported_as_locked_not_as_signed_out(
    terminal, op, tmp_path, monkeypatch, how
):
    with SecretServiceSession(tmp_path / "keyring", unlocked=how == "locked") as secret_service:
        use_keyring(terminal, secret_service)
        terminal.configure(op.issuer, storage="secure_local")
        before = []
        if how == "locked":
            before = [another_apps_item(secret_service, monkeypatch)]
            secret_service.lock()
        op.clear_requests()

        login = terminal.run("auth", "login")

        assert_refused_and_revoked(login, op, "Secret Service (gnome-keyring)",
                                   "the keyring is locked, and no unlock prompt could be completed")
        assert "unlock the keyring" in login.stderr
        assert written(terminal) == []
        assert keyring_items(secret_service, monkeypatch) == before
        for command in (("auth", "status"), ("auth", "token")):
            result = terminal.run(*command)
            assert result.returncode == 7, result.stderr
            assert "the keyring is locked" in result.stderr
            assert "not signed in" not in result.stdout + result.stderr
            assert result.stdout == ""


def test_a_keyring_daemon_that_hangs_does_not_hang_the_sign_in(terminal, op, tmp_path):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        use_keyring(terminal, secret_service)
        terminal.configure(op.issuer, storage="secure_local")
        op.clear_requests()
        os.kill(secret_service.keyring_pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            login = terminal.run("auth", "login", timeout=45)
            took = time.monotonic() - started
        finally:
            os.kill(secret_service.keyring_pid, signal.SIGCONT)

        assert_refused_and_revoked(login, op, "Secret Service (gnome-keyring)",
                                   "the keyring did not answer within 10 s")
        assert took < 30
        assert written(terminal) == []


def test_a_file_store_that_cannot_be_created_refuses_the_tokens_and_points_away_from_files(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    blocker = terminal.home / ".local/share/pingcli/sessions"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")
    op.clear_requests()

    login = terminal.run("auth", "login")

    assert login.returncode == 7, login.stderr
    assert f"but the tokens could not be kept: the token store (file store {blocker}) is not usable: " in login.stderr
    assert f"{blocker} is not a directory" in login.stderr
    assert "auth.storage.type=secure_local" in login.stderr and "auth.storage.type=none" in login.stderr
    assert "auth.storage.type=file_system" not in login.stderr  # the store that failed is not offered as the way out
    assert ended_at_the_provider(op)
    assert written(terminal) == [".local/share/pingcli/sessions"]  # the blocker, untouched
    assert blocker.read_text() == "not a directory"
