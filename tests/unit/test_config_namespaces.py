"""Each configuration file has its own names in every store: the default file keeps the names pingcli always used,
any other file (by resolved absolute path) a namespace of its own. The installed command, with two files, a real
keyring and real files: tests/e2e/test_config_namespaces.py."""

from __future__ import annotations

import hashlib
import os

import pytest

from pingcli.adapters.file_lock import FileLocks, lock_file_name
from pingcli.adapters.session_stores import FileSessionStore, KeyringSessionStore, config_namespace
from tests.support.desk import MemoryKeyring
from tests.support.sessions import make_session


@pytest.fixture
def files(tmp_path):
    default = tmp_path / "home" / ".config" / "pingcli" / "config.toml"
    other = tmp_path / "work" / "other.toml"
    for path in (default, other):
        path.parent.mkdir(parents=True)
        path.write_text("")
    return default, other


def test_the_default_file_has_no_namespace_whatever_the_path_spelling(files, monkeypatch):
    default, _ = files
    link = default.parent.parent / "link.toml"
    link.symlink_to(default)
    monkeypatch.chdir(default.parent)

    assert config_namespace(default, default) is None
    assert config_namespace(link, default) is None  # the same file by another name
    assert config_namespace(default.parent / ".." / "pingcli" / "config.toml", default) is None
    assert config_namespace(type(default)("config.toml"), default) is None


def test_any_other_file_has_a_namespace_from_the_digest_of_its_resolved_path(files, monkeypatch):
    default, other = files
    monkeypatch.chdir(other.parent)

    namespace = config_namespace(other, default)

    assert namespace == "config." + hashlib.sha256(str(other.resolve()).encode()).hexdigest()[:16]
    assert config_namespace(type(other)("other.toml"), default) == namespace
    assert config_namespace(other.parent / "third.toml", default) not in (None, namespace)


def test_a_namespaced_keyring_store_names_every_entry_under_it_and_never_meets_the_default_names():
    backend = MemoryKeyring()
    namespace = "config.0123456789abcdef"
    mine, default = KeyringSessionStore(backend, namespace=namespace), KeyringSessionStore(backend)

    mine.save(make_session(access_token="at-mine-0123456789"))
    mine.save_secret("default", "demo", "authorization_code", "s3cret-of-mine")
    default.save(make_session(access_token="at-default-0123456789"))

    assert {name for _, name in backend.entries} == {
        f"{namespace}/default/demo", f"{namespace}/default/demo/client-secret/authorization_code", "default/demo"}
    assert mine.load("default", "demo").tokens.access_token == "at-mine-0123456789"
    assert default.load("default", "demo").tokens.access_token == "at-default-0123456789"
    assert default.load_secret("default", "demo", "authorization_code") is None
    backend.entries[("pingcli", f"{namespace}/default/demo")] = "junk"
    assert mine.load("default", "demo") is None
    assert {name for _, name in backend.entries} >= {f"{namespace}/default/demo.corrupt", "default/demo"}
    assert [leftover.key for leftover in mine.leftovers("default", "demo")] == [f"{namespace}/default/demo.corrupt"]
    assert default.leftovers("default", "demo") == []
    assert mine.delete("default", "demo") is False and default.load("default", "demo") is not None


def test_a_namespaced_file_store_and_its_locks_live_apart_from_the_default_ones(tmp_path):
    namespace = "config.0123456789abcdef"
    mine = FileSessionStore(tmp_path / "sessions", namespace=namespace)
    default = FileSessionStore(tmp_path / "sessions")

    mine.save(make_session(access_token="at-mine-0123456789"))

    assert mine.path_of("default", "demo") == tmp_path / "sessions" / namespace / "default" / "demo.json"
    assert default.load("default", "demo") is None and default.leftovers("default", "demo") == []
    assert FileLocks(tmp_path, namespace=namespace)._path("tokens/default/demo") != FileLocks(tmp_path)._path(
        "tokens/default/demo")
    with FileLocks(tmp_path / "locks", namespace=namespace).hold("tokens/default/demo", 1):
        with FileLocks(tmp_path / "locks").hold("tokens/default/demo", 0.1):  # not the same lock: no wait
            assert sorted(os.listdir(tmp_path / "locks")) == sorted(
                [lock_file_name(f"{namespace}/tokens/default/demo"), lock_file_name("tokens/default/demo")])


@pytest.mark.parametrize("namespace", ["default", "../x", "config.XYZ", "config.0123456789abcdef/.."])
def test_a_namespace_that_could_meet_a_profile_or_escape_is_refused(tmp_path, namespace):
    with pytest.raises(ValueError):
        FileSessionStore(tmp_path, namespace=namespace)
    with pytest.raises(ValueError):
        KeyringSessionStore(MemoryKeyring(), namespace=namespace)
