"""The urllib3 HttpClient against tiny local servers: answers, oversize bodies, dead and rude peers, redirects."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pingcli.adapters.http_urllib3 import Urllib3HttpClient
from pingcli.domain.errors import BadProviderResponse, ProviderUnreachable

pytestmark = pytest.mark.integration


class _Provider(BaseHTTPRequestHandler):
    server: _Server  # type: ignore[assignment]

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), body))
        if self.path == "/big":
            self._send(200, "application/json", b"[" + b"1," * 5_000_000 + b"1]")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(200, "application/json", json.dumps({"ok": True}).encode())

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("X-Mixed-Case", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Provider)
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        pass

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def provider() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client() -> Iterator[Urllib3HttpClient]:
    with Urllib3HttpClient(timeout=(1.0, 0.5)) as made:
        yield made


def _raw_server(behaviour) -> tuple[int, threading.Event]:
    """A listening socket whose one connection gets `behaviour(conn)`; set the event to let it go."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(4)
    done = threading.Event()

    def serve() -> None:
        with listening:
            conn, _ = listening.accept()
            with conn:
                behaviour(conn, done)

    threading.Thread(target=serve, daemon=True).start()
    return listening.getsockname()[1], done


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_a_json_answer_comes_back_with_lower_cased_headers(provider: _Server, client: Urllib3HttpClient) -> None:
    response = client.request(
        "POST", provider.base + "/token", endpoint="token endpoint", form={"grant_type": "x", "code": "a b&c"}
    )

    assert response.status == 200
    assert json.loads(response.body) == {"ok": True}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-mixed-case"] == "yes"
    method, path, headers, body = provider.seen[0]
    assert (method, path) == ("POST", "/token")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("pingcli")
    assert parse_qs(body.decode()) == {"grant_type": ["x"], "code": ["a b&c"]}


def test_the_pool_is_reused_across_requests(provider: _Server, client: Urllib3HttpClient) -> None:
    for _ in range(3):
        assert client.request("GET", provider.base + "/json", endpoint="userinfo endpoint").status == 200
    assert len(provider.seen) == 3


def test_a_body_over_the_limit_is_a_bad_response(provider: _Server, client: Urllib3HttpClient) -> None:
    with pytest.raises(BadProviderResponse) as raised:
        client.request("GET", provider.base + "/big", endpoint="jwks endpoint")

    assert "larger than 1 MiB" in str(raised.value)
    assert "jwks endpoint" in str(raised.value)
    # the client is still usable afterwards
    assert client.request("GET", provider.base + "/json", endpoint="jwks endpoint").status == 200


def test_a_closed_port_is_unreachable_with_connection_refused(client: Urllib3HttpClient) -> None:
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(ProviderUnreachable) as raised:
        client.request("POST", f"http://127.0.0.1:{port}/token", endpoint="token endpoint", form={"a": "b"})

    assert time.monotonic() - started < 3
    assert str(raised.value) == f"cannot reach the token endpoint at http://127.0.0.1:{port}/token: connection refused"
    assert raised.value.endpoint == "token endpoint"


def test_a_server_that_never_answers_times_out_after_the_read_timeout(client: Urllib3HttpClient) -> None:
    port, done = _raw_server(lambda conn, done: done.wait(10))
    started = time.monotonic()
    try:
        with pytest.raises(ProviderUnreachable) as raised:
            client.request("POST", f"http://127.0.0.1:{port}/token", endpoint="token endpoint", form={"a": "b"})
        elapsed = time.monotonic() - started
    finally:
        done.set()

    assert 0.4 <= elapsed < 2
    assert str(raised.value).endswith(": timed out after 0.5 s")


def test_a_server_that_resets_the_connection_is_unreachable(client: Urllib3HttpClient) -> None:
    def reset(conn: socket.socket, done: threading.Event) -> None:
        received = b""
        while not received.endswith(b"code=SECRET"):  # the whole request: head, then form
            received += conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    port, _ = _raw_server(reset)
    with pytest.raises(ProviderUnreachable) as raised:
        client.request("POST", f"http://127.0.0.1:{port}/token", endpoint="token endpoint", form={"code": "SECRET"})

    assert str(raised.value).endswith(": connection reset")
    assert "SECRET" not in str(raised.value)


