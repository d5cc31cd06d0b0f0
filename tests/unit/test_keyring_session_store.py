"""Sessions in the OS keyring, with in-process stand-ins for the keyring library's backends.

The stand-ins replace the external `keyring` library's backend (the OS side), never a pingcli port:
the store's own code, chunking and error translation included, runs for real.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import InitError, KeyringError, KeyringLocked, NoKeyringError, PasswordDeleteError, PasswordSetError

from pingcli.adapters.codec import session_to_bytes
from pingcli.adapters.session_stores import KeyringSessionStore
from pingcli.domain.errors import Outcome, StorageUnavailable
from tests.support.sessions import make_session

SERVICE = "pingcli"
MAIN = "default/demo"


class _NeverChosen:
    """A priority that makes keyring's own backend detection pass these classes by."""

    def __get__(self, instance, owner):
        raise RuntimeError("a test stand-in, never chosen by keyring itself")


class DictKeyring(KeyringBackend):
    """A keyring backend that keeps entries in a dict, like any OS keyring keyed by (service, username)."""

    priority = _NeverChosen()

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.calls = 0

    def get_password(self, service, username):
        self.calls += 1
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.calls += 1
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.calls += 1
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError("No such password!") from None

    def names(self) -> set[str]:
        return {username for service, username in self.entries if service == SERVICE}


class CredentialWriteError(Exception):
    """What pywin32's CredWrite raises for a blob over its limit: (winerror, funcname, strerror)."""

    def __init__(self):
        super().__init__(1783, "CredWrite", "The stub received bad data.")


class SizeLimitedKeyring(DictKeyring):
    """Keeps values as UTF-16 and refuses more than `limit` bytes, as Windows Credential Manager does."""

    def __init__(self, limit: int = 2560):
        super().__init__()
        self.limit = limit

    def set_password(self, service, username, password):
        if len(password.encode("utf-16-le")) > self.limit:
            raise CredentialWriteError()
        super().set_password(service, username, password)


class WinVaultKeyring(SizeLimitedKeyring):
    """Looks like keyring's Windows backend to the store (same module and class name), with the same limit."""


WinVaultKeyring.__module__ = "keyring.backends.Windows"


class PlaintextKeyring(DictKeyring):
    pass


PlaintextKeyring.__module__ = "keyrings.alt.file"


class RaisingKeyring(DictKeyring):
    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    def get_password(self, *args):
        raise self.error

    set_password = delete_password = get_password  # type: ignore[assignment]


class HangingKeyring(DictKeyring):
    """A keyring whose D-Bus never answers (until the test ends)."""

    def __init__(self):
        super().__init__()
        self.released = threading.Event()

    def get_password(self, service, username):
        self.calls += 1
        self.released.wait(30)
        return None


class ForgetfulKeyring(DictKeyring):
    """Accepts every value and keeps only the first 100 characters of it."""

    def set_password(self, service, username, password):
        super().set_password(service, username, password[:100])


def big_session(size: int = 6000, **changes):
    return make_session(access_token="at-" + "x" * size, **changes)


def stored_text(keyring: DictKeyring, name: str = MAIN) -> str:
    return keyring.entries[(SERVICE, name)]


# -- storing ------------------------------------------------------------------------


def test_a_saved_session_loads_back_as_it_was():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring)

    store.save(make_session())

    assert store.load("default", "demo") == make_session()


def test_the_entry_is_named_profile_slash_service_and_holds_the_codec_bytes_in_base64():
    keyring = DictKeyring()
    KeyringSessionStore(keyring).save(make_session("work", "billing"))

    assert keyring.names() == {"work/billing"}
    assert base64.b64decode(stored_text(keyring, "work/billing")) == session_to_bytes(make_session("work", "billing"))


def test_a_session_never_saved_loads_as_none_and_delete_says_nothing_was_removed():
    store = KeyringSessionStore(DictKeyring())

    assert store.load("default", "demo") is None
    assert store.delete("default", "demo") is False
    assert store.notices == []


def test_delete_removes_the_session_and_says_so():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring)
    store.save(make_session())

    assert store.delete("default", "demo") is True
    assert keyring.entries == {}
    assert store.load("default", "demo") is None


def test_another_service_name_keeps_entries_apart():
    keyring = DictKeyring()
    KeyringSessionStore(keyring, service_name="pingcli-test").save(make_session())

    assert set(keyring.entries) == {("pingcli-test", MAIN)}
    assert KeyringSessionStore(keyring).load("default", "demo") is None


def test_the_default_backend_is_the_one_keyring_chose(monkeypatch):
    import keyring.core

    chosen = DictKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", chosen)
    store = KeyringSessionStore()

    store.save(make_session())

    assert chosen.names() == {MAIN}
    assert store.description == f"{__name__}.DictKeyring"


# -- chunks for small keyrings ------------------------------------------------------------


