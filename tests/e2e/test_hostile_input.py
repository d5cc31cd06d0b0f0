"""Hostile and broken input, seen from the terminal: the installed pingcli against providers, browsers and
callbacks that misbehave. Each case ends with one clear message, a documented exit code, no traceback, and
nothing stored that should not be.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from pingcli.domain.settings import env_name
from tests.support.hostile_op import CLIENT_ID, ENDPOINTS, FORGERIES, GARBAGE, HostileProvider
from tests.support.op import CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET, DEMO
from tests.support.person import Person

from .conftest import PINGCLI

HTTP_TIMEOUT = "2"  # seconds: how long a hanging provider is given (PINGCLI_HTTP_TIMEOUT)


# --- Helpers ---------------------------------------------------------------------------------------


def session_files(terminal) -> list[Path]:
    """Files of the token store that hold a session (or a half-written one); not its `.notice-shown` marker."""
    return [p for p in terminal.files_under_home() if "sessions" in p.parts and p.name != ".notice-shown"]


def lock_files(terminal) -> list[Path]:
    return [p for p in terminal.files_under_home() if p.suffix == ".lock"]


def snapshot(paths: list[Path]) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in paths}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def can_bind(port: int) -> bool:
    with socket.socket() as again:
        try:
            again.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def service_env(issuer: str, grant: str, storage: str = "file_system") -> dict[str, str]:
    """The service `demo` from the environment alone (no config file to write: quicker per run)."""
    return {
        env_name("service.demo.issuer"): issuer,
        env_name("service.demo.authentication.type"): grant,
        env_name("service.demo.authentication.authorizationCode.clientID"): CLIENT_ID,
        env_name("service.demo.authentication.authorizationCode.redirectURIPort"): "0",
        env_name("service.demo.authentication.deviceCode.clientID"): CLIENT_ID,
        env_name("auth.storage.type"): storage,
        "PINGCLI_HTTP_TIMEOUT": HTTP_TIMEOUT,
    }


def write_program(directory: Path, name: str, python: str) -> str:
    """An executable Python program (run by this test's interpreter); returns its path."""
    path = directory / name
    path.write_text(f"#!{sys.executable}\n" + python)
    path.chmod(0o755)
    return str(path)


FOLLOWING_BROWSER = """\
import subprocess, sys, urllib.request
if len(sys.argv) == 2:  # the launcher: detach the worker and report success at once, as browsers do
    subprocess.Popen([sys.executable, __file__, sys.argv[1], "worker"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sys.exit(0)
try:
    urllib.request.urlopen(sys.argv[1], timeout=10).read()  # follows the provider's redirect to the callback
except Exception:
    pass
"""

LINGERING_BROWSER = """\
import os, subprocess, sys
# A browser that stays running after it was launched (and never follows the link): it must not
# inherit anything from pingcli that outlives pingcli, such as a lock.
sleeper = subprocess.Popen(["sleep", "20"], start_new_session=True)
open(os.environ["LINGERING_BROWSER_PID"], "w").write(str(sleeper.pid))
"""


def read_until(stream, marker: str) -> str:
    lines = []
    for line in stream:
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


@pytest.fixture(scope="module")
def hostile():
    with HostileProvider() as provider:
        yield provider


@pytest.fixture
def fresh_hostile(hostile):
    hostile.reset()
    yield hostile
    hostile.reset()


# --- 1. The callback port is taken -------------------------------------------------------------------


def test_a_taken_port_leaves_no_session_no_held_lock_and_sends_nothing_to_the_provider(terminal, op):
    terminal.configure(op.issuer)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        setting = "service.demo.authentication.authorizationCode.redirectURIPort"
        terminal.run("config", "set", f"{setting}={port}")
        op.clear_requests()
        started = time.monotonic()
        login = terminal.run("auth", "login")
        elapsed = time.monotonic() - started

    assert login.returncode == 5 and elapsed < 2.0
    assert f"127.0.0.1:{port}" in login.stderr and setting in login.stderr
    assert "Traceback" not in login.stderr
    assert terminal.browser_events() == [] and "browser has been opened" not in login.stderr
    # The port is bound before anything is fetched: not even discovery reaches the provider.
    assert op.count("/.well-known/openid-configuration") == 0
    assert op.count("/auth") == 0 and op.count("/token") == 0
    assert session_files(terminal) == []
    assert lock_files(terminal) == []  # a lock file lives only while its lock is held
    assert [p.name for p in terminal.files_under_home()] == ["config.toml"]


# --- 5. No browser can be opened ---------------------------------------------------------------------


@pytest.mark.parametrize("machine", ["no_display_and_no_browser_on_path", "launcher_exits_with_an_error"])
def test_without_a_usable_browser_the_address_is_printed_and_fetching_it_by_hand_signs_in(
    terminal, op, tmp_path, machine
):
    terminal.configure(op.issuer)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {k: v for k, v in terminal.env.items() if k not in {"BROWSER", "DISPLAY", "WAYLAND_DISPLAY"}}
    env["PATH"] = str(bin_dir)
    if machine == "launcher_exits_with_an_error":
        env["DISPLAY"] = ":0"  # a desktop session, whose launcher fails
        write_program(bin_dir, "xdg-open", "import sys\nsys.exit(3)\n")
    process = subprocess.Popen([str(PINGCLI), "auth", "login"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        shown = read_until(process.stderr, "Waiting")
        url = next(line for line in shown.splitlines() if line.startswith("  http")).strip()

        Person(DEMO.username, DEMO.password).authorize(url)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    text = shown + err
    assert process.returncode == 0, text
    assert "your browser has been opened" not in text
    assert "No browser was opened" in text and "--device-code" in text
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url and "code_challenge=" in url  # the full address
    assert "Signed in to demo as Demo User" in out


# --- 7. The callback never comes ---------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["timeout", "ctrl_c"])
def test_a_callback_that_never_comes_ends_promptly_frees_the_port_keeps_the_store_and_holds_no_lock(
    terminal, op, tmp_path, ending
):
    terminal.configure(op.issuer)
    assert terminal.run("auth", "login").returncode == 0  # an earlier session, which must survive intact
    before = snapshot(session_files(terminal))
    assert before
    port = free_port()
    terminal.run("config", "set", f"service.demo.authentication.authorizationCode.redirectURIPort={port}")
    pid_file = tmp_path / "lingering-browser.pid"
    browser = write_program(tmp_path, "lingering-browser", LINGERING_BROWSER)
    env = {"BROWSER": browser, "LINGERING_BROWSER_PID": str(pid_file)}

    try:
        if ending == "timeout":
            started = time.monotonic()
            result = terminal.run("auth", "login", "--timeout", "3", env=env)
            elapsed = time.monotonic() - started
            code, err = result.returncode, result.stderr
            assert 3.0 <= elapsed < 5.0, elapsed
            assert code == 5 and "no sign-in callback arrived within 3 s" in err
        else:
            process = terminal.start("auth", "login", env=env)
            read_until(process.stderr, "Waiting")
            process.send_signal(signal.SIGINT)
            started = time.monotonic()
            _, rest = process.communicate(timeout=10)
            elapsed = time.monotonic() - started
            code, err = process.returncode, rest
            assert elapsed < 1.0, elapsed
            assert code == 130 and "cancelled" in err
        assert "Traceback" not in err

        assert can_bind(port)
        assert snapshot(session_files(terminal)) == before
        assert lock_files(terminal) == []
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


# --- 9. Garbage from the provider, endpoint by endpoint ----------------------------------------------

SIGN_IN_ENDPOINTS = ["discovery", "device_authorization", "token", "jwks", "userinfo"]


@pytest.mark.parametrize("kind", list(GARBAGE))
@pytest.mark.parametrize("endpoint", SIGN_IN_ENDPOINTS)
def test_garbage_from_any_endpoint_is_one_clear_line_exit_6_and_nothing_stored(terminal, fresh_hostile, endpoint,
                                                                               kind):
    fresh_hostile.break_endpoint(endpoint, kind)

    started = time.monotonic()
    login = terminal.run("auth", "login", env=service_env(fresh_hostile.issuer, "device_code"), timeout=30)
    elapsed = time.monotonic() - started

    assert fresh_hostile.count(endpoint) >= 1, "the broken endpoint was never asked"
    assert login.returncode == 6, login.stderr
    assert "Traceback" not in login.stderr and "unexpected error" not in login.stderr
    name = ENDPOINTS[endpoint][0]
    [line] = [line for line in login.stderr.splitlines() if name in line]
    assert line.startswith("pingcli: demo: ") and GARBAGE[kind] in line, line
    assert login.stdout == ""
    assert session_files(terminal) == []
    assert elapsed < float(HTTP_TIMEOUT) + 5  # even a provider that hangs is given up on


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_from_the_revocation_endpoint_still_signs_out_here(terminal, fresh_hostile, kind):
    env = service_env(fresh_hostile.issuer, "device_code")
    assert terminal.run("auth", "login", env=env).returncode == 0
    assert session_files(terminal)
    fresh_hostile.break_endpoint("revocation", kind)

    logout = terminal.run("auth", "logout", env=env, timeout=30)

    assert fresh_hostile.count("revocation") >= 1
    assert logout.returncode == 0, logout.stderr
    assert "Traceback" not in logout.stderr
    assert session_files(terminal) == []
    assert terminal.run("auth", "status", env=env).returncode == 3
    if kind in {"html", "truncated_json", "empty_body", "json_array"}:
        # HTTP 200: RFC 7009 §2.2, the client ignores the body; the revocation worked.
        assert "signed out (tokens revoked at the provider and removed here)" in logout.stdout
    else:
        [line] = [line for line in logout.stdout.splitlines() if "revocation" in line]
        assert "signed out here, but revocation at the provider failed" in line
        assert "revocation endpoint" in line and GARBAGE[kind] in line, line


# --- 10. Forged or broken ID tokens ------------------------------------------------------------------


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_id_token_ends_the_sign_in_with_exit_5_naming_the_check_and_stores_nothing(
    terminal, fresh_hostile, tmp_path, forgery
):
    fresh_hostile.forge_id_token(forgery)
    browser = write_program(tmp_path, "following-browser", FOLLOWING_BROWSER)

    login = terminal.run("auth", "login", env={**service_env(fresh_hostile.issuer, "authorization_code"),
                                               "BROWSER": browser}, timeout=30)

    assert fresh_hostile.count("token") == 1, login.stderr
    assert login.returncode == 5, login.stderr
    assert "Traceback" not in login.stderr
    assert f"the ID token failed the {FORGERIES[forgery]} check" in login.stderr
    assert session_files(terminal) == []


def test_the_hostile_provider_signs_in_when_nothing_is_broken(terminal, fresh_hostile, tmp_path):
    """The control for the two tests above: every failure there comes from the one broken thing."""
    browser = write_program(tmp_path, "following-browser", FOLLOWING_BROWSER)
    for grant in ("device_code", "authorization_code"):
        login = terminal.run("auth", "login", env={**service_env(fresh_hostile.issuer, grant), "BROWSER": browser})
        assert login.returncode == 0, login.stderr
        assert "Signed in to demo as Hostile Test User" in login.stdout
    assert fresh_hostile.count("userinfo") == 2


# --- Secrets never leak ------------------------------------------------------------------------------


def introspect(op, token: str) -> bool:
    """RFC 7662, as the provider's confidential client: is this a live token the provider issued?"""
    request = urllib.request.Request(
        op.url("/token/introspection"),
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(
            f"{CONFIDENTIAL_CLIENT_ID}:{CONFIDENTIAL_CLIENT_SECRET}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["active"]


def stored_tokens(terminal) -> dict[str, str]:
    [path] = [p for p in session_files(terminal) if p.suffix == ".json"]
    tokens = json.loads(path.read_text())["session"]["tokens"]
    return {name: tokens[name] for name in ("access_token", "refresh_token", "id_token") if tokens.get(name)}


def fragments(name: str, token: str) -> list[str]:
    """The token and pieces of it that would still be a leak: its ends, and a JWT's payload and signature."""
    pieces = [token, token[:16], token[-16:]]
    if name == "id_token":
        pieces += token.split(".")[1:]
    return [p for p in pieces if len(p) >= 16]


@pytest.mark.parametrize("flag", ["", "--verbose", "--debug"])
def test_no_token_or_client_secret_appears_in_any_output_or_file_but_the_token_store(terminal, op, flag):
    terminal.configure(op.issuer)
    # Every `auth token` refreshes, so refresh requests (and their forms) are traced too.
    assert terminal.run("config", "set", "auth.refreshMarginSeconds=86400").returncode == 0
    flags = [flag] if flag else []
    outputs: list[tuple[tuple[str, ...], str, str]] = []
    secrets: dict[str, set[str]] = {"access_token": set(), "refresh_token": set(), "id_token": set()}
    outside_files: dict[str, bytes] = {}

    def run(*args: str) -> subprocess.CompletedProcess:
        result = terminal.run(*args, *flags)
        outputs.append((args, result.stdout, result.stderr))
        assert result.returncode in (0, 3), (args, result.stderr)
        return result

    def remember() -> None:
        for name, value in stored_tokens(terminal).items():
            secrets[name].add(value)
        store = session_files(terminal)
        for path in terminal.files_under_home():
            if path not in store:
                outside_files[f"{path} after {len(outputs)} commands"] = path.read_bytes()

    run("auth", "login")
    remember()
    run("auth", "status")
    run("auth", "status", "--output", "json")
    printed = run("auth", "token").stdout.strip()
    assert introspect(op, printed), "the access token pingcli printed is not one the provider issued"
    remember()
    run("auth", "token", "--output", "json")
    remember()

    device = terminal.start("auth", "login", "--device-code", *flags)
    shown, uri, user_code = terminal.device_prompt(device)
    assert Person(DEMO.username, DEMO.password).enter_device_code(uri, user_code)
    out, err = device.communicate(timeout=30)
    assert device.returncode == 0, err
    outputs.append((("auth", "login", "--device-code"), out, shown + err))
    remember()
    assert introspect(op, stored_tokens(terminal)["refresh_token"])

    run("auth", "token")
    remember()
    run("config", "get", "service.demo.issuer")
    run("config", "list-keys")
    run("config", "profiles", "show")
    run("auth", "logout")
    assert session_files(terminal) == []
    outside_files.update({f"{p} at the end": p.read_bytes() for p in terminal.files_under_home()})

    assert all(secrets.values()), secrets
    traced = "".join(stderr for _, _, stderr in outputs)
    if flag:  # the trace of each request to the provider really was there to leak from
        assert "form: grant_type=refresh_token&refresh_token=[redacted]" in traced
        assert "form: grant_type=authorization_code&code=[redacted]" in traced
    everything = [(name, piece) for name, values in secrets.items() for token in values
                  for piece in fragments(name, token)]
    everything.append(("client secret", CONFIDENTIAL_CLIENT_SECRET))  # pingcli has no client secret to leak
    for args, stdout, stderr in outputs:
        for name, piece in everything:
            assert piece not in stderr, f"{name} on the stderr of {args}"
            if args[:2] == ("auth", "token") and name == "access_token":
                continue  # its whole point
            assert piece not in stdout, f"{name} on the stdout of {args}"
    for where, data in outside_files.items():
        for name, piece in everything:
            assert piece.encode() not in data, f"{name} in {where}"
