"""auth.storage.type=file_system through the installed command: private modes under umask 022, a too-open file
tightened with a word to the person, and the one-time notice about who can read the files."""

from __future__ import annotations

import os
import stat

import pytest

WHO_CAN_READ = "Anyone who can act as this account, and the system's administrators, can read them."


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)  # the commands below inherit it
    yield
    os.umask(previous)


@pytest.fixture
def sessions(terminal):
    return terminal.home / ".local/share/pingcli/sessions"


def test_under_umask_022_every_directory_pingcli_creates_is_0700_and_every_file_0600(terminal, op, umask_022, sessions):
    terminal.configure(op.issuer, storage="file_system")

    login = terminal.run("auth", "login")

    assert login.returncode == 0, login.stderr
    assert f"tokens stored in {sessions}" in login.stdout
    created = [terminal.home / ".local", *(terminal.home / ".local").rglob("*"), terminal.home / ".config",
               *(terminal.home / ".config").rglob("*")]
    assert {str(p.relative_to(terminal.home)): mode(p) for p in created} == {
        str(p.relative_to(terminal.home)): 0o700 if p.is_dir() else 0o600 for p in created}
    # Written whole, then renamed: no temporary file is left beside the session.
    assert sorted(p.relative_to(sessions).as_posix() for p in sessions.rglob("*")) == [
        ".notice-shown", "default", "default/demo.json"]


def test_who_can_read_the_files_is_said_once_not_on_every_command(terminal, op, sessions):
    terminal.configure(op.issuer, storage="file_system")

    first = terminal.run("auth", "login")
    later = [terminal.run("auth", "login"), terminal.run("auth", "token"), terminal.run("auth", "status")]

    assert first.returncode == 0, first.stderr
    assert first.stderr.count(WHO_CAN_READ) == 1
    assert f"Note: pingcli keeps your tokens in files under {sessions}, readable only by your account" in first.stderr
    assert WHO_CAN_READ not in first.stdout
    for result in later:
        assert result.returncode == 0, result.stderr
        assert WHO_CAN_READ not in result.stdout + result.stderr
    assert f"  storage  {sessions}\n" in later[-1].stdout + "\n"  # auth status names the store in use


def test_a_session_file_others_could_read_is_made_private_on_the_next_write_and_the_person_is_told(
    terminal, op, sessions
):
    terminal.configure(op.issuer, storage="file_system")
    assert terminal.run("auth", "login").returncode == 0
    session = sessions / "default" / "demo.json"
    os.chmod(session, 0o644)
    os.chmod(sessions, 0o755)

    again = terminal.run("auth", "login")

    assert again.returncode == 0, again.stderr
    assert (f"Note: {sessions} could be read by other users (mode 0755); pingcli changed it to 0700." in again.stderr)
    # `auth login` reads the session before signing in (is the store usable?): that read tightens the file.
    assert f"Note: {session} could be read by other users (mode 0644); pingcli changed it to 0600." in again.stderr
    assert again.stderr.count(f"Note: {session} could be read by other users") == 1
    assert mode(sessions) == 0o700 and mode(session) == 0o600


def test_a_session_file_others_could_read_is_made_private_when_read_and_the_person_is_told(terminal, op, sessions):
    terminal.configure(op.issuer, storage="file_system")
    assert terminal.run("auth", "login").returncode == 0
    session = sessions / "default" / "demo.json"
    os.chmod(session, 0o640)

    token = terminal.run("auth", "token")

    assert token.returncode == 0, token.stderr
    assert f"Note: {session} could be read by other users (mode 0640); pingcli changed it to 0600." in token.stderr
    assert "Note" not in token.stdout and len(token.stdout.strip()) > 20
    assert mode(session) == 0o600
    quiet = terminal.run("auth", "token")
    assert quiet.returncode == 0 and "could be read by other users" not in quiet.stderr
