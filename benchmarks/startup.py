#!/usr/bin/env python3
"""Whole-process start-up cost of pingcli commands, against `python -c pass` measured in the same run."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

from _common import PINGCLI, PYTHON, Sandbox, table

COMMANDS = [
    ("python -c pass", [str(PYTHON), "-c", "pass"]),
    ("pingcli --help", [str(PINGCLI), "--help"]),
    ("pingcli auth status", [str(PINGCLI), "auth", "status"]),
    ("pingcli config get auth.storage.type", [str(PINGCLI), "config", "get", "auth.storage.type"]),
]
# `auth status` with nothing stored exits 3 (not signed in); that is its correct answer here.
EXPECTED_EXIT = {"pingcli auth status": 3}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", "-k", type=int, default=15, metavar="K", help="runs per command (default 15)")
    args = parser.parse_args()
    with Sandbox("startup") as sandbox:
        # A configured profile with nothing stored; no provider is asked anything by these commands.
        sandbox.configure("https://idp.example.test", storage="file_system")
        samples: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
        for name, argv in COMMANDS:  # one warm-up each: the page cache, .pyc files
            timed(argv, sandbox.env)
        for _ in range(args.runs):  # interleaved, so a noisy moment hits every command alike
            for name, argv in COMMANDS:
                seconds, code = timed(argv, sandbox.env)
                if code != EXPECTED_EXIT.get(name, 0):
                    raise SystemExit(f"{name} exited {code}")
                samples[name].append(seconds)
    base = statistics.median(samples["python -c pass"])
    rows = []
    for name, _ in COMMANDS:
        median = statistics.median(samples[name])
        rows.append([name, f"{median * 1000:.0f}", f"{min(samples[name]) * 1000:.0f}", f"{median / base:.1f}x"])
    print(f"whole-process time, median of {args.runs} runs (python: {PYTHON})")
    print(table(["command", "median ms", "min ms", "vs python -c pass"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
