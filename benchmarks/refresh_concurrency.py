#!/usr/bin/env python3
"""N `pingcli auth token` processes at once with an expired access token: how many refreshes reach the provider."""

from __future__ import annotations

import argparse
import json
import time

from _common import Sandbox, start_provider, table

REFRESH = "refresh_token"


def expire_access_token(sandbox: Sandbox) -> None:
    """Make the stored access token look expired, as it would be an hour later."""
    # Under a namespace of the sandbox's configuration file (it is not the default one): found wherever it is.
    [path] = (sandbox.data_dir / "sessions").rglob("default/demo.json")
    stored = json.loads(path.read_text())
    stored["session"]["tokens"]["expires_at"] = time.time() - 10
    path.write_text(json.dumps(stored))


def one_round(sandbox: Sandbox, op, processes: int) -> list[object]:
    expire_access_token(sandbox)
    op.clear_requests()
    started = time.perf_counter()
    running = [sandbox.start("auth", "token") for _ in range(processes)]
    outputs = [p.communicate(timeout=300) for p in running]
    wall = time.perf_counter() - started
    failures = sum(1 for p in running if p.returncode != 0)
    tokens = {out.strip() for (out, _), p in zip(outputs, running) if p.returncode == 0}
    return [
        processes,
        op.count("/token", grant_type=REFRESH),
        op.count("/.well-known/openid-configuration"),
        len(tokens),
        failures,
        f"{wall:.2f}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 5, 20], metavar="N",
                        help="how many processes start together, one round per value (default: 1 5 20)")
    args = parser.parse_args()
    op = start_provider()
    try:
        with Sandbox("refresh") as sandbox:
            sandbox.configure(op.issuer, storage="file_system")
            sandbox.must("auth", "login")
            rows = [one_round(sandbox, op, n) for n in args.processes]
    finally:
        op.stop()
    print("auth token with an expired access token, N processes started together (file_system storage)")
    print(table(["processes", "refresh requests", "discovery requests", "distinct tokens", "failures", "wall s"],
                rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
