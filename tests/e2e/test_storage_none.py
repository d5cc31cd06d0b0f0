"""auth.storage.type=none with a working keyring at hand: no token, secret or session reaches the file system or
the keyring, and `auth token` signs in first, in the same process. `auth login` ends the grant at the provider
once it has shown who signed in; `auth token` asks for no refresh token and hands out an access token that works."""

from __future__ import annotations

from tests.e2e.test_storage_refused import (
    another_apps_item,
    ended_at_the_provider,
    keyring_items,
    use_keyring,
    written,
)
from tests.e2e.test_tokens import introspect
from tests.support.secret_service import SecretServiceSession


def test_with_storage_none_nothing_reaches_the_files_or_the_keyring(terminal, op, tmp_path, monkeypatch):
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        use_keyring(terminal, secret_service)
        before = [another_apps_item(secret_service, monkeypatch)]  # the keyring works, and is there to be used
        terminal.configure(op.issuer, storage="none")
        op.clear_requests()

        login = terminal.run("auth", "login")
        assert ended_at_the_provider(op)  # revoked, as nothing keeps its tokens
        op.clear_requests()
        token = terminal.run("auth", "token")
        status = terminal.run("auth", "status")

        assert login.returncode == 0, login.stderr
        assert ("tokens were not stored (auth.storage.type=none); they were revoked at the provider"
                in login.stdout)
        assert token.returncode == 0, token.stderr
        access_token = token.stdout.strip()
        assert token.stdout == access_token + "\n" and introspect(op, access_token)
        # Nothing was kept from the login, so `auth token` signed in again itself, in its own process...
        assert op.count("/token", grant_type="authorization_code") == 1
        assert "Signing in to demo" in token.stderr
        # ...with no refresh token to leave behind, and nothing revoked that would end the token it printed.
        assert "no refresh token was asked for or issued; the access token printed stays valid until" in token.stderr
        assert op.count("/token/revocation") == 0
        assert status.returncode == 3 and "not stored (auth.storage.type=none)" in status.stdout
        assert "auth.storage.type=none keeps nothing between commands; pingcli auth token signs in" in status.stdout

        assert keyring_items(secret_service, monkeypatch) == before
        assert written(terminal) == []
        for path in terminal.files_under_home() + secret_service.files():
            assert access_token.encode() not in path.read_bytes(), f"the access token is in {path}"
