"""Providers' public documents (discovery, JWKS) kept on disk between runs, as HTTP caching allows."""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from pingcli.domain.errors import BadProviderResponse
from pingcli.domain.ports import HttpClient
from pingcli.domain.provider import read_json_object

from .atomic_file import write_private

T = TypeVar("T")

DEFAULT_TTL = 3600.0  # a provider that says nothing about caching (oidc-provider says nothing)
MAX_TTL = 86400.0  # whatever it says: a rotated key or moved endpoint is noticed within a day
MAX_ENTRY_BYTES = 1_048_576
_FORMAT = 1
_POSIX = os.name == "posix"
# No symlinks followed, no blocking on a FIFO put in a file's place, no newline translation on Windows.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


@attrs.frozen
class CachedDocument:
    url: str
    body: dict[str, Any]
    fetched_at: float
    expires_at: float
    etag: str | None

    def is_fresh(self, now: float) -> bool:
        # A clock set back would otherwise keep an entry fresh for ever: never beyond MAX_TTL from now.
        return now < self.expires_at <= now + MAX_TTL


def freshness(headers: Mapping[str, str], now: float, default_ttl: float = DEFAULT_TTL) -> tuple[float, bool]:
    """(expires_at, may_store) for a response, by RFC 9111.

    `no-store` (§5.2.2.5): not kept. `no-cache` (§5.2.2.4): kept, but stale at once, so it is used
    only after revalidation. Otherwise the lifetime is `max-age` less `Age` (§4.2.1, §4.2.3), else
    `Expires` less `Date` (an unreadable Expires means already expired, §5.3), else `default_ttl`;
    never more than MAX_TTL. An unreadable max-age also means stale: the conservative reading.
    """
    directives = _cache_control(headers.get("cache-control", ""))
    if "no-store" in directives:
        return now, False
    if "no-cache" in directives:
        return now, True
    if "max-age" in directives:
        max_age = _delta_seconds(directives["max-age"])
        lifetime = 0.0 if max_age is None else max_age - (_delta_seconds(headers.get("age")) or 0)
    elif "expires" in headers:
        expires = _http_date(headers["expires"])
        date = _http_date(headers.get("date", ""))
        lifetime = 0.0 if expires is None else expires - (now if date is None else date)
    else:
        lifetime = default_ttl
    return now + max(0.0, min(float(lifetime), MAX_TTL)), True


def _cache_control(value: str) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for part in value.split(","):
        name, sep, argument = part.strip().partition("=")
        if name:
            directives.setdefault(name.strip().lower(), argument.strip().strip('"') if sep else None)
    return directives


def _delta_seconds(value: str | None) -> int | None:
    digits = (value or "").strip()
    if not digits.isascii() or not digits.isdigit():
        return None
    return 2**31 if len(digits) > 10 else min(int(digits), 2**31)


def _http_date(value: str) -> float | None:
    import email.utils  # only for a provider that sends Expires; not worth its import time on every start

    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class NoCache:
    """Every document from the network, every time: for callers given no cache."""

    def get(
        self, http: HttpClient, url: str, *, endpoint: str, now: float, read: Callable[[dict[str, Any]], T],
        force: bool = False,
    ) -> T:
        return read(read_json_object(http.request("GET", url, endpoint=endpoint), endpoint))


class ProviderCache:
    """Public provider documents under `<directory>/providers/<sha256 of the URL>.json`, files 0600 in 0700 dirs.

    Only public metadata goes here, never a token. The cache is an optimisation: an unreadable entry
    is ignored (and replaced by the next fetch), and a failed write is not an error.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory) / "providers"

    def path_of(self, url: str) -> Path:
        return self.directory / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()}.json"

    def get(
        self, http: HttpClient, url: str, *, endpoint: str, now: float, read: Callable[[dict[str, Any]], T],
        force: bool = False,
    ) -> T:
        """`read(document)` of the JSON object at `url`: from here while fresh, else from the provider.

        `read` turns the document into what the caller needs and raises BadProviderResponse if it
        cannot; only documents it accepts are kept, and a kept one it refuses is fetched anew. A stale
        entry with an ETag is revalidated (If-None-Match; 304 keeps the body). `force` skips the
        cache and asks the provider without conditions (a JWKS that lacks the key a token names).
        """
        entry = None if force else self.load(url)
        if entry is not None and entry.is_fresh(now):
            try:
                return read(entry.body)
            except BadProviderResponse:
                return self.get(http, url, endpoint=endpoint, now=now, read=read, force=True)
        conditional = {"If-None-Match": entry.etag} if entry is not None and entry.etag else None
        response = http.request("GET", url, endpoint=endpoint, headers=conditional)
        if response.status == 304 and entry is not None and conditional:
            try:
                value = read(entry.body)
            except BadProviderResponse:
                return self.get(http, url, endpoint=endpoint, now=now, read=read, force=True)
            expires_at, may_store = freshness(response.headers, now)
            etag = _etag(response.headers.get("etag")) or entry.etag
            self._keep(attrs.evolve(entry, fetched_at=now, expires_at=expires_at, etag=etag), may_store)
            return value
        body = read_json_object(response, endpoint)
        value = read(body)
        expires_at, may_store = freshness(response.headers, now)
        self._keep(CachedDocument(url, body, now, expires_at, _etag(response.headers.get("etag"))), may_store)
        return value

    def load(self, url: str) -> CachedDocument | None:
        """The entry for `url`, or None if there is none or it cannot be trusted or read."""
        path = self.path_of(url)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            # Discovery decides where tokens are sent: only a file of our own that nobody else can change.
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
                return None
            if _POSIX and (st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o022):
                return None
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return _entry_from_bytes(data, url)

    def _keep(self, entry: CachedDocument, may_store: bool) -> None:
        path = self.path_of(entry.url)
        try:
            if may_store:
                write_private(path, _entry_to_bytes(entry))
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass  # read-only directory, full disk: the next run fetches again


def _etag(value: Any) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= 1024 or not value.isprintable():
        return None
    return value


def _entry_to_bytes(entry: CachedDocument) -> bytes:
    record = {"format": _FORMAT, **attrs.asdict(entry)}
    return json.dumps(record, separators=(",", ":")).encode("utf-8")


def _entry_from_bytes(data: bytes, url: str) -> CachedDocument | None:
    if len(data) > MAX_ENTRY_BYTES:
        return None
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("format") != _FORMAT or record.get("url") != url:
        return None
    body, fetched_at, expires_at, etag = (record.get(k) for k in ("body", "fetched_at", "expires_at", "etag"))
    if not isinstance(body, dict) or not _is_time(fetched_at) or not _is_time(expires_at):
        return None
    if etag is not None and _etag(etag) is None:
        return None
    return CachedDocument(url, body, float(fetched_at), float(expires_at), etag)


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e11 and math.isfinite(value)
