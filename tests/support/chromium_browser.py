#!/usr/bin/env python3
"""A test BROWSER that is a real one: headless Debian Chromium, driven by Playwright.

Same contract as scripted_browser.py: `chromium_browser.py URL` starts a detached worker and exits
0 at once; the worker opens URL in a fresh Chromium profile, fills the provider's forms (login,
consent, device code), lets Chromium follow the redirect to the loopback callback and appends what
happened as JSON lines to PINGCLI_TEST_BROWSER_LOG. Environment:

  PINGCLI_TEST_USER, PINGCLI_TEST_PASSWORD   the account (default demo / demo-password)
  PINGCLI_TEST_OTP                          one-time code to type, if any
  PINGCLI_TEST_BROWSER_ACTION               "login" (default) or "deny"
  PINGCLI_TEST_USER_CODE                    user code to type on a device verification page
  PINGCLI_TEST_BROWSER_DELAY                seconds to wait before acting (default 0)
  PINGCLI_TEST_BROWSER_LOG                  file to append JSON lines to
  PINGCLI_TEST_CHROMIUM                     browser binary (default /usr/bin/chromium)
  PINGCLI_TEST_PYTHON                       a Python that has the `playwright` package, if the
                                            one running this script has not

Needs the `playwright` Python package and Debian's `chromium`; never `playwright install`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
WORKER_FLAG = "--worker"
BROWSER_NAME = "chromium"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_TIMEOUT_MS = 15_000
MAX_STEPS = 40


def log(entry: dict) -> None:
    path = os.environ.get("PINGCLI_TEST_BROWSER_LOG")
    if not path:
        return
    record = {"ts": time.time(), "browser": BROWSER_NAME, "pid": os.getpid(), **entry}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def settings() -> dict:
    return {
        "user": os.environ.get("PINGCLI_TEST_USER") or "demo",
        "password": os.environ.get("PINGCLI_TEST_PASSWORD") or "demo-password",
        "otp": os.environ.get("PINGCLI_TEST_OTP") or "",
        "action": (os.environ.get("PINGCLI_TEST_BROWSER_ACTION") or "login").strip().lower(),
        "user_code": os.environ.get("PINGCLI_TEST_USER_CODE") or "",
        "delay": float(os.environ.get("PINGCLI_TEST_BROWSER_DELAY") or 0),
        "chromium": os.environ.get("PINGCLI_TEST_CHROMIUM") or DEFAULT_CHROMIUM,
    }


# ---------------------------------------------------------------------------
# Launcher: find a Python with playwright, start the worker detached, exit 0
# ---------------------------------------------------------------------------


def _has_playwright(python: str) -> bool:
    # Not realpath: a virtual environment's python is a symlink to the base interpreter.
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        return importlib.util.find_spec("playwright") is not None
    try:
        return subprocess.run(
            [python, "-c", "import playwright.sync_api"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _worker_python() -> str | None:
    candidates = [os.environ.get("PINGCLI_TEST_PYTHON"), sys.executable, str(REPO / ".venv" / "bin" / "python")]
    for python in candidates:
        if python and os.path.exists(python) and _has_playwright(python):
            return python
    return None


def launch(url: str) -> int:
    s = settings()
    log({"event": "opened", "url": url, "user": s["user"], "action": s["action"]})
    problems = []
    python = _worker_python()
    if python is None:
        problems.append("no Python with the `playwright` package (set PINGCLI_TEST_PYTHON)")
    if not shutil.which(s["chromium"]):
        problems.append(f"no Chromium at {s['chromium']} (apt-get install chromium)")
    if problems:
        log({"event": "error", "url": url, "error": "; ".join(problems)})
        sys.stderr.write(f"chromium_browser: {'; '.join(problems)}\n")
        return 1
    subprocess.Popen(
        [python, str(pathlib.Path(__file__).resolve()), WORKER_FLAG, url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd=str(HERE),
    )
    return 0


# ---------------------------------------------------------------------------
# Worker: drive Chromium through the provider's pages
# ---------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Refused(AssertionError):
    pass


def _text(page) -> str:
    try:
        return page.inner_text("body", timeout=STEP_TIMEOUT_MS)
    except Exception:  # not HTML, or no body
        return page.content()


def _drive(page, url: str, s: dict) -> dict:
    provider = _origin(url)
    status = None
    navigation = page.goto(url, wait_until="load", timeout=STEP_TIMEOUT_MS)
    status = navigation.status if navigation else None

    def act(click_selector: str) -> None:
        nonlocal status
        with page.expect_navigation(wait_until="load", timeout=STEP_TIMEOUT_MS) as nav:
            page.click(click_selector, timeout=STEP_TIMEOUT_MS)
        response = nav.value
        status = response.status if response else None

    submitted_login = False
    submitted_code = False
    for _ in range(MAX_STEPS):
        current = page.url
        if _origin(current) != provider:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(current).query))
            return {"event": "callback", "final_url": current, "status": status, "body": _text(page), "query": query}
        if page.locator("#success").count():
            return {"event": "device_success", "final_url": current, "status": status, "body": _text(page)}
        if page.locator("#login-form").count():
            if submitted_login:
                raise _Refused(f"the provider refused the sign-in at {current}:\n{_text(page)}")
            if s["action"] == "deny":
                act("#abort")
                continue
            page.fill("#login-form [name=login]", s["user"])
            page.fill("#login-form [name=password]", s["password"])
            page.fill("#login-form [name=otp]", s["otp"])
            submitted_login = True
            act("#login-form [type=submit]")
            continue
        if page.locator("#consent-form").count():
            act("#abort" if s["action"] == "deny" else "#allow")
            continue
        if page.locator('[id="op.deviceConfirmForm"]').count():
            act("#abort" if s["action"] == "deny" else "#continue")
            continue
        if page.locator('[id="op.deviceInputForm"]').count():
            error = page.locator("[data-error]")
            kind = error.first.get_attribute("data-error") if error.count() else None
            if kind == "aborted" and s["action"] == "deny":
                return {"event": "device_denied", "final_url": current, "status": status, "body": _text(page)}
            if kind or submitted_code:
                raise _Refused(f"the provider refused the user code at {current}:\n{_text(page)}")
            if not s["user_code"]:
                raise _Refused(f"the provider asks for a user code but PINGCLI_TEST_USER_CODE is not set:\n{_text(page)}")
            page.fill('[id="op.deviceInputForm"] [name=user_code]', s["user_code"])
            submitted_code = True
            act("#continue")
            continue
        if "Submitting" in page.title():
            # oidc-provider's self-submitting form (verification_uri_complete, form_post)
            page.wait_for_url(lambda u: u != current, wait_until="load", timeout=STEP_TIMEOUT_MS)
            continue
        raise _Refused(f"unexpected page at {current} (HTTP {status}):\n{_text(page)}")
    raise _Refused(f"gave up after {MAX_STEPS} pages, at {page.url}")


def work(url: str) -> int:
    s = settings()
    profile = tempfile.mkdtemp(prefix="pingcli-chromium-")
    try:
        if s["delay"]:
            time.sleep(s["delay"])
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=s["chromium"],
                headless=True,
                args=CHROMIUM_FLAGS,
                env={**os.environ, "HOME": profile},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                outcome = _drive(page, url, s)
            finally:
                context.close()
        log({"url": url, **outcome})
        return 0
    except BaseException as err:  # the log is the only place anyone will see this
        log({
            "event": "error",
            "url": url,
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
        })
        return 1
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == WORKER_FLAG:
        return work(argv[2])
    if len(argv) != 2:
        sys.stderr.write(f"usage: {argv[0]} URL\n")
        return 2
    return launch(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
