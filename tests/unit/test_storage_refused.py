"""A keyring pingcli cannot use: `auth login` says so before the sign-in starts (nothing sent, no browser), exit 7;
one that refuses only the write: the sign-in completes, is said not kept, revoked at the provider, exit 7.
Either way nothing is written anywhere else.

`pingcli` runs in this process through `main`, against the shipped in-memory provider and pingcli's real
keyring store. Only the `keyring` library's backend (the OS side) is replaced, by backends of our own that
fail as real ones do: no keyring, a locked collection, a dismissed unlock prompt, a D-Bus error, a daemon
that never answers, one that does not keep what it is given, and one that fails halfway through a write.
"""

from __future__ import annotations

import errno
import json
import threading

import pytest
from jeepney import DBusAddress, new_error, new_method_call
from jeepney.wrappers import DBusErrorResponse
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordSetError

from tests.support.desk import Desk, MemoryKeyring

TIME_LIMIT = 0.3


class FailingKeyring(MemoryKeyring):
    """Every call raises what the real backend raises on that bad day."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error

    def get_password(self, service, username):
        raise self.error

    set_password = delete_password = get_password  # type: ignore[assignment]


class SecretServiceLike(FailingKeyring):
    """Named like keyring's Secret Service backend, so pingcli treats it as one reached over D-Bus."""


SecretServiceLike.__module__ = "keyring.backends.SecretService"
SecretServiceLike.__qualname__ = "Keyring"


class HangingKeyring(MemoryKeyring):
    """A keyring daemon that never answers (until the test ends)."""

    def __init__(self):
        super().__init__()
        self.released = threading.Event()

    def get_password(self, service, username):
        self.released.wait(30)
        return None


class ForgetfulKeyring(MemoryKeyring):
    """Says yes to every value and keeps only its first 100 characters."""

    def set_password(self, service, username, password):
        super().set_password(service, username, password[:100])


class FailsOnTheThirdWrite(MemoryKeyring):
    """A connection that drops in the middle of a chunked write: the first two entries are kept."""

    def __init__(self):
        super().__init__()
        self.writes = 0

    def set_password(self, service, username, password):
        self.writes += 1
        if self.writes >= 3:
            raise PasswordSetError("Connection reset by peer")
        super().set_password(service, username, password)


def dbus_no_reply() -> DBusErrorResponse:
    """The error message a Secret Service call gets when the daemon does not reply, as jeepney raises it."""
    call = new_method_call(DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                                       interface="org.freedesktop.Secret.Service"), "SearchItems", "a{ss}", ({},))
    call.header.serial = 7
    return DBusErrorResponse(new_error(call, "org.freedesktop.DBus.Error.NoReply", "s", ("Did not receive a reply",)))


@pytest.fixture(autouse=True)
def no_session_bus(tmp_path, monkeypatch):
    """A bus address that exists as a path but is no bus: what pingcli finds out about D-Bus is the backend's error."""
    bus = tmp_path / "bus"
    bus.write_text("")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={bus}")