def test_a_session_bigger_than_the_limit_is_kept_in_chunks_that_each_fit_and_reads_back():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring, max_value_bytes=512)

    store.save(big_session())

    text = base64.b64encode(session_to_bytes(big_session())).decode()
    chunk_names = sorted((n for n in keyring.names() if "#" in n), key=lambda n: int(n.split("#")[1]))
    assert len(chunk_names) == -(-len(text) // 512)
    assert all(len(keyring.entries[(SERVICE, n)]) <= 512 for n in keyring.names())
    assert "".join(keyring.entries[(SERVICE, n)] for n in chunk_names) == text
    manifest = json.loads(stored_text(keyring))
    assert manifest["chunks"] == len(chunk_names)
    assert store.load("default", "demo") == big_session()


def test_saving_a_smaller_session_removes_the_chunks_it_no_longer_needs():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring, max_value_bytes=512)
    store.save(big_session(8000))
    many = len(keyring.names())

    store.save(big_session(2000))

    fewer = json.loads(stored_text(keyring))["chunks"]
    assert keyring.names() == {MAIN, *(f"{MAIN}#{i}" for i in range(fewer))}
    assert len(keyring.names()) < many
    assert store.load("default", "demo") == big_session(2000)


def test_saving_a_session_that_fits_in_one_entry_removes_every_chunk():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring, max_value_bytes=512)
    store.save(big_session())
    small = make_session(access_token="at", refresh_token=None, id_token=None)
    small_text = base64.b64encode(session_to_bytes(small)).decode()
    store = KeyringSessionStore(keyring, max_value_bytes=len(small_text))

    store.save(small)

    assert keyring.names() == {MAIN}
    assert store.load("default", "demo") == small


def test_delete_removes_every_chunk():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring, max_value_bytes=256)
    store.save(big_session())
    store.save(make_session(service="other"))

    assert store.delete("default", "demo") is True
    assert keyring.names()
    assert all(name.startswith("default/other") for name in keyring.names())


def test_on_windows_credential_manager_sessions_are_chunked_without_being_told_to():
    keyring = WinVaultKeyring()
    store = KeyringSessionStore(keyring)

    store.save(big_session(6000))

    assert store.description == "Windows Credential Manager"
    assert len(keyring.names()) > 2
    assert all(len(value.encode("utf-16-le")) <= 2560 for value in keyring.entries.values())
    assert store.load("default", "demo") == big_session(6000)


def test_a_backend_that_refuses_a_big_value_makes_the_store_unavailable_without_echoing_the_value():
    store = KeyringSessionStore(SizeLimitedKeyring())

    with pytest.raises(StorageUnavailable) as caught:
        store.save(big_session())

    assert "The stub received bad data" in str(caught.value)
    assert "xxxxxxxx" not in str(caught.value)


def test_a_keyring_that_does_not_keep_what_it_was_given_is_reported_and_not_trusted():
    with pytest.raises(StorageUnavailable, match="did not keep the session"):
        KeyringSessionStore(ForgetfulKeyring()).save(big_session())


def test_a_max_value_too_small_for_the_manifest_is_a_programming_error():
    with pytest.raises(ValueError):
        KeyringSessionStore(DictKeyring(), max_value_bytes=64)


# -- unreadable entries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64 at all!", "it is not base64 text"),
        (base64.b64encode(b"{junk").decode(), "it is not valid JSON"),
        (base64.b64encode(b'{"version": 0, "session": {}}').decode(), "it has format version 0"),
        ("", "it is empty"),
    ],
)
def test_an_unreadable_entry_is_set_aside_and_loads_as_none_with_a_notice(value, reason):
    keyring = DictKeyring()
    keyring.entries[(SERVICE, MAIN)] = value
    store = KeyringSessionStore(keyring)

    assert store.load("default", "demo") is None

    assert keyring.names() == {f"{MAIN}.corrupt"}
    assert stored_text(keyring, f"{MAIN}.corrupt") == value
    [notice] = store.notices
    assert reason in notice and "default/demo.corrupt" in notice and "Sign in again" in notice


def test_an_entry_a_newer_pingcli_wrote_is_left_in_place_and_said_to_be_that():
    keyring = DictKeyring()
    value = base64.b64encode(b'{"version": 9, "session": {"tokens": {"refresh_token": "rt-newer"}}}').decode()
    keyring.entries[(SERVICE, MAIN)] = value
    store = KeyringSessionStore(keyring)

    assert store.load("default", "demo") is None

    assert keyring.names() == {MAIN} and stored_text(keyring, MAIN) == value
    [notice] = store.notices
    assert "entry 'default/demo' of 'pingcli') was written by a newer pingcli (session format version 9" in notice
    assert "rt-newer" not in notice
    [leftover] = store.leftovers("default", "demo")
    assert leftover.newer and leftover.refresh_token == "rt-newer"
    assert store.remove_leftover("default", "demo", leftover) is True and keyring.names() == set()


def test_a_chunked_session_with_a_missing_chunk_is_set_aside_whole():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring, max_value_bytes=512)
    store.save(big_session())
    del keyring.entries[(SERVICE, f"{MAIN}#2")]

    assert store.load("default", "demo") is None

    assert not any(name.startswith(f"{MAIN}#") for name in keyring.names())
    assert f"{MAIN}.corrupt" in keyring.names()
    assert "part 3 of" in store.notices[0] and "is missing" in store.notices[0]


