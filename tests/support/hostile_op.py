"""A tiny OpenID Provider in the test process whose every endpoint can be switched to garbage.

It is its own issuer (http://127.0.0.1:PORT), serves a correct discovery document pointing at its own
endpoints and signs real RS256 ID tokens with a key it generates, so pingcli signs in against it until
a test breaks one endpoint (`provider.break_endpoint("token", "hang")`) or forges the ID token
(`provider.forge_id_token("alg_none")`). Standard library, PyJWT and cryptography only.

    with HostileProvider() as op:
        op.issuer, op.requests
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_ID = "cli-public"
INJECTED = "injected-0123456789abcdef"  # what spoil_token() appends: never to be seen in pingcli's output

# Every endpoint pingcli calls, by the name pingcli gives it in its messages, and its path here.
ENDPOINTS = {
    "discovery": ("discovery document", "/.well-known/openid-configuration"),
    "jwks": ("JWKS endpoint", "/jwks"),
    "device_authorization": ("device authorization endpoint", "/device_authorization"),
    "token": ("token endpoint", "/token"),
    "userinfo": ("userinfo endpoint", "/userinfo"),
    "revocation": ("revocation endpoint", "/revoke"),
}

# The kinds of garbage, each with what pingcli should say about it.
GARBAGE = {
    "html": "not JSON",
    "status_500": "HTTP 500",
    "truncated_json": "truncated",
    "empty_body": "empty body",
    "json_array": "not an object",
    "ten_megabytes": "larger than 1 MiB",
    "redirect_loop": "a redirect to",
    "connection_reset": "connection reset",
    "hang": "timed out",
}

# Forged or broken ID tokens, each with the check pingcli should name.
FORGERIES = {
    "alg_none": "algorithm",
    "key_not_in_jwks": "signature",
    "hs256_with_the_public_key": "algorithm",
    "wrong_issuer": "issuer",
    "audience_without_the_client": "audience",
    "expired": "expiry",
    "different_nonce": "nonce",
    "segments_not_base64url": "format",
    "payload_not_json": "format",
}

_TEN_MEGABYTES = 10 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class HostileProvider:
    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.broken: dict[str, str] = {}  # endpoint key -> garbage kind
        self.forgery: str | None = None
        self.spoiled: str | None = None  # a field of its token responses that gets a line break and a header
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.issued: list[str] = []  # every token it handed out (access, refresh, ID)
        self._codes: dict[str, dict[str, Any]] = {}
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.provider = self  # type: ignore[attr-defined]
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-op", daemon=True)

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> HostileProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # -- knobs ------------------------------------------------------------------------------------

    def break_endpoint(self, endpoint: str, kind: str) -> None:
        assert endpoint in ENDPOINTS and kind in GARBAGE, (endpoint, kind)
        self.broken[endpoint] = kind

    def forge_id_token(self, forgery: str) -> None:
        assert forgery in FORGERIES, forgery
        self.forgery = forgery

    def spoil_token(self, field: str) -> None:
        """From now on the token endpoint's `field` ends in CR LF and a header line: `X-Injected: <INJECTED>`."""
        self.spoiled = field

    def reset(self) -> None:
        self.broken.clear()
        self.forgery = None
        self.spoiled = None
        self.requests.clear()
        self._release.set()  # let any hanging connection of the last test go
        self._release = threading.Event()

    def count(self, endpoint: str) -> int:
        path = ENDPOINTS[endpoint][1]
        return sum(1 for _, p in self.requests if p == path)

    # -- what the endpoints answer when they work ---------------------------------------------------

    def url(self, endpoint: str) -> str:
        return self.issuer + ENDPOINTS[endpoint][1]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.url("token"),
            "jwks_uri": self.url("jwks"),
            "userinfo_endpoint": self.url("userinfo"),
            "device_authorization_endpoint": self.url("device_authorization"),
            "revocation_endpoint": self.url("revocation"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def device_authorization(self) -> dict[str, Any]:
        device_code = secrets.token_urlsafe(24)
        self._codes[device_code] = {"nonce": None}
        return {
            "device_code": device_code,
            "user_code": "HSTL-TEST",
            "verification_uri": self.issuer + "/device",
            "expires_in": 60,
            "interval": 0.05,  # approved at once: poll almost at once
        }

    def authorize(self, query: dict[str, str]) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"nonce": query.get("nonce")}
        params = {"code": code, "state": query.get("state", ""), "iss": self.issuer}
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if grant == "refresh_token":
            record: dict[str, Any] | None = {"nonce": None}
        else:
            record = self._codes.pop(form.get("code") or form.get("device_code") or "", None)
        if record is None:
            return 400, {"error": "invalid_grant"}
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        id_token = self.id_token(record["nonce"])
        self.issued += [access, refresh, id_token]
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh,
                "id_token": id_token, "scope": "openid profile email offline_access"}
        if self.spoiled:
            body[self.spoiled] += f"\r\nX-Injected: {INJECTED}"
        return 200, body

    def claims(self, nonce: str | None) -> dict[str, Any]:
        now = int(time.time())
        # No profile claims: pingcli completes the identity from userinfo, so that endpoint is called too.
        claims: dict[str, Any] = {"iss": self.issuer, "sub": "hostile-user", "aud": CLIENT_ID, "iat": now,
                                  "exp": now + 600, "auth_time": now, "amr": ["pwd"]}
        if nonce is not None:
            claims["nonce"] = nonce
        return claims

    def id_token(self, nonce: str | None) -> str:
        claims = self.claims(nonce)
        header = {"kid": self.kid}
        forgery = self.forgery
        if forgery == "wrong_issuer":
            claims["iss"] = "https://evil.example"
        elif forgery == "audience_without_the_client":
            claims["aud"] = ["someone-else"]
        elif forgery == "expired":
            claims.update(iat=claims["iat"] - 7200, exp=claims["iat"] - 3600)
        elif forgery == "different_nonce":
            claims["nonce"] = "not-the-nonce-pingcli-sent"
        elif forgery == "alg_none":
            return ".".join([_b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                             _b64(json.dumps(claims).encode()), ""])
        elif forgery == "key_not_in_jwks":
            return jwt.encode(claims, self._stranger, algorithm="RS256", headers=header)
        elif forgery == "hs256_with_the_public_key":
            public_pem = self._key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            signing_input = ".".join([_b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode()),
                                      _b64(json.dumps(claims).encode())])
            signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
            return signing_input + "." + _b64(signature)
        elif forgery == "segments_not_base64url":
            return "%%%not-base64%%%.***also not***.!!!"
        elif forgery == "payload_not_json":
            signing_input = _b64(json.dumps({"alg": "RS256", "typ": "JWT", **header}).encode()) + "." + _b64(
                b"this is not JSON")
            signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
            return signing_input + "." + _b64(signature)
        return jwt.encode(claims, self._key, algorithm="RS256", headers=header)


