"""FileLocks in one process: a lock file exists only while its lock is in use, names never share a file,
waiting times out, and the files are private from creation. (Between processes: tests/integration.)"""

from __future__ import annotations

import os
import stat
import threading
import time
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingcli.adapters.file_lock import FileLocks, lock_file_name
from pingcli.domain.errors import LockTimeout
from pingcli.domain.session import login_lock, token_lock


def lock_files(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture
def locks(tmp_path):
    return FileLocks(tmp_path / "cache" / "locks", poll=0.005)


# --- No file is left behind ----------------------------------------------------------------------


def test_a_released_lock_leaves_no_file(locks):
    with locks.hold(token_lock("default", "demo"), 1):
        assert len(lock_files(locks.directory)) == 1
    assert lock_files(locks.directory) == []


def test_a_lock_released_by_an_exception_leaves_no_file_and_can_be_taken_again(locks):
    with pytest.raises(RuntimeError):
        with locks.hold("tokens/default/demo", 1):
            raise RuntimeError("the body failed")
    assert lock_files(locks.directory) == []
    with locks.hold("tokens/default/demo", 0.1):
        pass
    assert lock_files(locks.directory) == []


def test_the_file_a_dead_holder_left_is_taken_and_removed_on_release(locks):
    locks.directory.mkdir(parents=True)
    left = locks.directory / lock_file_name("tokens/default/demo")
    left.write_bytes(b"")  # what a holder that was killed leaves: a file nobody has locked

    with locks.hold("tokens/default/demo", 0.5):
        pass

    assert lock_files(locks.directory) == []


def test_a_waiter_that_times_out_leaves_the_holders_file_in_place_and_still_held(locks, tmp_path):
    other = FileLocks(locks.directory, poll=0.005)
    waits = []
    with locks.hold("tokens/default/demo", 1):
        [held] = lock_files(locks.directory)
        started = time.monotonic()
        with pytest.raises(LockTimeout):
            with other.hold("tokens/default/demo", 0.2, on_wait=lambda: waits.append(1)):
                pytest.fail("two holders at once")
        assert 0.2 <= time.monotonic() - started < 2
        assert waits == [1]  # told once, however long it waited
        assert lock_files(locks.directory) == [held]
        with pytest.raises(LockTimeout):  # and it is still held
            with other.hold("tokens/default/demo", 0.05):
                pass
    assert lock_files(locks.directory) == []


def test_on_wait_is_not_called_when_the_lock_is_free(locks):
    waits = []
    with locks.hold("login/default/demo", 1, on_wait=lambda: waits.append(1)):
        pass
    assert waits == []


def test_a_waiter_that_locked_a_file_its_holder_removed_starts_again_with_the_file_now_there(locks):
    """The race the inode check is for: B opened the file, A removed it on release, B then locks the removed
    file. B must not believe it holds the lock: C, arriving while B is inside, would create a new file and
    get in too."""
    name = "tokens/default/demo"
    b_locks, c_locks = FileLocks(locks.directory, poll=0.005), FileLocks(locks.directory, poll=0.005)
    b_waiting, b_inside, b_may_leave = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def b():
        try:
            with b_locks.hold(name, 5, on_wait=b_waiting.set):
                b_inside.set()
                b_may_leave.wait(5)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            b_inside.set()

    thread = threading.Thread(target=b)
    with locks.hold(name, 1):
        thread.start()
        assert b_waiting.wait(5)  # B has opened the file and found it locked
    assert b_inside.wait(5)
    try:
        assert errors == []
        with pytest.raises(LockTimeout):
            with c_locks.hold(name, 0.2):
                pytest.fail("C got in while B was inside: B had locked a removed file")
    finally:
        b_may_leave.set()
        thread.join(5)
    assert errors == []
    assert lock_files(locks.directory) == []


# --- Private from creation -----------------------------------------------------------------------


def test_the_directory_is_0700_and_the_file_0600_whatever_the_umask(locks):
    old = os.umask(0)
    try:
        with locks.hold("login/default/demo", 1):
            [name] = lock_files(locks.directory)
            assert stat.S_IMODE(os.stat(locks.directory).st_mode) == 0o700
            assert stat.S_IMODE(os.stat(locks.directory / name).st_mode) == 0o600
    finally:
        os.umask(old)


# --- Names never share a file --------------------------------------------------------------------


def test_profile_a_b_service_c_and_profile_a_service_b_c_are_different_locks(locks):
    first, second = token_lock("a_b", "c"), token_lock("a", "b_c")
    assert lock_file_name(first) != lock_file_name(second)
    with locks.hold(first, 1):
        with FileLocks(locks.directory, poll=0.005).hold(second, 0.2):  # would time out if they shared a file
            assert len(lock_files(locks.directory)) == 2
    assert lock_files(locks.directory) == []


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (login_lock("a_b", "c"), login_lock("a", "b_c")),
        (token_lock("a.b", "c"), token_lock("a", "b.c")),
        (token_lock("a%2Fb", "c"), token_lock("a/b", "c")),
        (token_lock("Demo", "x"), token_lock("demo", "x")),  # distinct on a case-insensitive file system too
        (token_lock("é", "x"), token_lock("e", "x")),
        (login_lock("p", "s"), token_lock("p", "s")),
    ],
)
def test_names_that_a_lossy_encoding_would_merge_get_files_of_their_own(one, other):
    assert lock_file_name(one).lower() != lock_file_name(other).lower()


@given(st.text(min_size=1, max_size=60))
def test_a_lock_file_name_decodes_back_to_its_lock_name_even_case_folded(name):
    encoded = lock_file_name(name)
    assert encoded.endswith(".lock") and "/" not in encoded and "\\" not in encoded and "\0" not in encoded
    assert len(encoded.encode()) <= 255
    if "#" in encoded:  # cut: the rest is the name's digest, so it is still distinct from every other
        return
    assert set(encoded) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_.%ABCDEF")
    assert unquote(encoded.removesuffix(".lock").lower(), errors="surrogatepass") == name


@given(st.text(min_size=1, max_size=16))  # at most 12 encoded characters each
def test_a_short_name_is_never_cut(name):
    assert "#" not in lock_file_name(name)


def test_a_very_long_name_still_gets_a_short_distinct_file_name():
    long_a, long_b = token_lock("p" * 300, "a"), token_lock("p" * 300, "b")
    assert len(lock_file_name(long_a).encode()) <= 255
    assert lock_file_name(long_a) != lock_file_name(long_b)
