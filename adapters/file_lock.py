"""Locks between processes: an advisory lock on a file per name, released by the OS if the holder dies."""

from __future__ import annotations

import contextlib
import os
import re
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


class FileLocks:
    """Lock files (no secrets in them) under a private directory; they are left in place, never deleted,
    because deleting a lock file while another process waits on it would let two holders in."""

    def __init__(self, directory: Path, poll: float = 0.02) -> None:
        self.directory = directory
        self._poll = poll

    def _path(self, name: str) -> Path:
        return self.directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock")

    @contextlib.contextmanager
    def hold(self, name: str, timeout: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        path = self._path(name)
        try:
            ensure_private_dir(self.directory)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StorageUnavailable(f"lock file {path}", error.strerror or str(error)) from None
        try:
            deadline = time.monotonic() + timeout
            told = False
            while not _try_lock(fd):
                if not told and on_wait is not None:
                    on_wait()
                    told = True
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"using {name}", timeout)
                time.sleep(self._poll)
            try:
                yield
            finally:
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
