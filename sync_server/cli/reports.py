"""`send-reports`: one report pass now, as the server's loop would run it."""

from __future__ import annotations

import argparse

from sync_server.cli.common import PROG, Commands, add_command, say
from sync_server.cli.datadir import configure_logging, linking, open_database
from sync_server.config import Settings


def add_commands(commands: Commands) -> None:
    add_command(
        commands,
        "send-reports",
        cmd_send_reports,
        "run one report pass now: route, email owners their findings, reminders, deliver",
    )


def cmd_send_reports(settings: Settings, args: argparse.Namespace) -> int:
    """One report pass: route, build and enqueue reports, reminders, summary; deliver."""
    # Imported here: the report pass loads the PDF and mail machinery, which no other command
    # needs to start.
    from sync_server.core.blobs import DiskBlobStore
    from sync_server.reports.run import run_pass

    configure_logging(settings)
    with open_database(settings) as db:
        settings = linking(settings)  # its mails carry links: never to a guessed address
        result = run_pass(db, DiskBlobStore(settings.photos_dir), settings)
    where = "SMTP" if settings.smtp_url else f".eml files in {settings.outbox_dir}"
    say(f"{PROG}: report pass done (delivery via {where})")
    for line in result.lines():
        say(f"  {line}")
    return 1 if result.errors else 0
