#!/usr/bin/env python3
"""Requests the provider receives for a first and a second `pingcli auth login`, by path, from its request log."""

from __future__ import annotations

import re
from collections import Counter

from _common import Sandbox, start_provider, table

# What pingcli itself asks; every other path is the (scripted) browser signing the person in.
PINGCLI_PATHS = {"/.well-known/openid-configuration", "/jwks", "/token", "/me", "/userinfo",
                 "/device/auth", "/token/revocation", "/token/introspection"}


def by_path(requests: list[dict]) -> Counter:
    counted: Counter = Counter()
    for request in requests:
        path = re.sub(r"/(interaction|auth)/[A-Za-z0-9_-]{8,}", r"/\1/{uid}", request.get("path", ""))
        grant = request.get("grant_type")
        counted[(request.get("method", "?"), path + (f" ({grant})" if grant else ""))] += 1
    return counted


def login(sandbox: Sandbox, op) -> Counter:
    op.clear_requests()
    sandbox.must("auth", "login")
    return by_path(op.requests())


def main() -> int:
    op = start_provider()
    try:
        with Sandbox("login") as sandbox:
            sandbox.configure(op.issuer, storage="file_system")
            first = login(sandbox, op)
            second = login(sandbox, op)
    finally:
        op.stop()
    keys = sorted(set(first) | set(second), key=lambda k: (k[1].split(" ")[0] not in PINGCLI_PATHS, k[1], k[0]))
    rows = [[f"{method} {path}", "pingcli" if path.split(" ")[0] in PINGCLI_PATHS else "browser", first[(method, path)],
             second[(method, path)]] for method, path in keys]
    mine = [k for k in keys if k[1].split(" ")[0] in PINGCLI_PATHS]
    rows.append(["total sent by pingcli", "", sum(first[k] for k in mine), sum(second[k] for k in mine)])
    rows.append(["total", "", sum(first.values()), sum(second.values())])
    print("requests received by the provider per `pingcli auth login` (authorization code, file_system storage)")
    print(table(["request", "from", "first login", "second login"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
