"""The phone bundle, as `flet build` makes it, simulated on this machine.

Two parts, as on a phone:
- the runtime: a fresh venv with the base dependencies only (pyproject's [project].dependencies:
  no server, no dev extras, no numpy), its packages compiled to .pyc with their sources removed
  and no pip ([tool.flet.compile] packages), cached in .venv-phone/ and rebuilt when those
  dependencies or the Python version change (a stamp holds their hash);
- the app: main.py and walkaudit/ compiled to legacy .pyc next to where the sources were, and the
  sources deleted ([tool.flet.compile]): the app runs from .pyc only.

What runs the app is the headless harness (tests/ui/harness.py, copied beside the walk driver into
a support folder): it stands in for the Flutter client and is not part of the bundle.
The phone's environment: FLET_APP_STORAGE_DATA and FLET_APP_STORAGE_TEMP set, and a home that
cannot be written (a regular file: as root, permissions would not stop a write).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".venv-phone"
VENV = CACHE / "python"
STAMP = CACHE / "stamp.json"
HERE = Path(__file__).resolve().parent
# Installed for the server, the web client or the tests, never on a phone (nor is pip); and
# walkaudit itself, which the phone has only as the bundle's .pyc, never as an installed package.
NOT_ON_PHONE = ("numpy", "fastapi", "uvicorn", "pillow_heif", "flet_web", "pytest", "sync_server",
                "pip", "walkaudit")  # fmt: skip
HOME_NOTE = "HOME is a regular file here: nothing can be written under it (as on a phone).\n"


class BundleError(Exception):
    """The bundle could not be built (pip, venv or compileall failed): the message says why."""


def base_dependencies() -> list[str]:
    """What `flet build` installs on the phone: [project].dependencies, no extras."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    return list(project["dependencies"])


def phone_python() -> Path:
    """The runtime's interpreter (.venv-phone/python/bin/python), built or reused."""
    CACHE.mkdir(exist_ok=True)
    wanted = _stamp()
    with _locked(CACHE / ".lock"):
        python = VENV / "bin" / "python"
        if python.exists() and STAMP.exists() and json.loads(STAMP.read_text()) == wanted:
            return python
        STAMP.unlink(missing_ok=True)
        shutil.rmtree(VENV, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(VENV)], "making the phone venv")
        _run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
             "--quiet", *base_dependencies()],
            "installing the base dependencies into the phone venv",
            timeout=900,
        )  # fmt: skip
        compile_packages(python)
        STAMP.write_text(json.dumps(wanted, indent=1))
        return python


def compile_packages(python: Path) -> None:
    """As [tool.flet.compile] packages: site-packages as .pyc only; and no pip (a phone has none).

    Installing is done with once the runtime exists: it is rebuilt from scratch when its stamp
    changes, never installed into again.
    """
    _run([str(python), "-m", "pip", "uninstall", "--yes", "--quiet", "pip", "setuptools"],
         "removing pip from the phone venv")  # fmt: skip
    for site in site_packages(python):
        _run([str(python), "-m", "compileall", "-b", "-q", "-j", "0", str(site)],
             "compiling the phone venv's packages to .pyc")  # fmt: skip
        for source in site.rglob("*.py"):
            source.unlink()
        for cache in sorted(site.rglob("__pycache__"), reverse=True):
            shutil.rmtree(cache)


def site_packages(python: Path) -> list[Path]:
    """The runtime's site-packages folder(s)."""
    return sorted((python.parent.parent / "lib").glob("python3*/site-packages"))


def importable(python: Path, modules: tuple[str, ...] = NOT_ON_PHONE) -> dict[str, bool]:
    """Which of these modules the interpreter can import (without a bundle on its path)."""
    code = (
        "import importlib.util, json, sys\n"
        "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))"
    )
    # Run away from the checkout: `-c` puts the working directory on the path, and the checkout's
    # walkaudit/ and sync_server/ would be found there.
    done = subprocess.run(
        [str(python), "-c", code, *modules],
        capture_output=True, text=True, env=_bare_env(), cwd=CACHE, check=False, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        raise BundleError(f"the phone python failed: {done.stderr[-2000:]}")
    found: dict[str, bool] = json.loads(done.stdout)
    return found


def build_app(python: Path, dest: Path) -> Path:
    """main.py and walkaudit/ as `flet build` leaves them: .pyc only. Returns the app folder."""
    app = dest / "app"
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    shutil.copy2(ROOT / "main.py", app / "main.py")
    shutil.copytree(
        ROOT / "walkaudit", app / "walkaudit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    # -b: legacy .pyc beside the source (main.pyc), the only layout Python imports without the .py.
    # Compiled by the bundle's own interpreter, so the magic number is the one that will load it.
    _run([str(python), "-m", "compileall", "-b", "-q", str(app)], "compiling the app to .pyc")
    for source in app.rglob("*.py"):
        source.unlink()
    return app


def app_files(app: Path) -> dict[str, int]:
    """Every file of the bundle with its size (to see that nothing wrote into it)."""
    files = (p for p in sorted(app.rglob("*")) if p.is_file())
    return {str(p.relative_to(app)): p.stat().st_size for p in files}


def build_support(dest: Path) -> Path:
    """The stand-in for the Flutter client (the harness) and the walk driver: not the app."""
    support = dest / "support"
    support.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "tests" / "ui" / "harness.py", support / "harness.py")
    shutil.copy2(HERE / "walk_driver.py", support / "walk_driver.py")
    return support


def phone_env(app: Path, support: Path, storage: Path) -> dict[str, str]:
    """The phone's environment: app storage set, home a file; nothing else of this machine's
    (no WALKAUDIT_DATA, no XDG_*). Makes storage/data, storage/temp and the home file."""
    data, temp, home = storage / "data", storage / "temp", storage / "home"
    data.mkdir(parents=True, exist_ok=True)
    temp.mkdir(exist_ok=True)
    home.write_text(HOME_NOTE)
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(app), str(support)]),
        "FLET_APP_STORAGE_DATA": str(data),
        "FLET_APP_STORAGE_TEMP": str(temp),
        "HOME": str(home),
    }


def _stamp() -> dict[str, object]:
    """What the cached runtime was made from: a change in any of it makes a new one."""
    deps = base_dependencies()
    digest = hashlib.sha256(json.dumps(deps).encode()).hexdigest()
    version = ".".join(map(str, sys.version_info[:3]))
    base = getattr(sys, "_base_executable", sys.executable)  # the interpreter under the venv
    layout = "packages as .pyc only, no pip"  # what compile_packages leaves: change it, rebuild
    return {
        "dependencies": deps,
        "sha256": digest,
        "python": version,
        "base": base,
        "layout": layout,
    }


def _bare_env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _run(cmd: list[str], what: str, timeout: float = 300) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode != 0:
        raise BundleError(f"{what} failed (exit {done.returncode}): {done.stderr[-3000:]}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time (two test runs, or a test and the benchmark)."""
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
