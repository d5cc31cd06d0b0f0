#!/usr/bin/env python3
"""Prove the local provider and the test helpers work end to end (stdlib; --chromium needs playwright).

Run from the repository root: python tests/support/selfcheck.py [--chromium]
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import pathlib
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from op import (  # noqa: E402
    ACR_MFA,
    ACR_PWD,
    CONFIDENTIAL_CLIENT_ID,
    CONFIDENTIAL_CLIENT_SECRET,
    DEVICE_GRANT,
    PUBLIC_CLIENT_ID,
    LocalProvider,
)
from person import Person  # noqa: E402

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
RESULTS: list[str] = []


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    RESULTS.append(message)
    print(f"ok  {message}", flush=True)


# -- a tiny loopback callback listener ---------------------------------------


class Listener:
    def __init__(self):
        self.hits: list[dict] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                split = urllib.parse.urlsplit(self.path)
                if split.path != "/callback":  # a real browser also asks for /favicon.ico
                    self.send_error(404)
                    return
                query = dict(urllib.parse.parse_qsl(split.query))
                hits.append(query)
                body = b"signed in; you can close this window" if "code" in query else b"sign-in failed"
                self.send_response(200 if "code" in query else 400)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not self.hits and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.hits:
            raise AssertionError("no callback arrived")
        return self.hits[-1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- OAuth by hand ----------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def http_json(url, form=None, *, auth=None, bearer=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def auth_request(meta, redirect_uri, *, scope="openid profile email offline_access", extra=None):
    verifier = b64url(secrets.token_bytes(32))
    params = {
        "response_type": "code",
        "client_id": PUBLIC_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
        "prompt": "consent",
        **(extra or {}),
    }
    return meta["authorization_endpoint"] + "?" + urllib.parse.urlencode(params), params, verifier


def exchange(meta, query, params, verifier):
    assert query.get("state") == params["state"], query
    return http_json(meta["token_endpoint"], {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": params["redirect_uri"],
        "client_id": PUBLIC_CLIENT_ID,
        "code_verifier": verifier,
    })


def code_flow(op, meta, person, *, extra=None):
    listener = Listener()
    try:
        url, params, verifier = auth_request(meta, listener.redirect_uri, extra=extra)
        body = person.authorize(url)
        query = listener.hits[-1]
    finally:
        listener.close()
    check(body == "signed in; you can close this window", f"{person.username}: Person.authorize fetched the callback")
    check(query.get("iss") == op.issuer, f"{person.username}: RFC 9207 iss on the authorization response")
    status, tokens = exchange(meta, query, params, verifier)
    check(status == 200, f"{person.username}: code exchanged ({status} {tokens.get('error', '')})")
    return tokens, params


def main(argv):
    use_chromium = "--chromium" in argv
    started = time.monotonic()
    with LocalProvider({"OP_DEVICE_INTERVAL": "1"}) as op:
        print(f"provider ready at {op.issuer}: npm ci {op.install_seconds:.2f} s, start {op.start_seconds:.2f} s", flush=True)
        _, meta = http_json(op.discovery_url)
        check(meta["issuer"] == op.issuer, "discovery issuer matches the ready line")
        check(meta["code_challenge_methods_supported"] == ["S256"], "PKCE S256 only")

        # Authorization code + PKCE, demo.
        tokens, params = code_flow(op, meta, Person("demo", "demo-password"))
        check({"access_token", "id_token", "refresh_token"} <= set(tokens), "demo: access, ID and refresh tokens")
        claims = jwt_payload(tokens["id_token"])
        check(claims["amr"] == ["pwd"] and claims["acr"] == ACR_PWD, f"demo: amr {claims['amr']} acr {claims['acr']}")
        check(claims["nonce"] == params["nonce"] and "auth_time" in claims, "demo: nonce and auth_time in the ID token")
        check("name" not in claims, "demo: profile claims are not in the ID token")
        status, info = http_json(meta["userinfo_endpoint"], bearer=tokens["access_token"])
        check(status == 200 and info["name"] == "Demo User" and info["email"] == "demo@example.test",
              f"demo: userinfo {info}")

        # Refresh with rotation; replaying the old refresh token fails.
        status, refreshed = http_json(meta["token_endpoint"], {
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": PUBLIC_CLIENT_ID})
        check(status == 200 and refreshed["refresh_token"] != tokens["refresh_token"], "refresh token rotated")
        status, replay = http_json(meta["token_endpoint"], {
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": PUBLIC_CLIENT_ID})
        check(status == 400 and replay["error"] == "invalid_grant", "old refresh token replay is invalid_grant")
        status, intro = http_json(meta["introspection_endpoint"], {"token": refreshed["access_token"]},
                                  auth=(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET))
        check(status == 200 and intro["active"] is False, "replay revoked the grant (introspection: inactive)")
        check(op.count("/token", grant_type="refresh_token") == 2, "request log counts two refresh requests")
        check(op.count("/.well-known/openid-configuration") == 1, "request log counts one discovery request")

        # MFA with the one-time code.
        tokens, _ = code_flow(op, meta, Person("mfa", "mfa-password", otp="123456"), extra={"acr_values": ACR_MFA})
        claims = jwt_payload(tokens["id_token"])
        check(claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR_MFA,
              f"mfa with code: amr {claims['amr']} acr {claims['acr']}")
        tokens, _ = code_flow(op, meta, Person("mfa", "mfa-password"))
        check(jwt_payload(tokens["id_token"])["amr"] == ["pwd"], "mfa without code: amr ['pwd']")

        # Refusals.
        listener = Listener()
        try:
            for person, extra, why in [
                (Person("mfa", "mfa-password"), {"acr_values": ACR_MFA}, "requires multi-factor"),
                (Person("demo", "wrong"), None, "Invalid username or password"),
                (Person("mfa", "mfa-password", otp="000000"), None, "Invalid one-time code"),
            ]:
                url, _, _ = auth_request(meta, listener.redirect_uri, extra=extra)
                try:
                    person.authorize(url)
                except AssertionError as err:
                    check(why in str(err), f"refused: {why}")
                else:
                    raise AssertionError(f"expected a refusal: {why}")
            url, params, _ = auth_request(meta, listener.redirect_uri)
            body = Person("demo", "demo-password").deny(url)
            query = listener.hits[-1]
            check(body == "sign-in failed" and query["error"] == "access_denied" and query["state"] == params["state"],
                  "deny: callback gets error=access_denied with state")
            # Not following the callback returns its URL; localhost and [::1] redirect URIs work too.
            for host in ("localhost", "[::1]"):
                url, _, _ = auth_request(meta, f"http://{host}:{listener.port}/callback")
                final = Person("alice", "alice-password").authorize(url, follow_callback=False)
                check(final.startswith(f"http://{host}:{listener.port}/callback?code="), f"redirect to {host} accepted")
        finally:
            listener.close()

        # Device flow (user code typed by hand), then through verification_uri_complete, then denied.
        for how in ("typed", "complete", "deny"):
            status, device = http_json(meta["device_authorization_endpoint"], {
                "client_id": PUBLIC_CLIENT_ID, "scope": "openid profile email offline_access"})
            check(status == 200 and device.get("interval") == 1, f"device ({how}): authorization with interval 1")
            person = Person("alice", "alice-password")
            if how == "typed":
                person.enter_device_code(device["verification_uri"], device["user_code"])
            elif how == "complete":
                person.enter_device_code(device["verification_uri_complete"])
            else:
                person.deny_device(device["verification_uri"], device["user_code"])
            status, tokens = http_json(meta["token_endpoint"], {
                "grant_type": DEVICE_GRANT, "device_code": device["device_code"], "client_id": PUBLIC_CLIENT_ID})
            if how == "deny":
                check(status == 400 and tokens["error"] == "access_denied", "device denied: access_denied")
                continue
            check(status == 200 and {"access_token", "id_token", "refresh_token"} <= set(tokens),
                  f"device ({how}): access, ID and refresh tokens")
            claims = jwt_payload(tokens["id_token"])
            check(claims["sub"] == "alice" and claims["amr"] == ["pwd"], f"device ({how}): sub alice amr ['pwd']")
            _, info = http_json(meta["userinfo_endpoint"], bearer=tokens["access_token"])
            check(info.get("name") == "Alice Example", "device: userinfo name Alice Example")

        # Client credentials for the confidential client.
        status, cc = http_json(meta["token_endpoint"], {"grant_type": "client_credentials"},
                               auth=(CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET))
        check(status == 200 and "access_token" in cc, "client credentials for cli-confidential")

    # A consent page (OP_AUTO_CONSENT=0) and the BROWSER programs.
    with LocalProvider({"OP_AUTO_CONSENT": "0"}) as op:
        _, meta = http_json(op.discovery_url)
        code_flow(op, meta, Person("demo", "demo-password"))
        confirms = [r for r in op.requests() if r["method"] == "POST" and r["path"].endswith("/confirm")]
        check(len(confirms) == 1 and confirms[0]["status"] == 303, "with OP_AUTO_CONSENT=0 the consent form was posted")

        browsers = [("scripted_browser.py", {})]
        if use_chromium:
            browsers.append(("chromium_browser.py", {"PINGCLI_TEST_PYTHON": sys.executable}))
        for script, extra_env in browsers:
            for user, password, otp, expect_amr in [("demo", "demo-password", "", ["pwd"]),
                                                     ("mfa", "mfa-password", "123456", ["pwd", "otp", "mfa"])]:
                listener = Listener()
                log = pathlib.Path(tempfile.mkstemp(suffix=".jsonl")[1])
                try:
                    url, params, verifier = auth_request(meta, listener.redirect_uri)
                    env = {**os.environ, **extra_env, "PINGCLI_TEST_USER": user, "PINGCLI_TEST_PASSWORD": password,
                           "PINGCLI_TEST_OTP": otp, "PINGCLI_TEST_BROWSER_LOG": str(log)}
                    t0 = time.monotonic()
                    rc = subprocess.run([str(HERE / script), url], env=env, timeout=30).returncode
                    launched = time.monotonic() - t0
                    check(rc == 0 and launched < 5, f"{script}: exit 0 after {launched:.2f} s")
                    query = listener.wait()
                    status, tokens = exchange(meta, query, params, verifier)
                    check(status == 200 and jwt_payload(tokens["id_token"])["amr"] == expect_amr,
                          f"{script} as {user}: callback code exchanged, amr {expect_amr}")
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline:
                        entries = [json.loads(x) for x in log.read_text().splitlines()]
                        if any(e["event"] != "opened" for e in entries):
                            break
                        time.sleep(0.1)
                    events = [e["event"] for e in entries]
                    check(events == ["opened", "callback"] and entries[-1]["body"].startswith("signed in"),
                          f"{script}: log {events}, callback body {entries[-1].get('body')!r}")
                finally:
                    listener.close()
                    log.unlink()

    print(f"selfcheck: all {len(RESULTS)} checks hold ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
