"""Changing auth.storage.type moves the profile's sessions and client secrets, or changes nothing at all."""

import json

import pytest

from pingcli.adapters.fakes import FakeConfigStore, FakeLocks, FakeSessionStore
from pingcli.domain.errors import ConfigError, LockTimeout, StorageUnavailable
from pingcli.domain.settings import SECRET_MARKER, StorageType
from pingcli.domain.usecases.config import Configuration
from pingcli.domain.usecases.storage_migration import ChangeStorage
from tests.support.sessions import make_session

AC_KEY = "service.demo.authentication.authorizationCode.clientSecret"


def profile_settings(storage="file_system", **more):
    settings = {"auth.storage.type": storage}
    for service in ("demo", "other"):
        settings[f"service.{service}.issuer"] = "https://idp.example.test"
        settings[f"service.{service}.authentication.authorizationCode.clientID"] = "cli-public"
    settings.update(more)
    return settings


class Stores(dict):
    def __init__(self, **changes):
        super().__init__({
            StorageType.SECURE_LOCAL: FakeSessionStore("Secret Service (fake)"),
            StorageType.FILE_SYSTEM: FakeSessionStore("/home/me/.local/share/pingcli/sessions"),
            StorageType.NONE: FakeSessionStore("not stored"),
        })
        self.update({StorageType(k): v for k, v in changes.items()})

    @property
    def keyring(self):
        return self[StorageType.SECURE_LOCAL]

    @property
    def files(self):
        return self[StorageType.FILE_SYSTEM]


def change(config, stores, raw, env=None, locks=None):
    return ChangeStorage(Configuration(config, env or {}), stores, locks or FakeLocks())(raw)


def stored_type(config):
    return config.profiles["default"]["auth.storage.type"]


@pytest.fixture
def config():
    return FakeConfigStore({"default": profile_settings()})


@pytest.fixture
def stores():
    return Stores()


def test_sessions_move_to_the_new_store_and_leave_the_old_one(config, stores):
    demo, other = make_session(service="demo"), make_session(service="other", access_token="at-other-123456789")
    stores.files.save(demo)
    stores.files.save(other)

    result = change(config, stores, "secure_local")

    assert stores.keyring.sessions == {("default", "demo"): demo, ("default", "other"): other}
    assert stores.files.sessions == {}
    assert stored_type(config) == "secure_local"
    assert [(m.what, m.outcome, m.source, m.target) for m in result.moves] == [
        ("the session of demo", "moved", "/home/me/.local/share/pingcli/sessions", "Secret Service (fake)"),
        ("the session of other", "moved", "/home/me/.local/share/pingcli/sessions", "Secret Service (fake)"),
    ]


def test_client_secrets_kept_in_the_store_move_with_the_sessions(stores):
    config = FakeConfigStore({"default": profile_settings(**{AC_KEY: SECRET_MARKER})})
    stores.files.save_secret("default", "demo", "authorization_code", "the-secret")

    result = change(config, stores, "secure_local")

    assert stores.keyring.secrets == {("default", "demo", "authorization_code"): "the-secret"}
    assert stores.files.secrets == {}
    assert "the client secret of demo (authorization_code)" in [m.what for m in result.moves]
    assert config.profiles["default"][AC_KEY] == SECRET_MARKER


def test_a_new_store_that_refuses_the_write_changes_nothing(config, stores):
    session = make_session()
    stores.files.save(session)
    stores[StorageType.SECURE_LOCAL] = FakeSessionStore(
        "OS keyring", refuse_writes=StorageUnavailable("OS keyring", "the keyring is locked")
    )

    with pytest.raises(StorageUnavailable) as refused:
        change(config, stores, "secure_local")

    assert stores.files.sessions == {("default", "demo"): session}
    assert stored_type(config) == "file_system"
    assert "nothing was changed: auth.storage.type is still file_system" in refused.value.hint
    assert "/home/me/.local/share/pingcli/sessions" in refused.value.hint


def test_a_new_store_that_does_not_keep_what_it_was_given_changes_nothing(config, stores):
    stores.files.save(make_session())
    stores.files.save(make_session(service="other"))
    stores[StorageType.SECURE_LOCAL] = forgetful = FakeSessionStore("broken keyring", keeps=False)

    with pytest.raises(StorageUnavailable) as refused:
        change(config, stores, "secure_local")

    assert "did not keep the session of demo" in refused.value.message
    assert len(stores.files.sessions) == 2 and stored_type(config) == "file_system"
    assert forgetful.saved[0].service == "demo" and len(forgetful.saved) == 1  # stopped at the first


