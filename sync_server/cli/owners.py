"""`owners import|list`: the owner registry (who gets which findings) from a GeoJSON file."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from sync_server import owners
from sync_server.cli.common import Commands, print_json, print_table, say
from sync_server.cli.datadir import open_database
from sync_server.config import Settings
from sync_server.core.errors import ServerError


def add_commands(commands: Commands) -> None:
    owners_parser = commands.add_parser("owners", help="import or list owners and their areas")
    owner_commands = owners_parser.add_subparsers(dest="owners_command", required=True)
    sub = owner_commands.add_parser("import", help="import owners from a GeoJSON file")
    sub.add_argument("file", help="a FeatureCollection (see sync_server/owners/importer.py)")
    sub.set_defaults(func=cmd_owners_import)
    sub = owner_commands.add_parser("list", help="list the owner registry")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.add_argument("--kind", choices=owners.KINDS, help="only owners of this kind")
    sub.set_defaults(func=cmd_owners_list)


def cmd_owners_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import owners, contacts and areas from a GeoJSON FeatureCollection (all or nothing)."""
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServerError(f"cannot read {args.file}: {exc}") from None
    with open_database(settings, create=True) as db:
        try:
            result = owners.import_owners(db, text)
        except owners.InvalidOwnerFile as exc:
            raise ServerError(f"{args.file}: {exc.message}") from None
    say(
        f"Imported {args.file}: {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged owner(s); {result.areas} area(s) in the file."
    )
    if result.ignored:
        say(f"Ignored properties (walkaudit does not read them): {', '.join(result.ignored)}")
    return 0


def cmd_owners_list(settings: Settings, args: argparse.Namespace) -> int:
    """The owner registry (municipalities included), as a table or JSON."""
    with open_database(settings) as db:
        owners.ensure_municipalities(db)
        rows = [asdict(o) for o in owners.list_owners(db, args.kind)]
    if args.json:
        print_json(rows)
        return 0
    table = [
        row | {"contacts": ", ".join(f"{k}={v}" for k, v in row["contacts"].items()) or None}
        for row in rows
    ]
    columns = [
        ("name", "NAME"),
        ("kind", "KIND"),
        ("email", "EMAIL"),
        ("contacts", "CONTACTS"),
        ("areas", "AREAS"),
        ("id", "ID"),
    ]
    print_table([r | {"email": r["email"] or None} for r in table], columns)
    return 0
