"""`make demo`: sign in to the bundled local OpenID Provider with pingcli, then show who you are.

Everything happens in a temporary directory: a config file and token store of the demo's own, never
yours. The provider stops when the demo ends.
"""

from __future__ import annotations

import argparse
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
        env = dict(os.environ)
        env.update(PINGCLI_CONFIG=str(Path(work) / "config.toml"), PINGCLI_DATA_DIR=str(Path(work) / "data"),
                   PINGCLI_CACHE_DIR=str(Path(work) / "cache"))
        env.pop("PINGCLI_PROFILE", None)
        print(f"Local OpenID Provider running at {provider.issuer}")
        print(f"Sign in as   user: {DEMO.username}   password: {DEMO.password}")
        print(f"(or with MFA: user {MFA.username}, password {MFA.password}, one-time code {MFA.otp})")
        print(f"Demo configuration: {env['PINGCLI_CONFIG']}\n", flush=True)
        service = "service.demo"
        for assignment in (
            f"{service}.issuer={provider.issuer}",
            f"{service}.authentication.type={grant}",
            f"{service}.authentication.authorizationCode.clientID=cli-public",
            f"{service}.authentication.authorizationCode.redirectURIPort=0",
            f"{service}.authentication.deviceCode.clientID=cli-public",
            "auth.storage.type=file_system",
        ):
            run(env, "config", "set", assignment)
        print()
        if args.autopilot and grant == "authorization_code":
            env["BROWSER"] = str(HERE.parent / "support" / "scripted_browser.py")
            env.setdefault("PINGCLI_TEST_USER", DEMO.username)
            env.setdefault("PINGCLI_TEST_PASSWORD", DEMO.password)
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
