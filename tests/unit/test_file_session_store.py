"""Sessions in files only this account can read: modes from creation, atomic replacement, unreadable files set aside."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from pingcli.adapters.codec import session_to_bytes
from pingcli.adapters.session_stores import FileSessionStore, MemorySessionStore
from pingcli.domain.errors import StorageUnavailable
from tests.support.sessions import make_session

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
STAMP = "20231114T221320Z"

def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "state" / "pingcli" / "sessions"


@pytest.fixture
def store(store_dir):
    return FileSessionStore(store_dir, now=lambda: NOW)


@pytest.fixture
def umask():
    """Set a umask for the test and put the old one back afterwards."""
    previous = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(previous)


def write_raw(store, data: bytes, profile="default", service="demo", file_mode=0o600):
    path = store.path_of(profile, service)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, file_mode)
    return path


def test_a_saved_session_loads_back_as_it_was(store):
    session = make_session()

    store.save(session)

    assert store.load("default", "demo") == session


def test_a_session_that_was_never_saved_loads_as_none(store):
    assert store.load("default", "demo") is None
    assert store.notices == []


def test_each_profile_and_service_has_its_own_file(store, store_dir):
    store.save(make_session("default", "demo", access_token="at-one"))
    store.save(make_session("work", "demo", access_token="at-two"))
    store.save(make_session("work", "billing", access_token="at-three"))

    assert store.load("work", "demo").tokens.access_token == "at-two"
    assert sorted(p.relative_to(store_dir).as_posix() for p in store_dir.rglob("*.json")) == [
        "default/demo.json",
        "work/billing.json",
        "work/demo.json",
    ]


@pytest.mark.parametrize("value", [0o022, 0o077, 0o002, 0o000])
def test_directories_are_0700_and_the_file_0600_from_the_moment_they_are_created(store, store_dir, umask, value, monkeypatch):
    umask(value)
    modes_before_rename = []
    real_replace = os.replace

    def replace_and_record(source, target):
        modes_before_rename.append(mode(source))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_and_record)

    store.save(make_session())

    assert modes_before_rename == [0o600]  # the temporary file was never more open than the final one
    assert mode(store_dir) == 0o700
    assert mode(store_dir / "default") == 0o700
    assert mode(store_dir / "default" / "demo.json") == 0o600
    assert mode(store_dir / ".notice-shown") == 0o600


def test_a_replaced_file_is_0600_under_a_permissive_umask(store, store_dir, umask):
    umask(0o000)
    store.save(make_session(access_token="at-first"))
    store.save(make_session(access_token="at-second"))

    assert mode(store_dir / "default" / "demo.json") == 0o600
    assert store.load("default", "demo").tokens.access_token == "at-second"


def test_a_failed_rename_leaves_the_previous_session_readable_and_no_temporary_file(store, store_dir, monkeypatch):
    store.save(make_session(access_token="at-previous"))

    def disk_full(source, target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StorageUnavailable) as caught:
        store.save(make_session(access_token="at-new"))
    monkeypatch.undo()

    assert "the disk is full" in str(caught.value)
    assert str(store_dir / "default" / "demo.json") in str(caught.value)
    assert caught.value.backend == f"file store {store_dir}"
    assert store.load("default", "demo").tokens.access_token == "at-previous"
    assert sorted(p.name for p in (store_dir / "default").iterdir()) == ["demo.json"]


def test_a_write_that_cannot_be_flushed_to_disk_leaves_the_previous_session(store, store_dir, monkeypatch):
    store.save(make_session(access_token="at-previous"))

    def io_error(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", io_error)
    with pytest.raises(StorageUnavailable, match="Input/output error"):
        store.save(make_session(access_token="at-new"))
    monkeypatch.undo()

    assert store.load("default", "demo").tokens.access_token == "at-previous"
    assert sorted(p.name for p in (store_dir / "default").iterdir()) == ["demo.json"]


def test_a_directory_that_cannot_be_created_makes_the_store_unavailable(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    store = FileSessionStore(blocker / "sessions")

    with pytest.raises(StorageUnavailable) as caught:
        store.save(make_session())

    assert "cannot create the directory" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "it is empty"),
        (session_to_bytes(make_session())[:-40], "it is not valid JSON"),
        (session_to_bytes(make_session()) + b"\ntrailing junk", "it is not valid JSON"),
        (b"\x00\x01\x02\xff", "it is not UTF-8 text"),
        (b'{"version": "9", "session": {}}', "its format version is not a number"),
    ],
    ids=["empty", "truncated", "trailing junk", "binary", "odd version"],
)
def test_an_unreadable_file_is_set_aside_and_loads_as_none_with_a_notice(store, content, reason):
    path = write_raw(store, content)

    assert store.load("default", "demo") is None

    aside = path.with_name(f"demo.json.corrupt-{STAMP}")
    assert not path.exists()
    assert aside.read_bytes() == content
    assert mode(aside) == 0o600
    [notice] = store.notices
    assert reason in notice
    assert str(aside) in notice
    assert "'default'" in notice and "'demo'" in notice
    assert "Sign in again" in notice


def test_a_file_a_newer_pingcli_wrote_is_left_in_place_and_said_to_be_that_and_a_save_replaces_it(store):
    content = b'{"version": 2, "session": {"a": "field this pingcli does not know"}, "more": 1}'
    path = write_raw(store, content)

    assert store.load("default", "demo") is None
    assert store.load("default", "demo") is None

    assert path.read_bytes() == content and os.listdir(path.parent) == ["demo.json"]
    [notice] = store.notices  # said once, however often it is read
    assert f"({path}) was written by a newer pingcli (session format version 2; this pingcli reads version 1)" in notice
    assert "not signed in to demo here; it was left as it is" in notice
    assert "Use that newer pingcli, or sign in again with this one (pingcli auth login --service demo), which " \
           "replaces it" in notice
    [leftover] = store.leftovers("default", "demo")
    assert leftover.newer and leftover.key == str(path) and leftover.tokens is None
    store.save(make_session())
    assert store.load("default", "demo") == make_session() and store.leftovers("default", "demo") == []


def test_after_an_unreadable_file_was_set_aside_the_next_load_is_quietly_empty_and_a_save_works(store):
    path = write_raw(store, b"garbage")
    store.load("default", "demo")
    store.notices.clear()

    assert store.load("default", "demo") is None
    assert store.notices == []
    store.save(make_session())
    assert store.load("default", "demo") == make_session()
    assert path.with_name(f"demo.json.corrupt-{STAMP}").exists()


def test_a_second_unreadable_file_in_the_same_second_does_not_overwrite_the_first(store):
    path = write_raw(store, b"first garbage")
    store.load("default", "demo")
    write_raw(store, b"second garbage")
    store.load("default", "demo")

    assert path.with_name(f"demo.json.corrupt-{STAMP}").read_bytes() == b"first garbage"
    assert path.with_name(f"demo.json.corrupt-{STAMP}-1").read_bytes() == b"second garbage"


def test_a_file_holding_another_services_session_is_unreadable(store):
    write_raw(store, session_to_bytes(make_session("default", "billing")), service="demo")

    assert store.load("default", "demo") is None
    assert "another profile or service" in store.notices[0]


def test_an_existing_file_readable_by_others_is_tightened_when_read_with_a_notice(store):
    path = write_raw(store, session_to_bytes(make_session()), file_mode=0o644)

    assert store.load("default", "demo") == make_session()

    assert mode(path) == 0o600
    [notice] = store.notices
    assert str(path) in notice and "0644" in notice and "0600" in notice


def test_an_existing_file_readable_by_others_is_replaced_by_a_private_one_on_save_with_a_notice(store):
    store.save(make_session())
    path = store.path_of("default", "demo")
    os.chmod(path, 0o664)
    store.notices.clear()

    store.save(make_session(access_token="at-new"))

    assert mode(path) == 0o600
    [notice] = store.notices
    assert str(path) in notice and "0664" in notice


def test_directories_open_to_others_are_tightened_on_the_next_write_with_a_notice(store, store_dir):
    store.save(make_session())
    os.chmod(store_dir, 0o755)
    os.chmod(store_dir / "default", 0o777)
    store.notices.clear()

    store.save(make_session())

    assert mode(store_dir) == 0o700
    assert mode(store_dir / "default") == 0o700
    assert len(store.notices) == 2
    assert "0755" in store.notices[0] and "0777" in store.notices[1]


def test_the_first_save_tells_once_who_can_read_the_file(store, store_dir):
    store.save(make_session())
    store.save(make_session(service="billing"))
    later_process = FileSessionStore(store_dir)
    later_process.save(make_session(service="other"))

    [notice] = store.notices
    assert "Anyone who can act as this account" in notice
    assert str(store_dir) in notice
    assert later_process.notices == []
    assert (store_dir / ".notice-shown").exists()


def test_delete_removes_the_file_and_says_whether_there_was_one(store):
    store.save(make_session())

    assert store.delete("default", "demo") is True
    assert store.load("default", "demo") is None
    assert store.delete("default", "demo") is False


def test_a_symbolic_link_in_place_of_the_session_file_is_not_followed(store, tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(session_to_bytes(make_session()))
    path = store.path_of("default", "demo")
    path.parent.mkdir(parents=True, mode=0o700)
    path.symlink_to(elsewhere)

    with pytest.raises(StorageUnavailable, match="symbolic link"):
        store.load("default", "demo")
    store.save(make_session(access_token="at-mine"))

    assert not path.is_symlink()
    assert elsewhere.read_bytes() == session_to_bytes(make_session())


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x" * 65])
def test_names_that_could_leave_the_directory_are_refused(store, name):
    with pytest.raises(ValueError):
        store.path_of(name, "demo")
    with pytest.raises(ValueError):
        store.path_of("default", name)


def test_the_description_is_the_directory(store, store_dir):
    assert store.description == str(store_dir)


# The store for auth.storage.type=none lives here too: its one promise is about the file system.


def test_the_memory_store_keeps_sessions_for_this_process_and_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    store = MemorySessionStore()

    store.save(make_session(access_token="at-memory"))

    assert store.load("default", "demo").tokens.access_token == "at-memory"
    assert store.load("default", "other") is None
    assert store.delete("default", "demo") is True
    assert store.delete("default", "demo") is False
    assert list(tmp_path.iterdir()) == []
    assert store.description == "not stored (auth.storage.type=none)"
    assert store.notices == []


def test_auth_token_tells_the_person_when_it_tightened_a_file_others_could_read(tmp_path):
    """Through the command: the note reaches the stderr main() was given, and only stderr."""
    from tests.support.desk import Desk, MemoryKeyring

    desk = Desk(tmp_path, MemoryKeyring(), storage="file_system")
    assert desk.run("auth", "login")[0] == 0
    path = desk.sessions / "default" / "demo.json"
    os.chmod(path, 0o644)

    code, out, err = desk.run("auth", "token")

    assert code == 0, err
    assert out == list(desk.provider.access_tokens)[-1] + "\n"
    assert err == (f"Note: {path} could be read by other users (mode 0644); pingcli changed it to 0600. If others may "
                   "have read it, sign out (pingcli auth logout) to revoke the tokens, and sign in again.\n")
    assert mode(path) == 0o600


def test_every_directory_the_store_creates_parents_included_is_0700_under_umask_022(store, store_dir, tmp_path, umask):
    umask(0o022)

    store.save(make_session())

    created = [tmp_path / "state", tmp_path / "state" / "pingcli", store_dir, store_dir / "default"]
    assert {str(path.relative_to(tmp_path)): mode(path) for path in created} == {
        str(path.relative_to(tmp_path)): 0o700 for path in created}


def test_a_notice_marker_that_cannot_be_written_does_not_fail_a_save_that_succeeded(store, store_dir, monkeypatch):
    """Else a sign-in whose session is on disk would be reported as not kept (and its tokens revoked)."""
    real_open = os.open

    def no_space_for_the_marker(path, flags, *args, **kwargs):
        if str(path).endswith(".notice-shown"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_space_for_the_marker)
    store.save(make_session())
    store.save(make_session(access_token="at-again"))
    monkeypatch.undo()

    assert store.load("default", "demo").tokens.access_token == "at-again"
    assert [n for n in store.notices if "Anyone who can act as this account" in n] == [store.notices[0]] * 2
    assert not (store_dir / ".notice-shown").exists()


@pytest.mark.parametrize(("error", "first"), [
    (errno.ENOSPC, "free some disk space"),
    (errno.EACCES, "check the owner and permissions of"),
    (errno.EIO, "check "),
])
def test_a_failing_file_store_points_to_the_stores_that_are_not_files(store, monkeypatch, error, first):
    def failing(source, target):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(StorageUnavailable) as caught:
        store.save(make_session())

    assert caught.value.hint.startswith(first)
    assert "pingcli config set auth.storage.type=secure_local" in caught.value.hint
    assert "auth.storage.type=none" in caught.value.hint
    assert "file_system" not in caught.value.hint
