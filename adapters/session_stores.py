"""Where sessions are kept: the OS keyring, a file only this account can read, or this process's memory."""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pingcli.domain.errors import StorageUnavailable
from pingcli.domain.leftover import Leftover
from pingcli.domain.session import Session

from .codec import (
    FORMAT_VERSION,
    MAX_STORED_BYTES,
    NewerSession,
    UnreadableSession,
    session_from_bytes,
    session_to_bytes,
    tokens_in,
)

T = TypeVar("T")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_OTHER_STORE_HINT = (
    "use another store: pingcli config set auth.storage.type=file_system "
    "(a file only you can read) or auth.storage.type=none (sign in every session)"
)
_LOCKED_HINT = (
    "unlock the keyring (sign in to your desktop session, or unlock it in your keyring manager) and try again; "
    "or " + _OTHER_STORE_HINT
)
# A failing file store must not be answered with "use file_system": name the stores that are not files.
_NOT_FILES_HINT = (
    "use another store: pingcli config set auth.storage.type=secure_local "
    "(the OS keyring) or auth.storage.type=none (sign in every session)"
)


def _check_names(profile: str, service: str) -> None:
    """Names are validated by the settings; this only keeps a bad caller from escaping a directory."""
    for name in (profile, service):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"not a valid profile or service name: {name!r}")


_SECRET_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")


def _check_secret_name(profile: str, service: str, name: str) -> None:
    _check_names(profile, service)
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        raise ValueError(f"not a valid client secret name: {name!r}")


def _matches(session: Session, profile: str, service: str) -> None:
    if (session.profile, session.service) != (profile, service):
        raise UnreadableSession("it holds a session for another profile or service")


def _unreadable_notice(profile: str, service: str, reason: str, aside: str) -> str:
    return (
        f"The stored session of profile {profile!r}, service {service!r} could not be read ({reason}); "
        f"it was set aside as {aside}. Sign in again: pingcli auth login"
    )


def _newer_notice(profile: str, service: str, newer: NewerSession, where: str) -> str:
    return (
        f"The stored session of profile {profile!r}, service {service!r} ({where}) was written by a newer pingcli "
        f"(session format version {str(newer.version)[:12]}; this pingcli reads version {FORMAT_VERSION}), so you are "
        f"not signed in to {service} here; it was left as it is. Use that newer pingcli, or sign in again with this "
        f"one (pingcli auth login --service {service}), which replaces it"
    )


def _leftover(place: str, key: str, data: bytes | None, newer: bool = False) -> Leftover:
    found = tokens_in(data) if data is not None else None
    return Leftover(place, key, newer, **(found or {}))


# ---------------------------------------------------------------------------
# One namespace per configuration file
# ---------------------------------------------------------------------------

# Never a profile name (those have no dot), so a namespaced directory or entry cannot meet a default one.
_NAMESPACE = re.compile(r"config\.[0-9a-f]{16}")


def config_namespace(config_file: Path, default_config_file: Path) -> str | None:
    """Where the stores keep the sessions and secrets of a configuration file, besides those of every other.

    None for the default file, which keeps the names pingcli has always used (no one loses a session);
    `config.<16 hex digits of SHA-256>` of the resolved absolute path for any other, so `--config other.toml`
    never sees, moves or signs out what the default file's profiles keep under the same names.
    """

    def resolved(path: Path) -> str:
        return os.path.normcase(str(Path(path).expanduser().resolve()))

    here = resolved(config_file)
    if here == resolved(default_config_file):
        return None
    return "config." + hashlib.sha256(here.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _check_namespace(namespace: str | None) -> None:
    if namespace is not None and not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"not a store namespace: {namespace!r}")


# ---------------------------------------------------------------------------
# Memory: auth.storage.type=none
# ---------------------------------------------------------------------------


class MemorySessionStore:
    """Sessions for this process only; nothing reaches the disk."""

    description = "not stored (auth.storage.type=none)"
    backend_name = "memory"

    def __init__(self) -> None:
        self.notices: list[str] = []
        self._sessions: dict[tuple[str, str], Session] = {}
        self._secrets: dict[tuple[str, str, str], str] = {}

    def load(self, profile: str, service: str) -> Session | None:
        return self._sessions.get((profile, service))

    def save(self, session: Session) -> None:
        self._sessions[(session.profile, session.service)] = session

    def delete(self, profile: str, service: str) -> bool:
        return self._sessions.pop((profile, service), None) is not None

    def leftovers(self, profile: str, service: str) -> list[Leftover]:
        return []  # nothing is ever set aside in memory

    def remove_leftover(self, profile: str, service: str, leftover: Leftover) -> bool:
        return False

    def forget_profile(self, profile: str) -> None:
        return None

    # Client secrets are never given to this store (pingcli refuses them with auth.storage.type=none);
    # it keeps them for this process only, like its sessions, for callers that do.
    def load_secret(self, profile: str, service: str, name: str) -> str | None:
        return self._secrets.get((profile, service, name))

    def save_secret(self, profile: str, service: str, name: str, secret: str) -> None:
        _check_secret_name(profile, service, name)
        self._secrets[(profile, service, name)] = secret

    def delete_secret(self, profile: str, service: str, name: str) -> bool:
        return self._secrets.pop((profile, service, name), None) is not None


