"""The command line as a person meets it: configuration, profiles, output formats, hints and exit codes.

Each command runs in this process through `main`, with the real TOML configuration file in a temporary
directory and the shipped fakes for the provider and the token stores; the tests look at what is printed,
the exit code, and what is written.
"""

from __future__ import annotations

import errno
import importlib.metadata
import io
import json
import os
import sys
from pathlib import Path

import attrs
import pytest
from dependency_injector import providers
from keyring.errors import KeyringLocked

from pingcli.adapters.codec import session_to_bytes
from pingcli.adapters.config_toml import TomlConfigStore
from pingcli.adapters.fakes import FakeLocks, FakeSessionStore
from pingcli.adapters.session_stores import FileSessionStore
from pingcli.domain.errors import StorageUnavailable
from pingcli.domain.provider import HttpResponse
from pingcli.domain.settings import SECRET_MARKER, StorageType
from pingcli.domain.usecases.config import Configuration
from pingcli.entrypoints.main import main
from tests.support.desk import Desk, MemoryKeyring, sessions_of
from tests.support.sessions import make_session

from .conftest import ISSUER

AC = "service.demo.authentication.authorizationCode."
SECRET_KEY = AC + "clientSecret"
SECRET_VARIABLE = "PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_SECRET"

DEMO = f"""\
[profiles.default]
auth.storage.type = "file_system"

[profiles.default.service.demo]
issuer = "{ISSUER}"
authentication.authorizationCode.clientID = "cli-public"
authentication.authorizationCode.redirectURIPort = 0
authentication.deviceCode.clientID = "cli-public"
"""

P3 = f"""
[profiles.p3]
auth.storage.type = "file_system"

[profiles.p3.service.s3]
issuer = "{ISSUER}"
authentication.authorizationCode.clientID = "cli-public"
"""


@attrs.frozen
class Ran:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


class Cli:
    """pingcli on a machine of fakes, with a real configuration file at `self.config`."""

    def __init__(self, tmp_path, world, monkeypatch):
        self.tmp = tmp_path
        self.world = world
        self.monkeypatch = monkeypatch
        self.config = tmp_path / "config" / "config.toml"
        self.keyring = FakeSessionStore("OS keyring (fake)")
        self.files = FakeSessionStore(str(tmp_path / "data" / "sessions"))
        self.real_files = False  # True: pingcli's own FileSessionStore under the data directory
        self.config_locks = None  # a FakeLocks: the configuration file's lock is recorded there, not taken
        self.env = {
            "PINGCLI_CONFIG": str(self.config),
            "PINGCLI_DATA_DIR": str(tmp_path / "data"),
            "PINGCLI_CACHE_DIR": str(tmp_path / "cache"),
        }

    def write(self, text: str) -> None:
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)

    def run(self, *argv: str, env: dict[str, str] | None = None, stdin: str | None = None,
            interrupt: bool = False) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        world = self.world

        def configure(container):
            world.plug_into(container)
            container.keyring_store.override(providers.Object(self.keyring))
            if not self.real_files:
                container.file_store.override(providers.Object(self.files))
            if self.config_locks is not None:
                container.config_locks.override(providers.Object(self.config_locks))
            if interrupt:  # the person presses Ctrl-C while pingcli reads its configuration
                def cancelled(*_):
                    raise KeyboardInterrupt
                container.configuration.override(providers.Callable(cancelled))

        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        environment = {k: v for k, v in {**self.env, **(env or {})}.items() if v is not None}
        code = main(list(argv), environment, out, err, configure=configure)
        return Ran(code, out.getvalue(), err.getvalue())

    def sign_in(self, *argv: str) -> None:
        self.world.person_signs_in()
        ran = self.run("auth", "login", *argv)
        assert ran.code == 0, ran.err


@pytest.fixture
def cli(tmp_path, world, monkeypatch):
    machine = Cli(tmp_path, world, monkeypatch)
    machine.write(DEMO)
    return machine


def error_document(ran: Ran) -> dict:
    """The one JSON document a failing command prints on stdout with --output json."""
    document = ran.json()
    assert set(document["error"]) >= {"message", "hint", "exit_code"}, document
    assert document["error"]["exit_code"] == ran.code
    return document["error"]


# --- 1. Deleting a profile that still holds tokens or client secrets -----------------------------


def test_deleting_a_profile_that_still_holds_a_session_is_refused_naming_it(cli):
    cli.write(DEMO + P3)
    cli.files.save(make_session(profile="p3", service="s3"))

    ran = cli.run("config", "profiles", "delete", "p3")

    assert ran.code == 2
    assert "the session of s3" in ran.err
    assert "pingcli --profile p3 auth logout" in ran.err
    assert "[profiles.p3]" in cli.config.read_text()
    assert ("p3", "s3") in cli.files.sessions
    assert "rt-0123456789abcdef" not in ran.out + ran.err


def test_a_profile_signed_out_first_can_then_be_deleted(cli):
    cli.write(DEMO + P3)
    cli.world.person_signs_in()
    assert cli.run("--profile", "p3", "auth", "login").code == 0
    assert ("p3", "s3") in cli.files.sessions

    assert cli.run("--profile", "p3", "auth", "logout").code == 0
    ran = cli.run("config", "profiles", "delete", "p3")

    assert ran.code == 0, ran.err
    assert "[profiles.p3" not in cli.config.read_text()


def test_deleting_a_profile_that_still_holds_a_client_secret_names_the_unset_command(cli):
    cli.write(DEMO + P3 + 'authentication.authorizationCode.clientSecret = "<stored in the token store>"\n')
    cli.files.save_secret("p3", "s3", "authorization_code", "s3cr3t-of-p3")

    ran = cli.run("config", "profiles", "delete", "p3", "--output", "json")

    assert ran.code == 2
    assert ("pingcli --profile p3 config unset service.s3.authentication.authorizationCode.clientSecret"
            in error_document(ran)["hint"])
    assert "the client secret of s3 (authorization_code)" in ran.err
    assert "s3cr3t-of-p3" not in ran.out + ran.err
    assert "[profiles.p3]" in cli.config.read_text()


