"""End-to-end: the installed `pingcli` command as a process, against the bundled OpenID Provider."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from tests.support.op import LocalProvider, provider_env

SUPPORT = Path(__file__).resolve().parent.parent / "support"
PINGCLI = Path(sys.executable).with_name("pingcli")


@pytest.fixture(scope="module")
def op():
    with LocalProvider(provider_env(device_interval=1)) as provider:
        yield provider


@attrs.define
class Terminal:
    """A person's shell: a private HOME, a config file of its own, and the installed pingcli."""

    home: Path
    env: dict[str, str]
    browser_log: Path

    def run(self, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(PINGCLI), *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [str(PINGCLI), *args], env={**self.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, stdin=subprocess.DEVNULL,
        )

    def device_prompt(self, process: subprocess.Popen) -> tuple[str, str, str]:
        """Read a device-code login's stderr up to the code: (what was shown, verification URI, user code)."""
        assert process.stderr is not None
        shown = []
        for line in process.stderr:
            shown.append(line)
            if "enter the code" in line:
                break
        text = "".join(shown)
        uri = re.search(r"^\s+(http://\S+/device)$", text, re.M)
        user_code = re.search(r"enter the code\s+([A-Z]{4}-[A-Z]{4})", text)
        assert uri and user_code, f"no device-code prompt in:\n{text}"
        return text, uri.group(1), user_code.group(1)

    def configure(self, issuer: str, storage: str = "file_system", grant: str = "authorization_code") -> None:
        for assignment in (
            f"service.demo.issuer={issuer}",
            f"service.demo.authentication.type={grant}",
            "service.demo.authentication.authorizationCode.clientID=cli-public",
            "service.demo.authentication.authorizationCode.redirectURIPort=0",
            "service.demo.authentication.deviceCode.clientID=cli-public",
            f"auth.storage.type={storage}",
        ):
            result = self.run("config", "set", assignment)
            assert result.returncode == 0, result.stderr

    def browser_events(self) -> list[dict]:
        if not self.browser_log.exists():
            return []
        return [json.loads(line) for line in self.browser_log.read_text().splitlines() if line.strip()]

    def status(self) -> tuple[int, dict]:
        result = self.run("auth", "status", "--output", "json")
        return result.returncode, json.loads(result.stdout)

    def files_under_home(self) -> list[Path]:
        return [p for p in self.home.rglob("*") if p.is_file()]


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGCLI_", "XDG_", "DBUS_", "PYTHON_KEYRING"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        BROWSER=str(SUPPORT / "scripted_browser.py"),
        PINGCLI_TEST_BROWSER_LOG=str(tmp_path / "browser.jsonl"),
        PINGCLI_TEST_PYTHON=sys.executable,
        # No keyring unless a test starts a Secret Service: pingcli must say so, not write elsewhere.
        DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus",
    )
    env.pop("DISPLAY", None)
    return Terminal(home, env, tmp_path / "browser.jsonl")
