"""`walkaudit-server`: serve, enrol and revoke devices, users and API keys, findings, reports, demo.

Results go to stdout (only the code for `enrol-code`, only the key for `api-keys add`; JSON with
--json); messages go to stderr. Passwords are read from the terminal or stdin, never from argv.
Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad usage or settings.

One module per command group; each adds its commands to the parser (`add_commands`):

    serve       serve                        run the HTTP server (remembers its address)
    demo        demo                         seed the demo walk and serve (demo_data: the walk)
    devices     enrol-code, devices …        field devices: enrolment codes, list, revoke
    reports     send-reports                 one report pass now
    backup      backup, restore              a copy of the data directory, and back
    findings    findings                     every finding with its photos
    owners      owners import|list           the owner registry
    users       users add|list|…|passwd      accounts of the coordinator web
    open311     api-keys add|list|revoke     keys of Open311 clients
    common      adding a command; stdout for results, stderr for messages, tables
    datadir     the data directory's database; the address the server is known by

The CLI works on the domain packages directly; it never borrows from the HTTP layer (`serve` and
`demo` only start the app). Everything a command writes to the data directory is this user's
alone (umask 077).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from sync_server.cli import backup, demo, devices, findings, open311, owners, reports, serve, users
from sync_server.cli.common import PROG, Handler, say
from sync_server.config import Settings
from sync_server.core.errors import ServerError, describe_validation_errors

# In the order `--help` lists them.
COMMAND_GROUPS = (serve, demo, devices, reports, backup, findings, owners, users, open311)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog=PROG, description="The walkaudit sync server.")
    parser.add_argument(
        "--data", type=Path, help="data directory (default: $WALKAUDIT_DATA_DIR or ./data)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `walkaudit-server`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings(data_dir=args.data) if args.data is not None else Settings()
    except ValidationError as exc:
        problems = describe_validation_errors(exc.errors())
        say(f"{PROG}: invalid setting (environment WALKAUDIT_*): {problems}")
        return 2
    func: Handler = args.func
    # Whatever this command writes (database, outbox, photos, backups) is this user's alone.
    umask = os.umask(0o077)
    try:
        return func(settings, args)
    except ServerError as exc:
        say(f"{PROG}: {exc.message}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(umask)


__all__ = ["build_parser", "main"]