def test_the_commands_a_refusal_names_act_on_the_store_that_holds_what_is_left(cli):
    cli.write(DEMO + P3 + 'authentication.authorizationCode.clientSecret = "<stored in the token store>"\n')
    cli.files.save(make_session(profile="p3", service="s3"))
    cli.files.save_secret("p3", "s3", "authorization_code", "s3cr3t-of-p3")

    ran = cli.run("config", "profiles", "delete", "p3", env={"PINGCLI_AUTH_STORAGE_TYPE": "secure_local"})

    assert ran.code == 2
    assert "PINGCLI_AUTH_STORAGE_TYPE=file_system pingcli --profile p3 auth logout" in ran.err
    assert ("PINGCLI_AUTH_STORAGE_TYPE=file_system pingcli --profile p3 config unset "
            "service.s3.authentication.authorizationCode.clientSecret") in ran.err


@pytest.mark.parametrize("with_secret", [False, True])
def test_a_profile_whose_store_cannot_be_looked_into_is_deleted_with_a_warning_unless_the_file_names_secrets(
        cli, with_secret):
    marker = 'authentication.authorizationCode.clientSecret = "<stored in the token store>"\n' if with_secret else ""
    cli.write(DEMO + P3.replace('"file_system"', '"secure_local"') + marker)
    cli.keyring = FakeSessionStore("OS keyring", StorageUnavailable("OS keyring", "no usable keyring"))

    ran = cli.run("config", "profiles", "delete", "p3")

    if with_secret:
        assert ran.code == 2
        assert "pingcli --profile p3 config unset service.s3.authentication.authorizationCode.clientSecret" in ran.err
        assert "[profiles.p3]" in cli.config.read_text()
    else:
        assert ran.code == 0, ran.err
        assert ("pingcli: warning: could not look into OS keyring (no usable keyring): whatever profile p3 kept "
                "there is left there") in ran.err
        assert "[profiles.p3" not in cli.config.read_text()


# --- 2. logout --all with --service ---------------------------------------------------------------


def test_logout_all_with_a_service_is_a_usage_error_and_signs_nobody_out(cli):
    cli.sign_in()

    ran = cli.run("auth", "logout", "--all", "--service", "demo")

    assert ran.code == 2
    assert "--all" in ran.err and "--service" in ran.err
    assert ("default", "demo") in cli.files.sessions


# --- 3. config set with more than one word --------------------------------------------------------


def test_config_set_refuses_a_second_assignment_naming_every_extra_argument(cli):
    before = cli.config.read_text()

    ran = cli.run("config", "set", "auth.refreshMarginSeconds=30", "service.demo.authentication.requireMFA=true",
                  "service.demo.authentication.acrValues=gold")

    assert ran.code == 2
    assert "'service.demo.authentication.requireMFA=true'" in ran.err
    assert "'service.demo.authentication.acrValues=gold'" in ran.err
    assert cli.config.read_text() == before


def test_config_set_names_the_first_of_three_extra_words_too(cli):
    before = cli.config.read_text()

    ran = cli.run("config", "set", "auth.refreshMarginSeconds", "10", "20", "30")

    assert ran.code == 2
    assert "'10', '20', '30'" in ran.err
    assert cli.config.read_text() == before


def test_extra_words_after_a_client_secret_key_are_not_echoed(cli):
    ran = cli.run("config", "set", SECRET_KEY, "hunter2-secret")

    assert ran.code == 2
    assert "hunter2-secret" not in ran.out + ran.err
    assert cli.files.secrets == {}


# --- 4. A configuration file that is a symbolic link ---------------------------------------------


@pytest.mark.parametrize("how", ["--config", "PINGCLI_CONFIG"])
def test_a_config_file_that_is_a_link_stays_a_link_and_its_target_is_written(cli, tmp_path, how):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "pingcli.toml").write_text(DEMO)
    link = tmp_path / "link.toml"
    link.symlink_to("dotfiles/pingcli.toml")  # relative, as dotfile managers make them

    argv = ["config", "set", "auth.refreshMarginSeconds=30"]
    ran = cli.run(*(["--config", str(link), *argv] if how == "--config" else argv),
                  env={"PINGCLI_CONFIG": str(link)} if how != "--config" else None)

    assert ran.code == 0, ran.err
    assert link.is_symlink() and os.readlink(link) == "dotfiles/pingcli.toml"
    assert "refreshMarginSeconds = 30" in (dotfiles / "pingcli.toml").read_text()
    assert sorted(os.listdir(dotfiles)) == ["pingcli.toml"]  # no temporary file left beside the target
    assert cli.run("--config", str(link), "config", "get", "auth.refreshMarginSeconds").out == "30\n"


# --- 5. auth.storage.type changed while the environment overrides it ------------------------------


def test_with_the_type_in_the_environment_the_report_names_where_the_sessions_really_are(cli):
    cli.files.save(make_session())

    ran = cli.run("config", "set", "auth.storage.type=secure_local", env={"PINGCLI_AUTH_STORAGE_TYPE": "none"})

    assert ran.code == 0, ran.err
    assert "auth.storage.type = secure_local (was file_system)" in ran.out
    assert "the store that variable names" not in ran.out
    assert f"stay in {cli.files.description}" in ran.out
    assert ("default", "demo") in cli.files.sessions and cli.keyring.sessions == {}
    assert 'auth.storage.type = "secure_local"' in cli.config.read_text()


def test_what_the_report_advises_after_an_overridden_change_does_move_the_sessions(cli):
    cli.files.save(make_session())

    ran = cli.run("config", "set", "auth.storage.type=secure_local", env={"PINGCLI_AUTH_STORAGE_TYPE": "none"})

    assert ("pingcli config set auth.storage.type=file_system, then pingcli config set "
            "auth.storage.type=secure_local") in ran.out
    assert cli.run("config", "set", "auth.storage.type=file_system").code == 0
    assert cli.run("config", "set", "auth.storage.type=secure_local").code == 0
    assert ("default", "demo") in cli.keyring.sessions and cli.files.sessions == {}


