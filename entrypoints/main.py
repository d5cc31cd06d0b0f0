"""`main(argv, env, stdout, stderr) -> int`: parse, build the container, run one use case, map errors."""

from __future__ import annotations

import os
import sys

# The C module, not `signal`: that one builds its enums on import, a millisecond in which Ctrl-C would still
# print a traceback.
import _signal

_JSON_CANCELLED = b'{\n  "error": {\n    "message": "cancelled",\n    "hint": null,\n    "exit_code": 130\n  }\n}\n'


def _cancelled_early(signum: int, frame: object) -> None:
    """Ctrl-C before main() answers it itself (Python still importing): one line and 130, never a traceback.

    Nothing has been started that could be left half done, so the process simply ends here. `--output json` (or
    an abbreviation argparse takes) still gets its one document, told from argv here: nothing else is imported yet.
    """
    argv = sys.argv[1:]
    for index, word in enumerate(argv):
        name, sep, value = word.partition("=")
        if len(name) >= 3 and "--output".startswith(name) and (
            value if sep else (argv[index + 1] if index + 1 < len(argv) else "")
        ) == "json":
            os.write(1, _JSON_CANCELLED)
            break
    os.write(2, b"pingcli: cancelled\n")
    os._exit(130)


# First, before the imports below: in the console script only (a program that merely imports this module keeps
# its own Ctrl-C), and only in place of Python's default. main() gives KeyboardInterrupt back once it can answer it.
if os.path.basename(sys.argv[0] if sys.argv else "").lower().startswith("pingcli") and (
    _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
):
    _signal.signal(_signal.SIGINT, _cancelled_early)

import contextlib  # noqa: E402
import io  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TextIO  # noqa: E402

import attrs  # noqa: E402

from .cli_args import build_parser  # noqa: E402


def _paths(env: Mapping[str, str], config_flag: str | None) -> tuple[Path, Path, Path]:
    import platformdirs

    if config_flag:
        config = Path(config_flag).expanduser()
    elif env.get("PINGCLI_CONFIG"):
        config = Path(env["PINGCLI_CONFIG"]).expanduser()
    else:
        config = platformdirs.user_config_path("pingcli", appauthor=False) / "config.toml"
    data = Path(env["PINGCLI_DATA_DIR"]).expanduser() if env.get("PINGCLI_DATA_DIR") else (
        platformdirs.user_data_path("pingcli", appauthor=False)
    )
    cache = Path(env["PINGCLI_CACHE_DIR"]).expanduser() if env.get("PINGCLI_CACHE_DIR") else (
        platformdirs.user_cache_path("pingcli", appauthor=False)
    )
    return config, data, cache


def _http_timeout(env: Mapping[str, str]) -> tuple[float, float]:
    """PINGCLI_HTTP_TIMEOUT: SECONDS (connect and read) or CONNECT,READ; default 10 s connect, 30 s read."""
    raw = env.get("PINGCLI_HTTP_TIMEOUT", "").strip()
    if not raw:
        return (10.0, 30.0)
    try:
        values = [float(part) for part in raw.split(",")]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not all(0 < value <= 3600 for value in values):
        from pingcli.domain.errors import ConfigError

        raise ConfigError(
            f"PINGCLI_HTTP_TIMEOUT={raw[:40]!r} is not valid: expected seconds (0 to 3600), or CONNECT,READ",
            "for example PINGCLI_HTTP_TIMEOUT=10,30 (the default), or unset it",
        )
    return (values[0], values[-1])


