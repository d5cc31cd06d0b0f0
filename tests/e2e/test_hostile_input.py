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

from pingcli.adapters.provider_cache import ProviderCache
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


@pytest.mark.parametrize(
    "machine", ["no_display_and_no_browser_on_path", "launcher_exits_with_an_error", "ssh_with_only_a_text_browser"]
)
def test_without_a_usable_browser_the_address_is_printed_and_fetching_it_by_hand_signs_in(
    terminal, op, tmp_path, machine
):
    terminal.configure(op.issuer)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {k: v for k, v in terminal.env.items() if k not in {"BROWSER", "DISPLAY", "WAYLAND_DISPLAY"}}
    env["PATH"] = str(bin_dir)
    ran = tmp_path / "text-browser-ran"
    if machine == "launcher_exits_with_an_error":
        env["DISPLAY"] = ":0"  # a desktop session, whose launcher fails
        write_program(bin_dir, "xdg-open", "import sys\nsys.exit(3)\n")
    elif machine == "ssh_with_only_a_text_browser":
        # Over SSH Python's webbrowser offers the console browsers it finds; one would take over the terminal.
        env["SSH_CONNECTION"] = "192.0.2.1 50000 192.0.2.2 22"
        write_program(bin_dir, "lynx", f"open({str(ran)!r}, 'w').close()\n")
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
    assert not ran.exists(), "a text-mode browser was started in pingcli's terminal"


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
            process = terminal.start("auth", "login", "--timeout", "3", env=env)
            shown = read_until(process.stderr, "Waiting up to 3 s")
            waiting_from = time.monotonic()
            _, rest = process.communicate(timeout=30)
            ended = time.monotonic()
            code, err = process.returncode, shown + rest
            # From the "Waiting" line to the exit: the 3 s pingcli waits, and no more than a little beyond.
            assert 2.9 <= ended - waiting_from < 3.5, ended - waiting_from
            assert ended - started < 5.0, ended - started  # the whole command, Python's start included
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
    assert lock_files(terminal) == []
    assert not cached(terminal, fresh_hostile, endpoint), "the garbage was kept for the next run"
    assert elapsed < float(HTTP_TIMEOUT) + 5  # even a provider that hangs is given up on


def cached(terminal, provider: HostileProvider, endpoint: str) -> bool:
    """Whether pingcli's provider cache (discovery and JWKS documents) holds an entry for the endpoint's URL."""
    url = provider.issuer + ENDPOINTS[endpoint][1]
    return ProviderCache(terminal.home / ".cache" / "pingcli").path_of(url).exists()


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_from_the_revocation_endpoint_still_signs_out_here(terminal, fresh_hostile, kind):
    env = service_env(fresh_hostile.issuer, "device_code")
    assert terminal.run("auth", "login", env=env).returncode == 0
    assert session_files(terminal)
    fresh_hostile.break_endpoint("revocation", kind)

    started = time.monotonic()
    logout = terminal.run("auth", "logout", env=env, timeout=30)
    elapsed = time.monotonic() - started

    assert logout.returncode == 0, logout.stderr
    assert "Traceback" not in logout.stderr and "unexpected error" not in logout.stderr
    assert session_files(terminal) == [] and lock_files(terminal) == []
    assert terminal.run("auth", "status", env=env).returncode == 3
    if kind in {"hang", "connection_reset"}:
        # A provider that cannot be reached is not asked twice: one network timeout, not one per token.
        assert fresh_hostile.count("revocation") == 1
        assert elapsed < float(HTTP_TIMEOUT) + 5
    else:
        # An answer, however bad, still lets the access token be tried: refresh token, then access token (§2.1).
        assert fresh_hostile.count("revocation") == 2
        assert elapsed < 2 * float(HTTP_TIMEOUT) + 5
    if kind in {"html", "truncated_json", "empty_body", "json_array"}:
        # HTTP 200: RFC 7009 §2.2, the client ignores the body; the revocation worked.
        assert logout.stdout == "demo: signed out (tokens revoked at the provider and removed here)\n"
        assert logout.stderr == ""
    else:
        # What happened on stdout; why, once, where warnings go, saying the tokens stay valid at the provider.
        assert logout.stdout == "demo: signed out here (removed locally), but not revoked at the provider\n"
        [warning] = logout.stderr.splitlines()
        assert warning.startswith("pingcli: warning: demo: revocation at the provider failed: ")
        assert "revocation endpoint" in warning and GARBAGE[kind] in warning, warning
        assert warning.endswith("the tokens were removed here and stay valid there until they expire")


