"""Sessions in a real Secret Service: gnome-keyring on a private D-Bus session bus, driven through `keyring`."""

from __future__ import annotations

import base64
import os
import signal
import time

import keyring.core
import pytest
from keyring.backends import SecretService

from pingcli.adapters.codec import session_to_bytes
from pingcli.adapters.session_stores import KeyringSessionStore
from pingcli.domain.errors import StorageUnavailable
from tests.support.secret_service import SecretServiceSession
from tests.support.sessions import make_session

pytestmark = pytest.mark.integration


def apply(env: dict[str, str], monkeypatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def fresh_keyring_choice(monkeypatch):
    """Let keyring detect its backend again from this test's environment (it caches the first choice)."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


@pytest.fixture
def secret_service(tmp_path, monkeypatch):
    with SecretServiceSession(tmp_path) as session:
        apply(session.env, monkeypatch)
        yield session


@pytest.fixture
def store(secret_service):
    return KeyringSessionStore(SecretService.Keyring())


def test_a_session_is_saved_loaded_and_deleted_in_gnome_keyring(store):
    session = make_session()

    store.save(session)
    loaded = store.load("default", "demo")
    removed = store.delete("default", "demo")

    assert loaded == session
    assert removed is True
    assert store.load("default", "demo") is None
    assert store.delete("default", "demo") is False
    assert store.description == "Secret Service (gnome-keyring)"


def test_a_later_process_finds_the_session_through_keyrings_own_choice_of_backend(
    secret_service, fresh_keyring_choice
):
    KeyringSessionStore(SecretService.Keyring()).save(make_session(access_token="at-from-the-first-process"))

    later = KeyringSessionStore()

    assert later.load("default", "demo").tokens.access_token == "at-from-the-first-process"
    assert later.description == "Secret Service (gnome-keyring)"


def test_the_keyring_entry_holds_the_session_under_pingcli_and_profile_slash_service(store):
    store.save(make_session("work", "billing"))

    raw = SecretService.Keyring().get_password("pingcli", "work/billing")

    assert base64.b64decode(raw) == session_to_bytes(make_session("work", "billing"))


def test_a_session_larger_than_4_kib_is_kept_whole(store):
    session = make_session(access_token="at-" + "a" * 6000, id_token="e30." + "b" * 9000 + ".sig")
    assert len(session_to_bytes(session)) > 4096

    store.save(session)

    assert store.load("default", "demo") == session


def test_no_file_under_home_holds_a_token_in_plaintext(secret_service, store):
    session = make_session(access_token="at-PLAINTEXT-PROBE-1234", refresh_token="rt-PLAINTEXT-PROBE-5678")
    stored_text = base64.b64encode(session_to_bytes(session))

    store.save(session)
    files = secret_service.files()

    assert {path.relative_to(secret_service.root).parent.as_posix() for path in files} == {"data/keyrings"}
    for path in files:
        content = path.read_bytes()
        assert b"PLAINTEXT-PROBE" not in content, path
        assert stored_text[:32] not in content, path


def test_an_unreadable_entry_is_set_aside_in_the_keyring_and_loads_as_none(store):
    SecretService.Keyring().set_password("pingcli", "default/demo", "junk that is no session")

    assert store.load("default", "demo") is None

    backend = SecretService.Keyring()
    assert backend.get_password("pingcli", "default/demo") is None
    assert backend.get_password("pingcli", "default/demo.corrupt") == "junk that is no session"
    assert "could not be read" in store.notices[0]


def test_a_locked_keyring_is_reported_as_locked(secret_service, store):
    store.save(make_session())
    secret_service.lock()

    with pytest.raises(StorageUnavailable) as loading:
        store.load("default", "demo")
    with pytest.raises(StorageUnavailable) as saving:
        store.save(make_session())

    for caught in (loading, saving):
        assert "the keyring is locked" in str(caught.value)
        assert "Secret Service (gnome-keyring)" in str(caught.value)
        assert "unlock the keyring" in caught.value.hint


def test_a_keyring_that_was_never_unlocked_is_reported_as_locked(tmp_path, monkeypatch):
    with SecretServiceSession(tmp_path, unlocked=False) as session:
        apply(session.env, monkeypatch)
        store = KeyringSessionStore(SecretService.Keyring())

        with pytest.raises(StorageUnavailable, match="the keyring is locked"):
            store.save(make_session())


def test_a_keyring_daemon_that_stops_answering_is_given_up_on_after_the_time_limit(secret_service):
    store = KeyringSessionStore(SecretService.Keyring(), timeout=1.0)
    store.save(make_session())
    os.kill(secret_service.keyring_pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match="did not answer within 1 s"):
            store.load("default", "demo")
        assert time.monotonic() - started < 3
    finally:
        os.kill(secret_service.keyring_pid, signal.SIGCONT)


def missing_bus(tmp_path, monkeypatch) -> str:
    socket = tmp_path / "no-such-bus"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={socket}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no keyringrc.cfg choosing for us
    return str(socket)


def test_without_a_session_bus_the_secret_service_store_is_unavailable(tmp_path, monkeypatch):
    socket = missing_bus(tmp_path, monkeypatch)
    store = KeyringSessionStore(SecretService.Keyring())

    with pytest.raises(StorageUnavailable) as caught:
        store.load("default", "demo")

    assert f"the D-Bus session bus {socket} does not exist" in str(caught.value)


def test_without_a_session_bus_the_backend_named_in_the_environment_is_unavailable(
    tmp_path, monkeypatch, fresh_keyring_choice
):
    socket = missing_bus(tmp_path, monkeypatch)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")

    with pytest.raises(StorageUnavailable) as caught:
        KeyringSessionStore().save(make_session())

    assert "no usable keyring" in str(caught.value)
    assert socket in str(caught.value)


def test_without_a_session_bus_keyrings_own_detection_finds_no_os_keyring(tmp_path, monkeypatch, fresh_keyring_choice):
    socket = missing_bus(tmp_path, monkeypatch)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    store = KeyringSessionStore()

    with pytest.raises(StorageUnavailable) as caught:
        store.load("default", "demo")

    assert "no OS keyring is available" in str(caught.value)
    assert socket in str(caught.value)
