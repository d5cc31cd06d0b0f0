"""The Browser port: Python's webbrowser (which honours BROWSER), minus text-mode browsers and their noise."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import webbrowser

# Browsers that would take over the terminal pingcli is printing to: treated as no browser at all.
TEXT_MODE_BROWSERS = frozenset({"lynx", "w3m", "links", "links2", "elinks", "www-browser", "browsh", "netrik"})

_FOREGROUND_WAIT = 10.0  # a BROWSER program still running after this long is taken to have started a browser
_BACKGROUND_WAIT = 1.0  # a launcher (xdg-open) failing within this long is taken to have failed
_SLICE = 0.1


def _program_name(path: str) -> str:
    name = os.path.basename(path.strip().split()[0] if path.strip() else "").lower()
    return name[:-4] if name.endswith(".exe") else name


def _is_text_mode(entry: str, controller: webbrowser.BaseBrowser) -> bool:
    names = {_program_name(entry), _program_name(getattr(controller, "name", "") or "")}
    return bool(names & TEXT_MODE_BROWSERS)


def _wait(process: subprocess.Popen[bytes], limit: float) -> int | None:
    """The exit status, or None if still running after `limit` seconds; waits in slices so Ctrl-C is prompt."""
    deadline = time.monotonic() + limit
    while True:
        status = process.poll()
        if status is not None or time.monotonic() >= deadline:
            return status
        time.sleep(_SLICE)


def _launch(controller: webbrowser.BaseBrowser, url: str) -> bool:
    kind = type(controller)
    if kind is webbrowser.GenericBrowser or kind is webbrowser.BackgroundBrowser:
        # Same as webbrowser's own open, but with the program's output silenced and stdin closed, and
        # without waiting forever for a foreground program.
        name: str = controller.name  # type: ignore[attr-defined]
        args: list[str] = controller.args  # type: ignore[attr-defined]
        cmdline = [name] + [arg.replace("%s", url) for arg in args]
        sys.audit("webbrowser.open", url)
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        background = kind is webbrowser.BackgroundBrowser
        if os.name == "posix":
            process = subprocess.Popen(cmdline, close_fds=True, start_new_session=background, **quiet)
        else:
            process = subprocess.Popen(cmdline, **quiet)
        status = _wait(process, _BACKGROUND_WAIT if background else _FOREGROUND_WAIT)
        if status is None:  # still running: reap it when it ends, so it never lingers as a zombie
            threading.Thread(target=process.wait, name="pingcli-browser-reaper", daemon=True).start()
        return status is None or status == 0
    return bool(controller.open(url))


class WebBrowser:
    """Opens the system's browser; False (never an exception) when there is none that pingcli may use."""

    def open(self, url: str) -> bool:
        if not url.lower().startswith(("https://", "http://")):
            return False
        try:
            webbrowser.get()  # registers the standard browsers (reading BROWSER) on first use
        except webbrowser.Error:
            return False
        for entry in list(getattr(webbrowser, "_tryorder", None) or ()):
            try:
                controller = webbrowser.get(entry)
            except webbrowser.Error:
                continue
            if _is_text_mode(entry, controller):
                continue
            try:
                if _launch(controller, url):
                    return True
            except (OSError, ValueError, subprocess.SubprocessError):
                continue
        return False


class NoBrowser:
    """For --no-browser: never opens anything."""

    def open(self, url: str) -> bool:
        return False
