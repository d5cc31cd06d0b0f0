"""What the benchmarks share: a throw-away home for pingcli, the installed command, a plain table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = ROOT / "tests" / "support"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pingcli_command() -> Path:
    """The `pingcli` of the project's venv, else the one next to this Python, else the one on PATH."""
    for candidate in (ROOT / ".venv" / "bin" / "pingcli", Path(sys.executable).with_name("pingcli")):
        if candidate.exists():
            return candidate
    found = shutil.which("pingcli")
    if not found:
        sys.exit("pingcli is not installed: run `make test` (or pip install -e .) first")
    return Path(found)


PINGCLI = pingcli_command()
PYTHON = PINGCLI.with_name("python") if PINGCLI.with_name("python").exists() else Path(sys.executable)


class Sandbox:
    """A person's shell with a private HOME, config, data and cache directories, and the scripted browser."""

    def __init__(self, name: str) -> None:
        self._temp = tempfile.TemporaryDirectory(prefix=f"pingcli-bench-{name}-")
        root = Path(self._temp.name)
        self.home = root / "home"
        self.home.mkdir(mode=0o700)
        self.data_dir = root / "data"
        self.cache_dir = root / "cache"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGCLI_", "XDG_", "DBUS_", "PYTHON_KEYRING"))}
        env.pop("DISPLAY", None)
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local/share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            PINGCLI_CONFIG=str(root / "config.toml"),
            PINGCLI_DATA_DIR=str(self.data_dir),
            PINGCLI_CACHE_DIR=str(self.cache_dir),
            BROWSER=str(SUPPORT / "scripted_browser.py"),
            PINGCLI_TEST_BROWSER_LOG=str(root / "browser.jsonl"),
            PINGCLI_TEST_PYTHON=str(PYTHON),
            # No keyring: the benchmarks use file_system or none storage.
            DBUS_SESSION_BUS_ADDRESS=f"unix:path={root}/no-bus",
        )
        self.env = env

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self._temp.cleanup()

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(PINGCLI), *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(PINGCLI), *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, stdin=subprocess.DEVNULL)

    def must(self, *args: str) -> subprocess.CompletedProcess:
        result = self.run(*args)
        if result.returncode != 0:
            sys.exit(f"`pingcli {' '.join(args)}` failed (exit {result.returncode}):\n{result.stderr}")
        return result

    def configure(self, issuer: str, storage: str = "file_system") -> None:
        for assignment in (
            f"service.demo.issuer={issuer}",
            "service.demo.authentication.type=authorization_code",
            "service.demo.authentication.authorizationCode.clientID=cli-public",
            "service.demo.authentication.authorizationCode.redirectURIPort=0",
            f"auth.storage.type={storage}",
        ):
            self.must("config", "set", assignment)


def start_provider():
    from tests.support.op import LocalProvider, provider_env

    try:
        return LocalProvider(provider_env()).start()
    except Exception as error:  # ProviderError, or no Node.js: say it plainly
        sys.exit(f"the bundled OpenID Provider did not start: {error}")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
