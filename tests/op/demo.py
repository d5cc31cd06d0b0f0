"""`make demo`: sign in to the bundled local OpenID Provider with pingcli, then show who you are.

Everything happens in a temporary directory: a config file and token store of the demo's own, never
yours. The provider stops when the demo ends.

The demo's pingcli cannot reach what is yours: its configuration file is written whole before the first command
(so no `config set auth.storage.type` moves anything out of your default store), the store is the demo's own
files, and the keyring is switched off for it (no session bus, keyring's null backend); your own PINGCLI_*
variables are not passed on. A browser it opens gets your session bus back: browsers need it, pingcli does not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.support.op import DEMO, MFA, LocalProvider  # noqa: E402
from tests.support.person import Person  # noqa: E402

PINGCLI = str(Path(sys.executable).with_name("pingcli"))
TEXT_BROWSERS = {"lynx", "w3m", "links", "elinks", "www-browser"}


def browser_available() -> bool:
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        return webbrowser.get().name not in TEXT_BROWSERS
    except webbrowser.Error:
        return False


def demo_config(issuer: str, grant: str) -> str:
    """The demo's configuration file, as `pingcli config set` would write it (see README, "Using it")."""
    return (
        "# Written by `make demo`: a configuration of its own, in a directory deleted when the demo ends.\n"
        "[profiles.default.auth.storage]\n"
        'type = "file_system"\n\n'
        "[profiles.default.service.demo]\n"
        f"issuer = {json.dumps(issuer)}\n\n"
        "[profiles.default.service.demo.authentication]\n"
        f"type = {json.dumps(grant)}\n\n"
        "[profiles.default.service.demo.authentication.authorizationCode]\n"
        'clientID = "cli-public"\n'
        "redirectURIPort = 0\n\n"
        "[profiles.default.service.demo.authentication.deviceCode]\n"
        'clientID = "cli-public"\n'
    )


def sealed_env(work: Path) -> dict[str, str]:
    """This environment, minus every way to the person's own configuration, sessions and keyring."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PINGCLI_") or name.startswith("PINGCLI_TEST_")}
    env.update(
        PINGCLI_CONFIG=str(work / "config.toml"),
        PINGCLI_DATA_DIR=str(work / "data"),
        PINGCLI_CACHE_DIR=str(work / "cache"),
        # Also what the file says; set here too, so nothing the demo runs could make pingcli move sessions.
        PINGCLI_AUTH_STORAGE_TYPE="file_system",
        # Nothing keyring could reach: no Secret Service (its bus is a socket that does not exist), and the
        # null backend in place of whatever keyring would choose (macOS Keychain, Windows Credential Manager).
        DBUS_SESSION_BUS_ADDRESS=f"unix:path={work / 'no-session-bus'}",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


def browser_with_the_session_bus(work: Path) -> str:
    """A BROWSER for pingcli that opens the person's own browser with the environment it had (a browser uses
    the session bus to find its running window); pingcli itself never gets the bus."""
    script = work / "open-browser.py"
    restore = {name: os.environ.get(name)
               for name in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND", "BROWSER")}
    script.write_text(
        "import os, sys, webbrowser\n"
        f"for name, value in {restore!r}.items():\n"
        "    if value is None:\n"
        "        os.environ.pop(name, None)\n"
        "    else:\n"
        "        os.environ[name] = value\n"
        "sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)\n",
        encoding="utf-8",
    )
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} %s"


def run(env: dict[str, str], *args: str, check: bool = True) -> int:
    print(f"$ pingcli {shlex.join(args)}", flush=True)
    code = subprocess.call([PINGCLI, *args], env=env)
    if check and code != 0:
        raise SystemExit(f"demo: 'pingcli {shlex.join(args)}' exited {code}")
    return code


def device_login_by_autopilot(env: dict[str, str]) -> int:
    """A scripted person reads the code pingcli prints and enters it on the provider's page."""
    print("$ pingcli auth login --device-code   (autopilot: a scripted person will enter the code)", flush=True)
    process = subprocess.Popen([PINGCLI, "auth", "login", "--device-code"], env=env, stderr=subprocess.PIPE,
                               text=True)
    uri = None
    assert process.stderr is not None
    for line in process.stderr:
        sys.stderr.write(line)
        found = re.match(r"^\s+(https?://\S+)$", line)
        if found and uri is None:
            uri = found.group(1)
        code = re.search(r"enter the code\s+(\S+)", line)
        if code and uri:
            person = Person(DEMO.username, DEMO.password)
            threading.Thread(target=person.enter_device_code, args=(uri, code.group(1)), daemon=True).start()
    return process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grant", choices=("authorization_code", "device_code"),
                        help="default: authorization_code when a browser can open here, else device_code")
    parser.add_argument("--autopilot", action="store_true",
                        help="a scripted person signs in (for checking the demo without a person)")
    args = parser.parse_args()
    grant = args.grant or ("authorization_code" if browser_available() or args.autopilot else "device_code")

    with tempfile.TemporaryDirectory(prefix="pingcli-demo-") as work, LocalProvider() as provider:
        env = sealed_env(Path(work))
        # Written before any command runs: a `config set auth.storage.type` would move the person's sessions
        # from their default store (their keyring) into the demo's, where sign-in then revokes them.
        config = Path(env["PINGCLI_CONFIG"])
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(demo_config(provider.issuer, grant))
        print(f"Local OpenID Provider running at {provider.issuer}")
        print(f"Sign in as   user: {DEMO.username}   password: {DEMO.password}")
        print(f"(or with MFA: user {MFA.username}, password {MFA.password}, one-time code {MFA.otp})")
        print(f"Demo configuration: {config}\n", flush=True)
        run(env, "config", "profiles", "show")
        print()
        if args.autopilot and grant == "authorization_code":
            env["BROWSER"] = str(HERE.parent / "support" / "scripted_browser.py")
            env.setdefault("PINGCLI_TEST_USER", DEMO.username)
            env.setdefault("PINGCLI_TEST_PASSWORD", DEMO.password)
        elif grant == "authorization_code":
            env["BROWSER"] = browser_with_the_session_bus(Path(work))
        if args.autopilot and grant == "device_code":
            code = device_login_by_autopilot(env)
        else:
            code = run(env, "auth", "login", check=False)
        print()
        run(env, "auth", "status", check=False)
        print("\nThe demo is over: its provider stops and its temporary configuration is deleted.")
        return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