def backdate(terminal, seconds: float) -> None:
    """Make the stored tokens look received `seconds` earlier (the tokens themselves stay as issued)."""
    [path] = [p for p in session_files(terminal) if p.suffix == ".json"]
    stored = json.loads(path.read_text())
    stored["session"]["tokens"]["received_at"] -= seconds
    path.write_text(json.dumps(stored))


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_from_the_token_endpoint_on_refresh_is_one_clear_line_exit_6_and_the_session_is_kept(
    terminal, fresh_hostile, kind
):
    env = service_env(fresh_hostile.issuer, "device_code")
    assert terminal.run("auth", "login", env=env).returncode == 0
    backdate(terminal, 60)  # older than the "refreshed just now by another pingcli" window of --refresh
    before = snapshot(session_files(terminal))
    token_requests = fresh_hostile.count("token")
    fresh_hostile.break_endpoint("token", kind)

    started = time.monotonic()
    refresh = terminal.run("auth", "token", "--refresh", env=env, timeout=30)
    elapsed = time.monotonic() - started

    assert fresh_hostile.count("token") == token_requests + 1  # one refresh request, never replayed
    assert refresh.returncode == 6, refresh.stderr
    assert "Traceback" not in refresh.stderr and "unexpected error" not in refresh.stderr
    [line] = [line for line in refresh.stderr.splitlines() if "token endpoint" in line]
    assert line.startswith("pingcli: ") and GARBAGE[kind] in line, line
    assert refresh.stdout == ""  # no token printed: the caller's $(pingcli auth token) gets nothing
    assert snapshot(session_files(terminal)) == before  # nothing stored over the session
    assert lock_files(terminal) == []
    assert elapsed < float(HTTP_TIMEOUT) + 5


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


AC_SECRET = "service.demo.authentication.authorizationCode.clientSecret"
DC_SECRET = "service.demo.authentication.deviceCode.clientSecret"
WRONG_SECRET = "wrong-secret-7f3a9c1e5b2d"  # set before the last logout, so that its revocation fails


