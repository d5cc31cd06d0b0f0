"""The loopback redirect receiver (RFC 8252 §7.3): a tiny HTTP server on 127.0.0.1 for the sign-in callback."""

from __future__ import annotations

import errno
import html
import http.client
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import urlsplit

from pingcli.domain.authorization_code import CallbackVerdict, Verdict
from pingcli.domain.errors import CallbackPortUnavailable, CallbackTimeout

Judge = Callable[[str, str], CallbackVerdict]

_HOST = "127.0.0.1"
_BACKLOG = 16
_SLICE = 0.25  # seconds: how long wait() blocks in one call, so Ctrl-C is prompt
_READ_TIMEOUT = 10.0  # seconds a connection may sit between two reads
_MAX_REQUEST_LINE = 16 * 1024
_MAX_HEAD = 64 * 1024  # request line and headers together
_MAX_CONNECTIONS = 64
_LINGER = 0.5  # seconds to let the browser read the answer and close its side

_CSP = "default-src 'none'; style-src 'unsafe-inline'"

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f4f5f7;color:#1d1f23}"
    "main{max-width:34rem;margin:12vh auto;padding:2rem 2.25rem;background:#fff;"
    "border-radius:.75rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5;margin:.6rem 0;overflow-wrap:anywhere}"
    ".ok h1{color:#1a7f37}.failed h1{color:#b42318}.other h1{color:#57606a}"
    "@media (prefers-color-scheme:dark){body{background:#16181c;color:#e6e8eb}"
    "main{background:#23262b;box-shadow:none}}"
)


def _page(kind: str, title: str, *paragraphs: str) -> bytes:
    """A self-contained page: no scripts, fonts, images or links to anywhere; every text is escaped."""
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs if text)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>pingcli: {html.escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main class="{kind}"><h1>{html.escape(title)}</h1>{body}</main></body></html>\n'
    ).encode("utf-8")


def _verdict_page(verdict: CallbackVerdict) -> bytes:
    if verdict.verdict is Verdict.SUCCEEDED:
        return _page("ok", "Sign-in received", verdict.message, "You can close this window and return to the terminal.")
    if verdict.verdict is Verdict.FAILED:
        return _page(
            "failed",
            "Sign-in failed",
            verdict.message,
            "You can close this window; the terminal says what to do next.",
        )
    return _page(
        "other",
        "Not the sign-in callback",
        verdict.message,
        "pingcli is still waiting for the sign-in to finish.",
    )


def _split_target(target: str) -> tuple[str, str]:
    """The path and the raw query of a request target (origin form, or absolute form from a proxy)."""
    if not target.startswith("/"):
        try:
            parts = urlsplit(target)
        except ValueError:  # "http://[": answered as not the callback rather than left without an answer
            return target, ""
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    path, _, _ = path.partition("#")
    return path, query


def _seconds(value: float) -> str:
    return f"{value:g}"


class _HeadTooLarge(http.client.LineTooLong):
    def __init__(self) -> None:
        http.client.HTTPException.__init__(self, "the request head is too large")


class _BoundedReader:
    """Reads the request head with a total budget, so many long header lines cannot pile up."""

    def __init__(self, raw: object, budget: int) -> None:
        self._raw = raw
        self._budget = budget

    def readline(self, limit: int = -1) -> bytes:
        if self._budget <= 0:
            raise _HeadTooLarge()
        cap = self._budget if limit is None or limit < 0 else min(limit, self._budget)
        line: bytes = self._raw.readline(cap)  # type: ignore[attr-defined]
        self._budget -= len(line)
        if self._budget <= 0 and not line.endswith(b"\n"):
            raise _HeadTooLarge()
        return line

    def read(self, size: int = -1) -> bytes:  # a GET has no body; nothing here reads one
        return b""

    def close(self) -> None:
        close = getattr(self._raw, "close", None)
        if close is not None:
            close()