def main(
    argv: list[str],
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    configure: Callable[[Any], None] | None = None,
) -> int:
    """Run one command. `configure(container)` lets tests override providers with fakes."""
    env = dict(os.environ if env is None else env)
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser(json_version=_json_requested(argv))
    said = io.StringIO()
    try:
        # argparse writes to sys.stdout/sys.stderr: its help, version and usage errors go to the given streams.
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(said):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        stderr.write(said.getvalue())
        code = int(exit_.code or 0)
        if code and _json_requested(argv):
            lines = said.getvalue().strip().splitlines() or ["bad usage"]
            message = lines[-1].split(" error: ", 1)[-1]
            _json_error(stdout, message, "see pingcli --help", code)
        return code
    stderr.write(said.getvalue())
    as_json = args.output == "json"
    try:
        _interrupts_raise()
        return _run(args, env, stdout, stderr, configure)
    except KeyboardInterrupt:
        message = _cancelled(args)
        stderr.write(f"pingcli: {message}\n")
        if as_json:
            _json_error(stdout, message, None, 130)
        return 130
    except Exception as error:  # the last line of defence: a bug, said plainly
        from pingcli.domain.errors import PingcliError

        from .render import error_lines, exit_code

        if isinstance(error, PingcliError):
            stderr.write(error_lines(error) + "\n")
            if as_json:
                _json_error(stdout, error.message, error.hint, exit_code(error))
            if args.debug:
                traceback.print_exc(file=stderr)
            return int(exit_code(error))
        if args.debug:
            traceback.print_exc(file=stderr)
        else:
            stderr.write(
                f"pingcli: unexpected error ({type(error).__name__}); nothing was changed that was not complete\n"
                "  run again with --debug to see where, and report it\n"
            )
        if as_json:
            _json_error(stdout, f"unexpected error ({type(error).__name__})", "run again with --debug and report it", 1)
        return 1


def _cancelled(args: Any) -> str:
    """What Ctrl-C left behind, as far as the command interrupted can tell."""
    action = getattr(args, "action", None)
    if args.command == "auth" and action == "login":
        return "cancelled; nothing was stored"
    if args.command == "auth" and action == "logout":
        return ("cancelled; the provider may already have revoked the tokens, and they may still be stored here: "
                "run pingcli auth logout again")
    return "cancelled"


def _json_requested(argv: list[str]) -> bool:
    """--output json (or an abbreviation argparse accepts) in a command line argparse refused."""
    for index, word in enumerate(argv):
        name, sep, value = word.partition("=")
        if len(name) >= 3 and "--output".startswith(name):
            if (value if sep else (argv[index + 1] if index + 1 < len(argv) else "")) == "json":
                return True
    return False


def _json_error(stdout: TextIO, message: str, hint: str | None, code: int) -> None:
    """With --output json a failure is one JSON document on stdout too; stderr says it to the person as ever."""
    from .render import dumps, error_json

    stdout.write(dumps(error_json(message, hint, code)) + "\n")


# Variables pingcli reads besides the settings' own (PINGCLI_ + a key in upper snake case). PINGCLI_TEST_*
# belong to the test browsers pingcli starts, which inherit its environment.
ENV_VARIABLES = {"PINGCLI_PROFILE", "PINGCLI_CONFIG", "PINGCLI_HTTP_TIMEOUT", "PINGCLI_DATA_DIR", "PINGCLI_CACHE_DIR"}


def _warn_unknown(env: Mapping[str, str], configuration: Any, stderr: TextIO) -> None:
    """Once per command: PINGCLI_* variables and file keys pingcli does not know, which it ignores."""
    from pingcli.domain.errors import PingcliError
    from pingcli.domain.settings import is_setting_variable

    unknown = sorted(
        name for name in env
        if name.startswith("PINGCLI_") and name not in ENV_VARIABLES and not name.startswith("PINGCLI_TEST_")
        and not is_setting_variable(name)
    )
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        stderr.write(f"pingcli: warning: unknown environment variable{plural}, ignored: {', '.join(unknown)}\n")
    try:
        warnings = configuration.file_warnings()
    except PingcliError:
        return  # an unreadable file: the command itself says so
    for warning in warnings:
        stderr.write(f"pingcli: warning: {warning}\n")


