#!/usr/bin/env python3
"""A test BROWSER: a detached scripted Person signs in at the URL; this program exits 0 at once.

Python's webbrowser runs `[BROWSER, url]` and waits for it, so the work happens in a detached
worker (`scripted_browser.py --worker URL`). Settings come from the environment:

  PINGCLI_TEST_USER, PINGCLI_TEST_PASSWORD   the account (default demo / demo-password)
  PINGCLI_TEST_OTP                          one-time code to type, if any
  PINGCLI_TEST_BROWSER_ACTION               "login" (default) or "deny"
  PINGCLI_TEST_USER_CODE                    user code to type on a device verification page
  PINGCLI_TEST_BROWSER_DELAY                seconds to wait before acting (default 0)
  PINGCLI_TEST_BROWSER_LOG                  file to append JSON lines to: what was opened, how it ended
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
WORKER_FLAG = "--worker"
BROWSER_NAME = "scripted"


def log(entry: dict) -> None:
    path = os.environ.get("PINGCLI_TEST_BROWSER_LOG")
    if not path:
        return
    record = {"ts": time.time(), "browser": BROWSER_NAME, "pid": os.getpid(), **entry}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def load_person_module():
    # Load by file path: a stray `tests` package elsewhere on sys.path cannot shadow it.
    spec = importlib.util.spec_from_file_location("pingcli_test_person", HERE / "person.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def settings() -> dict:
    return {
        "user": os.environ.get("PINGCLI_TEST_USER") or "demo",
        "password": os.environ.get("PINGCLI_TEST_PASSWORD") or "demo-password",
        "otp": os.environ.get("PINGCLI_TEST_OTP") or None,
        "action": (os.environ.get("PINGCLI_TEST_BROWSER_ACTION") or "login").strip().lower(),
        "user_code": os.environ.get("PINGCLI_TEST_USER_CODE") or None,
        "delay": float(os.environ.get("PINGCLI_TEST_BROWSER_DELAY") or 0),
    }


def launch(url: str) -> int:
    s = settings()
    log({"event": "opened", "url": url, "user": s["user"], "action": s["action"]})
    subprocess.Popen(
        [sys.executable, str(pathlib.Path(__file__).resolve()), WORKER_FLAG, url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd=str(HERE),
    )
    return 0


def work(url: str) -> int:
    s = settings()
    try:
        if s["delay"]:
            time.sleep(s["delay"])
        person_module = load_person_module()
        person = person_module.Person(s["user"], s["password"], s["otp"])
        visit = person.visit(url, action=s["action"], user_code=s["user_code"])
        log({
            "event": visit.kind,
            "url": url,
            "final_url": visit.final_url,
            "status": visit.status,
            "body": visit.body,
            "query": visit.query,
        })
        return 0
    except BaseException as err:  # the log is the only place anyone will see this
        log({
            "event": "error",
            "url": url,
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
        })
        return 1


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == WORKER_FLAG:
        return work(argv[2])
    if len(argv) != 2:
        sys.stderr.write(f"usage: {argv[0]} URL\n")
        return 2
    return launch(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
