"""Tokens that keep working: `auth token`, one refresh for many processes, expiry, logout revokes."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.op import CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET


def session_file(terminal) -> Path:
    return next(p for p in terminal.files_under_home() if p.name == "demo.json" and "sessions" in p.parts)


def expire_access_token(terminal) -> None:
    """Make the stored access token look expired, as it would be an hour later."""
    path = session_file(terminal)
    stored = json.loads(path.read_text())
    stored["session"]["tokens"]["expires_at"] = time.time() - 10
    path.write_text(json.dumps(stored))


def introspect(op, token: str) -> bool:
    """RFC 7662, as a confidential client: is the token still alive at the provider?"""
    request = urllib.request.Request(
        op.url("/token/introspection"),
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(
            f"{CONFIDENTIAL_CLIENT_ID}:{CONFIDENTIAL_CLIENT_SECRET}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["active"]


@pytest.fixture
def signed_in(terminal, op):
    terminal.configure(op.issuer)
    login = terminal.run("auth", "login")
    assert login.returncode == 0, login.stderr
    return terminal


def test_auth_token_prints_only_a_token_the_provider_accepts(signed_in, op):
    result = signed_in.run("auth", "token")

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token
    assert introspect(op, token) is True


def test_auth_token_json_gives_the_expiry_and_scopes(signed_in):
    result = signed_in.run("auth", "token", "--output", "json")
    body = json.loads(result.stdout)
    assert body["scope"] == "openid profile email offline_access"
    assert body["expires_at"].endswith("Z") and body["access_token"]


def test_twenty_processes_with_an_expired_token_cause_exactly_one_refresh(signed_in, op):
    expire_access_token(signed_in)
    op.clear_requests()

    processes = [signed_in.start("auth", "token") for _ in range(20)]
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0] * 20, [err for _, err in outputs]
    tokens = {out.strip() for out, _ in outputs}
    assert len(tokens) == 1
    assert op.count("/token", grant_type="refresh_token") == 1
    assert introspect(op, tokens.pop()) is True


def test_a_refused_refresh_token_means_session_expired_and_status_still_knows_who(signed_in, op):
    stored = json.loads(session_file(signed_in).read_text())
    refresh_token = stored["session"]["tokens"]["refresh_token"]
    expire_access_token(signed_in)
    # Someone else uses the refresh token first; the provider rotates it and rejects reuse.
    urllib.request.urlopen(urllib.request.Request(op.url("/token"), data=urllib.parse.urlencode({
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "cli-public"}).encode()),
        timeout=10).read()
    expire_access_token(signed_in)
    stored = json.loads(session_file(signed_in).read_text())
    assert stored["session"]["tokens"]["refresh_token"] == refresh_token

    result = signed_in.run("auth", "token")

    assert result.returncode == 4
    assert "expired" in result.stderr and "pingcli auth login" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    code, status = signed_in.status()
    assert code == 4  # expired, and no service merely not signed in
    assert status["services"][0]["state"] == "expired"
    assert status["services"][0]["identity"]["preferred_username"] == "demo"


def test_logout_revokes_so_the_tokens_are_dead_at_the_provider(signed_in, op):
    stored = json.loads(session_file(signed_in).read_text())["session"]["tokens"]
    assert introspect(op, stored["access_token"]) and introspect(op, stored["refresh_token"])

    result = signed_in.run("auth", "logout")

    assert result.returncode == 0 and "revoked" in result.stdout
    assert introspect(op, stored["refresh_token"]) is False
    assert introspect(op, stored["access_token"]) is False


def test_signing_in_again_revokes_the_tokens_of_the_session_it_replaces(signed_in, op):
    old = json.loads(session_file(signed_in).read_text())["session"]["tokens"]

    again = signed_in.run("auth", "login")

    assert again.returncode == 0, again.stderr
    assert "the tokens of the session it replaces were revoked at the provider" in again.stdout
    new = json.loads(session_file(signed_in).read_text())["session"]["tokens"]
    assert introspect(op, old["refresh_token"]) is False and introspect(op, old["access_token"]) is False
    assert introspect(op, new["refresh_token"]) is True and introspect(op, new["access_token"]) is True


def test_a_session_for_the_issuer_the_profile_no_longer_names_is_not_used_but_logout_ends_it(signed_in, op):
    stored = json.loads(session_file(signed_in).read_text())["session"]["tokens"]
    elsewhere = "http://127.0.0.1:9"
    assert signed_in.run("config", "set", f"service.demo.issuer={elsewhere}").returncode == 0
    op.clear_requests()

    token = signed_in.run("auth", "token")
    code, status = signed_in.status()

    assert token.returncode == 3 and token.stdout == ""
    assert (f"not signed in to demo: the stored session is for issuer {op.issuer}, but the profile names "
            f"{elsewhere}") in token.stderr
    assert "pingcli auth login --service demo" in token.stderr
    assert code == 3 and status["services"][0]["state"] == "other_issuer"
    assert op.requests() == []
    logout = signed_in.run("auth", "logout")
    assert logout.returncode == 0 and "tokens revoked at the provider" in logout.stdout  # at its own issuer
    assert introspect(op, stored["refresh_token"]) is False


def test_not_signed_in_is_exit_code_3_with_what_to_do(terminal, op):
    terminal.configure(op.issuer)
    result = terminal.run("auth", "token")
    assert result.returncode == 3
    assert "pingcli auth login" in result.stderr and result.stdout == ""


def test_with_storage_none_auth_token_signs_in_first_and_stores_nothing(terminal, op):
    terminal.configure(op.issuer, storage="none")
    result = terminal.run("auth", "token")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 20
    assert introspect(op, result.stdout.strip())
    # Only public provider metadata may be cached; no session, token or lock touches the disk.
    assert [p for p in terminal.files_under_home() if p.name != "config.toml" and ".cache" not in p.parts] == []
    assert all("providers" in p.parts for p in terminal.files_under_home() if ".cache" in p.parts)


def test_logout_all_signs_out_of_every_profile(terminal, op):
    terminal.configure(op.issuer)
    assert terminal.run("auth", "login").returncode == 0
    assert terminal.run("config", "profiles", "create", "work").returncode == 0
    work = {"PINGCLI_PROFILE": "work"}
    for assignment in (f"service.other.issuer={op.issuer}",
                       "service.other.authentication.authorizationCode.clientID=cli-public",
                       "service.other.authentication.authorizationCode.redirectURIPort=0",
                       "auth.storage.type=file_system"):
        assert terminal.run("config", "set", assignment, env=work).returncode == 0
    assert terminal.run("auth", "login", env=work).returncode == 0

    result = terminal.run("auth", "logout", "--all")

    assert result.returncode == 0, result.stderr
    assert "demo (profile default): signed out" in result.stdout and "other (profile work): signed out" in result.stdout
    assert terminal.status()[0] == 3
    assert terminal.run("auth", "status", env=work).returncode == 3


def userinfo_status(op, token: str) -> int:
    """What a resource server (the provider's userinfo endpoint) answers to the token."""
    request = urllib.request.Request(op.url("/me"), headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_after_a_401_twenty_auth_token_refresh_processes_cause_exactly_one_refresh(signed_in, op):
    # The stored token is one the provider no longer honours, its expiry is unknown (no expires_in) and it
    # was received a minute ago: only a 401 can tell that it is dead.
    path = session_file(signed_in)
    stored = json.loads(path.read_text())
    stored["session"]["tokens"].update(access_token="a-token-the-provider-no-longer-honours", expires_at=None,
                                       received_at=time.time() - 60)
    path.write_text(json.dumps(stored))
    dead = signed_in.run("auth", "token")
    assert dead.returncode == 0 and dead.stdout.strip() == "a-token-the-provider-no-longer-honours"
    assert userinfo_status(op, dead.stdout.strip()) == 401
    unknown = signed_in.run("auth", "status")
    assert unknown.returncode == 0 and "access token expiry unknown; refresh token held" in unknown.stdout
    op.clear_requests()

    processes = [signed_in.start("auth", "token", "--refresh") for _ in range(20)]
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0] * 20, [err for _, err in outputs]
    tokens = {out.strip() for out, _ in outputs}
    assert len(tokens) == 1
    token = tokens.pop()
    assert op.count("/token", grant_type="refresh_token") == 1
    assert userinfo_status(op, token) == 200
    assert json.loads(signed_in.run("auth", "token", "--output", "json").stdout)["expires_at"].endswith("Z")


def test_status_shows_the_session_and_never_asks_the_provider(signed_in, op):
    expire_access_token(signed_in)  # a refresh would be due: status must not do it
    op.clear_requests()

    status = signed_in.run("auth", "status")

    assert status.returncode == 0, status.stderr
    assert op.requests() == []
    lines = status.stdout.splitlines()
    assert lines[:4] == ["Profile default", "demo: signed in as Demo User (demo) <demo@example.test>",
                         f"  issuer   {op.issuer}", "  subject  demo"]
    assert lines[4].startswith("  authenticated by pwd; acr urn:pingcli:acr:pwd at ")
    assert lines[5] == "  grant    authorization_code"
    assert lines[6].startswith("  access token expired ") and lines[6].endswith("Z); refresh token held")
    assert lines[7].startswith("  storage  ")
