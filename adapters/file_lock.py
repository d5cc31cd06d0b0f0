"""Locks between processes: an advisory lock on a file per name, released by the OS if the holder dies.

The lock file exists only while someone holds (or waits for) the lock: the holder removes it on release.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pingcli.domain.errors import LockTimeout, StorageUnavailable

from .atomic_file import ensure_private_dir

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

# Bytes kept as they are in a lock file's name; every other byte is written %XX (upper-case hex). `%` itself
# is escaped, so the encoding is injective; upper-case letters are escaped too, so two names never meet on a
# case-insensitive file system (macOS, Windows) either.
_KEPT = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_.")
_MAX_NAME = 200  # bytes of encoded name; longer ones (never seen in practice) are cut and end in a digest


def lock_file_name(name: str) -> str:
    """The file name for a lock name: distinct names always give distinct file names."""
    encoded = "".join(chr(b) if b in _KEPT else f"%{b:02X}" for b in name.encode("utf-8", "surrogatepass"))
    if len(encoded) > _MAX_NAME:
        # `#` never appears in an encoded name, so a cut name cannot equal an uncut one.
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        encoded = encoded[: _MAX_NAME - len(digest) - 1] + "#" + digest
    return encoded + ".lock"


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except (BlockingIOError, PermissionError):
        return False
    except OSError as error:
        if getattr(error, "errno", None) in (11, 13, 35):  # EAGAIN, EACCES, EWOULDBLOCK (macOS)
            return False
        raise


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _names_this_file(path: Path, fd: int) -> bool:
    """Whether `path` still names the file open as `fd` (a releasing holder may have removed it meanwhile)."""
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


class FileLocks:
    """Lock files (no secrets in them) under a private directory, one per name while it is in use.

    Taking a lock: open (or create) the file, flock it, then check that the path still names the file
    that was locked; if a holder removed it in between, start again with the file now at that path.
    Releasing: remove the path while still holding the lock, then unlock. So a waiter that locks a
    removed file notices and never believes it holds the lock alongside the holder of the new file.
    A holder that dies leaves its file, unlocked: the next holder takes it and removes it on release.
    (On Windows an open file cannot be removed: there the files stay, which is still correct.)
    """

    def __init__(self, directory: Path, poll: float = 0.02, namespace: str | None = None) -> None:
        self.directory = directory
        self._poll = poll
        # The stores' namespace of a configuration file (session_stores.config_namespace): its locks are its own.
        self._prefix = f"{namespace}/" if namespace else ""

    def _path(self, name: str) -> Path:
        return self.directory / lock_file_name(self._prefix + name)

    def _open(self, path: Path) -> int:
        try:
            ensure_private_dir(self.directory)
            return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as error:
            raise StorageUnavailable(f"lock file {path}", error.strerror or str(error)) from None

    def _acquire(self, name: str, path: Path, timeout: float, on_wait: Callable[[], None] | None) -> int:
        deadline = time.monotonic() + timeout
        told = False
        fd = self._open(path)
        try:
            while True:
                if _try_lock(fd):
                    if fcntl is None or _names_this_file(path, fd):
                        return fd
                    # Locked a file its holder removed on release: take the one at the path now.
                    os.close(fd)
                    fd = -1
                    fd = self._open(path)
                    continue
                if not told and on_wait is not None:
                    on_wait()
                    told = True
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"using {name}", timeout)
                time.sleep(self._poll)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            raise

    @contextlib.contextmanager
    def hold(self, name: str, timeout: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        path = self._path(name)
        fd = self._acquire(name, path, timeout, on_wait)
        try:
            yield
        finally:
            try:
                if fcntl is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(path)  # while still locked: see the class's note
                _unlock(fd)
            finally:
                os.close(fd)


class ThreadLocks:
    """For auth.storage.type=none: nothing is shared between processes, so nothing touches the disk."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}

    @contextlib.contextmanager
    def hold(self, name: str, timeout: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        lock = self._locks.setdefault(name, threading.Lock())
        if not lock.acquire(blocking=False):
            if on_wait is not None:
                on_wait()
            if not lock.acquire(timeout=timeout):
                raise LockTimeout(f"using {name}", timeout)
        try:
            yield
        finally:
            lock.release()
