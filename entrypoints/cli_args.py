"""The argparse parser for pingcli. Standard library only: the man page is built from it and --help stays fast."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

EXIT_CODES = """\
exit codes:
  0    success (auth status: every service signed in)
  1    unexpected failure (run with --debug and report it)
  2    bad usage or bad configuration
  3    not signed in
  4    session expired: sign in again
  5    sign-in failed (refused, timed out, callback port taken, invalid ID token, MFA missing)
  6    provider unreachable or its answer unusable
  7    token storage unavailable
  130  cancelled (Ctrl-C)
"""


def _seconds(text: str) -> float:
    """A positive, finite number of seconds: nan or inf would reach the wait loop and its messages as a crash."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _given(what: str) -> Callable[[str], str]:
    """A value that must not be empty: `--config ""` would otherwise quietly mean the default file."""

    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"expected {what}, got an empty value")
        return text

    return check


class _Version(argparse.Action):
    """--version: read from the installed package's metadata when asked, so --help stays as fast as ever."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, json_output: bool = False,
                 **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print pingcli's version and exit")
        self.json_output = json_output  # --output json anywhere on the line, even after --version

    def __call__(self, parser: argparse.ArgumentParser, namespace: object, values: object,
                 option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("pingcli")
        except PackageNotFoundError:
            found = "unknown (not installed as a package)"
        if self.json_output or getattr(namespace, "output", None) == "json":
            import json

            sys.stdout.write(json.dumps({"version": found}, indent=2) + "\n")
        else:
            sys.stdout.write(f"pingcli {found}\n")
        parser.exit()


def _globals(suppress: bool) -> argparse.ArgumentParser:
    """Global options, accepted before or after the command (defaults only at the top level)."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("global options")
    group.add_argument("--profile", metavar="NAME", default=default, type=_given("a profile name"),
                       help="the profile to use (also PINGCLI_PROFILE; default: the active profile)")
    group.add_argument("--config", metavar="PATH", default=default, type=_given("a file path"),
                       help="the configuration file (also PINGCLI_CONFIG)")
    group.add_argument("--output", choices=("text", "json"), default=argparse.SUPPRESS if suppress else "text",
                       help="output format (default: text)")
    group.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS if suppress else False,
                       help="show each request to the provider (secrets redacted)")
    group.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
                       help="show a traceback on unexpected errors")
    return parent


def build_parser(json_version: bool = False) -> argparse.ArgumentParser:
    """`json_version`: --version prints {"version": ...} (the caller saw --output json on the command line)."""
    common = _globals(suppress=True)
    parser = argparse.ArgumentParser(
        prog="pingcli",
        description="Sign in to the OAuth 2.0 / OpenID Connect services of a profile, and stay signed in.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_globals(suppress=False)],
    )
    parser.add_argument("--version", action=_Version, json_output=json_version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    auth = commands.add_parser("auth", help="sign in, see who you are, sign out", parents=[common])
    auth_commands = auth.add_subparsers(dest="action", metavar="ACTION", required=True)

    login = auth_commands.add_parser(
        "login", parents=[common], epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
        help="sign in to every service of the profile, in turn",
        description="Sign in to each configured service of the active profile with the grant it names: "
        "authorization_code opens a browser, device_code shows a code to enter on any device.",
    )
    login.add_argument("--service", metavar="NAME", action="append", default=[],
                       help="sign in to this service only (repeatable)")
    grant = login.add_mutually_exclusive_group()
    grant.add_argument("--device-code", dest="grant", action="store_const", const="device_code",
                       help="use the device code grant (no browser needed on this machine)")
    grant.add_argument("--authorization-code", dest="grant", action="store_const", const="authorization_code",
                       help="use the authorization code grant (a browser on this machine)")
    login.add_argument("--no-browser", action="store_true",
                       help="print the sign-in address instead of opening a browser")
    login.add_argument("--timeout", type=_seconds, default=300.0, metavar="SECONDS",
                       help="how long to wait for the sign-in to finish (default: 300)")

    status = auth_commands.add_parser(
        "status", parents=[common], help="who you are signed in as, per service (never signs in)",
        description="Show, per service of the profile, whether you are signed in and as whom. "
        "Exits 0 only when every service is signed in; 4 when the others' sessions expired, else 3.",
    )
    status.add_argument("--service", metavar="NAME", action="append", default=[], help="this service only")

    logout = auth_commands.add_parser(
        "logout", parents=[common], help="revoke and remove the stored tokens",
        description="Revoke the tokens at the provider (RFC 7009) and remove them from the store.",
    )
    which = logout.add_mutually_exclusive_group()
    which.add_argument("--service", metavar="NAME", action="append", default=[], help="this service only")
    which.add_argument("--all", action="store_true", help="every service of every profile")

    token = auth_commands.add_parser(
        "token", parents=[common], help="print a valid access token (refreshed when about to expire)",
        description="Print a valid access token for a service, and nothing else, on stdout: "
        'curl -H "Authorization: Bearer $(pingcli auth token)". It is refreshed first when it expires within '
        "auth.refreshMarginSeconds. With auth.storage.type=none it signs in first.",
    )
    token.add_argument("--service", metavar="NAME", action="append", default=[],
                       help="the service (needed when the profile has several)")
    token.add_argument("--refresh", action="store_true",
                       help="the last token was refused (HTTP 401): get a new one from the provider whatever its "
                       "expiry says, unless another pingcli got a new one in the last 10 s (that one is printed, so "
                       "many callers at once cause one refresh)")

    config = commands.add_parser("config", help="read and change settings and profiles", parents=[common])
    config_commands = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    setter = config_commands.add_parser(
        "set", parents=[common], help="set KEY=VALUE in the active profile",
        description="Set KEY=VALUE in the active profile. A clientSecret goes to the token store (auth.storage.type), "
        "never to the file; give only the KEY to read it from standard input, out of your shell history. "
        "Changing auth.storage.type moves the profile's sessions and client secrets to the new store.",
    )
    setter.add_argument("assignment", metavar="KEY=VALUE")
    # Taken only to be refused by name, all of them: argparse would name all but one.
    setter.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    getter = config_commands.add_parser(
        "get", parents=[common], help="the effective value of KEY (stdout) and its source (stderr)",
        description="Print the effective value of KEY on standard output and where it comes from (environment, "
        "profile, default) on standard error; with --output json both, as one object. A key with no value (not "
        "set and no default, or a service the profile does not have) prints nothing and exits 2.",
    )
    getter.add_argument("key", metavar="KEY")
    getter.add_argument("--unmask", action="store_true", help="print a client secret instead of ********")
    unsetter = config_commands.add_parser("unset", parents=[common], help="remove KEY from the active profile")
    unsetter.add_argument("key", metavar="KEY")
    config_commands.add_parser("list-keys", parents=[common], help="every key, its default and what it does")

    profiles = config_commands.add_parser("profiles", parents=[common], help="manage profiles")
    profile_commands = profiles.add_subparsers(dest="profile_action", metavar="ACTION", required=True)
    for name, text in (("create", "create a profile"), ("delete", "delete a profile"), ("use", "make a profile active")):
        sub = profile_commands.add_parser(name, parents=[common], help=text)
        sub.add_argument("name", metavar="NAME")
    profile_commands.add_parser("list", parents=[common], help="list profiles, marking the active one")
    show = profile_commands.add_parser("show", parents=[common], help="the settings stored in a profile")
    show.add_argument("name", metavar="NAME", nargs="?")
    show.add_argument("--unmask", action="store_true", help="print client secrets instead of ********")
    return parser
