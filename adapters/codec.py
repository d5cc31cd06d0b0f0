"""The one cattrs converter, and the versioned JSON envelope sessions are stored in."""

from __future__ import annotations

import json
import math
from typing import Any

import cattrs
import cattrs.preconf.json

from pingcli.domain.session import Session

FORMAT_VERSION = 1
_ENVELOPE_KEYS = {"version", "session"}
MAX_STORED_BYTES = 4 * 1024 * 1024  # far above any real session; a bigger blob is junk


class UnreadableSession(Exception):
    """A stored blob that is not a session this version of pingcli can read.

    `reason` is safe to show: it never quotes the stored values (they hold tokens).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NewerSession(UnreadableSession):
    """A session in a format version above this pingcli's: a newer pingcli wrote it, and may still use it."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"it has format version {str(version)[:12]}, written by a newer pingcli; this one reads version "
            f"{FORMAT_VERSION}"
        )
        self.version = version


def _strict(kind: type, *, also: tuple[type, ...] = ()) -> Any:
    """A structure hook that accepts exactly `kind` (or `also`, converted), never a coerced look-alike."""

    def hook(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, found a boolean")
        if isinstance(value, kind):
            return value
        if also and isinstance(value, also):
            return kind(value)
        raise TypeError(f"expected {kind.__name__}, found {type(value).__name__}")

    return hook


# Every number a Session holds is a time in seconds since the epoch (received_at, expires_at, signed_in_at,
# auth_time). One beyond about the year 5000 is a hand edit or junk, and would overflow any date made of it.
_TIME_LIMIT = 1e11


def _time(kind: type) -> Any:
    strict = _strict(kind, also=(int,) if kind is float else ())

    def hook(value: Any, _: Any) -> Any:
        number = strict(value, _)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError("expected a finite number")
        if abs(number) >= _TIME_LIMIT:  # an int is compared exactly: no float conversion to overflow
            raise ValueError("expected a time in seconds since 1970, before the year 5000")
        return number

    return hook


def _string_tuple(value: Any, _: Any) -> tuple[str, ...]:
    if not isinstance(value, list):  # a bare string would otherwise become a tuple of letters
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return tuple(_strict(str)(item, _) for item in value)


def _make_converter() -> cattrs.preconf.json.JsonConverter:
    converter = cattrs.preconf.json.make_converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _strict(str))
    converter.register_structure_hook(bool, _strict(bool))
    converter.register_structure_hook(int, _time(int))
    converter.register_structure_hook(float, _time(float))
    converter.register_structure_hook_func(lambda kind: kind == tuple[str, ...], _string_tuple)
    return converter


converter = _make_converter()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def session_to_bytes(session: Session) -> bytes:
    """{"version": 1, "session": {...}} as ASCII JSON; enums by value, tuples as lists."""
    envelope = {"version": FORMAT_VERSION, "session": converter.unstructure(session)}
    return json.dumps(envelope, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _describe(error: BaseException) -> str:
    try:
        details = cattrs.transform_error(error, path="$.session")
    except Exception:  # the text is for debugging only; never let it mask the real failure
        details = [type(error).__name__]
    return "; ".join(details[:3])


def session_from_bytes(data: bytes) -> Session:
    """The session in a stored blob; UnreadableSession for anything else, whatever the input."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UnreadableSession(f"expected bytes, found {type(data).__name__}")
    if len(data) > MAX_STORED_BYTES:
        raise UnreadableSession(f"it is {len(data)} bytes long, more than any session")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableSession("it is not UTF-8 text") from None
    if not text.strip():
        raise UnreadableSession("it is empty")
    try:
        envelope = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:
        where = f" at character {error.pos}" if isinstance(error, json.JSONDecodeError) else ""
        raise UnreadableSession(f"it is not valid JSON{where}") from None
    if isinstance(envelope, dict) and type(envelope.get("version")) is int and envelope["version"] > FORMAT_VERSION:
        raise NewerSession(envelope["version"])  # whatever else a newer envelope holds
    if not isinstance(envelope, dict) or set(envelope) != _ENVELOPE_KEYS:
        raise UnreadableSession("it is not a pingcli session envelope")
    version = envelope["version"]
    if type(version) is not int:
        raise UnreadableSession("its format version is not a number")
    if version != FORMAT_VERSION:
        raise UnreadableSession(
            f"it has format version {str(version)[:12]}, and this pingcli reads version {FORMAT_VERSION}"
        )
    try:
        return converter.structure(envelope["session"], Session)
    except Exception as error:  # cattrs raises validation groups, TypeError, ValueError, KeyError, ...
        raise UnreadableSession(f"its session does not have the expected shape ({_describe(error)})") from None


_MAX_TOKEN = 64 * 1024  # no real token is longer; a longer string is junk, not worth sending to a provider


def tokens_in(data: bytes) -> dict[str, str] | None:
    """What can still be revoked in a stored blob that is not a session this pingcli reads (set aside, or newer).

    Read leniently: any JSON object with a `tokens` object (in a `session`, or at the top) holding an
    access_token or refresh_token string. Also `issuer`, `client_id` and `grant` beside them, when they are
    strings. None when no token can be read.
    """
    try:
        parsed = json.loads(bytes(data).decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError, TypeError):
        return None
    if not isinstance(parsed, dict):
        return None
    session = parsed.get("session") if isinstance(parsed.get("session"), dict) else parsed
    tokens = session.get("tokens")
    if not isinstance(tokens, dict):
        return None

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and 0 < len(value) <= _MAX_TOKEN else None

    found = {name: value for name in ("access_token", "refresh_token") if (value := text(tokens.get(name)))}
    if not found:
        return None
    found.update({name: value for name in ("issuer", "client_id", "grant") if (value := text(session.get(name)))})
    return found
