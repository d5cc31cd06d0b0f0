"""A confidential client: its secret in the token store (never the config file, never printed), sent with HTTP Basic."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.e2e.conftest import PINGCLI
from tests.e2e.test_tokens import expire_access_token, introspect
from tests.support.op import CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, DEMO
from tests.support.person import Person
from tests.support.secret_service import SecretServiceSession

AC_KEY = "service.demo.authentication.authorizationCode.clientSecret"
DC_KEY = "service.demo.authentication.deviceCode.clientSecret"
AC_VAR = "PINGCLI_SERVICE_DEMO_AUTHENTICATION_AUTHORIZATION_CODE_CLIENT_SECRET"


class Transcript:
    """Everything pingcli printed in a test, to check a secret never appears in it."""

    def __init__(self, terminal) -> None:
        self.terminal = terminal
        self.text = ""

    def run(self, *args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        if stdin is None:
            result = self.terminal.run(*args, env=env)
        else:
            result = subprocess.run([str(PINGCLI), *args], env={**self.terminal.env, **(env or {})}, input=stdin,
                                    capture_output=True, text=True, timeout=60)
        self.text += result.stdout + result.stderr
        return result


def confidential(terminal, issuer: str, storage: str = "file_system", grant: str = "authorization_code") -> Transcript:
    terminal.configure(issuer, storage=storage, grant=grant)
    for assignment in (f"service.demo.authentication.authorizationCode.clientID={CONFIDENTIAL_CLIENT_ID}",
                       f"service.demo.authentication.deviceCode.clientID={CONFIDENTIAL_CLIENT_ID}"):
        assert terminal.run("config", "set", assignment).returncode == 0
    return Transcript(terminal)


def set_secrets(transcript: Transcript, secret: str = CONFIDENTIAL_CLIENT_SECRET) -> None:
    for key in (AC_KEY, DC_KEY):
        # Only the key: the secret comes on standard input, out of the shell history and the process list.
        result = transcript.run("config", "set", key, stdin=secret + "\n")
        assert result.returncode == 0, result.stderr
        assert "********" in result.stdout


def config_file(terminal):
    return next(p for p in terminal.files_under_home() if p.name == "config.toml")


def test_a_confidential_client_signs_in_refreshes_and_signs_out_with_its_secret_kept_out_of_files(terminal, op):
    transcript = confidential(terminal, op.issuer)
    set_secrets(transcript)
    assert CONFIDENTIAL_CLIENT_SECRET not in config_file(terminal).read_text()
    assert transcript.run("config", "get", AC_KEY).stdout == "********\n"
    shown = json.loads(transcript.run("config", "get", AC_KEY, "--output", "json").stdout)
    assert shown["value"] == "********" and shown["source"].startswith("token store (")
    assert "********" in transcript.run("config", "profiles", "show").stdout
    op.clear_requests()

    login = transcript.run("auth", "login", "--verbose")
    assert login.returncode == 0, login.stderr
    assert [(r["client_id"], r["status"]) for r in op.requests() if r.get("grant_type") == "authorization_code"] == [
        (CONFIDENTIAL_CLIENT_ID, 200)]

    expire_access_token(terminal)
    refreshed = transcript.run("auth", "token", "--verbose")
    assert refreshed.returncode == 0, refreshed.stderr
    assert op.count("/token", grant_type="refresh_token") == 1
    token = refreshed.stdout.strip()
    assert introspect(op, token)

    session = json.loads(next(p for p in terminal.files_under_home() if p.name == "demo.json").read_text())
    refresh_token = session["session"]["tokens"]["refresh_token"]
    logout = transcript.run("auth", "logout", "--verbose")
    assert logout.returncode == 0 and "revoked" in logout.stdout, logout.stdout + logout.stderr
    assert [r["status"] for r in op.requests() if r["path"] == "/token/revocation"] == [200, 200]
    assert introspect(op, refresh_token) is False and introspect(op, token) is False

    holding = [p for p in terminal.files_under_home() if CONFIDENTIAL_CLIENT_SECRET.encode() in p.read_bytes()]
    assert sorted(p.name for p in holding) == [
        "demo.authorization_code.client-secret", "demo.device_code.client-secret"]
    assert all(p.stat().st_mode & 0o077 == 0 and "sessions" in p.parts for p in holding)
    assert CONFIDENTIAL_CLIENT_SECRET not in transcript.text
    unmasked = transcript.run("config", "get", AC_KEY, "--unmask")
    assert unmasked.stdout == CONFIDENTIAL_CLIENT_SECRET + "\n"


def test_a_confidential_client_signs_in_with_a_device_code(terminal, op):
    transcript = confidential(terminal, op.issuer, grant="device_code")
    set_secrets(transcript)
    process = terminal.start("auth", "login")
    _, uri, user_code = terminal.device_prompt(process)

    assert Person(DEMO.username, DEMO.password).enter_device_code(uri, user_code)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    assert "Signed in to demo as Demo User" in out
    grants = [(r["path"], r.get("client_id"), r["status"]) for r in op.requests() if r["path"] == "/device/auth"]
    assert grants[-1] == ("/device/auth", CONFIDENTIAL_CLIENT_ID, 200)
    assert CONFIDENTIAL_CLIENT_SECRET not in out + err + transcript.text


def test_a_wrong_secret_is_a_refused_sign_in_that_never_shows_the_secret(terminal, op):
    transcript = confidential(terminal, op.issuer)
    set_secrets(transcript, "not-the-right-secret")

    login = transcript.run("auth", "login")

    assert login.returncode == 5
    assert "invalid_client" in login.stderr
    assert "not-the-right-secret" not in transcript.text
    assert terminal.status()[0] == 3


def test_with_storage_none_the_secret_is_refused_and_the_environment_variable_works_instead(terminal, op):
    transcript = confidential(terminal, op.issuer, storage="none")

    refused = transcript.run("config", "set", f"{AC_KEY}={CONFIDENTIAL_CLIENT_SECRET}")
    assert refused.returncode == 2
    assert AC_VAR in refused.stderr and "auth.storage.type=none" in refused.stderr
    assert "clientSecret" not in config_file(terminal).read_text()

    token = transcript.run("auth", "token", env={AC_VAR: CONFIDENTIAL_CLIENT_SECRET})
    assert token.returncode == 0, token.stderr
    assert introspect(op, token.stdout.strip())
    assert CONFIDENTIAL_CLIENT_SECRET not in transcript.text


def test_in_the_keyring_the_secret_is_in_no_file_at_all(terminal, op, tmp_path):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        terminal.env.update(secret_service.env)
        terminal.env["HOME"] = str(terminal.home)
        transcript = confidential(terminal, op.issuer, storage="secure_local")
        set_secrets(transcript)

        login = transcript.run("auth", "login")
        assert login.returncode == 0, login.stderr
        assert "tokens stored in Secret Service (gnome-keyring)" in login.stdout
        source = json.loads(transcript.run("config", "get", AC_KEY, "--output", "json").stdout)["source"]
        assert source == "token store (Secret Service (gnome-keyring))"

        for path in terminal.files_under_home() + secret_service.files():
            assert CONFIDENTIAL_CLIENT_SECRET.encode() not in path.read_bytes(), f"the secret is in {path}"
        assert CONFIDENTIAL_CLIENT_SECRET not in transcript.text

        assert transcript.run("config", "unset", AC_KEY).returncode == 0
        missing = transcript.run("config", "get", AC_KEY)
        assert missing.returncode == 2 and missing.stdout == "" and f"{AC_KEY} is not set" in missing.stderr


@pytest.mark.parametrize(("grant", "key"), [("authorization_code", AC_KEY), ("device_code", DC_KEY)])
def test_a_confidential_client_without_its_secret_says_which_setting_to_make(terminal, op, grant, key):
    transcript = confidential(terminal, op.issuer, grant=grant)

    login = transcript.run("auth", "login")

    assert login.returncode == 5 and "invalid_client" in login.stderr
    assert f"pingcli config set {key}" in login.stderr


def test_in_the_keyring_config_get_and_profiles_show_mask_the_secret_unless_unmask(terminal, op, tmp_path):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        terminal.env.update(secret_service.env)
        terminal.env["HOME"] = str(terminal.home)
        transcript = confidential(terminal, op.issuer, storage="secure_local")
        set_secrets(transcript)
        masked = [transcript.run("config", "get", AC_KEY), transcript.run("config", "profiles", "show"),
                  transcript.run("config", "profiles", "show", "--output", "json")]

        assert CONFIDENTIAL_CLIENT_SECRET not in transcript.text
        assert masked[0].stdout == "********\n"
        assert f"  {AC_KEY} = ********\n" in masked[1].stdout and f"  {DC_KEY} = ********\n" in masked[1].stdout
        assert json.loads(masked[2].stdout)["settings"][AC_KEY] == "********"
        toml = next(p for p in terminal.files_under_home() + secret_service.files() if p.name == "config.toml")
        assert CONFIDENTIAL_CLIENT_SECRET not in toml.read_text() and "<stored in the token store>" in toml.read_text()

        unmasked = transcript.run("config", "profiles", "show", "--unmask")
        assert unmasked.returncode == 0, unmasked.stderr
        assert f"  {AC_KEY} = {CONFIDENTIAL_CLIENT_SECRET}\n" in unmasked.stdout
        assert transcript.run("config", "get", AC_KEY, "--unmask").stdout == CONFIDENTIAL_CLIENT_SECRET + "\n"
