"""What every command module shares: how a command is added to the parser, and how it speaks.

Results go to stdout (a table, JSON, a code or a key); messages go to stderr, so a script can
read the result of `enrol-code` or `api-keys add` and a person still sees what happened.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from sync_server.config import Settings

PROG = "walkaudit-server"

Handler: TypeAlias = Callable[[Settings, argparse.Namespace], int]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(commands: Commands, name: str, func: Handler, help: str) -> argparse.ArgumentParser:
    """A top-level command: its help is also its description (`walkaudit-server NAME --help`)."""
    sub = commands.add_parser(name, help=help, description=help)
    sub.set_defaults(func=func)
    return sub


def say(message: str) -> None:
    """A message for the person at the terminal (stderr: stdout holds only results)."""
    print(message, file=sys.stderr)


def command_path(name: str) -> str:
    """How the person at this terminal runs a console script: bare if on PATH, else its path.

    `make demo` runs from .venv without activating it, so a bare `walkaudit` would not be found.
    """
    if shutil.which(name):
        return name
    script = Path(sys.executable).parent / name
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def print_json(rows: Any) -> None:
    print(json.dumps(rows, ensure_ascii=False, indent=2))


def listing(
    rows: list[dict[str, Any]],
    as_json: bool,
    columns: list[tuple[str, str]],
    empty: str,
    table: list[dict[str, Any]] | None = None,
) -> int:
    """What every `… list` prints: JSON, or a table (`table`: rows shaped for it), or a hint
    of how to make the first one."""
    if as_json:
        print_json(rows)
    elif not rows:
        say(empty)
    else:
        print_table(table if table is not None else rows, columns)
    return 0


def print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    """Rows as aligned columns under their titles; a missing value shows as `-`."""
    cells = [
        [str(row.get(key) if row.get(key) is not None else "-") for key, _ in columns]
        for row in rows
    ]
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (_, title) in enumerate(columns)]
    print("  ".join(title.ljust(w) for (_, title), w in zip(columns, widths, strict=True)).rstrip())
    for cell in cells:
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
