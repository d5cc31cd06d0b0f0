"""`make demo` keeps working: the demo script signs its demo user in by both grants (autopilot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