def test_a_server_that_hangs_up_without_answering_is_unreachable(client: Urllib3HttpClient) -> None:
    def hang_up(conn: socket.socket, done: threading.Event) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)

    port, _ = _raw_server(hang_up)
    with pytest.raises(ProviderUnreachable) as raised:
        client.request("GET", f"http://127.0.0.1:{port}/jwks", endpoint="jwks endpoint")

    assert str(raised.value).endswith(": the server closed the connection without answering")


def test_a_redirect_is_returned_not_followed(provider: _Server, client: Urllib3HttpClient) -> None:
    response = client.request("POST", provider.base + "/redirect", endpoint="token endpoint", form={"a": "b"})

    assert response.status == 302
    assert response.headers["location"] == "/json"
    assert [path for _, path, _, _ in provider.seen] == ["/redirect"]


def test_tls_to_a_plain_http_server_fails_with_the_tls_error(provider: _Server, client: Urllib3HttpClient) -> None:
    url = provider.base.replace("http://", "https://") + "/json"
    with pytest.raises(ProviderUnreachable) as raised:
        client.request("GET", url, endpoint="discovery document")

    assert "TLS" in str(raised.value)


def test_userinfo_in_the_url_never_reaches_the_message(client: Urllib3HttpClient) -> None:
    port = _closed_port()
    with pytest.raises(ProviderUnreachable) as raised:
        client.request("GET", f"http://alice:hunter2@127.0.0.1:{port}/x", endpoint="userinfo endpoint")

    assert "hunter2" not in str(raised.value) and "alice" not in str(raised.value)
    assert f"http://127.0.0.1:{port}/x" in str(raised.value)


def test_the_trace_shows_each_request_with_secret_values_redacted(provider: _Server) -> None:
    lines: list[str] = []
    form = {
        "grant_type": "refresh_token",
        "code": "CODE-VALUE",
        "refresh_token": "RT-VALUE",
        "client_secret": "CS-VALUE",
        "client_id": "pingcli",
    }
    with Urllib3HttpClient(timeout=(1.0, 1.0), trace=lines.append) as client:
        client.request("POST", provider.base + "/token", endpoint="token endpoint", form=form)

    text = "\n".join(lines)
    assert re.fullmatch(rf"POST {re.escape(provider.base)}/token -> 200 \(\d+ bytes, \d+\.\d\d s\)", lines[0])
    for secret in ("CODE-VALUE", "RT-VALUE", "CS-VALUE"):
        assert secret not in text
    assert "code=[redacted]" in text and "refresh_token=[redacted]" in text and "client_secret=[redacted]" in text
    assert "grant_type=refresh_token" in text and "client_id=pingcli" in text


def test_the_trace_reports_a_failure_too(client: Urllib3HttpClient) -> None:
    lines: list[str] = []
    port = _closed_port()
    with Urllib3HttpClient(timeout=(1.0, 1.0), trace=lines.append) as tracing:
        with pytest.raises(ProviderUnreachable):
            tracing.request("POST", f"http://127.0.0.1:{port}/token", endpoint="token endpoint", form={"code": "C1"})

    assert lines[0].startswith(f"POST http://127.0.0.1:{port}/token -> failed: connection refused")
    assert "C1" not in "\n".join(lines)


def _self_signed(tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path, client: Urllib3HttpClient) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _Server()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with pytest.raises(ProviderUnreachable) as raised:
            client.request("GET", f"https://127.0.0.1:{server.server_address[1]}/json", endpoint="discovery document")
    finally:
        server.shutdown()
        server.server_close()

    assert str(raised.value).endswith(": TLS certificate not trusted: self-signed certificate")
    assert server.seen == []
