"""The installed pingcli with a token store it cannot use: `auth login` says so before the sign-in starts (no
browser, nothing sent to the provider), writes nothing anywhere else, and exits 7. The provider's request log shows
it received nothing, and the scripted browser's log that no browser was opened.

A store that fails only when written (a full disk, played by a file size limit): the sign-in completes, pingcli
says the tokens were not kept and ends the grant at the provider. pingcli never kept those tokens, so there is
nothing to introspect: the provider's request log says which grant the sign-in got (`grant_id` of the code
exchange) and which grants a revocation ended (`revoked_grants`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.e2e.conftest import PINGCLI
from tests.e2e.test_tokens import expire_access_token, introspect, session_file
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


def assert_refused_before_the_sign_in(login, op, terminal, backend: str, reason: str,
                                      ways_out: tuple[str, ...] = ("file_system", "none")) -> None:
    assert login.returncode == 7, login.stderr
    assert login.stdout == ""
    assert f"pingcli: demo: the token store ({backend}) is not usable: {reason}" in login.stderr
    assert "the sign-in was not started" in login.stderr
    for way_out in ways_out:
        assert f"auth.storage.type={way_out}" in login.stderr
    assert "pingcli config set auth.storage.type=" in login.stderr
    assert "Traceback" not in login.stderr
    assert op.requests() == []  # no discovery, no token request: the provider received nothing
    assert terminal.browser_events() == []  # and no browser was opened


def test_without_a_session_bus_login_fails_before_the_sign_in_and_nothing_is_written(terminal, op):
    terminal.configure(op.issuer, storage="secure_local")
    op.clear_requests()

    login = terminal.run("auth", "login")

    bus = terminal.env["DBUS_SESSION_BUS_ADDRESS"].removeprefix("unix:path=")
    assert_refused_before_the_sign_in(login, op, terminal, "OS keyring",
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
def test_a_locked_keyring_fails_login_before_the_sign_in_and_is_reported_as_locked_not_as_signed_out(
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

        assert_refused_before_the_sign_in(login, op, terminal, "Secret Service (gnome-keyring)",
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


def test_a_keyring_daemon_that_hangs_does_not_hang_login_which_fails_before_the_sign_in(terminal, op, tmp_path):
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

        assert_refused_before_the_sign_in(login, op, terminal, "Secret Service (gnome-keyring)",
                                          "the keyring did not answer within 10 s")
        assert took < 30
        assert written(terminal) == []


def test_a_file_store_that_cannot_be_read_fails_login_before_the_sign_in_and_points_away_from_files(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    blocker = terminal.home / ".local/share/pingcli/sessions"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")
    op.clear_requests()

    login = terminal.run("auth", "login")

    assert_refused_before_the_sign_in(login, op, terminal, f"file store {blocker}",
                                      f"cannot read {blocker}/default/demo.json: Not a directory",
                                      ways_out=("secure_local", "none"))
    assert "auth.storage.type=file_system" not in login.stderr  # the store that failed is not offered as the way out
    assert written(terminal) == [".local/share/pingcli/sessions"]  # the blocker, untouched
    assert blocker.read_text() == "not a directory"


def with_full_disk(terminal, *args: str) -> subprocess.CompletedProcess:
    """The command with files limited to 1 KiB (ulimit -f): a session cannot be written, as on a full disk (EFBIG)."""
    return subprocess.run(
        ["bash", "-c", 'ulimit -f 1 && exec "$0" "$@"', str(PINGCLI), *args], env=terminal.env,
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_a_store_that_fails_only_at_the_write_gets_a_completed_sign_in_said_not_kept_and_revoked(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    op.clear_requests()

    login = with_full_disk(terminal, "auth", "login")

    assert login.returncode == 7, login.stderr
    assert login.stdout == ""
    assert "pingcli: demo: signed in to demo as Demo User (demo), but the tokens could not be kept" in login.stderr
    assert "File too large" in login.stderr
    assert "the tokens were revoked at the provider" in login.stderr
    assert ended_at_the_provider(op)
    assert written(terminal) == []
    assert terminal.run("auth", "status").returncode == 3


def test_a_refresh_whose_new_tokens_cannot_be_written_exits_7_says_so_and_ends_them(terminal, op):
    terminal.configure(op.issuer, storage="file_system")
    assert terminal.run("auth", "login").returncode == 0
    expire_access_token(terminal)
    stored = json.loads(session_file(terminal).read_text())["session"]["tokens"]
    op.clear_requests()

    refreshed = with_full_disk(terminal, "auth", "token")

    assert refreshed.returncode == 7, refreshed.stderr
    assert refreshed.stdout == ""
    assert refreshed.stderr.startswith("pingcli: the provider issued new tokens for demo, but they could not be kept: ")
    assert "File too large" in refreshed.stderr
    assert ("the stored session, whose refresh token this refresh used up, was removed: pingcli is no longer signed "
            "in to demo; the new tokens were revoked at the provider") in refreshed.stderr
    assert "probably" not in refreshed.stderr
    assert "then sign in again: pingcli auth login --service demo" in refreshed.stderr
    requests = op.requests()
    assert [r["path"] for r in requests if r["status"] == 200 and r["path"].startswith("/token")] == [
        "/token", "/token/revocation", "/token/revocation"]
    assert any(r.get("revoked_grants") for r in requests if r["path"] == "/token/revocation")
    assert written(terminal) == [".local/share/pingcli/sessions/.notice-shown"]  # removed: an unlink needs no space
    assert not introspect(op, stored["refresh_token"]) and not introspect(op, stored["access_token"])
    status = terminal.run("auth", "status")
    assert status.returncode == 3 and "refresh token held" not in status.stdout
    again = terminal.run("auth", "token")
    assert again.returncode == 3 and again.stdout == "" and "run pingcli auth login --service demo" in again.stderr
