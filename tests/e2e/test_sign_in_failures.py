"""The ways a sign-in goes wrong, seen from the terminal: a clear message, an exit code, nothing stored."""

from __future__ import annotations

import re
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen
from urllib.error import HTTPError

from tests.support.person import Person
from tests.support.op import DEMO


def stored_sessions(terminal) -> list[Path]:
    return [p for p in terminal.files_under_home() if "sessions" in p.parts]


def write_browser(tmp_path: Path, body: str) -> str:
    """A BROWSER program of the test's own: python code run with the URL in `url`, detached, exit 0 at once."""
    script = tmp_path / "browser.py"
    script.write_text(
        "import os, sys, subprocess\n"
        "if len(sys.argv) == 2:\n"
        "    subprocess.Popen([sys.executable, __file__, sys.argv[1], 'worker'], start_new_session=True,\n"
        "                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "    sys.exit(0)\n"
        "url = sys.argv[1]\n" + body
    )
    launcher = tmp_path / "browser"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {script} \"$@\"\n")
    launcher.chmod(0o755)
    return str(launcher)


def test_a_taken_port_fails_at_once_naming_the_port_and_the_setting(terminal, op):
    terminal.configure(op.issuer)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        terminal.run("config", "set", f"service.demo.authentication.authorizationCode.redirectURIPort={port}")
        op.clear_requests()
        started = time.monotonic()
        login = terminal.run("auth", "login")
        elapsed = time.monotonic() - started

    assert login.returncode == 5
    assert elapsed < 2.0
    assert str(port) in login.stderr and "redirectURIPort" in login.stderr
    assert terminal.browser_events() == []
    assert op.count("/auth") == 0 and stored_sessions(terminal) == []


def test_a_callback_with_a_wrong_state_is_refused_and_its_code_never_exchanged(terminal, op, tmp_path):
    browser = write_browser(tmp_path, (
        "from urllib.parse import urlsplit, parse_qs\n"
        "from urllib.request import urlopen\n"
        "from urllib.error import HTTPError\n"
        "q = parse_qs(urlsplit(url).query)\n"
        "redirect = q['redirect_uri'][0]\n"
        "try:\n"
        "    urlopen(redirect + '?code=stolen&state=not-the-state', timeout=5)\n"
        "    status = 200\n"
        "except HTTPError as e:\n"
        f"    status = e.code\n"
        f"open({str(tmp_path / 'status')!r}, 'w').write(str(status))\n"
    ))
    terminal.configure(op.issuer)
    op.clear_requests()

    login = terminal.run("auth", "login", "--timeout", "3", env={"BROWSER": browser})

    assert (tmp_path / "status").read_text() == "400"
    assert login.returncode == 5
    assert "no sign-in callback arrived within 3 s" in login.stderr
    assert op.count("/token") == 0 and stored_sessions(terminal) == []


def test_an_access_denied_redirect_is_shown_on_one_line_and_escaped_in_the_page(terminal, op, tmp_path):
    browser = write_browser(tmp_path, (
        "from urllib.parse import urlsplit, parse_qs, quote\n"
        "from urllib.request import urlopen\n"
        "from urllib.error import HTTPError\n"
        "q = parse_qs(urlsplit(url).query)\n"
        "target = (q['redirect_uri'][0] + '?error=access_denied&error_description='\n"
        "          + 'User%20cancelled%20%3Cb%3E%C3%A9%3C%2Fb%3E%0A&state=' + quote(q['state'][0])\n"
        "          + '&iss=' + quote(url.split('/auth?')[0], safe=''))\n"
        "try:\n"
        "    body = urlopen(target, timeout=5).read()\n"
        "except HTTPError as e:\n"
        "    body = e.read()\n"
        f"open({str(tmp_path / 'page')!r}, 'wb').write(body)\n"
    ))
    terminal.configure(op.issuer)
    op.clear_requests()

    login = terminal.run("auth", "login", env={"BROWSER": browser})

    assert login.returncode == 5
    # One line, the provider's words as text: the trailing newline (%0A) gone, the markup shown as typed.
    [line] = [l for l in login.stderr.splitlines() if "access_denied" in l]
    assert line == "pingcli: demo: the provider refused the sign-in: access_denied: User cancelled <b>é</b>"
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", login.stderr)
    assert "Traceback" not in login.stderr
    page = (tmp_path / "page").read_text()
    assert "Sign-in failed: access_denied: User cancelled &lt;b&gt;é&lt;/b&gt;" in page
    assert "<b>" not in page
    assert op.count("/token") == 0 and stored_sessions(terminal) == []


def test_denying_at_the_provider_ends_the_sign_in(terminal, op):
    terminal.configure(op.issuer)
    login = terminal.run("auth", "login", env={"PINGCLI_TEST_BROWSER_ACTION": "deny"})
    assert login.returncode == 5
    assert "access_denied" in login.stderr and "Traceback" not in login.stderr


def test_when_the_browser_cannot_open_the_url_is_printed_and_fetching_it_still_signs_in(terminal, op):
    terminal.configure(op.issuer)
    process = terminal.start("auth", "login", env={"BROWSER": "/bin/false"})
    lines = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if line.startswith("Waiting"):
            break
    url = next(l for l in lines if l.startswith("  http")).strip()

    Person(DEMO.username, DEMO.password).authorize(url)
    out, err = process.communicate(timeout=30)

    text = "".join(lines) + err
    assert process.returncode == 0, text
    assert "your browser has been opened" not in text
    assert "--device-code" in text
    assert "Signed in to demo as Demo User" in out


def test_no_browser_prints_the_address_without_trying(terminal, op):
    terminal.configure(op.issuer)
    login = terminal.run("auth", "login", "--no-browser", "--timeout", "1")
    assert login.returncode == 5
    assert "(--no-browser)" in login.stderr and terminal.browser_events() == []


def test_ctrl_c_ends_the_sign_in_at_once_with_130_and_frees_the_port(terminal, op):
    terminal.configure(op.issuer)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    terminal.run("config", "set", f"service.demo.authentication.authorizationCode.redirectURIPort={port}")
    process = terminal.start("auth", "login", env={"BROWSER": "/bin/true"})
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("Waiting"):
            break

    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = process.communicate(timeout=10)

    assert time.monotonic() - started < 1.0
    assert process.returncode == 130
    assert "Traceback" not in err and "cancelled" in err
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
    assert stored_sessions(terminal) == []


def test_an_unknown_service_and_a_bad_value_are_usage_errors_with_a_way_out(terminal, op):
    terminal.configure(op.issuer)
    unknown = terminal.run("auth", "login", "--service", "nope")
    assert unknown.returncode == 2
    assert "no service 'nope'" in unknown.stderr and "pingcli config set" in unknown.stderr
    bad = terminal.run("config", "set", "service.demo.authentication.authorizationCode.redirectURIPort=70000")
    assert bad.returncode == 2 and "0 to 65535" in bad.stderr
    bad_type = terminal.run("config", "set", "auth.storage.type=plaintext")
    assert bad_type.returncode == 2 and "secure_local, file_system, none" in bad_type.stderr
