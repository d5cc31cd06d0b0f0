"""In-memory fakes for every port, shipped for other people's test suites as well as ours.

They behave like the real thing and record what happened, so tests assert on state
(`provider.requests`, `browser.opened_urls`, `store.saved`), never on calls.

`FakeProvider` is an OpenID Provider behind the HttpClient port: discovery, JWKS, the authorization
code grant with PKCE, the device grant, refresh with rotation, userinfo, revocation and introspection.
It signs real RS256 ID tokens, so the real ID token validator works against it offline.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from pingcli.domain.authorization_code import CallbackVerdict
from pingcli.domain.errors import (
    CallbackPortUnavailable,
    CallbackTimeout,
    LockTimeout,
    ProviderUnreachable,
    StorageUnavailable,
)
from pingcli.domain.leftover import Leftover
from pingcli.domain.provider import HttpResponse
from pingcli.domain.session import Session

# --- Clock, console, browser ---------------------------------------------------------------


class FakeClock:
    """Time that moves only when something sleeps (or a test calls advance)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds

    def advance(self, seconds: float) -> None:
        self.current += seconds


class FakeConsole:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, message: str) -> None:
        self.lines.append(message)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class FakeBrowser:
    """A browser that opens (or fails to), records each URL, and can act as the person signing in."""

    def __init__(self, on_open: Callable[[str], None] | None = None, works: bool = True) -> None:
        self.on_open = on_open
        self.works = works
        self.opened_urls: list[str] = []

    def open(self, url: str) -> bool:
        if not self.works:
            return False
        self.opened_urls.append(url)
        if self.on_open is not None:
            self.on_open(url)
        return True


