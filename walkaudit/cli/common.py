"""What every `walkaudit` command shares: the usage error (exit 2) and the message channel.

Messages go to stderr so that stdout carries only what a script may use (an id, a code).
"""

from __future__ import annotations

import sys


class UsageError(Exception):
    """Bad input on the command line: exit 2 with the message."""


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    print(message, file=sys.stderr, flush=True)
