"""Discovery and JWKS kept in the cache directory: the next `pingcli` process asks the provider less."""

from __future__ import annotations

import json
import stat

DISCOVERY = "/.well-known/openid-configuration"


def provider_cache_files(terminal) -> list:
    return sorted((terminal.home / ".cache" / "pingcli" / "providers").glob("*.json"))


def test_a_second_login_asks_the_provider_for_no_discovery_document_and_no_keys(terminal, op):
    terminal.configure(op.issuer)
    first = terminal.run("auth", "login")
    assert first.returncode == 0, first.stderr
    op.clear_requests()

    second = terminal.run("auth", "login")

    assert second.returncode == 0, second.stderr
    assert op.count(DISCOVERY) == 0
    assert op.count("/jwks") == 0
    assert op.count("/token", grant_type="authorization_code") == 1


def test_the_cache_holds_the_public_documents_in_private_files_and_no_token(terminal, op):
    terminal.configure(op.issuer)
    assert terminal.run("auth", "login").returncode == 0
    token = terminal.run("auth", "token").stdout.strip()
    session = next(p for p in terminal.files_under_home() if p.name == "demo.json" and "sessions" in p.parts)
    tokens = json.loads(session.read_text())["session"]["tokens"]
    secrets = [token, tokens["access_token"], tokens["refresh_token"], tokens["id_token"]]

    files = provider_cache_files(terminal)

    assert sorted(json.loads(p.read_text())["url"] for p in files) == sorted([op.url(DISCOVERY), op.url("/jwks")])
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        content = path.read_text()
        assert not [s for s in secrets if s and s in content], f"a token is in {path}"


def test_with_storage_none_the_public_metadata_is_still_kept(terminal, op):
    terminal.configure(op.issuer, storage="none")
    assert terminal.run("auth", "token").returncode == 0
    op.clear_requests()

    again = terminal.run("auth", "token")

    assert again.returncode == 0, again.stderr
    assert op.count(DISCOVERY) == 0
    assert len(provider_cache_files(terminal)) == 2
    assert not [p for p in terminal.files_under_home() if "sessions" in p.parts]


def test_a_corrupt_cache_is_replaced_without_a_word_to_the_user(terminal, op):
    terminal.configure(op.issuer)
    assert terminal.run("auth", "login").returncode == 0
    for path in provider_cache_files(terminal):
        path.write_bytes(b"\x00garbage{")
    op.clear_requests()

    again = terminal.run("auth", "login")

    assert again.returncode == 0, again.stderr
    assert "cache" not in again.stderr
    assert op.count(DISCOVERY) == 1
    assert all(json.loads(p.read_text())["body"] for p in provider_cache_files(terminal))