def test_a_failure_halfway_takes_back_the_copies_already_made(config, stores):
    stores.files.save(make_session(service="demo"))
    stores.files.save(make_session(service="other"))
    target = stores.keyring
    original_save = target.save

    def save_then_fail_on_other(session):
        if session.service == "other":
            raise StorageUnavailable("Secret Service (fake)", "the keyring was locked meanwhile")
        original_save(session)

    target.save = save_then_fail_on_other

    with pytest.raises(StorageUnavailable):
        change(config, stores, "secure_local")

    assert target.sessions == {} and ("default", "demo") in target.deleted
    assert len(stores.files.sessions) == 2 and stored_type(config) == "file_system"


def test_a_stale_session_in_the_new_store_is_put_back_when_the_move_fails(config, stores):
    stale = make_session(access_token="at-stale-0123456789")
    stores.keyring.save(stale)
    stores.files.save(make_session(service="demo"))
    stores.files.save(make_session(service="other"))
    original_save = stores.keyring.save

    def save_then_fail_on_other(session):
        if session.service == "other":
            raise StorageUnavailable("Secret Service (fake)", "the keyring was locked meanwhile")
        original_save(session)

    stores.keyring.save = save_then_fail_on_other

    with pytest.raises(StorageUnavailable):
        change(config, stores, "secure_local")

    assert stores.keyring.sessions == {("default", "demo"): stale}


def test_moving_to_none_removes_the_sessions_and_says_so(config, stores):
    stores.files.save(make_session())

    result = change(config, stores, "none")

    assert stores.files.sessions == {} and stores[StorageType.NONE].saved == []
    assert [(m.what, m.outcome) for m in result.moves] == [("the session of demo", "removed")]
    assert stored_type(config) == "none"


def test_moving_to_none_is_refused_while_a_client_secret_is_kept_in_the_store(stores):
    config = FakeConfigStore({"default": profile_settings(**{AC_KEY: SECRET_MARKER})})
    stores.files.save_secret("default", "demo", "authorization_code", "the-secret")
    stores.files.save(make_session())

    with pytest.raises(ConfigError) as refused:
        change(config, stores, "none")

    assert AC_KEY in refused.value.message
    assert "PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_SECRET" in refused.value.hint
    assert stores.files.secrets and stores.files.sessions and stored_type(config) == "file_system"


def test_an_old_store_that_cannot_be_read_does_not_block_the_change_and_the_report_says_what_may_be_left():
    config = FakeConfigStore({"default": profile_settings("secure_local")})
    stores = Stores(secure_local=FakeSessionStore("OS keyring", StorageUnavailable("OS keyring", "no usable keyring")))

    result = change(config, stores, "file_system")

    assert stored_type(config) == "file_system" and result.moves == ()
    assert any("could not look into OS keyring (no usable keyring)" in note for note in result.notes)


def test_an_old_store_that_cannot_be_read_blocks_the_change_when_it_holds_client_secrets():
    config = FakeConfigStore({"default": profile_settings("secure_local", **{AC_KEY: SECRET_MARKER})})
    locked = StorageUnavailable("OS keyring", "the keyring is locked")
    stores = Stores(secure_local=FakeSessionStore("OS keyring", locked))

    with pytest.raises(StorageUnavailable) as refused:
        change(config, stores, "file_system")

    assert "client secrets" in refused.value.hint and stored_type(config) == "secure_local"


def test_what_cannot_be_removed_from_the_old_store_is_reported_by_name_and_place(config, stores):
    session = make_session()
    stores.files.save(session)
    stores.files.refuse_deletes = StorageUnavailable("/home/me/.local/share/pingcli/sessions", "permission denied")

    result = change(config, stores, "secure_local")

    [left] = result.left_behind
    assert (left.what, left.source, left.target) == (
        "the session of demo", "/home/me/.local/share/pingcli/sessions", "Secret Service (fake)")
    assert "permission denied" in left.problem
    assert stores.keyring.sessions == {("default", "demo"): session} and stored_type(config) == "secure_local"


