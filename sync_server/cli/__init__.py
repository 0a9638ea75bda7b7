"""`walkaudit-server`: the command line (TODO map)."""

from sync_server.cli.commands import main

__all__ = ["main"]