def test_with_the_type_in_the_environment_json_gives_the_profiles_previous_value(cli):
    ran = cli.run("config", "set", "auth.storage.type=secure_local", "--output", "json",
                  env={"PINGCLI_AUTH_STORAGE_TYPE": "none"})

    assert ran.code == 0 and ran.json()["previous"] == "file_system"


# --- 6. --output json: one document on stdout, success or failure ---------------------------------


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["auth", "token"], 3),
        (["config", "set", "foo=bar"], 2),
        (["config", "get", "foo"], 2),
        (["config", "profiles", "use", "nope"], 2),
        (["config", "unset", "foo"], 2),
        (["auth", "frobnicate"], 2),  # refused by the argument parser itself
    ],
)
def test_every_failure_in_json_mode_is_one_error_document_on_stdout(cli, argv, code):
    ran = cli.run(*argv, "--output", "json")

    assert ran.code == code
    error = error_document(ran)
    assert error["message"]
    assert ran.err.startswith("pingcli") or "error:" in ran.err  # the one-line message stays on stderr


def test_an_unusable_store_in_auth_status_is_an_error_document(cli):
    cli.write(DEMO.replace('"file_system"', '"secure_local"'))
    cli.keyring = FakeSessionStore("OS keyring", StorageUnavailable("OS keyring", "no usable keyring"))

    ran = cli.run("auth", "status", "--output", "json")

    assert ran.code == 7
    assert "no usable keyring" in error_document(ran)["message"]
    assert "pingcli: the token store (OS keyring) is not usable" in ran.err


def test_an_unreachable_provider_in_auth_token_is_an_error_document(cli):
    cli.write(DEMO.replace('"file_system"', '"none"').replace(ISSUER, "https://elsewhere.example.test"))

    ran = cli.run("auth", "token", "--output", "json")

    assert ran.code == 6
    assert "cannot reach the discovery document" in error_document(ran)["message"]


def test_ctrl_c_in_json_mode_is_an_error_document_with_130(cli):
    ran = cli.run("auth", "status", "--output", "json", interrupt=True)

    assert ran.code == 130
    assert error_document(ran)["exit_code"] == 130
    assert "cancelled" in ran.err


def test_ctrl_c_in_text_mode_prints_nothing_on_stdout(cli):
    ran = cli.run("auth", "status", interrupt=True)
    assert ran.code == 130 and ran.out == ""


def test_config_and_profile_changes_print_json_in_json_mode(cli):
    created = cli.run("config", "profiles", "create", "work", "--output", "json")
    used = cli.run("config", "profiles", "use", "work", "--output", "json")
    back = cli.run("config", "profiles", "use", "default", "--output", "json")
    deleted = cli.run("config", "profiles", "delete", "work", "--output", "json")
    unset = cli.run("config", "unset", AC + "redirectURIPort", "--output", "json")
    again = cli.run("config", "unset", AC + "redirectURIPort", "--output", "json")

    assert created.json() == {"profile": "work", "created": True}
    assert used.json() == {"profile": "work", "active": True}
    assert back.json() == {"profile": "default", "active": True}
    assert deleted.json() == {"profile": "work", "deleted": True}
    assert unset.json() == {"key": AC + "redirectURIPort", "removed": True}
    assert again.json() == {"key": AC + "redirectURIPort", "removed": False}


def test_login_and_logout_json_name_the_profile(cli):
    cli.world.person_signs_in()
    login = cli.run("auth", "login", "--output", "json")
    logout = cli.run("auth", "logout", "--output", "json")

    assert login.code == 0 and login.json()["profile"] == "default"
    assert logout.code == 0 and logout.json()["profile"] == "default"
    assert logout.json()["services"][0]["profile"] == "default"


def test_a_failed_login_in_json_mode_carries_an_error_object_too(cli):
    cli.write(DEMO.replace(ISSUER, ISSUER + "/wrong"))

    ran = cli.run("auth", "login", "--output", "json")

    assert ran.code == 6
    assert error_document(ran)["message"]
    assert ran.json()["services"][0]["signed_in"] is False


# --- 7. An old store that could not be read is not said to hold nothing ----------------------------


def test_leaving_an_unreadable_keyring_never_claims_it_held_nothing(cli):
    cli.write(DEMO.replace('"file_system"', '"secure_local"'))
    cli.keyring = FakeSessionStore("OS keyring", StorageUnavailable("OS keyring", "no OS keyring is available"))
    cli.files.save(make_session())  # already in the new store

    ran = cli.run("config", "set", "auth.storage.type=file_system")

    assert ran.code == 0, ran.err
    assert "could not look into OS keyring (no OS keyring is available)" in ran.out
    assert "nothing to move" not in ran.out
    assert "had none" not in ran.out and "held no session" not in ran.out
    assert "auth.storage.type = file_system (was secure_local)" in ran.out


# --- 8. Hints that fit ----------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["auth", "status"], ["config", "get", "auth.storage.type"]])
def test_a_bad_value_in_the_environment_says_to_fix_the_variable(cli, argv):
    ran = cli.run(*argv, env={"PINGCLI_AUTH_STORAGE_TYPE": "bogus"})

    assert ran.code == 2
    assert "PINGCLI_AUTH_STORAGE_TYPE" in ran.err.splitlines()[-1]  # the hint
    assert "config set" not in ran.err


def test_a_profile_name_in_the_environment_that_is_not_allowed_names_the_variable(cli):
    ran = cli.run("auth", "status", env={"PINGCLI_PROFILE": "../etc"})

    assert ran.code == 2
    assert ran.err.startswith("pingcli: PINGCLI_PROFILE: profile name '../etc' is not allowed")
    assert "unset PINGCLI_PROFILE" in ran.err


def test_an_empty_client_secret_on_stdin_suggests_piping_it_not_typing_it_on_the_command_line(cli):
    ran = cli.run("config", "set", SECRET_KEY, stdin="\n")

    assert ran.code == 2
    assert "clientSecret=VALUE" not in ran.err
    assert SECRET_VARIABLE in ran.err and "standard input" in ran.err