def test_the_same_type_again_moves_nothing(config, stores):
    stores.files.save(make_session())

    result = change(config, stores, "file_system")

    assert result.moves == () and stores.files.sessions and stores.keyring.saved == []


def test_with_the_type_set_in_the_environment_nothing_is_moved_and_the_report_says_why(config, stores):
    stores.files.save(make_session())

    result = change(config, stores, "secure_local", env={"PINGCLI_AUTH_STORAGE_TYPE": "file_system"})

    assert stores.files.sessions and stores.keyring.saved == []
    assert stored_type(config) == "secure_local"
    assert "PINGCLI_AUTH_STORAGE_TYPE=file_system overrides this setting" in result.notes[0]


def test_a_refresh_or_sign_in_in_progress_makes_the_change_wait_and_then_give_up_unchanged(config, stores):
    stores.files.save(make_session())
    locks = FakeLocks()
    locks.busy.add("tokens/default/demo")

    with pytest.raises(LockTimeout):
        change(config, stores, "secure_local", locks=locks)

    assert stores.files.sessions and stores.keyring.saved == [] and stored_type(config) == "file_system"


def test_the_locks_of_every_service_are_held_while_the_sessions_move(config, stores):
    stores.files.save(make_session())
    locks = FakeLocks()

    change(config, stores, "secure_local", locks=locks)

    assert set(locks.held) == {"login/default/demo", "tokens/default/demo", "login/default/other",
                               "tokens/default/other"}
    assert locks.busy == set()


def test_an_invalid_type_is_refused_before_anything_is_read(config, stores):
    with pytest.raises(ConfigError):
        change(config, stores, "keychain")
    assert config.writes == 0


def test_unsetting_the_type_moves_the_sessions_to_the_default_store(config, stores):
    session = make_session()
    stores.files.save(session)

    result = change(config, stores, None)

    assert result.new is StorageType.SECURE_LOCAL
    assert stores.keyring.sessions == {("default", "demo"): session} and stores.files.sessions == {}
    assert "auth.storage.type" not in config.profiles["default"]


def test_with_nothing_to_move_it_is_a_change_of_setting_only_with_no_locks_and_no_use_of_the_new_store(config):
    unusable = FakeSessionStore("OS keyring", StorageUnavailable("OS keyring", "no usable keyring"))
    stores = Stores(secure_local=unusable)
    locks = FakeLocks()

    result = change(config, stores, "secure_local", locks=locks)

    assert result.moves == () and stored_type(config) == "secure_local"
    assert locks.held == [] and unusable.saved == []


def test_a_session_the_new_store_already_holds_is_kept_and_mentioned(config, stores):
    stores.keyring.save(make_session(service="other"))
    stores.files.save(make_session(service="demo"))

    result = change(config, stores, "secure_local")

    assert set(stores.keyring.sessions) == {("default", "demo"), ("default", "other")}
    assert any("the session of other already in Secret Service (fake) was kept" in note for note in result.notes)


def test_through_the_command_what_the_old_keyring_would_not_delete_is_named_with_its_place(tmp_path):
    """A real file store and keyring store; the keyring is keyring's macOS backend on a bad day."""
    from keyring.errors import PasswordDeleteError

    from tests.support.desk import Desk, MemoryKeyring

    class Keychain(MemoryKeyring):
        def delete_password(self, service, username):
            raise PasswordDeleteError("Can't delete password in keychain: User interaction is not allowed.")

    Keychain.__module__ = "keyring.backends.macOS"
    keychain = Keychain()
    desk = Desk(tmp_path, keychain)
    assert desk.run("auth", "login")[0] == 0

    code, out, err = desk.run("config", "set", "auth.storage.type=file_system")

    sessions = desk.sessions
    assert code == 0, err
    assert out.rstrip().endswith("auth.storage.type = file_system (was secure_local)")
    assert "moved the session" not in out
    assert (f"pingcli: warning: the session of demo is now in {sessions}, but a copy is still in macOS Keychain: "
            "it could not be removed") in err
    assert "remove it there by hand" in err
    assert [name for _, name in keychain.entries] == ["default/demo"]  # what the warning says is there, is there
    code, status, _ = desk.run("auth", "status", "--output", "json")
    assert code == 0 and json.loads(status)["services"][0]["storage"] == str(sessions)
