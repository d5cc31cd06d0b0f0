"""Start and stop the bundled local OpenID Provider (tests/op/server.mjs), stdlib only."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Iterable, Mapping, Optional

__all__ = [
    "OP_DIR",
    "PUBLIC_CLIENT_ID",
    "CONFIDENTIAL_CLIENT_ID",
    "CONFIDENTIAL_CLIENT_SECRET",
    "ACR_PWD",
    "ACR_MFA",
    "TestUser",
    "DEMO",
    "ALICE",
    "MFA",
    "USERS",
    "ProviderError",
    "LocalProvider",
    "ensure_node_modules",
    "start_provider",
    "provider_env",
]

OP_DIR = pathlib.Path(__file__).resolve().parent.parent / "op"

PUBLIC_CLIENT_ID = "cli-public"
CONFIDENTIAL_CLIENT_ID = "cli-confidential"
CONFIDENTIAL_CLIENT_SECRET = "cli-confidential-secret"
ACR_PWD = "urn:pingcli:acr:pwd"
ACR_MFA = "urn:pingcli:acr:mfa"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclasses.dataclass(frozen=True)
class TestUser:
    """An account of the local provider (see tests/op/README.md)."""

    __test__ = False  # not a pytest test class

    username: str
    password: str
    name: str
    email: str
    otp: Optional[str] = None


DEMO = TestUser("demo", "demo-password", "Demo User", "demo@example.test")
ALICE = TestUser("alice", "alice-password", "Alice Example", "alice@example.test")
MFA = TestUser("mfa", "mfa-password", "Mia Factor", "mfa@example.test", otp="123456")
USERS = {user.username: user for user in (DEMO, ALICE, MFA)}

_READY_PREFIX = "OP READY "


class ProviderError(RuntimeError):
    """The local provider could not be installed or started."""


def _lock(path: pathlib.Path):
    import fcntl

    handle = open(path, "a+")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def ensure_node_modules(op_dir: pathlib.Path = OP_DIR, *, npm: Optional[str] = None, timeout: float = 300.0) -> float:
    """Run `npm ci` in op_dir unless its node_modules is installed; return the seconds it took.

    Safe to call from several processes at once (a file lock serialises the install).
    """
    op_dir = pathlib.Path(op_dir)
    marker = op_dir / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return 0.0
    npm = npm or shutil.which("npm")
    if not npm:
        raise ProviderError(
            f"npm was not found on PATH: it is needed once to install the local OpenID Provider "
            f"into {op_dir}/node_modules (run `npm ci` there, with Node.js 20 or later)."
        )
    digest = hashlib.sha256(str(op_dir).encode()).hexdigest()[:16]
    lock = _lock(pathlib.Path(tempfile.gettempdir()) / f"pingcli-op-npm-{digest}.lock")
    try:
        if marker.exists():
            return 0.0
        started = time.monotonic()
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=op_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0 or not marker.exists():
            raise ProviderError(
                f"`npm ci` in {op_dir} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        return time.monotonic() - started
    finally:
        lock.close()


class LocalProvider:
    """The local OpenID Provider as a child process.

    with LocalProvider({"OP_TTL_ACCESS": "5"}) as op:
        op.issuer      # "http://127.0.0.1:<port>"
        op.requests()  # [{"method": "POST", "path": "/token", "status": 200, "grant_type": ...}, ...]

    env adds to (and overrides) this process's environment for the server; OP_LOG_REQUESTS is
    always set to a temporary file, read by requests().
    """

    def __init__(
        self,
        env: Optional[Mapping[str, str]] = None,
        *,
        op_dir: os.PathLike | str = OP_DIR,
        node: Optional[str] = None,
        ready_timeout: float = 20.0,
    ) -> None:
        self.env = {k: str(v) for k, v in (env or {}).items()}
        self.op_dir = pathlib.Path(op_dir)
        self.node = node
        self.ready_timeout = ready_timeout
        self.issuer: Optional[str] = None
        self.process: Optional[subprocess.Popen] = None
        self.install_seconds = 0.0
        self.start_seconds = 0.0
        self._workdir: Optional[tempfile.TemporaryDirectory] = None
        self._log_path: Optional[pathlib.Path] = None
        self._stderr_path: Optional[pathlib.Path] = None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> "LocalProvider":
        if self.process is not None:
            raise ProviderError("the local provider is already started")
        self.install_seconds = ensure_node_modules(self.op_dir)
        node = self.node or shutil.which("node")
        if not node:
            raise ProviderError("node was not found on PATH: the local OpenID Provider needs Node.js 20 or later.")

        self._workdir = tempfile.TemporaryDirectory(prefix="pingcli-op-")
        work = pathlib.Path(self._workdir.name)
        self._log_path = work / "requests.jsonl"
        self._log_path.touch()
        self._stderr_path = work / "stderr.log"

        env = dict(os.environ)
        env.update(self.env)
        env["OP_LOG_REQUESTS"] = str(self._log_path)
        env["OP_EXIT_ON_STDIN_CLOSE"] = "1"  # the server goes away with this process
        env.setdefault("NODE_NO_WARNINGS", "1")
        for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
            env.pop(proxy, None)

        started = time.monotonic()
        stderr = open(self._stderr_path, "wb")
        try:
            self.process = subprocess.Popen(
                [node, str(self.op_dir / "server.mjs")],
                cwd=self.op_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        finally:
            stderr.close()

        lines: "queue.Queue[Optional[bytes]]" = queue.Queue()

        def read_stdout(stream=self.process.stdout):
            for line in iter(stream.readline, b""):
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read_stdout, name="op-stdout", daemon=True).start()
        deadline = started + self.ready_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.0, remaining))
            except queue.Empty:
                self._abort(f"no ready line within {self.ready_timeout:.0f} s")
            if line is None:
                self._abort(f"the server exited (code {self.process.wait()}) before it was ready")
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(_READY_PREFIX):
                self.issuer = text[len(_READY_PREFIX):]
                break
        self.start_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            if process.stdin:
                try:
                    process.stdin.close()
                except OSError:
                    pass
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            if process.stdout:
                process.stdout.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> "LocalProvider":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what tests look at --------------------------------------------------

    def url(self, path: str = "") -> str:
        self._require_started()
        return f"{self.issuer}{path}"

    @property
    def discovery_url(self) -> str:
        return self.url("/.well-known/openid-configuration")

    def requests(self) -> list[dict]:
        """Every HTTP request the provider received so far, oldest first."""
        if self._log_path is None or not self._log_path.exists():
            return []
        out = []
        for line in self._log_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def count(
        self,
        path: Optional[str] = None,
        *,
        method: Optional[str] = None,
        grant_type: Optional[str] = None,
    ) -> int:
        """How many logged requests match all given criteria."""
        return sum(
            1
            for r in self.requests()
            if (path is None or r.get("path") == path)
            and (method is None or r.get("method") == method)
            and (grant_type is None or r.get("grant_type") == grant_type)
        )

    def clear_requests(self) -> None:
        if self._log_path is not None:
            self._log_path.write_text("", encoding="utf-8")

    def stderr_text(self) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    # -- internals ----------------------------------------------------------

    def _require_started(self) -> None:
        if not self.issuer:
            raise ProviderError("the local provider is not started")

    def _abort(self, why: str) -> None:
        stderr = self.stderr_text()[-4000:]
        self.stop()
        raise ProviderError(f"the local OpenID Provider did not start: {why}.\nstderr:\n{stderr}")


def start_provider(env: Optional[Mapping[str, str]] = None, **kwargs) -> LocalProvider:
    """Start a LocalProvider (for a fixture: yield it, then call .stop())."""
    return LocalProvider(env, **kwargs).start()


def provider_env(
    *,
    ttl_access: Optional[int] = None,
    ttl_id: Optional[int] = None,
    ttl_refresh: Optional[int] = None,
    ttl_device: Optional[int] = None,
    ttl_authcode: Optional[int] = None,
    clock_tolerance: Optional[int] = None,
    device_interval: Optional[int] = None,
    auto_consent: Optional[bool] = None,
    extra_clients: Optional[Iterable[Mapping]] = None,
) -> dict:
    """Build the env for LocalProvider from keyword arguments (None leaves the default)."""
    pairs = {
        "OP_TTL_ACCESS": ttl_access,
        "OP_TTL_ID": ttl_id,
        "OP_TTL_REFRESH": ttl_refresh,
        "OP_TTL_DEVICE": ttl_device,
        "OP_TTL_AUTHCODE": ttl_authcode,
        "OP_CLOCK_TOLERANCE": clock_tolerance,
        "OP_DEVICE_INTERVAL": device_interval,
    }
    env = {k: str(v) for k, v in pairs.items() if v is not None}
    if auto_consent is not None:
        env["OP_AUTO_CONSENT"] = "1" if auto_consent else "0"
    if extra_clients is not None:
        env["OP_EXTRA_CLIENTS"] = json.dumps(list(extra_clients))
    return env
