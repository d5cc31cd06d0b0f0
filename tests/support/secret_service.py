"""A real Secret Service for tests: a private D-Bus session bus and gnome-keyring in a temporary HOME (stdlib only)."""

from __future__ import annotations

import os
import pathlib
import select
import shutil
import subprocess
import tempfile
import time
from typing import Optional

__all__ = ["SecretServiceSession", "SECRET_SERVICE_BACKEND", "MISSING_PACKAGES_HINT"]

SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
MISSING_PACKAGES_HINT = "install them: apt-get install -y --no-install-recommends dbus gnome-keyring"
_BUS_NAME = "org.freedesktop.secrets"
_START_TIMEOUT = 10.0

# A session bus that activates nothing: without service files, no second keyring daemon (or a GUI
# prompter) can be started behind the test's back, and "no Secret Service" really means none.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise RuntimeError(
            f"{program} is not installed (Debian package {package!r}); the Secret Service tests need the "
            f"packages 'dbus' and 'gnome-keyring': {MISSING_PACKAGES_HINT}"
        )
    return path


class SecretServiceSession:
    """`with SecretServiceSession(tmp_path) as keyring_session:` starts both daemons, stops them on exit.

    `env` holds the variables a keyring client needs (DBUS_SESSION_BUS_ADDRESS, PYTHON_KEYRING_BACKEND,
    HOME, XDG_*); apply them to os.environ before creating a keyring backend (e.g. monkeypatch.setenv).
    `unlocked=False` starts gnome-keyring without a login keyring, so any use needs a prompt that cannot
    be shown: the "locked keyring on a machine without a display" case. `lock()` locks the default
    collection of a running session.
    """

    def __init__(self, tmp_path: pathlib.Path, *, unlocked: bool = True, password: str = "pingcli-test-password"):
        self.root = pathlib.Path(tmp_path)
        self.unlocked = unlocked
        self._password = password
        self.home = self.root / "home"
        self.data_home = self.root / "data"
        self.config_home = self.root / "config"
        self.cache_home = self.root / "cache"
        self.logs = self.root / "secret-service-logs"
        self.runtime_dir: Optional[pathlib.Path] = None
        self.env: dict[str, str] = {}
        self.started_in: Optional[float] = None
        self._bus: Optional[subprocess.Popen] = None
        self._keyring: Optional[subprocess.Popen] = None

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> "SecretServiceSession":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> "SecretServiceSession":
        dbus_daemon = _require("dbus-daemon", "dbus")
        _require("dbus-send", "dbus")
        keyring_daemon = _require("gnome-keyring-daemon", "gnome-keyring")
        began = time.monotonic()
        for directory in (self.home, self.data_home, self.config_home, self.cache_home, self.logs):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
        # A short path of its own: unix socket paths must stay under about 100 bytes.
        self.runtime_dir = pathlib.Path(tempfile.mkdtemp(prefix="pingcli-ss-"))
        os.chmod(self.runtime_dir, 0o700)
        config = self.runtime_dir / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=self.runtime_dir / "bus"), encoding="utf-8")

        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.data_home),
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_CACHE_HOME": str(self.cache_home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
        }
        with open(self.logs / "dbus-daemon.log", "wb") as log:
            self._bus = subprocess.Popen(
                [dbus_daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,  # "Failed to set fd limit" lands here: harmless
                env=base_env,
            )
        address = self._read_address(began + _START_TIMEOUT)
        base_env["DBUS_SESSION_BUS_ADDRESS"] = address
        self._daemon_env = base_env

        command = [keyring_daemon, "--foreground", "--components=secrets"]
        if self.unlocked:
            command.append("--unlock")
        with open(self.logs / "gnome-keyring.log", "wb") as log:
            self._keyring = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if self.unlocked else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=base_env,
            )
        if self.unlocked:
            assert self._keyring.stdin is not None
            self._keyring.stdin.write(self._password.encode("utf-8"))
            self._keyring.stdin.close()  # end of the password: the daemon unlocks (creates) the login keyring
        self._wait_for_owner(began + _START_TIMEOUT)

        self.env = {
            "DBUS_SESSION_BUS_ADDRESS": address,
            "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND,
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.data_home),
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_CACHE_HOME": str(self.cache_home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
        }
        self.started_in = time.monotonic() - began
        return self

    def _read_address(self, deadline: float) -> str:
        assert self._bus is not None and self._bus.stdout is not None
        stream = self._bus.stdout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"dbus-daemon printed no address within {_START_TIMEOUT:g} s{self._log_tail()}")
            ready, _, _ = select.select([stream], [], [], remaining)
            if ready:
                byte = os.read(stream.fileno(), 1)
                if not byte:
                    raise RuntimeError(f"dbus-daemon exited with {self._bus.wait()}{self._log_tail()}")
                line += byte
        return line.decode("utf-8").strip()

    def _dbus_send(self, *arguments: str, timeout: float = 5.0) -> str:
        result = subprocess.run(
            ["dbus-send", "--session", "--print-reply", *arguments],
            env=self._daemon_env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbus-send {' '.join(arguments)} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode("utf-8", "replace")

    def _wait_for_owner(self, deadline: float) -> None:
        while True:
            assert self._keyring is not None
            if self._keyring.poll() is not None:
                raise RuntimeError(f"gnome-keyring-daemon exited with {self._keyring.returncode}{self._log_tail()}")
            reply = self._dbus_send(
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{_BUS_NAME}",
            )
            if "boolean true" in reply:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{_BUS_NAME} got no owner within {_START_TIMEOUT:g} s{self._log_tail()}")
            time.sleep(0.02)

    def _log_tail(self) -> str:
        tails = []
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                tails.append(f"\n--- {log.name} ---\n{text[-2000:]}")
        return "".join(tails)

    def stop(self) -> None:
        for process in (self._keyring, self._bus):
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for process in (self._keyring, self._bus):
            if process is not None and process.stdout is not None:
                process.stdout.close()
        self._keyring = self._bus = None
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None

    # -- helpers for tests --------------------------------------------------------

    @property
    def keyring_pid(self) -> Optional[int]:
        return None if self._keyring is None else self._keyring.pid

    def default_collection(self) -> str:
        """The object path the `default` alias points at (the login keyring)."""
        reply = self._dbus_send(
            f"--dest={_BUS_NAME}",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.ReadAlias",
            "string:default",
        )
        for line in reply.splitlines():
            line = line.strip()
            if line.startswith("object path "):
                path = line.split('"')[1]
                if path != "/":
                    return path
        raise RuntimeError(f"the keyring has no default collection: {reply}")

    def lock(self) -> None:
        """Lock the default collection, as a screen locker or a timeout would (Secret Service `Lock`)."""
        self._dbus_send(
            f"--dest={_BUS_NAME}",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            f"array:objpath:{self.default_collection()}",
        )

    def files(self) -> list[pathlib.Path]:
        """Every file under the temporary HOME and XDG directories (not the helper's own logs)."""
        found = []
        for top in (self.home, self.data_home, self.config_home, self.cache_home):
            found.extend(path for path in top.rglob("*") if path.is_file())
        return sorted(found)