# ---------------------------------------------------------------------------
# File: auth.storage.type=file_system
# ---------------------------------------------------------------------------

_POSIX = os.name == "posix"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
NOTICE_MARKER = ".notice-shown"
# What _set_aside appends to the name of `<service>.json`.
_ASIDE = re.compile(r"\.corrupt-[0-9]{8}T[0-9]{6}Z(?:-[0-9]{1,2})?")


def _is_set_aside(name: str, session_file: str) -> bool:
    return name.startswith(session_file) and _ASIDE.fullmatch(name[len(session_file):]) is not None


def _timestamp(now: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


class FileSessionStore:
    """One file per session, `<directory>/<profile>/<service>.json`: directories 0700, files 0600 from creation.

    Writes go to a temporary file in the same directory, are flushed to disk, then renamed over the old
    file, so a failed write (full disk, no permission) leaves the previous session as it was. A `namespace`
    (see config_namespace) puts everything one directory further down, `<directory>/<namespace>/`.
    """

    def __init__(self, directory: Path, *, now: Callable[[], float] = time.time, namespace: str | None = None) -> None:
        _check_namespace(namespace)
        self.directory = Path(directory) / namespace if namespace else Path(directory)
        self.description = str(self.directory)
        self.backend_name = f"file store {self.directory}"
        self.notices: list[str] = []
        self._now = now

    # -- paths -------------------------------------------------------------

    def path_of(self, profile: str, service: str) -> Path:
        _check_names(profile, service)
        return self.directory / profile / f"{service}.json"

    def secret_path_of(self, profile: str, service: str, name: str) -> Path:
        """`<directory>/<profile>/<service>.<name>.client-secret`: next to the session, never read as one."""
        _check_secret_name(profile, service, name)
        return self.directory / profile / f"{service}.{name}.client-secret"

    def _fail(self, action: str, path: Path, error: OSError) -> StorageUnavailable:
        reason = error.strerror or type(error).__name__
        if error.errno == errno.ENOSPC:
            reason = "the disk is full (no space left on device)"
        elif error.errno == getattr(errno, "EDQUOT", None):
            reason = "the disk quota is exhausted"
        elif error.errno == errno.ELOOP:
            reason = "it is a symbolic link, which pingcli does not follow"
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            first = f"check the owner and permissions of {path.parent}"
        elif error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", None)):
            first = "free some disk space"
        else:
            first = f"check {path.parent}"
        return StorageUnavailable(
            self.backend_name, f"cannot {action} {path}: {reason}", f"{first}, or {_NOT_FILES_HINT}"
        )

    # -- permissions ---------------------------------------------------------

    def _check_owner(self, path: Path, st: os.stat_result) -> None:
        if _POSIX and st.st_uid != os.getuid():
            raise StorageUnavailable(
                self.backend_name,
                f"{path} belongs to another user (uid {st.st_uid})",
                "remove it or choose another directory; pingcli keeps tokens only in files of your own account",
            )

    def _tighten(self, path: Path, st: os.stat_result, wanted: int, fd: int | None = None) -> None:
        """Take group/other access away from something that holds or leads to tokens."""
        if not _POSIX:
            return
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            try:
                if fd is not None:
                    os.fchmod(fd, wanted)
                else:
                    os.chmod(path, wanted)
            except OSError as error:
                raise self._fail("restrict the permissions of", path, error) from None
            self.notices.append(
                f"{path} could be read by other users (mode {mode:04o}); pingcli changed it to {wanted:04o}. "
                "If others may have read it, sign out (pingcli auth logout) to revoke the tokens, and sign in again."
            )
        elif mode & 0o700 != 0o700 and stat.S_ISDIR(st.st_mode):
            # A umask that takes the owner's own access away: give it back, it exposes nothing.
            try:
                os.chmod(path, 0o700)
            except OSError as error:
                raise self._fail("restrict the permissions of", path, error) from None

    @staticmethod
    def _make_dirs(path: Path) -> None:
        """Each missing directory 0700 from its mkdir: os.makedirs would give the parents the umask's mode."""
        if os.path.isdir(path):
            return
        if path.parent != path:
            FileSessionStore._make_dirs(path.parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass

    def _ensure_dir(self, path: Path) -> None:
        try:
            self._make_dirs(path)
            st = os.stat(path)
        except OSError as error:
            raise self._fail("create the directory", path, error) from None
        if not stat.S_ISDIR(st.st_mode):
            raise StorageUnavailable(
                self.backend_name, f"{path} is not a directory", f"remove it, or {_NOT_FILES_HINT}"
            )
        self._check_owner(path, st)
        self._tighten(path, st, 0o700)

    # -- the port ------------------------------------------------------------

    def _read_private(self, path: Path) -> bytes | None:
        """The bytes of a file of this account (its mode tightened if it was readable by others), or None."""
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _BINARY)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._fail("read", path, error) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StorageUnavailable(self.backend_name, f"{path} is not a regular file",
                                         f"remove it, or {_NOT_FILES_HINT}")
            self._check_owner(path, st)
            self._tighten(path, st, 0o600, fd)
            return self._read_all(fd, path)
        finally:
            os.close(fd)

    def load(self, profile: str, service: str) -> Session | None:
        path = self.path_of(profile, service)
        data = self._read_private(path)
        if data is None:
            return None
        try:
            session = session_from_bytes(data)
            _matches(session, profile, service)
        except NewerSession as newer:
            # Setting it aside would take it from the newer pingcli too (a downgrade must not end a session).
            notice = _newer_notice(profile, service, newer, str(path))
            if notice not in self.notices:
                self.notices.append(notice)
            return None
        except UnreadableSession as problem:
            self._set_aside(path, profile, service, problem.reason)
            return None
        return session

    def _read_all(self, fd: int, path: Path) -> bytes:
        chunks = []
        total = 0
        try:
            while total <= MAX_STORED_BYTES:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        except OSError as error:
            raise self._fail("read", path, error) from None
        return b"".join(chunks)

    def _set_aside(self, path: Path, profile: str, service: str, reason: str) -> None:
        base = f"{path.name}.corrupt-{_timestamp(self._now())}"
        target = path.with_name(base)
        for attempt in range(1, 100):
            if not os.path.lexists(target):
                break
            target = path.with_name(f"{base}-{attempt}")
        try:
            os.replace(path, target)
            self._sync_dir(path.parent)
        except OSError as error:
            raise self._fail("set aside the unreadable", path, error) from None
        self.notices.append(_unreadable_notice(profile, service, reason, str(target)))

    def save(self, session: Session) -> None:
        path = self.path_of(session.profile, session.service)
        data = session_to_bytes(session)
        self._ensure_dir(self.directory)
        self._ensure_dir(path.parent)
        try:
            previous = os.lstat(path)
        except FileNotFoundError:
            previous = None
        except OSError as error:
            raise self._fail("inspect", path, error) from None
        if previous is not None:
            if stat.S_ISDIR(previous.st_mode):
                raise StorageUnavailable(
                    self.backend_name, f"{path} is a directory", f"remove it, or {_NOT_FILES_HINT}"
                )
            if _POSIX and stat.S_IMODE(previous.st_mode) & 0o077:
                self.notices.append(
                    f"{path} could be read by other users (mode {stat.S_IMODE(previous.st_mode):04o}); "
                    "pingcli replaced it with a file only you can read (0600)."
                )
        self._write_atomically(path, data)
        self._notice_once()

    def _write_atomically(self, path: Path, data: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
        try:
            fd = os.open(temporary, flags, 0o600)
        except OSError as error:
            raise self._fail("write", path, error) from None
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, path)
        except OSError as error:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise self._fail("write", path, error) from None
        self._sync_dir(path.parent)

    def _sync_dir(self, directory: Path) -> None:
        """Make the rename itself durable (POSIX); a failure here leaves a good file, so it is not an error."""
        if not _POSIX:
            return
        try:
            fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _notice_once(self) -> None:
        marker = self.directory / NOTICE_MARKER
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
        except FileExistsError:
            return
        except OSError:
            # The session is already written: a marker that cannot be made only means the notice comes again.
            pass
        else:
            os.close(fd)
        self.notices.append(
            f"pingcli keeps your tokens in files under {self.directory}, readable only by your account "
            "(mode 0600). Anyone who can act as this account, and the system's administrators, can read them. "
            "To keep them in the OS keyring instead: pingcli config set auth.storage.type=secure_local"
        )

    def delete(self, profile: str, service: str) -> bool:
        return self._remove(self.path_of(profile, service))

    def _set_aside_names(self, path: Path) -> list[str]:
        try:
            names = os.listdir(path.parent)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise self._fail("list", path.parent, error) from None
        return sorted(name for name in names if _is_set_aside(name, path.name))

    def leftovers(self, profile: str, service: str) -> list[Leftover]:
        path = self.path_of(profile, service)
        found = []
        data = self._read_private(path)
        if data is not None:
            try:
                session_from_bytes(data)
            except NewerSession:
                found.append(_leftover(f"{path} (written by a newer pingcli)", str(path), data, newer=True))
            except UnreadableSession:
                pass  # load() sets it aside; then it is one of the copies
        for name in self._set_aside_names(path):
            copy = path.with_name(name)
            try:
                data = self._read_private(copy)
            except StorageUnavailable:
                data = None  # removable even so (a link, a file of the wrong kind): its tokens are out of reach
            found.append(_leftover(str(copy), str(copy), data))
        return found

    def remove_leftover(self, profile: str, service: str, leftover: Leftover) -> bool:
        path = self.path_of(profile, service)
        target = Path(leftover.key)
        # Only what leftovers() lists: a Leftover is a value anyone can make, not a licence to remove any file.
        if target.parent != path.parent or not (target == path or _is_set_aside(target.name, path.name)):
            raise ValueError(f"not a leftover of profile {profile!r}, service {service!r}: {target}")
        return self._remove(target)

    def forget_profile(self, profile: str) -> None:
        _check_names(profile, "x")
        try:
            os.rmdir(self.directory / profile)  # only when empty: anything still in it stays
        except OSError:
            pass

    def _remove(self, path: Path) -> bool:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise self._fail("remove", path, error) from None
        self._sync_dir(path.parent)
        return True

    # -- client secrets: the SecretStore port, in files as private as the sessions -----

    def load_secret(self, profile: str, service: str, name: str) -> str | None:
        path = self.secret_path_of(profile, service, name)
        data = self._read_private(path)
        if data is None:
            return None
        try:
            stored = json.loads(data.decode("utf-8"))
            secret = stored["client_secret"]
            if not isinstance(secret, str) or not secret:
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise StorageUnavailable(
                self.backend_name,
                f"{path} does not hold a client secret pingcli can read",
                f"remove it and set the secret again: pingcli config set "
                f"service.{service}.authentication.<grant>.clientSecret",
            ) from None
        return secret

    def save_secret(self, profile: str, service: str, name: str, secret: str) -> None:
        path = self.secret_path_of(profile, service, name)
        data = json.dumps({"version": 1, "client_secret": secret}).encode("utf-8")
        self._ensure_dir(self.directory)
        self._ensure_dir(path.parent)
        self._write_atomically(path, data)

    def delete_secret(self, profile: str, service: str, name: str) -> bool:
        return self._remove(self.secret_path_of(profile, service, name))


# ---------------------------------------------------------------------------
# Keyring: auth.storage.type=secure_local
# ---------------------------------------------------------------------------

WINDOWS_MAX_VALUE_BYTES = 1280  # Credential Manager keeps 2560 bytes of UTF-16: 1280 of our ASCII characters
_MIN_VALUE_BYTES = 128  # the manifest of a chunked value must fit in one entry
_MAX_CHUNKS = 4096
_MANIFEST_MARK = "pingcli-chunked"
_MAX_ASIDE = 20  # set-aside copies of one entry; the last is overwritten beyond that

_BACKEND_NAMES = {
    "keyring.backends.SecretService": "Secret Service",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.kwallet": "KDE Wallet",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Manager",
}
_DBUS_BACKENDS = {"keyring.backends.SecretService", "keyring.backends.libsecret", "keyring.backends.kwallet"}
_DAEMONS = {
    "gnome-keyring-daemon": "gnome-keyring",
    "gnome-keyring-d": "gnome-keyring",
    "keepassxc": "KeePassXC",
    "kwalletd5": "KWallet",
    "kwalletd6": "KWallet",
    "ksecretd": "KWallet",
}


def _qualified(backend: object) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _secret_service_daemon() -> str | None:
    """Which program owns org.freedesktop.secrets on the session bus ("gnome-keyring"), if cheap to learn."""
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        with open_dbus_connection(bus="SESSION") as connection:
            reply = connection.send_and_get_reply(
                message_bus.GetConnectionUnixProcessID("org.freedesktop.secrets"), timeout=2
            )
            (pid,) = unwrap_msg(reply)
        with open(f"/proc/{int(pid)}/cmdline", "rb") as cmdline:
            program = os.path.basename(cmdline.read().split(b"\0", 1)[0].decode("utf-8", "replace"))
    except Exception:
        return None
    return _DAEMONS.get(program, program or None)


def _bus_problem() -> str | None:
    """What is wrong with the D-Bus session bus, if that much can be told without talking to it."""
    if sys.platform in ("darwin", "win32"):
        return None
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        return "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached"
    paths = [
        part.split("=", 1)[1]
        for candidate in address.split(";")
        if candidate.startswith("unix:")
        for part in candidate[len("unix:") :].split(",")
        if part.startswith("path=")
    ]
    if paths and not any(os.path.exists(path) for path in paths):
        return f"the D-Bus session bus {paths[0]} does not exist, so no Secret Service can be reached"
    return None


def _why_no_keyring() -> str:
    """Why keyring found nothing, in terms a person can act on."""
    if sys.platform == "darwin":
        return "keyring could not load its macOS Keychain backend"
    if sys.platform == "win32":
        return "keyring could not load its Windows Credential Manager backend"
    problem = _bus_problem()
    if problem:
        return problem
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises with the reason when unusable
    except Exception as error:
        return f"no Secret Service answered on the D-Bus session bus ({error})"
    return "keyring found no backend it can use"


def _delete_entry(backend: Any, service_name: str, name: str) -> bool:
    """False if the backend raised PasswordDeleteError: "not found" on most backends, any failure on macOS."""
    from keyring.errors import PasswordDeleteError

    try:
        backend.delete_password(service_name, name)
    except PasswordDeleteError:
        return False
    return True


def _split(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes (which also bounds their UTF-16 size at 2 * limit)."""
    pieces: list[str] = []
    start = size = 0
    for index, char in enumerate(text):
        width = len(char.encode("utf-8", "surrogatepass"))
        if size + width > limit:
            pieces.append(text[start:index])
            start, size = index, 0
        size += width
    pieces.append(text[start:])
    return pieces


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _manifest(text: str | None) -> tuple[int, str] | None:
    """(chunks, sha256) from a main entry that is a chunk manifest; None for anything else."""
    if not text or not text.startswith("{"):
        return None
    try:
        manifest = json.loads(text)
    except ValueError:
        return None
    if not isinstance(manifest, dict):
        return None
    count, digest = manifest.get("chunks"), manifest.get("sha256")
    if type(count) is not int or not 0 < count <= _MAX_CHUNKS or not isinstance(digest, str):
        return None
    return count, digest


def _chunk_count(text: str | None) -> int:
    manifest = _manifest(text)
    return manifest[0] if manifest else 0


def _set_aside_bytes(raw: str) -> bytes:
    """The stored bytes in what _set_aside kept (the main entry, then each chunk, a line each), as best it can."""
    first, _, rest = raw.partition("\n")
    text = "".join(rest.split("\n")) if _manifest(first) else first
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return raw.encode("utf-8", "surrogatepass")  # not base64: perhaps the JSON itself


def _is_locked_error(error: BaseException) -> bool:
    from keyring.errors import InitError, KeyringLocked

    if isinstance(error, (KeyringLocked, InitError)):
        return True
    kind = type(error)
    if kind.__module__.startswith("secretstorage") and kind.__name__ in {"LockedException", "PromptDismissedException"}:
        return True
    text = str(error).lower()
    return "prompt dismissed" in text or "is locked" in text


def _is_no_keyring_error(error: BaseException) -> bool:
    from keyring.errors import NoKeyringError

    kind = type(error)
    return isinstance(error, NoKeyringError) or (
        kind.__module__.startswith("secretstorage") and kind.__name__ == "SecretServiceNotAvailableException"
    )


class KeyringSessionStore:
    """Sessions in the OS keyring through the `keyring` library: entry `<profile>/<service>` of service `pingcli`.

    Values are the codec's bytes in base64. Backends with a small value limit get the value in chunks
    (`<profile>/<service>#<i>`) and a manifest under the main entry. Every keyring call is bounded by
    `timeout` seconds, because a hung D-Bus would otherwise hang pingcli. Nothing is ever written elsewhere.
    With a `namespace` (see config_namespace) every entry name starts with `<namespace>/`.
    """

    def __init__(
        self,
        keyring_backend: Any = None,
        service_name: str = "pingcli",
        timeout: float = 10.0,
        max_value_bytes: int | None = None,
        namespace: str | None = None,
    ) -> None:
        if max_value_bytes is not None and max_value_bytes < _MIN_VALUE_BYTES:
            raise ValueError(f"max_value_bytes must be at least {_MIN_VALUE_BYTES}")
        _check_namespace(namespace)
        self._prefix = f"{namespace}/" if namespace else ""
        self.notices: list[str] = []
        self.backend_name = "OS keyring"
        self.description = "OS keyring"
        self._service_name = service_name
        self._timeout = timeout
        self._requested_limit = max_value_bytes
        self._limit = max_value_bytes
        self._backend: Any = None
        self._refusal: str | None = None
        self._daemon_known = False
        self._why_unavailable = False
        self._hung = False
        if keyring_backend is not None:
            self._adopt(keyring_backend)

    # -- choosing and naming the backend --------------------------------------

    def _adopt(self, backend: Any) -> None:
        from keyring.backends import chainer

        if isinstance(backend, chainer.ChainerBackend):
            # The chain reads from every backend it finds and writes to the first: use the first, alone.
            found = list(chainer.ChainerBackend.backends)
            if found:
                backend = found[0]
            else:
                from keyring.backends import fail

                backend = fail.Keyring()
        self._backend = backend
        module = type(backend).__module__
        qualified = _qualified(backend)
        name = _BACKEND_NAMES.get(module, qualified)
        self._refusal = None
        self._daemon_known = module != "keyring.backends.SecretService"
        self._why_unavailable = False
        if module.startswith("keyrings.alt"):
            self._refusal = (
                f"the keyring backend {qualified} (keyrings.alt) would store the tokens in plaintext "
                "or under a weak password in a file; pingcli does not use it"
            )
        elif module == "keyring.backends.null":
            self._refusal = "the keyring is switched off (keyring.backends.null keeps nothing)"
        elif module == "keyring.backends.fail":
            name = "OS keyring"
            self._refusal = "no OS keyring is available"
            self._why_unavailable = True  # asked on first use: it talks to D-Bus
        if module == "keyring.backends.Windows" and self._requested_limit is None:
            self._limit = WINDOWS_MAX_VALUE_BYTES
        self.backend_name = name
        self.description = name

    def _ready(self) -> Any:
        if self._backend is None:
            self._adopt(self._call(self._detect, resolving=True))
        if self._why_unavailable:
            self._why_unavailable = False
            self._refusal = f"{self._refusal}: {self._call(_why_no_keyring, resolving=True)}"
        if self._refusal is not None:
            raise StorageUnavailable(self.backend_name, self._refusal)
        if not self._daemon_known:
            self._daemon_known = True
            daemon = self._call(_secret_service_daemon)
            if daemon:
                self.backend_name = self.description = f"{self.backend_name} ({daemon})"
        return self._backend

    @staticmethod
    def _detect() -> Any:
        import keyring

        return keyring.get_keyring()

    # -- bounded calls ----------------------------------------------------------

    def _call(self, function: Callable[..., T], *args: Any, resolving: bool = False) -> T:
        """Run one keyring call in a daemon thread and wait at most `timeout` seconds for it."""
        if self._hung:
            raise self._timed_out()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = function(*args)
            except BaseException as error:  # handed to the caller's thread below
                outcome["error"] = error

        worker = threading.Thread(target=run, name="pingcli-keyring", daemon=True)
        worker.start()
        worker.join(self._timeout)
        if worker.is_alive():
            # Later calls must not race the stuck one (a late delete could remove a newer value).
            self._hung = True
            raise self._timed_out()
        if "error" in outcome:
            raise self._translate(outcome["error"], args[2:], resolving) from None
        return outcome["value"]

    def _timed_out(self) -> StorageUnavailable:
        return StorageUnavailable(
            self.backend_name,
            f"the keyring did not answer within {self._timeout:g} s",
            "the keyring daemon may be stuck or waiting for an unlock prompt; try again, or " + _OTHER_STORE_HINT,
        )

    def _translate(self, error: BaseException, values: tuple[Any, ...], resolving: bool) -> StorageUnavailable:
        if isinstance(error, StorageUnavailable):
            return error
        if _is_locked_error(error):
            return StorageUnavailable(self.backend_name, "the keyring is locked, and no unlock prompt could be completed", _LOCKED_HINT)
        text = str(error) or type(error).__name__
        for value in values:  # never echo what was being written
            if isinstance(value, str) and len(value) >= 8:
                text = text.replace(value, "[secret]")
        over_dbus = self._backend is None or type(self._backend).__module__ in _DBUS_BACKENDS
        if over_dbus and (resolving or isinstance(error, OSError) or _is_no_keyring_error(error)):
            text = _bus_problem() or text
        if resolving or _is_no_keyring_error(error):
            return StorageUnavailable(self.backend_name, f"no usable keyring: {text}")
        if over_dbus and isinstance(error, OSError):
            return StorageUnavailable(self.backend_name, f"cannot reach the keyring over D-Bus: {text}")
        return StorageUnavailable(self.backend_name, f"{type(error).__name__}: {text}")

    # -- entries ----------------------------------------------------------------

    @staticmethod
    def entry_name(profile: str, service: str) -> str:
        _check_names(profile, service)
        return f"{profile}/{service}"

    def _get(self, backend: Any, name: str) -> str | None:
        value = self._call(backend.get_password, self._service_name, name)
        if value is not None and not isinstance(value, str):
            raise StorageUnavailable(self.backend_name, f"the keyring returned a {type(value).__name__}, not text")
        return value

    def _set(self, backend: Any, name: str, value: str) -> None:
        self._call(backend.set_password, self._service_name, name, value)

    def _remove(self, backend: Any, name: str) -> bool:
        if self._get(backend, name) is None:
            return False
        if not self._call(_delete_entry, backend, self._service_name, name) and self._get(backend, name) is not None:
            # Reported as removed, an entry still there would be an orphaned secret nobody looks for.
            raise StorageUnavailable(
                self.backend_name,
                f"the keyring refused to remove entry {name!r} of {self._service_name!r}",
                f"remove it in your keyring manager (service {self._service_name!r}, account {name!r})",
            )
        return True

    def _remove_chunks(self, backend: Any, name: str, start: int, known: int = 0) -> bool:
        """Remove chunks from `start` on: all of the `known` ones, then any further until one is missing."""
        removed = False
        for index in range(start, _MAX_CHUNKS):
            if self._remove(backend, f"{name}#{index}"):
                removed = True
            elif index >= known:
                break
        return removed

    def _write(self, backend: Any, name: str, text: str, what: str = "session") -> None:
        """Store `text` under `name`, in chunks if the backend needs it, check it reads back, drop old chunks."""
        previous_chunks = _chunk_count(self._get(backend, name))
        limit = self._limit
        if not text.startswith("{") and (limit is None or _utf8_size(text) <= limit):
            pieces: list[str] = []
            main = text
        else:  # too big, or it would read as a manifest
            pieces = _split(text, limit or _utf8_size(text) + 1)
            main = json.dumps({_MANIFEST_MARK: 1, "chunks": len(pieces), "sha256": _digest(text)}, separators=(",", ":"))
        touched = False  # whether the entries under `name` may differ from before
        try:
            for index, piece in enumerate(pieces):
                touched = True
                self._set(backend, f"{name}#{index}", piece)
            self._set(backend, name, main)
            touched = True
            kept = self._get(backend, name) == main and all(
                self._get(backend, f"{name}#{index}") == piece for index, piece in enumerate(pieces)
            )
            if not kept:
                raise StorageUnavailable(
                    self.backend_name, f"the keyring did not keep the {what} (reading it back gave something else)"
                )
        except StorageUnavailable:
            if touched:
                self._discard(backend, name, max(len(pieces), previous_chunks))
            raise
        self._remove_chunks(backend, name, len(pieces), previous_chunks)

    def _discard(self, backend: Any, name: str, known: int) -> None:
        """After a failed write, best effort: half-written entries are of no use and may hold parts of a secret."""
        try:
            self._remove(backend, name)
            self._remove_chunks(backend, name, 0, known)
        except StorageUnavailable:
            pass

    def _read(self, backend: Any, name: str, main: str, parts: list[str]) -> str:
        """The stored text behind a main entry; chunks read are appended to `parts` (for setting aside)."""
        if not main.startswith("{"):
            return main
        manifest = _manifest(main)
        if manifest is None:
            raise UnreadableSession("its chunk manifest does not have the expected shape")
        count, digest = manifest
        for index in range(count):
            piece = self._get(backend, f"{name}#{index}")
            if piece is None:
                raise UnreadableSession(f"part {index + 1} of {count} is missing")
            parts.append(piece)
        text = "".join(parts)
        if _digest(text) != digest:
            raise UnreadableSession("its parts do not match their checksum")
        return text

    # -- the port ------------------------------------------------------------

    def _session_entry(self, profile: str, service: str) -> str:
        return self._prefix + self.entry_name(profile, service)

    def _decode(self, backend: Any, name: str, main: str, parts: list[str]) -> bytes:
        text = self._read(backend, name, main, parts)
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise UnreadableSession("it is not base64 text") from None

    def load(self, profile: str, service: str) -> Session | None:
        name = self._session_entry(profile, service)
        backend = self._ready()
        main = self._get(backend, name)
        if main is None:
            return None
        parts: list[str] = []
        try:
            session = session_from_bytes(self._decode(backend, name, main, parts))
            _matches(session, profile, service)
        except NewerSession as newer:
            # Setting it aside would take it from the newer pingcli too (a downgrade must not end a session).
            notice = _newer_notice(profile, service, newer, f"{self.description} entry {name!r} of "
                                                            f"{self._service_name!r}")
            if notice not in self.notices:
                self.notices.append(notice)
            return None
        except UnreadableSession as problem:
            self._set_aside(backend, name, profile, service, "\n".join([main, *parts]), problem.reason)
            return None
        return session

    def _aside_names(self, name: str) -> list[str]:
        """Where copies of entry `name` are set aside: `.corrupt`, then `.corrupt-2`, … (a keyring lists nothing)."""
        return [f"{name}.corrupt"] + [f"{name}.corrupt-{index}" for index in range(2, _MAX_ASIDE + 1)]

    def _set_aside(self, backend: Any, name: str, profile: str, service: str, raw: str, reason: str) -> None:
        # A free name: overwriting an earlier copy would lose the tokens in it before logout could revoke them.
        names = self._aside_names(name)
        aside = next((candidate for candidate in names if self._get(backend, candidate) is None), names[-1])
        self._write(backend, aside, raw)
        self._remove(backend, name)
        self._remove_chunks(backend, name, 0, _chunk_count(raw.split("\n", 1)[0]))
        where = f"{self.description} entry {aside!r} of {self._service_name!r}"
        self.notices.append(_unreadable_notice(profile, service, reason, where))

    def save(self, session: Session) -> None:
        name = self._session_entry(session.profile, session.service)
        backend = self._ready()
        self._write(backend, name, base64.b64encode(session_to_bytes(session)).decode("ascii"))

    def delete(self, profile: str, service: str) -> bool:
        return self._delete_entry(self._ready(), self._session_entry(profile, service))

    def _delete_entry(self, backend: Any, name: str) -> bool:
        main = self._get(backend, name)
        removed = self._remove(backend, name)
        return self._remove_chunks(backend, name, 0, _chunk_count(main)) or removed

    def leftovers(self, profile: str, service: str) -> list[Leftover]:
        name = self._session_entry(profile, service)
        backend = self._ready()
        found = []
        main = self._get(backend, name)
        if main is not None:
            try:
                data = self._decode(backend, name, main, [])
                session_from_bytes(data)
            except NewerSession:
                place = f"{self.description} entry {name!r} of {self._service_name!r} (written by a newer pingcli)"
                found.append(_leftover(place, name, data, newer=True))
            except UnreadableSession:
                pass  # load() sets it aside; then it is the copy below
        for aside in self._aside_names(name):
            raw = self._get(backend, aside)
            if raw is None:
                break  # set aside in order: the first free name ends them
            try:
                raw = self._read(backend, aside, raw, [])
            except UnreadableSession:
                raw = None  # a copy of a copy gone bad: removable, its tokens out of reach
            place = f"{self.description} entry {aside!r} of {self._service_name!r}"
            found.append(_leftover(place, aside, None if raw is None else _set_aside_bytes(raw)))
        return found

    def remove_leftover(self, profile: str, service: str, leftover: Leftover) -> bool:
        name = self._session_entry(profile, service)
        if leftover.key != name and leftover.key not in self._aside_names(name):
            raise ValueError(f"not a leftover of profile {profile!r}, service {service!r}: {leftover.key!r}")
        return self._delete_entry(self._ready(), leftover.key)

    def forget_profile(self, profile: str) -> None:
        return None  # entries are removed one by one; nothing holds them together

    # -- client secrets: the SecretStore port ------------------------------------

    @staticmethod
    def secret_entry_name(profile: str, service: str, name: str) -> str:
        """`<profile>/<service>/client-secret/<name>`: never taken for a session entry (those have one '/')."""
        _check_secret_name(profile, service, name)
        return f"{profile}/{service}/client-secret/{name}"

    def load_secret(self, profile: str, service: str, name: str) -> str | None:
        entry = self._prefix + self.secret_entry_name(profile, service, name)
        backend = self._ready()
        main = self._get(backend, entry)
        if main is None:
            return None
        try:
            return self._read(backend, entry, main, [])
        except UnreadableSession as problem:
            raise StorageUnavailable(
                self.backend_name,
                f"the client secret in entry {entry!r} of {self._service_name!r} cannot be read ({problem.reason})",
                f"set the secret again: pingcli config set service.{service}.authentication.<grant>.clientSecret",
            ) from None

    def save_secret(self, profile: str, service: str, name: str, secret: str) -> None:
        entry = self._prefix + self.secret_entry_name(profile, service, name)
        self._write(self._ready(), entry, secret, "client secret")

    def delete_secret(self, profile: str, service: str, name: str) -> bool:
        entry = self._prefix + self.secret_entry_name(profile, service, name)
        backend = self._ready()
        main = self._get(backend, entry)
        removed = self._remove(backend, entry)
        return self._remove_chunks(backend, entry, 0, _chunk_count(main)) or removed
