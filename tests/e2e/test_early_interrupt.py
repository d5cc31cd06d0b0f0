"""Ctrl-C in the first milliseconds of a command, while Python is still importing pingcli: one line, exit 130, never
a traceback.

Before pingcli's first line runs, Python is starting (its `site`, the `.pth` files of the environment, an editable
install's import finder): a SIGINT then meets Python itself (killed by the signal, or Python's own "Fatal Python
error: init_import_site"), which no program can change. The delays are counted from the time this Python takes to
get that far, and a signal that still lands there is sent again a little later.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time

from tests.e2e.conftest import PINGCLI

AFTER_STARTUP_MS = (0, 2, 5, 10, 15, 20, 30, 40, 60)


def python_startup(env) -> float:
    """Seconds until this Python has started and found pingcli's package (median of a few runs)."""
    took = []
    for _ in range(5):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import pingcli.entrypoints"], env=env, check=True)
        took.append(time.monotonic() - started)
    return statistics.median(took)


def interrupted(terminal, delay: float) -> subprocess.CompletedProcess:
    process = subprocess.Popen([str(PINGCLI), "auth", "status"], env=terminal.env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def in_pythons_own_startup(result: subprocess.CompletedProcess) -> bool:
    """The signal came before pingcli's first line (see the module's note); no frame of pingcli's modules ran."""
    if result.returncode == -signal.SIGINT and result.stderr == "":
        return True  # before Python installed its own handler
    if "init_import_site" in result.stderr:
        return True
    # Any frame of pingcli's own, the first being its console entry module, is a path with /entrypoints/ in it.
    return "Traceback" in result.stderr and "/entrypoints/" not in result.stderr


def test_ctrl_c_while_pingcli_is_still_importing_prints_one_line_and_exits_130(terminal):
    terminal.configure("https://issuer.example.test", storage="file_system")
    base = python_startup(terminal.env)
    cancelled = 0

    for extra_ms in AFTER_STARTUP_MS:
        delay = base + extra_ms / 1000
        for _ in range(10):
            result = interrupted(terminal, delay)
            if not in_pythons_own_startup(result):
                break
            delay += 0.003
        else:
            raise AssertionError(f"Python was still starting after {delay:.3f} s; the machine is too busy to tell")

        assert "Traceback" not in result.stderr and "KeyboardInterrupt" not in result.stderr, (extra_ms, result.stderr)
        if result.returncode == 130:
            cancelled += 1
            assert result.stderr == "pingcli: cancelled\n", (extra_ms, result.stderr)
            assert result.stdout == ""
        else:  # it finished before the signal came: then as it always ends
            assert result.returncode == 3, (extra_ms, result.returncode, result.stderr)

    assert cancelled >= len(AFTER_STARTUP_MS) // 2  # most signals came while it was importing, as meant


def test_ctrl_c_early_with_json_output_still_gives_one_json_document(terminal):
    base = python_startup(terminal.env)
    cancelled = 0
    for extra_ms in (0, 5, 10, 20):
        delay = base + extra_ms / 1000
        for _ in range(10):
            process = subprocess.Popen([str(PINGCLI), "auth", "status", "--output", "json"], env=terminal.env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
            time.sleep(delay)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
            result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
            if not in_pythons_own_startup(result):
                break
            delay += 0.003
        assert "Traceback" not in result.stderr
        if result.returncode == 130:
            cancelled += 1
            assert json.loads(result.stdout) == {"error": {"message": "cancelled", "hint": None, "exit_code": 130}}
    assert cancelled