class FakeLocks:
    """Locks within one process that record what was held and who had to wait.

    Another process is played two ways: `busy` names are held forever (the wait times out), and
    `another_process_holds(name, does)` makes the next `hold(name)` wait while `does()` runs (what the
    other process did while holding it: sign in, refresh), then get the lock.
    """

    def __init__(self) -> None:
        self.held: list[str] = []
        self.waited: list[str] = []
        self.busy: set[str] = set()  # names a test marks as held by "another process"
        self._others: dict[str, Callable[[], None]] = {}

    def another_process_holds(self, name: str, does: Callable[[], None]) -> None:
        self._others[name] = does

    @contextlib.contextmanager
    def hold(self, name: str, timeout: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        if name in self.busy:
            self.waited.append(name)
            if on_wait is not None:
                on_wait()
            raise LockTimeout(f"using {name}", timeout)
        if name in self._others:
            self.waited.append(name)
            if on_wait is not None:
                on_wait()
            self._others.pop(name)()
        self.held.append(name)
        self.busy.add(name)
        try:
            yield
        finally:
            self.busy.discard(name)


# --- Loopback listener ---------------------------------------------------------------------


class FakeCallbackListener:
    def __init__(self, factory: FakeCallbackListenerFactory, port: int) -> None:
        self._factory = factory
        self.port = port
        self.requests: deque[tuple[str, str]] = deque()
        self.answered: list[tuple[str, int]] = []
        self.closed = False

    def wait(self, judge: Callable[[str, str], CallbackVerdict], timeout: float) -> CallbackVerdict:
        while self.requests:
            path, query = self.requests.popleft()
            verdict = judge(path, query)
            self.answered.append((path, verdict.status))
            if verdict.ends_flow:
                return verdict
        if self._factory.clock is not None:
            self._factory.clock.advance(timeout)
        raise CallbackTimeout(
            f"no sign-in callback arrived within {int(timeout)} s",
            "run pingcli auth login again; use --device-code if no browser can reach this machine",
        )

    def close(self) -> None:
        self.closed = True
        self._factory.bound.discard(self.port)


class FakeCallbackListenerFactory:
    """Ports in `taken` refuse to bind; `deliver(url)` is a browser following a redirect to the listener."""

    def __init__(self, clock: FakeClock | None = None, taken: set[int] | None = None) -> None:
        self.clock = clock
        self.taken = set(taken or ())
        self.bound: set[int] = set()
        self.listeners: list[FakeCallbackListener] = []
        self._next_port = 49152

    def bind(self, port: int, setting: str) -> FakeCallbackListener:
        if port in self.taken or port in self.bound:
            raise CallbackPortUnavailable(port, "address already in use", setting)
        if port == 0:
            self._next_port += 1
            port = self._next_port
        self.bound.add(port)
        listener = FakeCallbackListener(self, port)
        self.listeners.append(listener)
        return listener

    def deliver(self, url: str) -> None:
        parts = urlsplit(url)
        listener = next(l for l in reversed(self.listeners) if l.port == parts.port and not l.closed)
        listener.requests.append((parts.path, parts.query))


# --- Session and config stores ---------------------------------------------------------------


class FakeSessionStore:
    """Sessions and client secrets in memory (the SessionStore and SecretStore ports).

    Knobs for what real stores do on bad days: `fail_with` (every call fails: no keyring, locked),
    `refuse_writes` (reads work, writes fail: a full disk), `refuse_deletes`, and `keeps=False` (a
    write "succeeds" but nothing is kept, as a broken keyring backend does). `leftover_copies` holds what
    `leftovers()` lists per (profile, service): set-aside copies, a newer pingcli's session.
    """

    def __init__(
        self,
        description: str = "fake store",
        fail_with: StorageUnavailable | None = None,
        *,
        refuse_writes: StorageUnavailable | None = None,
        refuse_deletes: StorageUnavailable | None = None,
        keeps: bool = True,
    ) -> None:
        self.description = description
        self.fail_with = fail_with
        self.refuse_writes = refuse_writes
        self.refuse_deletes = refuse_deletes
        self.keeps = keeps
        self.sessions: dict[tuple[str, str], Session] = {}
        self.saved: list[Session] = []
        self.deleted: list[tuple[str, str]] = []
        self.secrets: dict[tuple[str, str, str], str] = {}
        self.secrets_deleted: list[tuple[str, str, str]] = []
        self.leftover_copies: dict[tuple[str, str], list[Leftover]] = {}
        self.forgotten: list[str] = []
        self.notices: list[str] = []

    def _check(self, refusal: StorageUnavailable | None = None) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if refusal is not None:
            raise refusal

    def load(self, profile: str, service: str) -> Session | None:
        self._check()
        return self.sessions.get((profile, service))

    def save(self, session: Session) -> None:
        self._check(self.refuse_writes)
        if self.keeps:
            self.sessions[(session.profile, session.service)] = session
        self.saved.append(session)

    def delete(self, profile: str, service: str) -> bool:
        self._check(self.refuse_deletes)
        self.deleted.append((profile, service))
        return self.sessions.pop((profile, service), None) is not None

    def leftovers(self, profile: str, service: str) -> list[Leftover]:
        self._check()
        return list(self.leftover_copies.get((profile, service), ()))

    def remove_leftover(self, profile: str, service: str, leftover: Leftover) -> bool:
        self._check(self.refuse_deletes)
        kept = self.leftover_copies.get((profile, service), [])
        if leftover not in kept:
            return False
        kept.remove(leftover)
        return True

    def forget_profile(self, profile: str) -> None:
        self._check()
        self.forgotten.append(profile)

    def load_secret(self, profile: str, service: str, name: str) -> str | None:
        self._check()
        return self.secrets.get((profile, service, name))

    def save_secret(self, profile: str, service: str, name: str, secret: str) -> None:
        self._check(self.refuse_writes)
        if self.keeps:
            self.secrets[(profile, service, name)] = secret

    def delete_secret(self, profile: str, service: str, name: str) -> bool:
        self._check(self.refuse_deletes)
        self.secrets_deleted.append((profile, service, name))
        return self.secrets.pop((profile, service, name), None) is not None


class FakeConfigStore:
    def __init__(self, profiles: Mapping[str, Mapping[str, Any]] | None = None, active: str | None = None) -> None:
        self.location = "memory"
        self.lock_name = "config/memory"
        self.active: Any = active
        self.profiles: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (profiles or {}).items()}
        self.top_level: dict[str, Any] = {}  # keys besides the active profile and the profiles, as a file may hold
        self.writes = 0

    def load(self) -> tuple[Any, dict[str, dict[str, Any]]]:
        return self.active, {k: dict(v) for k, v in self.profiles.items()}

    def unknown_top_level_keys(self) -> list[str]:
        return sorted(self.top_level)

    def set_value(self, profile: str, key: str, value: Any) -> None:
        self.profiles.setdefault(profile, {})[key] = value
        self.writes += 1

    def unset_value(self, profile: str, key: str) -> bool:
        self.writes += 1
        return self.profiles.get(profile, {}).pop(key, None) is not None

    def create_profile(self, profile: str) -> None:
        self.profiles.setdefault(profile, {})
        self.writes += 1

    def delete_profile(self, profile: str) -> None:
        self.profiles.pop(profile, None)
        self.writes += 1

    def set_active(self, profile: str) -> None:
        self.active = profile
        self.writes += 1


