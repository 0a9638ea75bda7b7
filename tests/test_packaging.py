"""What the phone bundle and the core promise: no flet in the core, a sane [tool.flet]."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

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
    # What tests/phone simulates (compiled, sources removed) is what the build is told to do.
    assert flet["compile"] == {"app": True, "packages": True}
    assert flet["cleanup"] == {"app": True, "packages": True}


# The native packages Flet's mobile index builds. The copy in tests/data travels with the repo (a
# fresh clone elsewhere has no ../shared); where ../shared is there, the two must agree.
FORGE = ROOT / "tests" / "data" / "mobile" / "forge-recipes.txt"
SHARED_FORGE = ROOT.parent / "shared" / "data" / "mobile" / "forge-recipes.txt"


def _forge_names(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split()[0].lower() for line in lines if line.strip() and not line.startswith("#")}


def test_the_phone_install_resolves_to_pure_python_or_forge_packages(tmp_path: Path) -> None:
    # What `flet build apk/ipa` can install: the base dependencies (no extras) must resolve only
    # to py3-none-any wheels or packages on Flet's mobile index (../shared/notes/phone.md). The
    # same check as ../shared/tools/phone-deps, with pip's own resolver.
    if SHARED_FORGE.exists():
        assert _forge_names(FORGE) == _forge_names(SHARED_FORGE), "refresh tests/data/mobile"
    report = tmp_path / "report.json"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-2000:]
    native = native_outside_forge(json.loads(report.read_text()), _forge_names(FORGE))
    assert native == [], f"native phone dependencies Flet's mobile index does not build: {native}"


def native_outside_forge(report: dict[str, Any], forge: set[str]) -> list[str]:
    """The packages of pip's --report that a phone build could not install: neither a
    py3-none-any wheel nor on Flet's mobile index ("name version")."""
    native = []
    for item in report["install"]:
        name = item["metadata"]["name"].lower().replace("_", "-")
        info = item.get("download_info", {})
        if info.get("url", "").startswith("file:") and "archive_info" not in info:
            continue  # walkaudit itself
        if not (info.get("url", "").endswith("-none-any.whl") or name in forge):
            native.append(f"{name} {item['metadata']['version']}")
    return native


def test_the_check_fails_on_a_native_package_the_mobile_index_does_not_build() -> None:
    # pip's report, as it looked when the base install still pulled in pillow-heif.
    def wheel(name: str, version: str, file: str) -> dict[str, Any]:
        url = f"https://files.pythonhosted.org/packages/ab/cd/{file}"
        return {
            "metadata": {"name": name, "version": version},
            "download_info": {"url": url, "archive_info": {"hashes": {}}},
        }

    report = {
        "install": [
            {"metadata": {"name": "walkaudit", "version": "0.1.0"},
             "download_info": {"url": ROOT.as_uri(), "dir_info": {}}},
            wheel("httpx", "0.28.1", "httpx-0.28.1-py3-none-any.whl"),
            wheel("Pillow", "11.3.0", "pillow-11.3.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
            wheel("pydantic_core", "2.33.2",
                  "pydantic_core-2.33.2-cp311-cp311-manylinux_2_17_x86_64.whl"),
            wheel("pillow_heif", "1.1.0", "pillow_heif-1.1.0-cp311-cp311-manylinux_2_28.whl"),
        ]
    }  # fmt: skip
    forge = _forge_names(FORGE)
    assert {"pillow", "pydantic-core"} <= forge and "pillow-heif" not in forge
    assert native_outside_forge(report, forge) == ["pillow-heif 1.1.0"]