FAILURES = {
    # id: (backend, backend named as, reason given)
    "no keyring": (lambda: FailingKeyring(NoKeyringError("No recommended backend was available.")),
                   f"{__name__}.FailingKeyring", "no usable keyring: No recommended backend was available"),
    "locked collection": (lambda: SecretServiceLike(KeyringLocked("Failed to unlock the collection!")),
                          "Secret Service", "the keyring is locked"),
    "unlock prompt dismissed": (
        lambda: SecretServiceLike(InitError("Failed to create the collection: Prompt dismissed..")),
        "Secret Service", "the keyring is locked"),
    "D-Bus error": (lambda: SecretServiceLike(dbus_no_reply()),
                    "Secret Service", "org.freedesktop.DBus.Error.NoReply"),
    "D-Bus connection lost": (
        lambda: SecretServiceLike(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")),
        "Secret Service", "cannot reach the keyring over D-Bus: [Errno 104] Connection reset by peer"),
    "daemon never answers": (HangingKeyring, f"{__name__}.HangingKeyring",
                             f"the keyring did not answer within {TIME_LIMIT:g} s"),
    "value not kept": (ForgetfulKeyring, f"{__name__}.ForgetfulKeyring",
                       "the keyring did not keep the session (reading it back gave something else)"),
}


# The store cannot even be read (no keyring, locked, D-Bus trouble, no answer): found out before the sign-in starts.
UNREADABLE = [kind for kind in FAILURES if kind != "value not kept"]


@pytest.mark.parametrize("kind", UNREADABLE)
def test_an_unusable_keyring_fails_the_login_at_once_with_exit_7_before_anything_is_sent(tmp_path, kind):
    make, backend_name, reason = FAILURES[kind]
    backend = make()
    desk = Desk(tmp_path, backend, timeout=TIME_LIMIT)
    try:
        code, out, err = desk.run("auth", "login")

        assert code == 7, err
        assert out == ""
        assert f"pingcli: demo: the token store ({backend_name}) is not usable" in err
        assert reason in err
        assert "the sign-in was not started" in err
        assert "pingcli config set auth.storage.type=file_system" in err and "auth.storage.type=none" in err
        assert desk.provider.requests == []  # no discovery, no token request: nothing sent to the provider
        assert desk.opened_urls() == [] and desk.listeners.listeners == []  # no browser, no listener
        assert desk.issued_tokens() == []
        assert desk.files_written() == []  # no session, token or lock file anywhere
        assert backend.entries == {}  # and nothing half-written in the keyring either
    finally:
        if isinstance(backend, HangingKeyring):
            backend.released.set()


def test_a_keyring_that_fails_only_at_the_write_completes_the_sign_in_says_so_revokes_and_exits_7(tmp_path):
    make, backend_name, reason = FAILURES["value not kept"]
    backend = make()
    desk = Desk(tmp_path, backend, timeout=TIME_LIMIT)

    code, out, err = desk.run("auth", "login")

    assert code == 7, err
    assert out == ""
    assert "demo: signed in to demo as Demo User (demo), but the tokens could not be kept" in err
    assert f"the token store ({backend_name}) is not usable" in err
    assert reason in err
    assert "pingcli config set auth.storage.type=file_system" in err and "auth.storage.type=none" in err
    assert "the tokens were revoked at the provider" in err
    tokens = desk.issued_tokens()
    assert len(tokens) == 2  # an access token and a refresh token were issued...
    assert [desk.alive(token) for token in tokens] == [False, False]  # ...and both are dead
    assert not any(token in out + err for token in tokens)
    assert desk.files_written() == []
    assert backend.entries == {}


@pytest.mark.parametrize("kind", ["locked collection", "unlock prompt dismissed"])
def test_a_locked_keyring_is_reported_as_locked_by_status_and_token_never_as_not_signed_in(tmp_path, kind):
    make, _, _ = FAILURES[kind]
    desk = Desk(tmp_path, make(), timeout=TIME_LIMIT)

    for command in (("auth", "status"), ("auth", "status", "--output", "json"), ("auth", "token")):
        code, out, err = desk.run(*command)

        assert code == 7, (command, err)
        assert "the keyring is locked" in err and "unlock the keyring" in err
        assert "not signed in" not in out + err
        if "json" in command:  # the failure as one JSON document, the same message
            assert json.loads(out)["error"]["exit_code"] == 7 and "the keyring is locked" in out
        else:
            assert out == ""


def test_a_keyring_that_never_answers_does_not_hang_status_or_token(tmp_path):
    backend = HangingKeyring()
    desk = Desk(tmp_path, backend, timeout=TIME_LIMIT)
    try:
        for command in (("auth", "status"), ("auth", "token"), ("auth", "logout")):
            code, out, err = desk.run(*command)

            assert code == 7, (command, err)
            assert f"did not answer within {TIME_LIMIT:g} s" in err and out == ""
    finally:
        backend.released.set()


def test_a_write_that_fails_halfway_leaves_no_chunk_behind(tmp_path):
    backend = FailsOnTheThirdWrite()
    desk = Desk(tmp_path, backend, max_value_bytes=512)  # the session needs several chunks

    code, _, err = desk.run("auth", "login")

    assert code == 7, err
    assert "Connection reset by peer" in err
    assert backend.writes == 3 and backend.entries == {}
    assert [desk.alive(token) for token in desk.issued_tokens()] == [False, False]


def test_with_a_working_keyring_the_same_sign_in_is_kept_and_nothing_is_revoked(tmp_path):
    """The other tests' control: the harness signs in for real, and only a failing keyring makes it exit 7."""
    backend = MemoryKeyring()
    desk = Desk(tmp_path, backend, timeout=TIME_LIMIT)

    code, out, err = desk.run("auth", "login")

    assert code == 0, err
    assert "Signed in to demo as Demo User" in out
    assert [desk.alive(token) for token in desk.issued_tokens()] == [True, True]
    assert [username for _, username in backend.entries] == ["default/demo"]
    assert desk.run("auth", "status")[0] == 0
