"""The hexagon's import contracts (pyproject.toml [tool.importlinter]) hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept(tmp_path):
    # The rings live at the top level of the repository but import as pingcli.*; give import-linter a
    # real `pingcli` directory to walk (the editable install's import hook has none).
    package = tmp_path / "pingcli"
    package.mkdir()
    for ring in ("domain", "adapters", "entrypoints"):
        (package / ring).symlink_to(ROOT / ring)
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_domain_imports_only_the_standard_library_and_attrs():
    allowed = set(sys.stdlib_module_names) | {"attrs", "pingcli"}
    for path in (ROOT / "domain").rglob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if line.startswith(("import ", "from ")) and not words[1].startswith("."):
                assert words[1].split(".")[0] in allowed, f"{path.name}: {line}"