class _CallbackHandler(BaseHTTPRequestHandler):
    """One connection, one request: parse it, ask the judge, answer with a page, close."""

    server: LoopbackListener  # type: ignore[assignment]
    timeout = _READ_TIMEOUT
    protocol_version = "HTTP/1.1"
    server_version = "pingcli"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.rfile = _BoundedReader(self.rfile, _MAX_HEAD)  # type: ignore[assignment]
        self.ending: CallbackVerdict | None = None

    def handle(self) -> None:
        self.close_connection = True
        try:
            self.handle_one_request()
        except (TimeoutError, OSError):
            pass

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        if len(self.raw_requestline) > _MAX_REQUEST_LINE:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.raw_requestline:
            return
        if not self.parse_request():
            return
        self.close_connection = True
        if self.command != "GET":
            self._answer(
                HTTPStatus.METHOD_NOT_ALLOWED,
                _page("other", "Method not allowed", "pingcli's sign-in listener answers only GET requests."),
                extra=(("Allow", "GET"),),
            )
            return
        path, query = _split_target(self.path)
        if path == "/favicon.ico":
            self._answer(HTTPStatus.NOT_FOUND, b"", content_type=None)
            return
        try:
            verdict = self.server._judge_request(path, query)
        except Exception:
            self._answer(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                _page(
                    "failed",
                    "Something went wrong",
                    "pingcli could not handle this request.",
                    "pingcli is still waiting for the sign-in to finish.",
                ),
            )
            return
        if verdict.ends_flow:
            self.ending = verdict  # delivered once the answer is sent, even if sending it fails
        self._answer(verdict.status, _verdict_page(verdict))

    def handle_expect_100(self) -> bool:
        return True  # no body is ever read: answer the request itself instead of inviting one

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = HTTPStatus(code)
        self.close_connection = True
        self._answer(status, _page("other", status.phrase, "pingcli's sign-in listener could not read this request."))

    def _answer(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str | None = "text/html; charset=utf-8",
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response_only(int(status))
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Connection", "close")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Log nothing: request lines carry authorization codes."""


class LoopbackListener:
    """A bound 127.0.0.1 socket; `wait` serves it, one thread per connection, until a verdict ends the flow."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.port: int = sock.getsockname()[1]
        self.address: tuple[str, int] = sock.getsockname()[:2]
        self._judge: Judge | None = None
        self._verdicts: queue.SimpleQueue[CallbackVerdict] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._closed = False

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def wait(self, judge: Judge, timeout: float) -> CallbackVerdict:
        if self._closed:
            raise RuntimeError("the callback listener is closed")
        self._judge = judge
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ, "accept")
            selector.register(self._wake_r, selectors.EVENT_READ, "wake")
            while True:
                try:
                    return self._verdicts.get_nowait()
                except queue.Empty:
                    pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CallbackTimeout(
                        f"no sign-in callback arrived within {_seconds(timeout)} s",
                        "run pingcli auth login again; use --device-code if no browser can reach this machine",
                    )
                for key, _ in selector.select(min(remaining, _SLICE)):
                    if key.data == "accept":
                        self._accept()
                    else:
                        self._drain_wake()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections = list(self._connections)
        self._sock.close()
        for conn in connections:  # unblock their threads; each closes its own socket
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._wake_r.close()
        self._wake_w.close()

    # -- the serving side ---------------------------------------------------------------------------

    def _judge_request(self, path: str, query: str) -> CallbackVerdict:
        judge = self._judge
        if judge is None:
            raise RuntimeError("no judge")
        return judge(path, query)

    def _accept(self) -> None:
        try:
            conn, peer = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        with self._lock:
            if self._closed or len(self._connections) >= _MAX_CONNECTIONS:
                conn.close()
                return
            self._connections.add(conn)
        conn.settimeout(_READ_TIMEOUT)
        threading.Thread(target=self._serve, args=(conn, peer), name="pingcli-callback", daemon=True).start()

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        ending: CallbackVerdict | None = None
        try:
            handler = _CallbackHandler(conn, peer, self)  # type: ignore[arg-type]
            ending = handler.ending
        except Exception:
            pass
        finally:
            self._finish(conn)
            if ending is not None:
                self._verdicts.put(ending)
                try:
                    self._wake_w.send(b"\0")
                except OSError:
                    pass

    def _finish(self, conn: socket.socket) -> None:
        """Close gracefully: send FIN, let the browser read the answer and hang up, then close."""
        try:
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(_LINGER)
            deadline = time.monotonic() + _LINGER
            while time.monotonic() < deadline and conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(64):
                pass
        except OSError:
            pass


def _bind_reason(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is in use by another program"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    if error.errno == errno.EADDRNOTAVAIL:
        return "127.0.0.1 is not available on this machine"
    return error.strerror or type(error).__name__


class LoopbackListenerFactory:
    """Binds the loopback listener: 127.0.0.1 only, never a wildcard address."""

    def bind(self, port: int, setting: str) -> LoopbackListener:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if os.name == "posix":
                # Lets a port in TIME_WAIT be bound again; a port another socket LISTENS on still fails.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            elif hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                # Windows: SO_REUSEADDR would let two listeners share the port; ask for the opposite.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            sock.bind((_HOST, port))
            sock.listen(_BACKLOG)
            sock.setblocking(False)
        except OverflowError:
            sock.close()
            raise CallbackPortUnavailable(port, "not a port number (0 to 65535)", setting) from None
        except OSError as error:
            sock.close()
            raise CallbackPortUnavailable(port, _bind_reason(error), setting) from None
        return LoopbackListener(sock)
