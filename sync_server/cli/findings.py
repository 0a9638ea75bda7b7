"""`findings`: every finding on the server with its photos, as a table or JSON."""

from __future__ import annotations

import argparse

from sync_server.cli.common import Commands, add_command, print_json, print_table, say
from sync_server.cli.datadir import open_database
from sync_server.config import Settings
from sync_server.field import reads


def add_commands(commands: Commands) -> None:
    sub = add_command(commands, "findings", cmd_findings, "list every finding with its photos")
    sub.add_argument("--json", action="store_true", help="print JSON")


def cmd_findings(settings: Settings, args: argparse.Namespace) -> int:
    """Every finding with its photos, as a table or JSON."""
    with open_database(settings) as db:
        rows = reads.list_findings(db)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        say("No findings yet.")
        return 0
    table = [
        row
        | {
            "lat": f"{row['latitude']:.6f}",
            "lon": f"{row['longitude']:.6f}",
            "photos": f"{sum(p['stored'] for p in row['photos'])}/{len(row['photos'])}",
        }
        for row in rows
    ]
    columns = [
        ("id", "ID"),
        ("revision", "REV"),
        ("category", "CAT"),
        ("severity", "SEVERITY"),
        ("status", "STATUS"),
        ("lat", "LAT"),
        ("lon", "LON"),
        ("photos", "PHOTOS"),
        ("received_at", "RECEIVED"),
    ]
    print_table(table, columns)
    return 0
