"""The web browser adapter with BROWSER set to small scripts: what counts as a browser that opened."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest

from pingcli.adapters import web_browser
from pingcli.adapters.web_browser import NoBrowser, WebBrowser

URL = "https://op.example/authorize?client_id=pingcli&state=abc"


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No display, nothing on PATH, and webbrowser made to detect browsers again (restored afterwards)."""
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "MIR_SOCKET", "GNOME_DESKTOP_SESSION_ID", "KDE_FULL_SESSION"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})


def browser_script(tmp_path: Path, body: str, name: str = "fake-browser") -> tuple[Path, Path]:
    record = tmp_path / "argv.txt"
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{record}'\n{body}\n")
    script.chmod(0o755)
    return script, record


def test_a_browser_program_that_exits_0_opened_the_url(monkeypatch, tmp_path) -> None:
    script, record = browser_script(tmp_path, "exit 0")
    monkeypatch.setenv("BROWSER", str(script))

    assert WebBrowser().open(URL) is True
    assert record.read_text().splitlines() == [URL]


def test_a_browser_program_that_fails_did_not_open_it(monkeypatch, tmp_path) -> None:
    script, record = browser_script(tmp_path, "exit 1")
    monkeypatch.setenv("BROWSER", str(script))

    assert WebBrowser().open(URL) is False
    assert record.read_text().splitlines() == [URL]


def test_no_browser_at_all_is_false_not_an_error() -> None:
    assert WebBrowser().open(URL) is False


def test_a_text_mode_browser_is_not_used(monkeypatch, tmp_path) -> None:
    script, record = browser_script(tmp_path, "exit 0", name="lynx")
    monkeypatch.setenv("BROWSER", str(script))
    monkeypatch.setenv("TERM", "xterm")

    assert WebBrowser().open(URL) is False
    assert not record.exists()


def test_the_browser_program_says_nothing_on_the_terminal(monkeypatch, tmp_path, capfd) -> None:
    script, _ = browser_script(tmp_path, "echo chatter; echo more chatter >&2; exit 0")
    monkeypatch.setenv("BROWSER", str(script))

    assert WebBrowser().open(URL) is True
    assert capfd.readouterr() == ("", "")


def test_a_browser_program_still_running_is_taken_to_have_opened_it(monkeypatch, tmp_path) -> None:
    script, _ = browser_script(tmp_path, "/bin/sleep 1; exit 1")
    monkeypatch.setenv("BROWSER", str(script))
    monkeypatch.setattr(web_browser, "_FOREGROUND_WAIT", 0.3)

    assert WebBrowser().open(URL) is True


def test_only_web_addresses_are_opened(monkeypatch, tmp_path) -> None:
    script, record = browser_script(tmp_path, "exit 0")
    monkeypatch.setenv("BROWSER", str(script))

    assert WebBrowser().open("--version") is False
    assert WebBrowser().open("file:///etc/passwd") is False
    assert not record.exists()


def test_no_browser_never_opens_anything() -> None:
    assert NoBrowser().open(URL) is False
