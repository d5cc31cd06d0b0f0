"""A person signs in with each grant, sees who they are, and signs out: the installed command, a real provider."""

from __future__ import annotations

import re
import stat
import threading
import time

import pytest

from tests.e2e.test_storage_refused import ended_at_the_provider
from tests.support.person import Person
from tests.support.op import MFA


def test_a_person_signs_in_with_the_browser_sees_who_they_are_and_signs_out(terminal, op):
    terminal.configure(op.issuer)

    login = terminal.run("auth", "login")

    assert login.returncode == 0, login.stderr
    assert "Signed in to demo as Demo User (demo) <demo@example.test>" in login.stdout
    assert "your browser has been opened" in login.stderr
    opened = [e for e in terminal.browser_events() if e["event"] == "opened"]
    assert len(opened) == 1 and "code_challenge_method=S256" in opened[0]["url"]
    callback = next(e for e in terminal.browser_events() if e["event"] == "callback")
    assert callback["status"] == 200 and "close this window" in callback["body"]

    code, status = terminal.status()
    assert code == 0
    service = status["services"][0]
    assert status["profile"] == "default"
    assert service["service"] == "demo" and service["signed_in"] is True
    identity = service["identity"]
    assert identity["sub"] == "demo" and identity["issuer"] == op.issuer
    assert identity["preferred_username"] == "demo" and identity["email"] == "demo@example.test"
    assert identity["name"] == "Demo User" and identity["amr"] == ["pwd"] and identity["auth_time"]

    stored = [p for p in terminal.files_under_home() if p.parent.name == "sessions" or "sessions" in p.parts]
    assert stored, "the file_system store wrote no file"
    for path in stored:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    logout = terminal.run("auth", "logout")
    assert logout.returncode == 0 and "revoked" in logout.stdout
    code, status = terminal.status()
    assert code == 3 and status["services"][0]["signed_in"] is False
    assert not [p for p in terminal.files_under_home() if p.suffix == ".json" and "sessions" in p.parts]
    assert op.count("/token/revocation") >= 1


def test_the_provider_received_one_authorization_and_one_token_request_with_the_same_redirect_uri(terminal, op):
    terminal.configure(op.issuer)
    op.clear_requests()

    assert terminal.run("auth", "login").returncode == 0

    opened = next(e for e in terminal.browser_events() if e["event"] == "opened")["url"]
    port = re.search(r"redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)%2Fcallback", opened).group(1)
    callback = next(e for e in terminal.browser_events() if e["event"] == "callback")
    assert callback["final_url"].startswith(f"http://127.0.0.1:{port}/callback?")
    assert op.count("/token", grant_type="authorization_code") == 1


def test_a_person_signs_in_with_a_device_code_and_mfa(terminal, op):
    terminal.configure(op.issuer, grant="device_code")
    process = terminal.start("auth", "login")
    _, uri, user_code = terminal.device_prompt(process)

    assert Person(MFA.username, MFA.password, MFA.otp).enter_device_code(uri, user_code)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    assert "Signed in to demo as Mia Factor (mfa)" in out
    assert "pwd, otp, mfa (multi-factor)" in out
    code, status = terminal.status()
    assert code == 0
    assert status["services"][0]["identity"]["amr"] == ["pwd", "otp", "mfa"]
    assert status["services"][0]["grant"] == "device_code"


def test_requiring_mfa_refuses_a_password_only_sign_in_and_stores_nothing(terminal, op):
    terminal.configure(op.issuer)
    assert terminal.run("config", "set", "service.demo.authentication.requireMFA=true").returncode == 0
    op.clear_requests()

    login = terminal.run("auth", "login")

    assert login.returncode == 5
    assert "did not use multi-factor authentication (amr pwd, acr urn:pingcli:acr:pwd)" in login.stderr
    assert "the tokens of this sign-in were revoked at the provider" in login.stderr
    assert ended_at_the_provider(op)  # refused here, so ended there too: nobody is left holding them
    assert terminal.status()[1]["services"][0]["signed_in"] is False


def test_with_storage_none_nothing_is_persisted(terminal, op):
    terminal.configure(op.issuer, storage="none")

    login = terminal.run("auth", "login")

    assert login.returncode == 0, login.stderr
    assert "not stored (auth.storage.type=none)" in login.stdout
    written = [p for p in terminal.files_under_home() if ".cache" not in p.parts and p.name != "config.toml"]
    assert written == []
    assert terminal.status()[0] == 3


def test_secure_local_without_a_keyring_says_so_and_writes_nothing_else(terminal, op):
    terminal.configure(op.issuer, storage="secure_local")

    login = terminal.run("auth", "login")

    assert login.returncode == 7, login.stderr
    assert "auth.storage.type=file_system" in login.stderr
    assert "Traceback" not in login.stderr
    written = [p for p in terminal.files_under_home() if ".cache" not in p.parts and p.name != "config.toml"]
    assert written == []


def test_a_real_chromium_completes_the_sign_in(terminal, op):
    terminal.configure(op.issuer)

    login = terminal.run("auth", "login", env={"BROWSER": str(terminal_support() / "chromium_browser.py")},
                         timeout=120)

    assert login.returncode == 0, login.stderr + str(terminal.browser_events())
    assert "Signed in to demo as Demo User" in login.stdout
    assert any(e.get("browser") == "chromium" for e in terminal.browser_events())


def terminal_support():
    from .conftest import SUPPORT

    return SUPPORT