# --- The provider ----------------------------------------------------------------------------


@attrs.frozen
class RecordedRequest:
    method: str
    url: str
    endpoint: str
    form: Mapping[str, str] | None
    headers: Mapping[str, str] | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@attrs.frozen
class FakeUser:
    sub: str
    username: str
    name: str
    email: str
    amr: tuple[str, ...] = ("pwd",)
    acr: str = "urn:pingcli:acr:pwd"


DEMO_USER = FakeUser("user-demo", "demo", "Demo User", "demo@example.test")
MFA_USER = FakeUser("user-mfa", "mfa", "Mia Factor", "mfa@example.test", ("pwd", "otp", "mfa"), "urn:pingcli:acr:mfa")


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode())


def _error(error: str, description: str = "", status: int = 400) -> HttpResponse:
    body = {"error": error, **({"error_description": description} if description else {})}
    return _json(status, body)


class FakeProvider:
    """An OpenID Provider in memory. `issuer` is its address; pass the provider as the HttpClient.

    Knobs for what a real provider will not show on demand:
    - `queue_response(path, response)`: the next request to that path gets this answer instead.
    - `device_answers`: errors the token endpoint gives to device polls before its real answer.
    - `access_token_lifetime`: the `expires_in` it sends, as given (3600, "3600", "abc", None: absent).
    - `rotate_refresh_tokens`: True, a refresh answers with a new refresh token and the old one is dead
      (reusing it is invalid_grant); False, it answers with no refresh_token and the old one stays good.
    - `granted_scope`: the `scope` its token responses carry (None echoes the request, "" omits it).
    - `reject_access_token(token)`: a resource server (userinfo here) answers 401 to it from now on.
    - `offers_revocation`: False, discovery names no revocation_endpoint and /revoke is not there (404).
    - `confidential_clients`: {client_id: secret}; those clients must send HTTP Basic (RFC 6749 §2.3.1)
      to the token, device authorization and revocation endpoints, and never a client_secret in the form.
    """

    def __init__(
        self,
        issuer: str = "https://idp.example.test",
        clock: FakeClock | None = None,
        client_ids: tuple[str, ...] = ("cli-public",),
        access_token_lifetime: Any = 3600,
        rotate_refresh_tokens: bool = True,
        device_interval: int | None = None,
        profile_claims_in_id_token: bool = False,
        confidential_clients: Mapping[str, str] | None = None,
        granted_scope: str | None = None,
        offers_revocation: bool = True,
    ) -> None:
        self.issuer = issuer
        self.granted_scope = granted_scope
        self.offers_revocation = offers_revocation
        self.clock = clock or FakeClock()
        # {client_id: secret}: these clients must authenticate with HTTP Basic (client_secret_basic).
        self.confidential_clients = dict(confidential_clients or {})
        self.client_ids = tuple(client_ids) + tuple(self.confidential_clients)
        self.access_token_lifetime = access_token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.device_interval = device_interval
        self.profile_claims_in_id_token = profile_claims_in_id_token
        self.requests: list[RecordedRequest] = []
        self.device_answers: deque[str] = deque()
        self._queued: dict[str, deque[HttpResponse]] = {}
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self._codes: dict[str, dict[str, Any]] = {}
        self._devices: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.revoked: list[str] = []

    # The HttpClient port.
    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        self.requests.append(RecordedRequest(method, url, endpoint, dict(form) if form else None, headers))
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.issuer:
            raise ProviderUnreachable(endpoint, url, "name or service not known")
        if self._queued.get(parts.path):
            return self._queued[parts.path].popleft()
        route = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/token": self._token,
            "/device_authorization": self._device_authorization,
            "/userinfo": self._userinfo,
            "/revoke": self._revoke if self.offers_revocation else None,
            "/introspect": self._introspect,
        }.get(parts.path)
        if route is None:
            return HttpResponse(404, {"content-type": "text/html"}, b"<h1>Not Found</h1>")
        return route(form or {}, headers or {})

    def queue_response(self, path: str, response: HttpResponse) -> None:
        self._queued.setdefault(path, deque()).append(response)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # What the person does in the browser.
    def authorize(self, authorization_url: str, user: FakeUser = DEMO_USER, include_iss: bool = True) -> str:
        """Sign `user` in at the authorization endpoint; returns the redirect to the client."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert query.get("client_id") in self.client_ids, "unknown client"
        assert query.get("code_challenge_method") == "S256", "PKCE S256 is required"
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"query": query, "user": user}
        params = {"code": code, "state": query["state"]}
        if include_iss:
            params["iss"] = self.issuer
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def deny(self, authorization_url: str, description: str = "The user cancelled") -> str:
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        params = {"error": "access_denied", "error_description": description, "state": query["state"],
                  "iss": self.issuer}
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def approve_device(self, user_code: str, user: FakeUser = DEMO_USER) -> None:
        for record in self._devices.values():
            if record["user_code"] == user_code:
                record["user"] = user
                return
        raise AssertionError(f"no device authorization with user code {user_code!r}")

    def deny_device(self, user_code: str) -> None:
        for record in self._devices.values():
            if record["user_code"] == user_code:
                record["denied"] = True

    @property
    def device_user_codes(self) -> list[str]:
        return [record["user_code"] for record in self._devices.values()]

    # Endpoints.
    def _discovery(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        return _json(200, {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "device_authorization_endpoint": self.issuer + "/device_authorization",
            **({"revocation_endpoint": self.issuer + "/revoke"} if self.offers_revocation else {}),
            "introspection_endpoint": self.issuer + "/introspect",
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        })

    def _jwks(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return _json(200, {"keys": [jwk]})

    def sign_id_token(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        return jwt.encode(dict(claims), self._key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def _issue(self, client_id: str, user: FakeUser, scope: str, nonce: str | None, refresh: bool) -> HttpResponse:
        now = int(self.clock.now())
        access = secrets.token_urlsafe(32)
        self.access_tokens[access] = {"user": user, "client_id": client_id, "scope": scope, "exp": now + 3600}
        claims = {"iss": self.issuer, "sub": user.sub, "aud": client_id, "iat": now, "exp": now + 3600,
                  "auth_time": now, "amr": list(user.amr), "acr": user.acr}
        if nonce:
            claims["nonce"] = nonce
        if self.profile_claims_in_id_token:
            claims.update({"name": user.name, "email": user.email, "preferred_username": user.username})
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "id_token": self.sign_id_token(claims)}
        if self.granted_scope != "":
            body["scope"] = scope if self.granted_scope is None else self.granted_scope
        if self.access_token_lifetime is not None:
            body["expires_in"] = self.access_token_lifetime
        if refresh and "offline_access" in scope.split():
            token = secrets.token_urlsafe(32)
            self.refresh_tokens[token] = {"user": user, "client_id": client_id, "scope": scope, "active": True}
            body["refresh_token"] = token
        return _json(200, body, {"cache-control": "no-store"})

    def _client_refusal(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse | None:
        """None if the request authenticates its client as that client must; else the provider's refusal."""
        client_id = form.get("client_id", "")
        if client_id not in self.client_ids:
            return _error("invalid_client", "unknown client", 401)
        if "client_secret" in form:
            return _error("invalid_request", "this provider takes client secrets only in the Authorization header")
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization")
        if client_id not in self.confidential_clients:
            return None if authorization is None else _error("invalid_client", "a public client has no secret", 401)
        if not authorization or not authorization.startswith("Basic "):
            return _error("invalid_client", "client authentication failed: no credentials", 401)
        try:
            pair = base64.b64decode(authorization.removeprefix("Basic "), validate=True).decode("utf-8")
        except ValueError:
            return _error("invalid_request", "invalid authorization header value format")
        given_id, _, given_secret = pair.partition(":")
        if unquote_plus(given_id) != client_id or unquote_plus(given_secret) != self.confidential_clients[client_id]:
            return _error("invalid_client", "client authentication failed", 401)
        return None

    def _token(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        grant = form.get("grant_type")
        client_id = form.get("client_id", "")
        refusal = self._client_refusal(form, headers)
        if refusal is not None:
            return refusal
        if grant == "authorization_code":
            record = self._codes.pop(form.get("code", ""), None)
            if record is None:
                return _error("invalid_grant", "authorization code is invalid or was already used")
            query = record["query"]
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            ).rstrip(b"=").decode()
            if challenge != query["code_challenge"]:
                return _error("invalid_grant", "PKCE verification failed")
            if form.get("redirect_uri") != query["redirect_uri"]:
                return _error("invalid_grant", "redirect_uri mismatch")
            return self._issue(client_id, record["user"], query["scope"], query.get("nonce"),
                               "consent" in query.get("prompt", ""))
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            record = self._devices.get(form.get("device_code", ""))
            if record is None:
                return _error("invalid_grant", "device code is invalid")
            if self.device_answers:
                return _error(self.device_answers.popleft())
            if self.clock.now() >= record["expires_at"]:
                return _error("expired_token", "device code expired")
            if record.get("denied"):
                return _error("access_denied", "the end-user denied the authorization request")
            if record.get("user") is None:
                return _error("authorization_pending")
            del self._devices[form["device_code"]]
            return self._issue(client_id, record["user"], record["scope"], None, True)
        if grant == "refresh_token":
            record = self.refresh_tokens.get(form.get("refresh_token", ""))
            if record is None or not record["active"]:
                return _error("invalid_grant", "refresh token is invalid or was revoked")
            if self.rotate_refresh_tokens:
                record["active"] = False
            response = self._issue(client_id, record["user"], record["scope"], None, self.rotate_refresh_tokens)
            return response
        return _error("unsupported_grant_type")

    def _device_authorization(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        refusal = self._client_refusal(form, headers)
        if refusal is not None:
            return refusal
        device = secrets.token_urlsafe(24)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(4)) + "-" + "".join(
            secrets.choice(alphabet) for _ in range(4))
        self._devices[device] = {"user_code": user_code, "scope": form.get("scope", "openid"),
                                 "expires_at": self.clock.now() + 600}
        body: dict[str, Any] = {"device_code": device, "user_code": user_code,
                                "verification_uri": self.issuer + "/device",
                                "verification_uri_complete": f"{self.issuer}/device?user_code={user_code}",
                                "expires_in": 600}
        if self.device_interval is not None:
            body["interval"] = self.device_interval
        return _json(200, body)

    def _bearer(self, headers: Mapping[str, str]) -> dict[str, Any] | None:
        value = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        token = value.removeprefix("Bearer ")
        record = self.access_tokens.get(token)
        return record if record and token not in self.revoked else None

    def _userinfo(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        record = self._bearer(headers)
        if record is None:
            return _error("invalid_token", "access token is invalid", 401)
        user: FakeUser = record["user"]
        return _json(200, {"sub": user.sub, "name": user.name, "email": user.email,
                           "preferred_username": user.username})

    def _revoke(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        refusal = self._client_refusal(form, headers)
        if refusal is not None:
            return refusal
        token = form.get("token", "")
        self.revoked.append(token)
        if token in self.refresh_tokens:
            self.refresh_tokens[token]["active"] = False
        return HttpResponse(200, {}, b"")

    def reject_access_token(self, token: str) -> None:
        self.revoked.append(token)

    def _introspect(self, form: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        token = form.get("token", "")
        refresh = self.refresh_tokens.get(token)
        active = (token in self.access_tokens and token not in self.revoked) or bool(refresh and refresh["active"])
        return _json(200, {"active": active})