def _run(args: Any, env: dict[str, str], stdout: TextIO, stderr: TextIO, configure: Any) -> int:
    from pingcli.adapters.session_stores import config_namespace

    from .container import Container
    from .render import ExitCode

    config_path, data_dir, cache_dir = _paths(env, args.config)
    named_by = "--config" if args.config else ("PINGCLI_CONFIG" if env.get("PINGCLI_CONFIG") else None)
    writes = args.command == "config" and (
        args.action == "set" or (args.action == "profiles" and args.profile_action == "create")
    )
    container = Container()
    container.config.from_dict(
        {
            "env": env,
            "config_path": config_path,
            "sessions_dir": data_dir / "sessions",
            # Lock files hold no secrets; they sit with other disposable state, not with the tokens.
            "locks_dir": cache_dir / "locks",
            # Another configuration file's profiles must never meet the default file's in a store.
            "namespace": config_namespace(config_path, _paths({}, None)[0]),
            "http_timeout": _http_timeout(env),
            "cache_dir": cache_dir,
            "profile_flag": args.profile,
            "storage_type": "none",
            "browser": "none" if getattr(args, "no_browser", False) else "system",
            "trace": (lambda line: stderr.write(f"pingcli: {line}\n")) if args.verbose or args.debug else None,
            "stderr": stderr,
            # A file named by --config or PINGCLI_CONFIG must exist, except for the commands that create it.
            "config_required_by": None if writes else named_by,
        }
    )
    if configure is not None:
        configure(container)
    configuration = container.configuration()
    _warn_unknown(env, configuration, stderr)
    if args.command == "config":
        return _config(args, configuration, stdout, container, stderr)
    profile = configuration.profile()
    container.config.storage_type.from_value(profile.storage.value)
    if args.action in ("login", "token", "logout"):
        profile = container.client_secrets().fill(profile)  # client secrets kept in the token store, read in
    if args.action == "login":
        return _login(args, container, profile, stdout, stderr)
    if args.action == "status":
        from .render import dumps, status_exit_code, status_json, status_text

        statuses = container.status()(profile, tuple(args.service))
        _notices(container, stderr)
        if args.output == "json":
            stdout.write(dumps(status_json(profile.name, statuses)) + "\n")
        else:
            stdout.write(status_text(profile.name, statuses, container.clock().now()) + "\n")
        return status_exit_code(statuses)
    if args.action == "token":
        return _token(args, container, profile, stdout, stderr)
    if args.action == "logout":
        from pingcli.domain.errors import PingcliError

        from .render import dumps, error_json, error_lines, exit_code, logout_json, logout_text, logout_warnings

        failed: list[tuple[str, PingcliError]] = []
        owners: list[str] | None = None  # with --all, the profile of each result
        if args.all:
            results, owners = [], []
            for name in configuration.profiles()[0]:
                # One profile's unusable store must neither keep the others signed in nor hide what was done.
                try:
                    other = attrs.evolve(configuration, profile_flag=name).profile()
                    container.config.storage_type.from_value(other.storage.value)
                    other = container.client_secrets().fill(other)
                    done = container.logout()(other, ())
                    results += done
                    owners += [name] * len(done)
                except PingcliError as error:
                    failed.append((name, error))
                _notices(container, stderr)
        else:
            results = container.logout()(profile, tuple(args.service))
            _notices(container, stderr)
        if args.output == "json":
            document = logout_json(results, None if args.all else profile.name, owners)
            if failed:
                name, error = failed[0]
                document.update(error_json(f"profile {name}: {error.message}", error.hint, exit_code(error)))
            stdout.write(dumps(document) + "\n")
        else:
            stdout.write(logout_text(results, owners) + "\n")
        for index, result in enumerate(results):  # signed out here either way; a provider still honouring them is news
            if result.revoked == "failed":
                where = f"{result.service} (profile {owners[index]})" if owners else result.service
                stderr.write(f"pingcli: warning: {where}: revocation at the provider failed: "
                             f"{result.revocation_error}; the tokens were removed here and stay valid there until "
                             "they expire\n")
        for line in logout_warnings(results, owners):
            stderr.write(line + "\n")
        for name, error in failed:
            stderr.write(error_lines(error, f"profile {name}") + "\n")
        return int(exit_code(failed[0][1])) if failed else ExitCode.OK
    raise AssertionError(f"unhandled command {args.command} {args.action}")