def test_an_invalid_client_secret_is_never_quoted_back(cli):
    ran = cli.run("config", "set", SECRET_KEY + "=bad\x07hunter2-secret")

    assert ran.code == 2
    assert "hunter2" not in ran.out + ran.err


def test_a_discovery_document_that_is_not_there_points_at_the_issuer_setting(cli):
    cli.write(DEMO.replace(ISSUER, ISSUER + "/wrong"))

    ran = cli.run("auth", "login")

    assert ran.code == 6
    assert "HTTP 404" in ran.err
    assert "check service.demo.issuer" in ran.err
    assert "try again later" not in ran.err


# --- 9. A --config or PINGCLI_CONFIG file that does not exist -------------------------------------


@pytest.mark.parametrize("argv", [["auth", "status"], ["config", "profiles", "list"], ["config", "get", "auth.storage.type"],
                                  ["config", "unset", "auth.storage.type"], ["auth", "logout", "--all"]])
def test_a_named_config_file_that_does_not_exist_is_an_error(cli, tmp_path, argv):
    missing = tmp_path / "nonexistent" / "dir" / "x.toml"

    ran = cli.run("--config", str(missing), *argv)

    assert ran.code == 2
    assert f"the configuration file {missing} (from --config) does not exist" in ran.err
    assert not missing.parent.exists()


def test_a_config_file_named_in_the_environment_that_does_not_exist_is_an_error_in_json_too(cli, tmp_path):
    missing = tmp_path / "x.toml"

    ran = cli.run("auth", "status", "--output", "json", env={"PINGCLI_CONFIG": str(missing)})

    assert ran.code == 2
    assert "(from PINGCLI_CONFIG) does not exist" in error_document(ran)["message"]


@pytest.mark.parametrize("argv", [["config", "set", "auth.storage.type=none"], ["config", "profiles", "create", "work"]])
def test_commands_that_write_create_a_named_config_file(cli, tmp_path, argv):
    new = tmp_path / "new" / "x.toml"

    ran = cli.run("--config", str(new), *argv)

    assert ran.code == 0, ran.err
    assert new.exists()


def test_a_new_config_file_that_cannot_be_written_does_not_speak_of_a_previous_file(cli, tmp_path):
    # A name the file can have but its temporary sibling cannot (too long): writing fails, even as root.
    new = tmp_path / ("c" * 250)

    ran = cli.run("--config", str(new), "config", "set", "auth.storage.type=none")

    assert ran.code == 2
    assert "cannot write the configuration file" in ran.err
    assert "previous file" not in ran.err
    assert "nothing was written" in ran.err
    assert not new.exists()


def test_an_existing_config_file_that_cannot_be_rewritten_is_said_to_be_unchanged(cli, tmp_path):
    old = tmp_path / ("c" * 250)
    old.write_text(DEMO)

    ran = cli.run("--config", str(old), "config", "set", "auth.storage.type=none")

    assert ran.code == 2
    assert "the previous file is unchanged" in ran.err
    assert old.read_text() == DEMO


# --- 10. Names that collide in the environment, unknown keys and variables ------------------------


def test_a_service_name_that_shares_environment_variables_with_another_is_refused(cli):
    assert cli.run("config", "set", "service.my-svc.issuer=" + ISSUER).code == 0
    before = cli.config.read_text()

    ran = cli.run("config", "set", "service.my_svc.issuer=" + ISSUER)

    assert ran.code == 2
    assert "'my_svc'" in ran.err and "'my-svc'" in ran.err and "PINGCLI_SERVICE_MY_SVC_" in ran.err
    assert cli.config.read_text() == before


def test_a_client_secret_for_a_colliding_service_name_is_refused_before_it_is_stored(cli):
    cli.run("config", "set", "service.Demo2.issuer=" + ISSUER)

    ran = cli.run("config", "set", "service.demo2.authentication.authorizationCode.clientSecret=s3cr3t-value")

    assert ran.code == 2 and "PINGCLI_SERVICE_DEMO2_" in ran.err
    assert cli.files.secrets == {}


def test_a_file_that_already_has_such_a_pair_is_a_clear_configuration_error(cli):
    cli.write(DEMO + f'\n[profiles.default.service.my-svc]\nissuer = "{ISSUER}"\n'
              f'\n[profiles.default.service.my_svc]\nissuer = "{ISSUER}"\n')

    ran = cli.run("auth", "status")

    assert ran.code == 2
    assert "'my-svc' and 'my_svc'" in ran.err and "PINGCLI_SERVICE_MY_SVC_" in ran.err


def test_unknown_keys_in_the_file_are_warned_about_once_naming_the_key_and_the_file(cli):
    cli.write(DEMO.replace('auth.storage.type = "file_system"\n', 'auth.storage.type = "file_system"\nbogus = 1\n')
              .replace('[profiles.default.service.demo]\n', '[profiles.default.service.demo]\nauthentication.typ = "device_code"\n'))

    ran = cli.run("auth", "status")
    shown = cli.run("config", "profiles", "show")

    assert ran.code == 3  # not signed in; the unknown keys do not fail the command
    for key in ("bogus", "service.demo.authentication.typ"):
        warning = f"pingcli: warning: unknown key {key} in profile default of {cli.config}"
        assert ran.err.count(warning) == 1, ran.err
        assert shown.err.count(warning) == 1
    assert "  bogus = 1  (unknown key: ignored)" in shown.out


def test_unknown_pingcli_variables_are_warned_about_by_name_and_known_ones_are_not(cli):
    ran = cli.run("auth", "status", env={
        "PINGCLI_AUTH_STORAGE_TYP": "none", "PINGCLI_SERVICE_DEMO_ISUER": ISSUER,
        "PINGCLI_PROFILE": "default", "PINGCLI_HTTP_TIMEOUT": "5", "PINGCLI_TEST_BROWSER_LOG": "/dev/null",
        "PINGCLI_SERVICE_DEMO_ISSUER": ISSUER, "PINGCLI_AUTH_REFRESH_MARGIN_SECONDS": "30", SECRET_VARIABLE: "x",
    })

    warnings = [line for line in ran.err.splitlines() if "warning" in line]
    assert warnings == ["pingcli: warning: unknown environment variables, ignored: PINGCLI_AUTH_STORAGE_TYP, "
                        "PINGCLI_SERVICE_DEMO_ISUER"]


