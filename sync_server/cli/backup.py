"""`backup` and `restore`: a copy of the data directory while the server runs, and back.

What is copied, verified and left out is sync_server.core.backup's business; this module only
prints what it did and turns damage into the exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sync_server.cli.common import PROG, Commands, add_command, command_path, say
from sync_server.config import Settings
from sync_server.core import backup


def add_commands(commands: Commands) -> None:
    sub = add_command(
        commands,
        "backup",
        cmd_backup,
        "copy the data (database, photos, outbox) to DEST while the server runs",
    )
    sub.add_argument("dest", type=Path, help="a new or empty directory for the copy")
    sub = add_command(
        commands,
        "restore",
        cmd_restore,
        "restore a backup into the data directory, which must be new or empty",
    )
    sub.add_argument("src", type=Path, help="a directory written by `backup`")


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the data directory to DEST while the server runs (database, photos, outbox)."""
    manifest = backup.backup(settings, args.dest)
    for line in manifest.lines():
        say(line)
    if manifest.damaged:
        say(f"{PROG}: {len(manifest.damaged)} file(s) damaged on this server are not in the "
            "backup (see above); everything else is")  # fmt: skip
        return 1
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore a backup into the data directory, which must be new or empty."""
    result = backup.restore(args.src, settings.data_dir)
    for line in result.lines(command_path(PROG)):
        say(line)
    return 0
