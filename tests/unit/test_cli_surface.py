"""The command line as a person meets it: configuration, profiles, output formats, hints and exit codes.

Each command runs in this process through `main`, with the real TOML configuration file in a temporary
directory and the shipped fakes for the provider and the token stores; the tests look at what is printed,
the exit code, and what is written.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import sys

import attrs
import pytest
from dependency_injector import providers

from pingcli.adapters.codec import session_to_bytes
from pingcli.adapters.fakes import FakeSessionStore
from pingcli.adapters.id_token import JwksIdTokenValidator
from pingcli.adapters.oidc_discovery import DiscoveryClient
from pingcli.adapters.session_stores import FileSessionStore
from pingcli.domain.errors import StorageUnavailable
from pingcli.domain.settings import StorageType
from pingcli.entrypoints.main import main
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
            container.http.override(providers.Object(world.provider))
            container.discovery.override(providers.Object(DiscoveryClient(world.provider)))
            container.id_tokens.override(providers.Object(JwksIdTokenValidator(world.provider)))
            container.clock.override(providers.Object(world.clock))
            container.locks.override(providers.Object(world.locks))
            container.listeners.override(providers.Object(world.listeners))
            container.browser.override(providers.Object(world.browser))
            container.console.override(providers.Object(world.console))
            container.keyring_store.override(providers.Object(self.keyring))
            if not self.real_files:
                container.file_store.override(providers.Object(self.files))
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
    path = FileSessionStore(cli.tmp / "data" / "sessions").path_of("default", "demo")
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