# --- 11. Booleans as the file spells them ----------------------------------------------------------


def test_booleans_are_shown_as_true_and_false(cli):
    key = "service.demo.authentication.requireMFA"

    assert cli.run("config", "set", f"{key}=yes").out == f"{key} = true\n"
    assert cli.run("config", "get", key).out == "true\n"
    assert f"  {key} = true\n" in cli.run("config", "profiles", "show").out
    assert "service.*.authentication.requireMFA (default: false)" in cli.run("config", "list-keys").out
    assert cli.run("config", "set", f"{key}=off").out == f"{key} = false\n"


# --- 12. --version -----------------------------------------------------------------------------------


def test_version_comes_from_the_installed_package():
    out = io.StringIO()
    code = main(["--version"], {}, out, io.StringIO())
    assert code == 0
    assert out.getvalue() == f"pingcli {importlib.metadata.version('pingcli')}\n"


# --- 13. config get, and an active profile that does not exist -------------------------------------


def test_config_get_prints_the_value_on_stdout_and_its_source_on_stderr(cli):
    ran = cli.run("config", "get", "auth.storage.type")
    from_env = cli.run("config", "get", "auth.storage.type", env={"PINGCLI_AUTH_STORAGE_TYPE": "none"})

    assert (ran.code, ran.out, ran.err) == (0, "file_system\n", "source: profile 'default'\n")
    assert (from_env.out, from_env.err) == ("none\n", "source: environment (PINGCLI_AUTH_STORAGE_TYPE)\n")


@pytest.mark.parametrize("key", ["service.zzz.issuer", "service.demo.authentication.acrValues", SECRET_KEY])
def test_config_get_of_a_key_that_is_not_set_says_so_and_exits_2(cli, key):
    ran = cli.run("config", "get", key)

    assert ran.code == 2
    assert ran.out == ""
    assert f"{key} is not set" in ran.err


def test_listing_profiles_warns_when_the_active_one_does_not_exist(cli):
    ran = cli.run("config", "profiles", "list", env={"PINGCLI_PROFILE": "nope"})

    assert ran.code == 0
    assert ran.out == "  default\n"
    assert "pingcli: warning: the active profile 'nope' (from PINGCLI_PROFILE) does not exist" in ran.err


# --- 14. logout --all says which profile each service belongs to -----------------------------------


def test_logout_all_names_the_profile_of_each_service(cli):
    cli.write(DEMO + P3)
    cli.sign_in()
    cli.world.person_signs_in()
    assert cli.run("--profile", "p3", "auth", "login").code == 0

    ran = cli.run("auth", "logout", "--all")
    as_json = cli.run("auth", "logout", "--all", "--output", "json")

    assert ran.code == 0, ran.err
    assert "demo (profile default): signed out" in ran.out
    assert "s3 (profile p3): signed out" in ran.out
    assert [(s["profile"], s["service"]) for s in as_json.json()["services"]] == [("default", "demo"), ("p3", "s3")]


# --- 15. A session file with a time out of range ---------------------------------------------------


def test_a_session_file_with_an_expiry_out_of_range_is_set_aside_not_a_crash(cli):
    cli.real_files = True
    blob = json.loads(session_to_bytes(make_session(issuer=ISSUER)))
    blob["session"]["tokens"]["expires_at"] = 1e300
    path = FileSessionStore(sessions_of(cli.tmp / "data", cli.config)).path_of("default", "demo")
    path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(blob).encode())
    os.close(fd)

    ran = cli.run("auth", "status")

    assert ran.code == 3, ran.err
    assert "unexpected error" not in ran.err
    assert "set aside" in ran.err
    assert not path.exists()


@pytest.mark.parametrize("seconds", [1e300, -1e300, float("nan"), float("inf"), 1e20])
def test_a_time_no_date_can_hold_is_rendered_as_such_never_raised(seconds):
    from pingcli.entrypoints.render import iso

    assert iso(seconds) == f"not a valid time ({seconds!r})"
    assert iso(0.0) == "1970-01-01T00:00:00Z"


# --- 16. Changes of the configuration file, locked between processes --------------------------------


def test_a_change_another_process_makes_while_this_one_waits_for_the_lock_is_kept(tmp_path):
    path = tmp_path / "config.toml"
    locks = FakeLocks()
    store = TomlConfigStore(path)
    other = Configuration(TomlConfigStore(path), {}, locks=FakeLocks())
    locks.another_process_holds(store.lock_name, lambda: other.set("service.b.issuer", ISSUER))

    Configuration(store, {}, locks=locks).set("service.a.issuer", ISSUER)

    _, profiles = store.load()
    assert {"service.a.issuer", "service.b.issuer"} <= set(profiles["default"])
    assert locks.waited == [store.lock_name]


@pytest.mark.parametrize("argv", [
    ["config", "set", "auth.refreshMarginSeconds=30"],
    ["config", "unset", AC + "redirectURIPort"],
    ["config", "profiles", "create", "work"],
    ["config", "profiles", "use", "p3"],
    ["config", "profiles", "delete", "p3"],
    ["config", "set", SECRET_KEY + "=s3cr3t-value"],
    ["config", "unset", SECRET_KEY],
    ["config", "set", "auth.storage.type=secure_local"],
    ["config", "unset", "auth.storage.type"],
])
def test_every_change_of_the_configuration_file_holds_its_lock_once(cli, argv):
    cli.write(DEMO + P3)
    cli.config_locks = FakeLocks()

    ran = cli.run(*argv)

    assert ran.code == 0, ran.err
    assert cli.config_locks.held == [TomlConfigStore(cli.config).lock_name]


