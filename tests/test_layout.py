"""The layout's rules that import-linter cannot state (`make lint` runs this file too).

No module takes another module's private names: `from x import _y`, or `x._y` on an imported
module. What two modules share is a public name of one of them, so that renaming a private helper
never breaks a module that was not looked at.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("sync_server", "walkaudit")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(path: Path) -> list[str]:
    """Every place in one file that takes a private name from another of our modules."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    modules: set[str] = set()  # local names bound to one of our modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS:
            for alias in node.names:
                if _private(alias.name):
                    found.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}"
                    )
                else:
                    modules.add(alias.asname or alias.name)  # may be a module: checked below
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _private(node.attr)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_no_module_takes_another_modules_private_names() -> None:
    files = [p for pkg in OURS for p in sorted((ROOT / pkg).rglob("*.py"))]
    found = [use for p in files for use in private_uses(p)]
    assert not found, "private names taken from another module:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from sync_server.stats.numbers import _DAY_KEY\n", True),
        ("from sync_server.stats import numbers\nx = numbers._DAY_KEY\n", True),
        ("import walkaudit.store as s\ns._secret()\n", True),
        ("from sync_server.stats.numbers import DAY_KEY\n", False),
        ("from sync_server import texts as _catalogues\n", False),  # a private alias is ours
        ("import json\njson._default_decoder\n", False),  # not one of our modules
    ],
)
def test_the_check_finds_what_it_should(tmp_path: Path, source: str, caught: bool) -> None:
    probe = ROOT / "sync_server" / "_layout_probe.py"
    try:
        probe.write_text(source)
        assert bool(private_uses(probe)) is caught
    finally:
        probe.unlink()
