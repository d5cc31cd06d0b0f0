"""What a store keeps besides a usable session: copies set aside as unreadable, and a session a newer pingcli wrote.

They may hold tokens the provider still honours. `auth logout` revokes those it can still read and removes the
copies, saying how many and that tokens in unreadable ones could not be revoked; `config profiles delete` counts
them as kept; a newer pingcli's session is never set aside (a downgrade must not end it), only said to be there.
Run through `main` with pingcli's real file and keyring stores (tests/support/desk.py) and the fake provider.
"""

from __future__ import annotations

import base64
import json
import os

import pytest

from tests.support.desk import Desk, MemoryKeyring

SESSION = ("pingcli", "default/demo")


def write_private(path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.fixture
def files(tmp_path):
    desk = Desk(tmp_path, MemoryKeyring(), storage="file_system")
    assert desk.run("auth", "login")[0] == 0
    return desk


def stored_tokens(blob: dict) -> list[str]:
    tokens = blob["session"]["tokens"]
    return [tokens["refresh_token"], tokens["access_token"]]


def set_aside_two_copies(desk) -> list[str]:
    """One copy whose tokens can still be read (its identity is missing), one that is not JSON at all."""
    path = desk.sessions / "default" / "demo.json"
    blob = json.loads(path.read_bytes())
    del blob["session"]["identity"]
    write_private(path, json.dumps(blob).encode())
    assert desk.run("auth", "status")[0] == 3
    write_private(path, b"\x00 not a session")
    assert desk.run("auth", "status")[0] == 3
    assert len(list(path.parent.glob("demo.json.corrupt-*"))) == 2 and not path.exists()
    return stored_tokens(blob)


def test_logout_revokes_what_set_aside_copies_still_hold_removes_them_and_says_so(files):
    tokens = set_aside_two_copies(files)
    assert all(files.alive(token) for token in tokens)
    files.provider.requests.clear()

    code, out, err = files.run("auth", "logout")

    assert code == 0 and err == ""
    assert out == (
        "demo: no session this pingcli can use was stored\n"
        "  removed 2 set-aside copies of an unreadable session: the tokens in 1 were revoked at the provider; 1 could "
        "not be read, so whatever tokens it held could not be revoked\n")
    assert [r.form["token"] for r in files.provider.requests_to("/revoke")] == tokens
    assert not any(files.alive(token) for token in tokens)
    assert list((files.sessions / "default").iterdir()) == []
    code, out, _ = files.run("auth", "logout")
    assert (code, out) == (0, "demo: nothing was stored; nothing to remove\n")


def test_logout_in_json_lists_each_copy_and_what_became_of_it(files):
    set_aside_two_copies(files)

    code, out, _ = files.run("auth", "logout", "--output", "json")

    [entry] = json.loads(out)["services"]
    assert code == 0 and entry["revocation"] == "not_stored" and entry["leftovers_unchecked"] is None
    assert sorted((item["revocation"], item["removed"], item["written_by_newer_pingcli"])
                  for item in entry["leftovers"]) == [("revoked", True, False), ("unreadable", True, False)]
    assert all(item["place"].startswith(str(files.sessions / "default" / "demo.json.corrupt-"))
               for item in entry["leftovers"])


def test_logout_also_clears_a_copy_set_aside_in_the_keyring(tmp_path):
    keyring = MemoryKeyring()
    desk = Desk(tmp_path, keyring)
    assert desk.run("auth", "login")[0] == 0
    blob = json.loads(base64.b64decode(keyring.entries[SESSION]))
    blob["session"]["grant"] = "implicit"
    keyring.entries[SESSION] = base64.b64encode(json.dumps(blob).encode()).decode()
    code, _, err = desk.run("auth", "status")
    assert code == 3 and "default/demo.corrupt" in err
    tokens = stored_tokens(blob)

    code, out, err = desk.run("auth", "logout")

    assert code == 0 and err == ""
    assert out == (
        "demo: no session this pingcli can use was stored\n"
        "  removed 1 set-aside copy of an unreadable session: the tokens in 1 were revoked at the provider\n")
    assert keyring.entries == {}
    assert not any(desk.alive(token) for token in tokens)


def test_a_profile_keeping_set_aside_copies_is_not_deleted_until_logout_removed_them_and_its_directory(tmp_path):
    desk = Desk(tmp_path, MemoryKeyring(), storage="file_system")
    desk.config.profiles["work"] = dict(desk.config.profiles["default"])
    assert desk.run("--profile", "work", "auth", "login")[0] == 0
    path = desk.sessions / "work" / "demo.json"
    write_private(path, b"{")
    assert desk.run("--profile", "work", "auth", "status")[0] == 3

    code, out, err = desk.run("config", "profiles", "delete", "work")

    assert code == 2 and out == ""
    assert f"profile 'work' still keeps 1 set-aside copy of the session of demo in {desk.sessions}" in err
    assert "sign out first (this revokes the tokens): pingcli --profile work auth logout" in err
    assert "work" in desk.config.profiles and len(list(path.parent.iterdir())) == 1
    assert desk.run("--profile", "work", "auth", "logout")[0] == 0
    assert desk.run("config", "profiles", "delete", "work")[0] == 0
    assert "work" not in desk.config.profiles and not path.parent.exists()


def test_a_session_a_newer_pingcli_wrote_is_left_in_place_reported_and_signed_out_of_only_by_logout(files):
    path = files.sessions / "default" / "demo.json"
    blob = json.loads(path.read_bytes())
    blob["version"] = 2
    newer = json.dumps(blob).encode()
    write_private(path, newer)
    tokens = stored_tokens(blob)

    status, out, err = files.run("auth", "status")
    token, token_out, _ = files.run("auth", "token")

    assert status == 3 and "demo: not signed in (run: pingcli auth login --service demo)" in out
    assert (f"Note: The stored session of profile 'default', service 'demo' ({path}) was written by a newer "
            "pingcli") in err
    assert "Use that newer pingcli, or sign in again with this one" in err
    assert token == 3 and token_out == ""
    assert path.read_bytes() == newer and os.listdir(path.parent) == ["demo.json"]  # not set aside
    assert all(files.alive(t) for t in tokens)

    code, out, _ = files.run("auth", "logout")

    assert code == 0
    assert out == ("demo: no session this pingcli can use was stored\n"
                   "  removed the session a newer pingcli wrote: its tokens were revoked at the provider\n")
    assert not path.exists() and not any(files.alive(t) for t in tokens)


def test_signing_in_replaces_a_session_a_newer_pingcli_wrote(files):
    path = files.sessions / "default" / "demo.json"
    blob = json.loads(path.read_bytes())
    blob["version"] = 7
    write_private(path, json.dumps(blob).encode())

    assert files.run("auth", "login")[0] == 0

    assert json.loads(path.read_bytes())["version"] == 1 and files.run("auth", "status")[0] == 0


def test_a_second_copy_set_aside_in_the_keyring_does_not_overwrite_the_first(tmp_path):
    from pingcli.adapters.session_stores import KeyringSessionStore

    keyring = MemoryKeyring()
    store = KeyringSessionStore(keyring)
    first = base64.b64encode(b'{"session": {"tokens": {"refresh_token": "rt-first-0123456789"}}}').decode()
    for junk in (first, "second junk"):
        keyring.entries[SESSION] = junk
        assert store.load("default", "demo") is None

    copies = store.leftovers("default", "demo")

    assert [c.key for c in copies] == ["default/demo.corrupt", "default/demo.corrupt-2"]
    assert [c.refresh_token for c in copies] == ["rt-first-0123456789", None]
    assert all(store.remove_leftover("default", "demo", c) for c in copies) and keyring.entries == {}