def test_the_lock_follows_the_file_a_link_leads_to_and_is_kept_out_of_the_configuration_directory(cli, tmp_path):
    link = tmp_path / "link.toml"
    link.symlink_to(cli.config)
    roundabout = tmp_path / "config" / ".." / "config" / "config.toml"

    ran = cli.run("--config", str(link), "config", "set", "auth.refreshMarginSeconds=30")

    assert ran.code == 0, ran.err
    assert TomlConfigStore(link).lock_name == TomlConfigStore(cli.config).lock_name
    assert TomlConfigStore(roundabout).lock_name == TomlConfigStore(cli.config).lock_name
    assert sorted(os.listdir(cli.config.parent)) == ["config.toml"]
    assert (tmp_path / "cache" / "locks").is_dir()  # where it was taken, and removed on release
    assert os.listdir(tmp_path / "cache" / "locks") == []


def test_a_change_that_waits_too_long_for_the_lock_says_so_and_changes_nothing(cli):
    cli.config_locks = FakeLocks()
    cli.config_locks.busy.add(TomlConfigStore(cli.config).lock_name)
    before = cli.config.read_text()

    ran = cli.run("config", "set", "auth.refreshMarginSeconds=30")

    assert ran.code == 7
    assert f"another pingcli process has been changing {cli.config} for more than 60 s" in ran.err
    assert cli.config.read_text() == before


# --- 17. logout's JSON: a fixed word for the revocation, the reason apart ---------------------------


def test_logout_json_gives_the_revocation_as_a_fixed_word_and_the_reason_apart(cli):
    cli.sign_in()
    cli.world.provider.queue_response("/revoke", HttpResponse(503, {"content-type": "text/plain"}, b"down"))

    failed = cli.run("auth", "logout", "--output", "json")
    cli.sign_in()
    revoked = cli.run("auth", "logout", "--output", "json")
    nothing = cli.run("auth", "logout", "--output", "json")

    assert failed.code == 0  # removed here: the warning says the provider did not revoke them
    [entry] = failed.json()["services"]
    assert (entry["removed"], entry["revocation"]) == (True, "failed")
    assert entry["revocation_error"].startswith("refresh token: the revocation endpoint sent a response pingcli "
                                                "cannot use: HTTP 503")
    assert "pingcli: warning: demo: revocation at the provider failed: refresh token:" in failed.err
    assert [(e["revocation"], e["revocation_error"]) for e in revoked.json()["services"]] == [("revoked", None)]
    assert [(e["revocation"], e["revocation_error"]) for e in nothing.json()["services"]] == [("not_stored", None)]
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "`auth logout` exits 0 once the sessions are removed here, even when revoking them" in readme
    assert "read `revocation` in its JSON" in readme


# --- 18. auth token --refresh, as the README says ----------------------------------------------------


def test_auth_token_refresh_within_10_s_of_a_new_token_prints_it_without_asking_the_provider(cli):
    cli.sign_in()
    exchanges = len(cli.world.provider.requests_to("/token"))
    signed_in = cli.run("auth", "token").out

    soon = cli.run("auth", "token", "--refresh")
    cli.world.clock.advance(11)
    later = cli.run("auth", "token", "--refresh")

    assert soon.code == 0 and soon.out == signed_in
    assert later.code == 0 and later.out != signed_in
    assert len(cli.world.provider.requests_to("/token")) == exchanges + 1
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert ("except\n  when the stored token is less than 10 s old (from `auth login`, or a refresh by another "
            "pingcli): then it\n  prints that token without contacting the provider") in readme
    assert "a new token (one refresh however many ask)" not in readme


# --- 19. Names in the file that pingcli does not allow ----------------------------------------------


@pytest.mark.parametrize("name", ["bad name", "../../etc"])
@pytest.mark.parametrize("argv", [["auth", "status"], ["auth", "token"], ["auth", "login"]])
def test_an_active_profile_name_that_is_not_allowed_is_a_configuration_error_naming_file_and_name(cli, name, argv):
    cli.real_files = True
    cli.write(f'activeProfile = "{name}"\n\n' + DEMO + f'\n[profiles."{name}"]\nauth.storage.type = "file_system"\n'
              f'\n[profiles."{name}".service.demo]\nissuer = "{ISSUER}"\n')
    cli.world.person_signs_in()

    ran = cli.run(*argv)

    assert ran.code == 2, ran.err
    assert ran.err.startswith(f"pingcli: activeProfile in {cli.config} names the profile {name!r}, which is not an "
                              "allowed profile name\n")
    assert "a profile name may contain letters, digits, '-' and '_'" in ran.err
    assert "unexpected error" not in ran.err
    assert cli.world.browser.opened_urls == []


def test_profiles_list_leaves_out_names_that_are_not_allowed_and_warns_about_them(cli):
    cli.write('activeProfile = "bad name"\n\n' + DEMO + '\n[profiles."bad name"]\n\n[profiles."../x"]\n')

    ran = cli.run("config", "profiles", "list")

    assert ran.code == 0, ran.err
    assert ran.out == "  default\n"
    assert f"pingcli: warning: activeProfile in {cli.config} names the profile 'bad name'" in ran.err
    assert f"pingcli: warning: profile '../x' in {cli.config} cannot be used: a profile name may contain" in ran.err
    assert ran.err.count("'bad name'") == 1
    assert cli.run("config", "profiles", "use", "default").code == 0
    assert cli.run("config", "profiles", "list").out == "* default\n"


def test_another_profile_with_a_name_that_is_not_allowed_is_warned_about_not_fatal(cli):
    cli.write(DEMO + f'\n[profiles."bad name".service.demo]\nissuer = "{ISSUER}"\n')

    ran = cli.run("auth", "status")

    assert ran.code == 3  # not signed in: the command goes on
    assert f"pingcli: warning: profile 'bad name' in {cli.config} cannot be used" in ran.err


