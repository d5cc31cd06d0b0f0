"""Windows Credential Manager keeps at most 2560 bytes (UTF-16) per value: sign-in, status, token, re-login and
logout with a keyring that enforces that limit, through the commands a person runs.

The backend is ours (a size-limited stand-in for keyring's Windows backend, under its module name so pingcli
recognises it); pingcli's store, the commands and the in-memory provider run for real.
"""

from __future__ import annotations

import json

from pingcli.adapters.fakes import DEMO_USER, FakeUser
from tests.support.desk import Desk, MemoryKeyring

LIMIT = 2560  # CRED_MAX_CREDENTIAL_BLOB_SIZE, in bytes of UTF-16


class CredentialWriteError(Exception):
    """What pywin32's CredWrite raises for a blob over the limit: (winerror, funcname, strerror)."""

    def __init__(self):
        super().__init__(1783, "CredWrite", "The stub received bad data.")


class WinVaultKeyring(MemoryKeyring):
    """Keeps values as UTF-16 and refuses any over LIMIT bytes, as Credential Manager does."""

    def set_password(self, service, username, password):
        if len(password.encode("utf-16-le")) > LIMIT:
            raise CredentialWriteError()
        super().set_password(service, username, password)

    def names(self) -> set[str]:
        return {username for _, username in self.entries}


WinVaultKeyring.__module__ = "keyring.backends.Windows"

# Claims big enough that the stored session is several times the limit, as an ID token with many claims is.
WIDE_USER = FakeUser("user-wide", "wide", "Wide " + "W" * 6000, "wide@example.test")


def chunks_of(backend: WinVaultKeyring) -> set[str]:
    return {name for name in backend.names() if name.startswith("default/demo#")}


def test_a_session_too_big_for_one_entry_is_kept_in_entries_that_each_fit_and_reads_back(tmp_path):
    backend = WinVaultKeyring()
    desk = Desk(tmp_path, backend)
    desk.user = WIDE_USER

    code, out, err = desk.run("auth", "login")

    assert code == 0, err
    assert "tokens stored in Windows Credential Manager" in out
    assert len(chunks_of(backend)) >= 4
    assert all(len(value.encode("utf-16-le")) <= LIMIT for value in backend.entries.values())
    manifest = json.loads(backend.entries[("pingcli", "default/demo")])
    assert manifest["chunks"] == len(chunks_of(backend))
    assert backend.names() == {"default/demo", *(f"default/demo#{i}" for i in range(manifest["chunks"]))}

    code, status, err = desk.run("auth", "status", "--output", "json")
    assert code == 0, err
    [service] = json.loads(status)["services"]
    assert service["storage"] == "Windows Credential Manager"
    assert service["identity"]["name"] == WIDE_USER.name  # the whole session came back from its pieces
    code, token, err = desk.run("auth", "token")
    assert code == 0, err
    [access_token] = desk.provider.access_tokens
    assert token == access_token + "\n"


def test_a_shorter_re_login_leaves_no_stale_chunk_and_logout_removes_every_piece(tmp_path):
    backend = WinVaultKeyring()
    desk = Desk(tmp_path, backend)
    desk.user = WIDE_USER
    assert desk.run("auth", "login")[0] == 0
    before = chunks_of(backend)

    desk.user = DEMO_USER
    code, _, err = desk.run("auth", "login")

    assert code == 0, err
    after = chunks_of(backend)
    assert len(after) < len(before)
    stored = backend.entries[("pingcli", "default/demo")]
    expected = json.loads(stored)["chunks"] if stored.startswith("{") else 0
    assert after == {f"default/demo#{i}" for i in range(expected)}
    code, status, _ = desk.run("auth", "status", "--output", "json")
    assert code == 0 and json.loads(status)["services"][0]["identity"]["name"] == DEMO_USER.name

    code, out, err = desk.run("auth", "logout")

    assert code == 0, err
    assert "revoked" in out
    assert backend.entries == {}
    signed_in_with = [list(desk.provider.access_tokens)[-1], list(desk.provider.refresh_tokens)[-1]]
    assert [desk.alive(token) for token in signed_in_with] == [False, False]
    assert desk.run("auth", "status")[0] == 3


def test_a_size_limited_keyring_pingcli_does_not_know_refuses_a_big_session_and_the_sign_in_says_so(tmp_path):
    class UnknownLimitedKeyring(WinVaultKeyring):
        pass

    UnknownLimitedKeyring.__module__ = __name__  # not Windows: pingcli does not split for it
    backend = UnknownLimitedKeyring()
    desk = Desk(tmp_path, backend)
    desk.user = WIDE_USER

    code, out, err = desk.run("auth", "login")

    assert code == 7 and out == ""
    assert "but the tokens could not be kept" in err and "The stub received bad data" in err
    assert backend.entries == {}
    assert not any(desk.alive(token) for token in desk.issued_tokens())
