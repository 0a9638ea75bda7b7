"""What the phone bundle and the core promise: no flet in the core, a sane [tool.flet]."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def test_the_core_and_the_cli_do_not_import_flet() -> None:
    code = (
        "import sys, walkaudit.model, walkaudit.store, walkaudit.sync, walkaudit.media, "
        "walkaudit.inbox, walkaudit.geo, walkaudit.i18n, walkaudit.cli, sync_server.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('flet')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_app_bundle_asks_only_for_what_it_uses_and_leaves_the_server_out() -> None:
    flet = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["flet"]
    assert sorted(flet["permissions"]) == ["camera", "location"]
    assert flet["android"]["permission"]["android.permission.ACCESS_BACKGROUND_LOCATION"] is False
    assert {"sync_server", "tests", "bench"} <= set(flet["app"]["exclude"])
    assert "position" in flet["ios"]["info"]["NSLocationWhenInUseUsageDescription"]
    for name in ("icon.png", "splash.png"):
        with Image.open(ROOT / "assets" / name) as img:
            assert img.size[0] >= 512 and img.size[0] == img.size[1]
    assert "make_main" in (ROOT / "main.py").read_text()