def test_a_service_name_that_is_not_allowed_is_a_configuration_error_naming_the_file(cli):
    cli.real_files = True
    cli.write(DEMO + f'\n[profiles.default.service."evil one"]\nissuer = "{ISSUER}"\n')

    ran = cli.run("auth", "status")

    assert ran.code == 2
    assert ran.err.startswith(f"pingcli: profile 'default' in {cli.config} has a service named 'evil one', which "
                              "is not an allowed service name\n  a service name may contain letters, digits")
    assert "unknown key" not in ran.err


def test_a_service_name_that_climbs_out_of_the_store_is_a_configuration_error_too(cli):
    cli.real_files = True
    cli.write(DEMO + f'\n[profiles.default.service."../evil"]\nissuer = "{ISSUER}"\n')

    ran = cli.run("auth", "status")

    assert ran.code == 2
    assert ran.err.startswith(f'pingcli: profile default of {cli.config}: the key service."../evil" has a dot ')


# --- 20. The top level of the file -------------------------------------------------------------------


def test_unknown_top_level_keys_are_warned_about_naming_the_key_and_the_file(cli):
    cli.write('active_profile = "default"\ntypo_top = 1\n\n' + DEMO + '\n[weird]\nx = 1\n')

    ran = cli.run("auth", "status")

    assert ran.code == 3
    for key in ("active_profile", "typo_top", "weird"):
        assert ran.err.count(f"pingcli: warning: unknown top-level key {key} in {cli.config}: ignored (at the top "
                             "level pingcli reads only activeProfile and [profiles.NAME] tables)\n") == 1


@pytest.mark.parametrize("value", ["5", "true", '["default"]', '{ name = "default" }'])
def test_an_active_profile_that_is_not_a_string_is_a_configuration_error(cli, value):
    cli.write(f"activeProfile = {value}\n\n" + DEMO)

    ran = cli.run("auth", "status")
    fixed = cli.run("config", "profiles", "use", "default")

    assert ran.code == 2
    assert ran.err.startswith(f"pingcli: activeProfile in {cli.config} is not a profile name: ")
    assert fixed.code == 0, fixed.err
    assert cli.run("auth", "status").code == 3


@pytest.mark.parametrize("command", [("auth", "status"), ("auth", "login"), ("config", "profiles", "list")])
def test_a_quoted_service_name_with_a_dot_is_a_configuration_error_not_a_phantom_service(cli, command):
    cli.write('activeProfile = "x"\n\n[profiles.x.service."a.b"]\nissuer = "https://a.example"\n')

    ran = cli.run(*command)

    assert ran.code == 2, ran.err
    assert f'profile x of {cli.config}: the key service."a.b" has a dot inside its quotes' in ran.err
    assert "service 'a'" not in ran.err and "Traceback" not in ran.err


# --- 21. config get prints the value commands use ------------------------------------------------------


@pytest.mark.parametrize(("stored", "shown"), [('"yes"', "true"), ("1", "true"), ('"off"', "false"), ("true", "true")])
def test_config_get_prints_the_effective_value_not_the_files_spelling(cli, stored, shown):
    key = "service.demo.authentication.requireMFA"
    cli.write(DEMO + f"authentication.requireMFA = {stored}\n")

    ran = cli.run("config", "get", key)
    as_json = cli.run("config", "get", key, "--output", "json")

    assert (ran.code, ran.out) == (0, shown + "\n")
    assert as_json.json()["value"] is (shown == "true")


def test_config_get_of_a_port_written_as_text_prints_the_number(cli):
    cli.write(DEMO.replace("redirectURIPort = 0", 'redirectURIPort = "8080"'))

    assert cli.run("config", "get", AC + "redirectURIPort", "--output", "json").json()["value"] == 8080


def test_config_get_of_an_invalid_stored_value_is_the_error_other_commands_give(cli):
    cli.write(DEMO + 'authentication.requireMFA = "banana"\n')

    got = cli.run("config", "get", "service.demo.authentication.requireMFA")
    status = cli.run("auth", "status")

    assert got.code == status.code == 2
    assert got.out == "" and "banana" not in got.out
    assert got.err == status.err
    assert "service.demo.authentication.requireMFA in profile 'default' is not valid: must be true or false" in got.err


def test_a_camel_case_service_is_read_from_the_variables_named_as_they_are_read(cli):
    cli.write(DEMO.replace("[profiles.default.service.demo]", "[profiles.default.service.myApp]"))

    ran = cli.run("config", "get", "service.myApp.issuer", env={"PINGCLI_SERVICE_MYAPP_ISSUER": ISSUER + "/other"})

    assert (ran.code, ran.out) == (0, ISSUER + "/other\n")
    assert ran.err == "source: environment (PINGCLI_SERVICE_MYAPP_ISSUER)\n"


# --- 22. Hints that point at a command that can work ------------------------------------------------------


class LockedKeyring(MemoryKeyring):
    """A Secret Service collection that stays locked (no unlock prompt can be completed)."""

    def get_password(self, service, username):
        raise KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password  # type: ignore[assignment]


def test_a_locked_keyring_stopping_a_change_of_store_is_not_answered_with_that_same_change(tmp_path):
    desk = Desk(tmp_path, LockedKeyring())
    desk.config.profiles["default"][SECRET_KEY] = SECRET_MARKER

    code, out, err = desk.run("config", "set", "auth.storage.type=file_system")

    assert code == 7
    assert "nothing was changed: the client secrets of this profile are in" in err
    assert "unlock the keyring" in err
    assert "auth.storage.type=file_system" not in err and "use another store" not in err
    assert desk.config.profiles["default"]["auth.storage.type"] == "secure_local"


def test_a_new_store_that_cannot_be_written_is_not_answered_with_the_store_in_use(cli, monkeypatch):
    cli.write(DEMO.replace('"file_system"', '"secure_local"'))
    cli.real_files = True
    cli.keyring.save(make_session())

    def read_only(source, target):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", read_only)
    ran = cli.run("config", "set", "auth.storage.type=file_system")
    monkeypatch.undo()

    assert ran.code == 7
    assert "Read-only file system" in ran.err
    assert "nothing was changed: auth.storage.type is still secure_local" in ran.err
    assert "check the owner and permissions of" in ran.err
    assert "auth.storage.type=secure_local" not in ran.err and "use another store" not in ran.err
    assert ("default", "demo") in cli.keyring.sessions


