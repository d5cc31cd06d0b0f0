"""The configuration file through the installed command: changes made at the same moment by several processes."""

from __future__ import annotations

import tomllib

ISSUER = "http://127.0.0.1:39111"  # never contacted: `config set` only writes the setting
PROCESSES = 12


def test_concurrent_config_sets_are_all_kept(terminal):
    # As a shell loop with `&` does: every process started before any has finished.
    started = [terminal.start("config", "set", f"service.s{i}.issuer={ISSUER}") for i in range(1, PROCESSES + 1)]
    said = [process.communicate(timeout=120) for process in started]

    assert [process.returncode for process in started] == [0] * PROCESSES, [err for _, err in said]
    config = terminal.home / ".config" / "pingcli" / "config.toml"
    services = tomllib.loads(config.read_text())["profiles"]["default"]["service"]
    assert sorted(services) == sorted(f"s{i}" for i in range(1, PROCESSES + 1))
    assert all(settings == {"issuer": ISSUER} for settings in services.values())
    # The lock is kept in pingcli's cache directory, never beside the person's file, and gone once released.
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]
    locks = terminal.home / ".cache" / "pingcli" / "locks"
    assert locks.is_dir() and list(locks.iterdir()) == []