def test_a_chunked_session_whose_chunks_do_not_match_the_checksum_is_set_aside():
    keyring = DictKeyring()
    store = KeyringSessionStore(keyring, max_value_bytes=512)
    store.save(big_session())
    keyring.entries[(SERVICE, f"{MAIN}#1")] = "A" * 512

    assert store.load("default", "demo") is None
    assert "do not match their checksum" in store.notices[0]
    store.save(big_session())
    assert store.load("default", "demo") == big_session()


# -- keyrings that cannot be used -----------------------------------------------------------


def test_a_locked_keyring_is_reported_as_locked_not_as_signed_out():
    store = KeyringSessionStore(RaisingKeyring(KeyringLocked("Failed to unlock the collection!")))

    with pytest.raises(StorageUnavailable) as caught:
        store.load("default", "demo")

    assert "locked" in str(caught.value)
    assert "not signed in" not in str(caught.value)
    assert "unlock the keyring" in caught.value.hint
    assert caught.value.outcome is Outcome.STORAGE_UNAVAILABLE


def test_a_dismissed_unlock_prompt_is_reported_as_a_locked_keyring():
    store = KeyringSessionStore(RaisingKeyring(InitError("Failed to create the collection: Prompt dismissed..")))

    with pytest.raises(StorageUnavailable, match="the keyring is locked"):
        store.save(make_session())


def test_no_keyring_at_all_is_reported_as_no_usable_keyring():
    store = KeyringSessionStore(RaisingKeyring(NoKeyringError("No recommended backend was available.")))

    with pytest.raises(StorageUnavailable, match="no usable keyring: No recommended backend was available"):
        store.load("default", "demo")


def test_keyrings_own_fail_backend_names_the_missing_session_bus(monkeypatch):
    from keyring.backends import fail

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    store = KeyringSessionStore(fail.Keyring())

    with pytest.raises(StorageUnavailable) as caught:
        store.load("default", "demo")

    assert store.description == "OS keyring"
    assert "no OS keyring is available" in str(caught.value)
    assert "DBUS_SESSION_BUS_ADDRESS is not set" in str(caught.value)


def test_keyrings_null_backend_is_refused_because_it_keeps_nothing():
    from keyring.backends import null

    with pytest.raises(StorageUnavailable, match="switched off"):
        KeyringSessionStore(null.Keyring()).save(make_session())


def test_a_keyrings_alt_backend_is_refused_because_it_would_store_plaintext():
    keyring = PlaintextKeyring()
    store = KeyringSessionStore(keyring)

    with pytest.raises(StorageUnavailable, match="plaintext"):
        store.save(make_session())
    with pytest.raises(StorageUnavailable, match="plaintext"):
        store.load("default", "demo")

    assert keyring.entries == {}


def test_a_keyring_error_is_reported_with_its_text_but_never_the_value_being_written():
    secret_text = base64.b64encode(session_to_bytes(make_session())).decode()

    class Leaky(DictKeyring):
        def set_password(self, service, username, password):
            raise PasswordSetError(f"cannot store {password!r} for {username}")

    with pytest.raises(StorageUnavailable) as caught:
        KeyringSessionStore(Leaky()).save(make_session())

    message = str(caught.value)
    assert "PasswordSetError: cannot store" in message
    assert secret_text[:40] not in message
    assert "[secret]" in message


def test_an_unexpected_error_from_the_backend_becomes_storage_unavailable():
    store = KeyringSessionStore(RaisingKeyring(KeyringError("org.freedesktop.DBus.Error.NoReply")))

    with pytest.raises(StorageUnavailable, match="NoReply"):
        store.load("default", "demo")


def test_a_keyring_that_does_not_answer_is_given_up_on_after_the_time_limit():
    keyring = HangingKeyring()
    store = KeyringSessionStore(keyring, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as caught:
            store.load("default", "demo")
        waited = time.monotonic() - started

        assert "did not answer within 0.5 s" in str(caught.value)
        assert 0.5 <= waited < 2
        # The stuck call may still finish later: the store does not send another one after it.
        with pytest.raises(StorageUnavailable, match="did not answer"):
            store.save(make_session())
        assert keyring.calls == 1
    finally:
        keyring.released.set()


def test_a_delete_the_backend_refuses_with_password_delete_error_is_not_taken_for_removed():
    """keyring's macOS backend raises PasswordDeleteError for any failure, not only for "not found"."""

    class Keychain(DictKeyring):
        def delete_password(self, service, username):
            raise PasswordDeleteError("Can't delete password in keychain: User interaction is not allowed.")

    Keychain.__module__ = "keyring.backends.macOS"
    keyring = Keychain()
    store = KeyringSessionStore(keyring)
    store.save(make_session())

    with pytest.raises(StorageUnavailable) as caught:
        store.delete("default", "demo")

    assert "refused to remove entry 'default/demo'" in str(caught.value)
    assert "macOS Keychain" in str(caught.value)
    assert keyring.names() == {MAIN}
