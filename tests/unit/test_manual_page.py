"""The man page is built from the argparse module alone (argparse-manpage), and documents every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_man_page_documents_every_command_and_the_exit_codes(tmp_path):
    tool = Path(sys.executable).with_name("argparse-manpage")
    result = subprocess.run(
        [str(tool), "--module", "pingcli.entrypoints.cli_args", "--function", "build_parser", "--prog", "pingcli",
         "--project-name", "pingcli", "--output", str(tmp_path / "pingcli.1")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "pingcli.1").read_text()
    for command in ("pingcli auth", "login", "status", "logout", "token", "pingcli config", "list\\-keys", "profiles"):
        assert command in page, command
    assert "session expired" in page and "130" in page


def test_the_parser_module_imports_only_the_standard_library():
    probe = ("import sys; import pingcli.entrypoints.cli_args; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'attrs','cattrs','urllib3','keyring','dependency_injector','jwt','tomlkit','platformdirs'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