def _token(args: Any, container: Any, profile: Any, stdout: TextIO, stderr: TextIO) -> int:
    from .render import dumps, iso, token_note

    services = args.service or sorted(profile.services)
    if len(services) != 1:
        from pingcli.domain.errors import ConfigError

        if len(args.service) > 1:
            raise ConfigError(f"auth token prints one token: it takes one --service, not {len(args.service)} "
                              f"({', '.join(args.service)})",
                              "one command per service: pingcli auth token --service NAME")
        if not services:
            raise ConfigError(f"profile {profile.name!r} has no services",
                              "add one: pingcli config set service.NAME.issuer=URL")
        raise ConfigError(
            f"profile {profile.name!r} has {len(services)} services ({', '.join(services)}); say which one",
            "pingcli auth token --service NAME",
        )
    token = container.token()(profile, services[0], refused=args.refresh)
    _notices(container, stderr)  # main()'s stream: see _login on why not container.config.stderr()
    if args.output == "json":
        stdout.write(dumps({"service": token.service, "access_token": token.token, "expires_at": iso(token.expires_at),
                            "scope": " ".join(token.scope)}) + "\n")
    else:
        stdout.write(token.token + "\n")
    note = token_note(token)
    if note:
        stderr.write(note + "\n")
    return 0


def _notices(container: Any, stderr: TextIO) -> None:
    store = container.session_store()
    for notice in getattr(store, "notices", ()):
        stderr.write(f"Note: {notice}\n")


def _login(args: Any, container: Any, profile: Any, stdout: TextIO, stderr: TextIO) -> int:
    from pingcli.domain.settings import GrantType
    from pingcli.domain.usecases.login import ServiceFailed

    from .render import ExitCode, dumps, error_lines, exit_code, login_json, login_text, login_warnings

    results = container.login().all(
        profile,
        tuple(args.service),
        GrantType(args.grant) if args.grant else None,
        open_browser=not args.no_browser,
        timeout=args.timeout,
    )
    # The stream main() was given, not container.config.stderr(): setting storage_type deep-copies the
    # configuration, and with it an in-process caller's StringIO, so failures written there would be lost.
    _notices(container, stderr)
    failures = [r for r in results if isinstance(r, ServiceFailed)]
    if args.output == "json":
        stdout.write(dumps(login_json(results, profile.name)) + "\n")
        for failure in failures:
            stderr.write(error_lines(failure.error, failure.service) + "\n")
    else:
        successes = [r for r in results if not isinstance(r, ServiceFailed)]
        if successes:
            stdout.write(login_text(successes) + "\n")
        for failure in failures:
            stderr.write(error_lines(failure.error, failure.service) + "\n")
    for warning in login_warnings(results):
        stderr.write(warning + "\n")
    return int(exit_code(failures[0].error)) if failures else int(ExitCode.OK)


