"""`make demo` keeps working: the demo script signs its demo user in by both grants (autopilot), and never reaches
the person's own configuration, sessions or keyring."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_tokens import introspect
from tests.support.secret_service import SecretServiceSession

DEMO = Path(__file__).resolve().parents[1] / "op" / "demo.py"


@pytest.mark.parametrize("grant", ["authorization_code", "device_code"])
def test_the_demo_signs_the_demo_user_in_and_shows_the_status(grant, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    result = subprocess.run([sys.executable, str(DEMO), "--autopilot", "--grant", grant], env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "user: demo   password: demo-password" in result.stdout
    assert "Signed in to demo as Demo User (demo)" in result.stdout
    assert f"grant    {grant}" in result.stdout
    written = [p for p in tmp_path.rglob("*") if "pingcli" in p.name]
    assert written == [], "the demo wrote pingcli files into the person's HOME"


def keyring_contents(secret_service, monkeypatch) -> dict[tuple[tuple[str, str], ...], bytes]:
    """Every item of every collection: its attributes (without `xdg:schema`) and its secret."""
    import secretstorage

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    connection = secretstorage.dbus_init()
    try:
        return {tuple(sorted((k, v) for k, v in item.get_attributes().items() if k != "xdg:schema")): item.get_secret()
                for collection in secretstorage.get_all_collections(connection) for item in collection.get_all_items()}
    finally:
        connection.close()


def test_the_demo_never_touches_the_persons_own_session_in_their_keyring(terminal, op, tmp_path, monkeypatch):
    """The person is signed in to their own provider (`op`) as default/demo, kept in their keyring; the demo,
    run from the same shell, signs in to its own provider with the same profile and service names."""
    with SecretServiceSession(tmp_path / "keyring") as secret_service:
        terminal.env.update(secret_service.env)
        terminal.env["HOME"] = str(terminal.home)
        terminal.configure(op.issuer, storage="secure_local")
        assert terminal.run("auth", "login").returncode == 0
        before = keyring_contents(secret_service, monkeypatch)
        [mine] = [secret for attributes, secret in before.items() if ("username", "default/demo") in attributes]
        tokens = json.loads(base64.b64decode(mine))["session"]["tokens"]

        demo = subprocess.run([sys.executable, str(DEMO), "--autopilot", "--grant", "authorization_code"],
                              env=terminal.env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "Signed in to demo as Demo User (demo)" in demo.stdout
        assert keyring_contents(secret_service, monkeypatch) == before  # nothing taken, added or changed
        assert introspect(op, tokens["access_token"]) and introspect(op, tokens["refresh_token"])
        status = terminal.run("auth", "status")
        assert status.returncode == 0 and "demo: signed in as Demo User" in status.stdout
        assert "Secret Service (gnome-keyring)" in status.stdout
