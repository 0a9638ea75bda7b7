"""The server side imports no UI: walkaudit.model (shared with the server) must not pull in flet."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["walkaudit.model", "sync_server.app", "sync_server.cli"])
def test_module_does_not_import_flet(module: str) -> None:
    code = f"import sys, {module}; print(any(m.split('.')[0] == 'flet' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