def test_a_refused_client_secret_from_the_environment_names_the_variable_not_config_set(cli):
    cli.write(DEMO.replace('"file_system"', '"none"'))
    cli.world.provider.confidential_clients["cli-public"] = "the-right-secret"
    cli.world.person_signs_in()

    ran = cli.run("auth", "login", env={SECRET_VARIABLE: "a-wrong-secret"})

    assert ran.code == 5
    assert f"check the client secret in the environment variable {SECRET_VARIABLE}" in ran.err
    assert "config set" not in ran.err
    assert "a-wrong-secret" not in ran.out + ran.err


def test_a_change_of_store_under_the_variable_says_truly_where_pingcli_looks(cli):
    cli.write(DEMO.replace('auth.storage.type = "file_system"\n', "") + SECRET_KEY.split("demo.")[1]
              + f' = "{SECRET_MARKER}"\n')
    cli.keyring.save_secret("default", "demo", "authorization_code", "s3cr3t-in-keyring")

    there = cli.run("config", "set", "auth.storage.type=file_system", env={"PINGCLI_AUTH_STORAGE_TYPE": "file_system"})
    back = cli.run("config", "set", "auth.storage.type=secure_local")

    assert there.code == 0, there.err
    assert "stops looking" not in there.out
    assert (f"stay in {cli.keyring.description}, where pingcli does not look while PINGCLI_AUTH_STORAGE_TYPE is "
            "set, nor once it is unset (the setting now says file_system)") in there.out
    assert back.code == 0, back.err
    assert "set it again" not in back.out + back.err
    assert (f"note: the client secret of demo (authorization_code) was already in {cli.keyring.description}: "
            "kept there") in back.out
    assert cli.keyring.secrets[("default", "demo", "authorization_code")] == "s3cr3t-in-keyring"
    assert "s3cr3t" not in there.out + there.err + back.out + back.err


def test_auth_token_given_two_services_says_it_takes_one(cli):
    ran = cli.run("auth", "token", "--service", "demo", "--service", "conf")

    assert ran.code == 2
    assert ran.err.startswith("pingcli: auth token prints one token: it takes one --service, not 2 (demo, conf)\n")
    assert "services; say which one" not in ran.err


def test_auth_token_in_a_profile_with_no_services_says_how_to_add_one(cli):
    cli.write('[profiles.default]\nauth.storage.type = "file_system"\n')

    ran = cli.run("auth", "token")

    assert ran.code == 2
    assert ran.err == ("pingcli: profile 'default' has no services\n"
                       "  add one: pingcli config set service.NAME.issuer=URL\n")


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("PINGCLI_SERVICE_DEMO_ISSUER", "https://elsewhere.example.test",
     f"the stored session is for issuer {ISSUER}, but the settings name https://elsewhere.example.test "
     "(from PINGCLI_SERVICE_DEMO_ISSUER)"),
    ("PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_ID", "cli-other",
     "the stored session is for client ID cli-public, but the settings name cli-other "
     "(from PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_ID)"),
])
def test_a_session_the_environment_no_longer_names_says_the_settings_name_it(cli, variable, value, said):
    cli.sign_in()

    token = cli.run("auth", "token", env={variable: value})
    status = cli.run("auth", "status", env={variable: value})

    assert token.code == 3 and said in token.err
    assert status.code == 3 and said in status.out
    assert "the profile names" not in token.err + status.out


@pytest.mark.parametrize(("argv", "said"), [
    (["auth", "login"], "cancelled; nothing was stored"),
    (["auth", "logout"], "cancelled; the provider may already have revoked the tokens, and they may still be "
                         "stored here: run pingcli auth logout again"),
    (["auth", "status"], "cancelled"),
    (["auth", "token"], "cancelled"),
    (["config", "set", "auth.refreshMarginSeconds=30"], "cancelled"),
])
def test_ctrl_c_says_what_fits_the_command(cli, argv, said):
    ran = cli.run(*argv, interrupt=True)
    as_json = cli.run(*argv, "--output", "json", interrupt=True)

    assert (ran.code, ran.out, ran.err) == (130, "", f"pingcli: {said}\n")
    assert error_document(as_json)["message"] == said


# --- 23. Input that must not be quietly half-used ------------------------------------------------------


def test_a_client_secret_of_several_lines_on_stdin_is_refused_and_never_shown(cli):
    ran = cli.run("config", "set", SECRET_KEY, stdin="first-line-secret\nsecond-line-secret\n")

    assert ran.code == 2
    assert ran.err.startswith(f"pingcli: {SECRET_KEY}: standard input holds more than one line; a client secret is "
                              "one line (nothing was stored)\n")
    assert "line-secret" not in ran.out + ran.err
    assert cli.files.secrets == {}
    assert "clientSecret" not in cli.config.read_text()


def test_a_client_secret_on_one_line_is_kept_without_its_line_end(cli):
    ran = cli.run("config", "set", SECRET_KEY, stdin="s3cr3t-value\r\n")

    assert ran.code == 0, ran.err
    assert cli.files.secrets == {("default", "demo", "authorization_code"): "s3cr3t-value"}


@pytest.mark.parametrize("argv", [["--config", "", "auth", "status"], ["auth", "status", "--config="],
                                  ["--profile", "", "auth", "status"]])
def test_an_empty_config_path_or_profile_is_a_usage_error(cli, argv):
    ran = cli.run(*argv)
    as_json = cli.run(*argv, "--output", "json")

    assert ran.code == 2
    assert "got an empty value" in ran.err
    assert error_document(as_json)["exit_code"] == 2


@pytest.mark.parametrize("argv", [["--output", "json", "--version"], ["--version", "--output=json"]])
def test_version_in_json_mode_is_a_json_document(argv):
    out = io.StringIO()

    code = main(argv, {}, out, io.StringIO())

    assert code == 0
    assert json.loads(out.getvalue()) == {"version": importlib.metadata.version("pingcli")}
