"""The HttpClient port over urllib3: one pool, TLS verified, no redirects, bounded bodies, plain-spoken errors."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from types import TracebackType
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import urllib3
from urllib3 import exceptions as u3

from pingcli.domain.errors import BadProviderResponse, ProviderUnreachable
from pingcli.domain.provider import HttpResponse

_CHUNK = 64 * 1024
_CONNECT_RETRIES = 2  # only for failures before the request was sent: a token request is never replayed
_BACKOFF = 0.2

REDACTED_FIELDS = frozenset(
    {
        "code",
        "code_verifier",
        "refresh_token",
        "access_token",
        "token",
        "client_secret",
        "device_code",
        "id_token",
        "assertion",
        "client_assertion",
        "password",
        "subject_token",
        "actor_token",
    }
)


def _is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in REDACTED_FIELDS
        or lowered.endswith("_token")
        or "secret" in lowered
        or "password" in lowered
        or "assertion" in lowered
    )


def redacted_form(form: Mapping[str, str]) -> str:
    """The form as it would be sent, with the values of secret-bearing fields replaced by [redacted]."""
    return "&".join(
        f"{quote(name, safe='')}=" + ("[redacted]" if _is_secret_field(name) else quote(str(value), safe=""))
        for name, value in form.items()
    )


def without_userinfo(url: str) -> str:
    """The URL with any user:password@ removed, fit for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _default_user_agent() -> str:
    try:
        return f"pingcli/{metadata.version('pingcli')}"
    except metadata.PackageNotFoundError:
        return "pingcli"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: MaxRetryError.reason, ProtocolError's second argument, __cause__, __context__."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < 16:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)


def _tls_text(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"TLS certificate not trusted: {error.verify_message}"
    if isinstance(error, ssl.CertificateError):
        return f"TLS certificate not valid for this host: {error}"
    if isinstance(error, ssl.SSLError):
        # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" -> "wrong version number"
        text = re.sub(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(error.strerror or ""))
        return f"TLS error: {text or error.reason or type(error).__name__}"
    return "TLS error"


def _reason(error: BaseException, connect_timeout: float, read_timeout: float) -> str:
    """A short, secret-free account of a network failure."""
    chain = list(_causes(error))
    for cause in chain:
        if isinstance(cause, (ssl.SSLError, ssl.CertificateError)):
            return _tls_text(cause)
    for cause in chain:
        if isinstance(cause, (u3.NameResolutionError, socket.gaierror)):
            return "the host name could not be resolved"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, http.client.RemoteDisconnected):  # a ConnectionResetError, but a clean close
            return "the server closed the connection without answering"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, ConnectionAbortedError):
            return "connection aborted"
        if isinstance(cause, http.client.IncompleteRead):
            return "the connection closed before the whole response arrived"
        if isinstance(cause, u3.ProxyError):
            return "the proxy could not be reached"
        if isinstance(cause, u3.LocationValueError):
            return "the URL is not valid"
    for cause in chain:
        if isinstance(cause, u3.SSLError):
            return "TLS error"
        if isinstance(cause, u3.ReadTimeoutError):
            return f"timed out after {read_timeout:g} s"
        if isinstance(cause, u3.ConnectTimeoutError) and not isinstance(cause, u3.NewConnectionError):
            return f"timed out connecting after {connect_timeout:g} s"
    for cause in chain:
        if isinstance(cause, (TimeoutError, socket.timeout)):
            return f"timed out after {read_timeout:g} s"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    return f"network error ({type(error).__name__})"


def _retryable(error: BaseException) -> bool:
    """True only when the request cannot have reached the server (urllib3 counts these as connect errors)."""
    return isinstance(error, u3.ConnectTimeoutError)


class Urllib3HttpClient:
    """HttpClient over one urllib3 PoolManager; close it (or use `with`) when done."""

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = (10.0, 30.0),
        max_body: int = 1_048_576,
        user_agent: str | None = None,
        trace: Callable[[str], None] | None = None,
        connect_retries: int = _CONNECT_RETRIES,
    ) -> None:
        self._connect_timeout, self._read_timeout = timeout
        self._timeout = urllib3.Timeout(connect=self._connect_timeout, read=self._read_timeout)
        self._max_body = max_body
        self._user_agent = user_agent or _default_user_agent()
        self._trace = trace
        self._connect_retries = connect_retries
        # retries=False: urllib3 neither retries nor follows redirects by itself; _send retries only
        # failures that happened before the request left (never a read error: a code must not be replayed).
        self._pool = urllib3.PoolManager(num_pools=8, maxsize=2, retries=False, timeout=self._timeout)

    def __enter__(self) -> Urllib3HttpClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.clear()

    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        shown = without_userinfo(url)
        sent = {"Accept": "application/json", "User-Agent": self._user_agent}
        body: bytes | None = None
        if form is not None:
            body = urlencode(form).encode("ascii")
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if headers:
            sent.update(headers)
        started = time.monotonic()
        try:
            response = self._send(method, url, body, sent)
            try:
                content = self._read_body(response, endpoint, started)
            finally:
                response.release_conn()
        except (u3.HTTPError, OSError, http.client.HTTPException) as error:
            reason = _reason(error, self._connect_timeout, self._read_timeout)
            self._emit(f"{method} {shown} -> failed: {reason} ({time.monotonic() - started:.2f} s)", form)
            raise ProviderUnreachable(endpoint, shown, reason) from None
        except BadProviderResponse:
            self._emit(f"{method} {shown} -> refused: body larger than {self._max_body} bytes", form)
            raise
        self._emit(
            f"{method} {shown} -> {response.status} ({len(content)} bytes, {time.monotonic() - started:.2f} s)", form
        )
        return HttpResponse(
            status=response.status,
            headers={name.lower(): response.headers[name] for name in response.headers},
            body=content,
        )

    def _send(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        attempt = 0
        while True:
            try:
                return self._pool.request(
                    method,
                    url,
                    body=body,
                    headers=dict(headers),
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    timeout=self._timeout,
                )
            except u3.HTTPError as error:
                if attempt >= self._connect_retries or not _retryable(error):
                    raise
                time.sleep(_BACKOFF * (2**attempt))
                attempt += 1

    def _read_body(self, response: urllib3.BaseHTTPResponse, endpoint: str, started: float) -> bytes:
        limit = self._max_body
        deadline = started + self._connect_timeout + self._read_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                response.close()
                raise BadProviderResponse(endpoint, f"the response is larger than {_size_text(limit)}")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                response.close()
                raise u3.ReadTimeoutError(None, None, "the body took too long")  # type: ignore[arg-type]

    def _emit(self, line: str, form: Mapping[str, str] | None) -> None:
        if self._trace is None:
            return
        self._trace(line)
        if form is not None:
            self._trace(f"  form: {redacted_form(form)}")


def _size_text(limit: int) -> str:
    if limit % 1_048_576 == 0:
        return f"{limit // 1_048_576} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"