class _Handler(BaseHTTPRequestHandler):
    server_version = "hostile-op"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    @property
    def provider(self) -> HostileProvider:
        return self.server.provider  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve({})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self._serve({k: v[0] for k, v in parse_qs(raw).items()})

    def _serve(self, form: dict[str, str]) -> None:
        parts = urlsplit(self.path)
        provider = self.provider
        provider.requests.append((self.command, parts.path))
        endpoint = next((name for name, (_, path) in ENDPOINTS.items() if path == parts.path), None)
        if endpoint is not None and endpoint in provider.broken:
            self._garbage(provider.broken[endpoint], endpoint)
            return
        if parts.path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self._send(302, b"", "text/html", {"Location": provider.authorize(query)})
        elif endpoint == "discovery":
            self._json(200, provider.discovery())
        elif endpoint == "jwks":
            self._json(200, provider.jwks())
        elif endpoint == "device_authorization":
            self._json(200, provider.device_authorization())
        elif endpoint == "token":
            self._json(*provider.token(form))
        elif endpoint == "userinfo":
            self._json(200, {"sub": "hostile-user", "name": "Hostile Test User", "email": "hostile@example.test",
                             "preferred_username": "hostile"})
        elif endpoint == "revocation":
            self._send(200, b"", "text/plain")
        else:
            self._send(404, b"<h1>Not Found</h1>", "text/html")

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            # Said, so that the client does not reuse a connection about to close (a race these tests do not test).
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _garbage(self, kind: str, endpoint: str) -> None:
        self.close_connection = True
        if kind == "html":
            self._send(200, b"<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>", "text/html")
        elif kind == "status_500":
            self._send(500, b"<html><body><h1>Internal Server Error</h1></body></html>", "text/html")
        elif kind == "truncated_json":
            whole = json.dumps(self.provider.discovery()).encode()
            self._send(200, whole[: len(whole) // 2], "application/json")
        elif kind == "empty_body":
            self._send(200, b"", "application/json")
        elif kind == "json_array":
            self._send(200, b'["keys", {"issuer": "x"}]', "application/json")
        elif kind == "ten_megabytes":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(_TEN_MEGABYTES))
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(_TEN_MEGABYTES // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass  # pingcli hung up once it had read enough: that is the point
        elif kind == "redirect_loop":
            self._send(302, b"", "text/html", {"Location": self.provider.issuer + self.path})
        elif kind == "connection_reset":
            # SO_LINGER 0: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif kind == "hang":
            self.provider._release.wait(60)  # say nothing until the test is over
        else:
            raise AssertionError(kind)