def _read_secret(key: str, stderr: TextIO) -> str:
    """A secret from standard input: asked for without echo at a terminal, else the one line piped in."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{key} (not shown): ", stream=stderr)
    limit = 65536  # bounded: `yes | pingcli config set KEY` must end
    given = (sys.stdin.read(limit + 1) if sys.stdin is not None else "").rstrip("\r\n")
    if "\n" in given or "\r" in given or len(given) > limit:
        from pingcli.domain.errors import ConfigError

        # Keeping the first line would store something other than what was meant, and say it worked.
        what = "more than one line" if len(given) <= limit else f"more than {limit} characters"
        raise ConfigError(
            f"{key}: standard input holds {what}; a client secret is one line (nothing was stored)",
            f"give the secret alone on standard input: pingcli config set {key} < FILE, with only the secret in FILE",
        )
    return given


def _change_storage(container: Any, raw: str | None, stdout: TextIO, stderr: TextIO, as_json: bool) -> int:
    """auth.storage.type set (or unset: its default): the sessions and client secrets move along."""
    from .render import dumps, storage_change_json, storage_change_text

    change = container.change_storage()(raw)
    for store in container.session_stores().values():
        for notice in getattr(store, "notices", ()):
            stderr.write(f"Note: {notice}\n")
    stdout.write((dumps(storage_change_json(change)) if as_json else storage_change_text(change)) + "\n")
    for line in storage_change_text(change, problems_only=True).splitlines():
        stderr.write(f"pingcli: warning: {line}\n")
    return 0


def _config(args: Any, configuration: Any, stdout: TextIO, container: Any, stderr: TextIO) -> int:
    from pingcli.domain.errors import ConfigError
    from pingcli.domain.settings import secret_of

    from .render import dumps, setting_text

    as_json = args.output == "json"
    if args.action == "set":
        key, sep, raw = args.assignment.partition("=")
        key = key.strip()
        if args.extra:
            # One setting per command; a word after a client secret key may be the secret: never echoed.
            extra = (f"{len(args.extra)} more (not shown: they may hold the secret)" if secret_of(key) is not None
                     else ", ".join(repr(word) for word in args.extra))
            raise ConfigError(
                f"config set takes one KEY=VALUE; unexpected: {extra}; nothing was changed",
                "one setting per command: pingcli config set KEY=VALUE (a client secret: pingcli config set KEY, "
                "then give it on standard input)",
            )
        if not sep:
            if secret_of(key) is not None:
                raw = _read_secret(key, stderr)
            else:
                raise ConfigError(f"expected KEY=VALUE, got {args.assignment!r}", "pingcli config set KEY=VALUE")
        if secret_of(key) is not None:
            done = container.client_secrets().set(key, raw)
            if as_json:
                stdout.write(dumps({"key": key, "value": "********", "stored_in": done.stored_in}) + "\n")
            else:
                stdout.write(f"{key} = ******** (stored in {done.stored_in}; the configuration file keeps a marker)\n")
            if done.overridden_by:
                stderr.write(f"Note: {done.overridden_by} is set and takes precedence over the stored secret\n")
            return 0
        if key == "auth.storage.type":
            return _change_storage(container, raw, stdout, stderr, as_json)
        value = configuration.set(key, raw)
        stdout.write((dumps({"key": key, "value": value}) if as_json else f"{key} = {setting_text(value)}") + "\n")
    elif args.action == "get":
        if secret_of(args.key) is not None:
            secret = container.client_secrets().get(args.key, unmask=args.unmask)
            value, source = secret.value, secret.source
        else:
            value, source = configuration.get(args.key)
        if value is None:
            raise _not_set(args.key, configuration)
        if as_json:
            stdout.write(dumps({"key": args.key, "value": value, "source": source}) + "\n")
        else:  # the value alone on stdout, for $(pingcli config get KEY); where it came from beside it
            stdout.write(setting_text(value) + "\n")
            stderr.write(f"source: {source}\n")
    elif args.action == "unset" and args.key == "auth.storage.type":
        return _change_storage(container, None, stdout, stderr, as_json)
    elif args.action == "unset":
        if secret_of(args.key) is not None:
            removed = container.client_secrets().unset(args.key)
            done = "removed (from the token store too)"
        else:
            removed = configuration.unset(args.key)
            done = "removed"
        if as_json:
            stdout.write(dumps({"key": args.key, "removed": removed}) + "\n")
        else:
            stdout.write(f"{args.key} {done if removed else 'was not set'}\n")
    elif args.action == "list-keys":
        keys = configuration.keys()
        if as_json:
            stdout.write(dumps([{"key": k.pattern, "default": k.default, "help": k.help} for k in keys]) + "\n")
        else:
            for k in keys:
                default = "" if k.default is None else f" (default: {setting_text(k.default)})"
                stdout.write(f"{k.pattern}{default}\n    {k.help}\n")
    elif args.action == "profiles":
        _profiles(args, configuration, stdout, as_json, container, stderr)
    return 0


def _not_set(key: str, configuration: Any) -> Exception:
    """`config get` of a key with no value (unset, no default): exit 2 with nothing on stdout, not an empty line."""
    from pingcli.domain.errors import ConfigError
    from pingcli.domain.settings import find_key, secret_of

    _, service = find_key(key)
    profile = configuration.profile()
    if service is not None and service not in profile.services:
        known = ", ".join(sorted(profile.services)) or "none"
        why = f"profile {profile.name!r} has no service {service!r} (configured: {known})"
    else:
        why = f"it has no value in profile {profile.name!r} and no default"
    how = (f"pingcli config set {key} (reads it from standard input)" if secret_of(key) is not None
           else f"pingcli config set {key}=VALUE")
    return ConfigError(f"{key} is not set: {why}", how)


def _profiles(args: Any, configuration: Any, stdout: TextIO, as_json: bool, container: Any, stderr: TextIO) -> None:
    from pingcli.domain.settings import is_known_key

    from .render import dumps, setting_text

    action = args.profile_action
    if action == "create":
        configuration.create(args.name)
        stdout.write(dumps({"profile": args.name, "created": True}) + "\n" if as_json
                     else f"profile {args.name} created\n")
    elif action == "delete":
        deleted = container.delete_profile()(args.name)
        for place in deleted.unchecked:
            stderr.write(f"pingcli: warning: could not look into {place}: whatever profile {args.name} kept there "
                         "is left there\n")
        stdout.write(dumps({"profile": args.name, "deleted": True}) + "\n" if as_json
                     else f"profile {args.name} deleted\n")
    elif action == "use":
        configuration.use(args.name)
        stdout.write(dumps({"profile": args.name, "active": True}) + "\n" if as_json
                     else f"profile {args.name} is now active\n")
    elif action == "list":
        from pingcli.domain.errors import ConfigError

        try:
            names, active = configuration.profiles()
        except ConfigError as error:  # an activeProfile pingcli cannot use: the list still helps choose another
            names, active = configuration.profile_names(), None
            stderr.write(f"pingcli: warning: {error.message}\n  {error.hint}\n")
        if active is not None and active not in names:
            source = configuration.active().source
            named = {"flag": "--profile", "environment": "PINGCLI_PROFILE"}.get(
                source, f"activeProfile in {configuration.store.location}")
            stderr.write(f"pingcli: warning: the active profile {active!r} (from {named}) does not exist\n"
                         f"  create it (pingcli config profiles create {active}) or choose one of these\n")
        if as_json:
            stdout.write(dumps({"active": active, "profiles": names}) + "\n")
        else:
            for name in names:
                stdout.write(f"{'*' if name == active else ' '} {name}\n")
    elif action == "show":
        name, values = container.client_secrets().show(args.name, unmask=args.unmask)
        if as_json:
            stdout.write(dumps({"profile": name, "settings": values}) + "\n")
        else:
            stdout.write(f"profile {name}\n")
            for key, value in values.items():
                unknown = "" if is_known_key(key) else "  (unknown key: ignored)"
                stdout.write(f"  {key} = {setting_text(value)}{unknown}\n")


def _interrupts_raise() -> None:
    """From here main() answers Ctrl-C itself (130, saying what was left undone): KeyboardInterrupt as usual."""
    if _signal.getsignal(_signal.SIGINT) is _cancelled_early:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)


def run() -> None:
    """The console script."""
    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:  # a script under another name
        _signal.signal(_signal.SIGINT, _cancelled_early)
    code = main(sys.argv[1:])
    # Done: a Ctrl-C while Python winds down (flushing the output) must neither print a traceback nor change the code.
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    sys.exit(code)