@pytest.mark.parametrize("flag", ["", "--verbose", "--debug"])
def test_no_token_or_client_secret_appears_in_any_output_or_file_but_the_token_store(terminal, op, flag):
    """Every command, as a confidential client (so there is a client secret to leak), against the real provider."""
    terminal.configure(op.issuer)
    tmp = terminal.home / "tmp"  # anything pingcli writes to a temporary file lands where it is checked
    tmp.mkdir()
    terminal.env["TMPDIR"] = str(tmp)
    flags = [flag] if flag else []
    outputs: list[tuple[tuple[str, ...], str, str]] = []
    secrets: dict[str, set[str]] = {"access_token": set(), "refresh_token": set(), "id_token": set()}
    outside_files: dict[str, bytes] = {}

    def run(*args: str, stdin: str | None = None, expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        result = subprocess.run([str(PINGCLI), *args, *flags], env=terminal.env, capture_output=True, text=True,
                                timeout=60, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
        outputs.append((args, result.stdout, result.stderr))
        assert result.returncode in expect, (args, result.returncode, result.stderr)
        return result

    def remember() -> None:
        for name, value in stored_tokens(terminal).items():
            secrets[name].add(value)
        store = session_files(terminal)
        for path in terminal.files_under_home():
            if path not in store:
                outside_files[f"{path} after {len(outputs)} commands"] = path.read_bytes()

    def refreshes() -> int:
        return op.count("/token", grant_type="refresh_token")

    # Configuration, the client secret read from standard input, and every profile command.
    for grant in ("authorizationCode", "deviceCode"):
        run("config", "set", f"service.demo.authentication.{grant}.clientID={CONFIDENTIAL_CLIENT_ID}")
    run("config", "set", "auth.refreshMarginSeconds=86400")  # the most refreshing it allows: half of each lifetime
    run("config", "set", AC_SECRET, stdin=CONFIDENTIAL_CLIENT_SECRET + "\n")
    run("config", "set", DC_SECRET, stdin=CONFIDENTIAL_CLIENT_SECRET + "\n")
    run("config", "get", AC_SECRET)
    run("config", "get", DC_SECRET, "--output", "json")
    run("config", "profiles", "show")
    run("config", "profiles", "show", "--output", "json")
    run("config", "profiles", "create", "spare")
    run("config", "profiles", "use", "spare")
    run("config", "profiles", "list")
    run("config", "profiles", "use", "default")
    run("config", "profiles", "delete", "spare")

    # Signed in with the browser: status, tokens, and a refresh for a token the caller saw refused.
    run("auth", "login")
    remember()
    run("auth", "status")
    run("auth", "status", "--output", "json")
    printed = run("auth", "token").stdout.strip()
    assert introspect(op, printed), "the access token pingcli printed is not one the provider issued"
    remember()
    run("auth", "token", "--output", "json")
    remember()
    for output in ("text", "json"):
        before = refreshes()
        backdate(terminal, 60)  # not "just refreshed by another pingcli": --refresh really asks the provider
        run("auth", "token", "--refresh", "--output", output)
        assert refreshes() == before + 1
        remember()

    # Signed in again with a device code.
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
    run("config", "set", "auth.storage.type=secure_local", expect=(7,))  # no keyring here: nothing moves

    # A logout whose revocation fails (the provider refuses a wrong client secret): removed here, warned.
    kept = stored_tokens(terminal)
    run("config", "set", AC_SECRET, stdin=WRONG_SECRET + "\n")
    run("config", "set", DC_SECRET, stdin=WRONG_SECRET + "\n")
    failed = run("auth", "logout")
    assert "signed out here (removed locally), but not revoked at the provider" in failed.stdout
    assert "pingcli: warning: demo: revocation at the provider failed" in failed.stderr
    assert "the revocation endpoint refused the request: invalid_client" in failed.stderr
    assert "sign-in" not in failed.stderr
    assert introspect(op, kept["refresh_token"]), "the revocation was meant to fail"
    assert session_files(terminal) and not [p for p in session_files(terminal) if p.suffix == ".json"]
    run("auth", "logout")
    run("auth", "logout", "--all")
    run("auth", "status", expect=(3,))
    run("auth", "token", expect=(3,))
    run("config", "unset", AC_SECRET)
    run("config", "unset", DC_SECRET)
    outside_files.update({f"{p} at the end": p.read_bytes() for p in terminal.files_under_home()})

    assert all(secrets.values()), secrets
    traced = "".join(stderr for _, _, stderr in outputs)
    if flag:  # the trace of each request to the provider really was there to leak from
        assert "form: grant_type=refresh_token&refresh_token=[redacted]" in traced
        assert "form: grant_type=authorization_code&code=[redacted]" in traced
        assert "form: token=[redacted]&token_type_hint=refresh_token" in traced
    everything = [(name, piece) for name, values in secrets.items() for token in values
                  for piece in fragments(name, token)]
    for secret in (CONFIDENTIAL_CLIENT_SECRET, WRONG_SECRET):
        basic = base64.b64encode(f"{CONFIDENTIAL_CLIENT_ID}:{secret}".encode()).decode()
        everything += [("client secret", secret), ("client secret in HTTP Basic", basic)]
    for args, stdout, stderr in outputs:
        for name, piece in everything:
            assert piece not in stderr, f"{name} on the stderr of {args}"
            if args[:2] == ("auth", "token") and name == "access_token":
                continue  # its whole point
            assert piece not in stdout, f"{name} on the stdout of {args}"
    for where, data in outside_files.items():
        for name, piece in everything:
            assert piece.encode() not in data, f"{name} in {where}"


# --- The listener is reachable on loopback only ----------------------------------------------------------


def listening_sockets(port: int) -> list[tuple[str, str]]:
    """(table, address) of every socket in LISTEN state on `port`, from the kernel's own tables."""
    found = []
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: TCP_LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host byte order.
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)) if sys.byteorder == "little" else raw
            family = socket.AF_INET if table == "tcp" else socket.AF_INET6
            found.append((table, socket.inet_ntop(family, words)))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket tables")
def test_the_installed_command_listens_for_the_callback_on_127_0_0_1_and_nowhere_else(terminal, op):
    terminal.configure(op.issuer)
    process = terminal.start("auth", "login", "--no-browser")
    try:
        shown = read_until(process.stderr, "Waiting")
        url = next(line for line in shown.splitlines() if line.startswith("  http")).strip()
        redirect = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["redirect_uri"][0]
        port = urllib.parse.urlsplit(redirect).port

        assert redirect == f"http://127.0.0.1:{port}/callback"
        assert listening_sockets(port) == [("tcp", "127.0.0.1")]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 130
    assert listening_sockets(port) == []
