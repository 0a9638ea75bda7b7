"""`api-keys add|list|revoke`: the keys Open311 clients (a municipality's system) use."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from sync_server import open311
from sync_server.cli.common import PROG, Commands, listing, say
from sync_server.cli.datadir import open_database
from sync_server.config import Settings


def add_commands(commands: Commands) -> None:
    keys_parser = commands.add_parser("api-keys", help="Open311 API keys")
    key_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    sub = key_commands.add_parser("add", help="print a new key (shown only once)")
    sub.add_argument("name", help="who or what uses the key")
    sub.add_argument("--owner", default="", help="the owner id it answers for (`owners list`)")
    sub.set_defaults(func=cmd_api_keys_add)
    sub = key_commands.add_parser("list", help="list keys")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(func=cmd_api_keys_list)
    sub = key_commands.add_parser("revoke", help="revoke a key")
    sub.add_argument("id", help="the key's id (see `api-keys list`)")
    sub.set_defaults(func=cmd_api_keys_revoke)


def cmd_api_keys_add(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new Open311 API key (and only it) on stdout."""
    with open_database(settings, create=True) as db:
        key_id, key = open311.create_api_key(db, args.name, owner_id=args.owner or None)
    print(key)
    bound = f", answering for owner {args.owner}" if args.owner else ", for every finding"
    say(
        f"Open311 API key {key_id} ({args.name}{bound}). It is shown only now: the server "
        "keeps only its hash."
    )
    return 0


def cmd_api_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every Open311 API key (never the key itself), as a table or JSON."""
    with open_database(settings) as db:
        rows = [
            asdict(k) | {"state": "revoked" if k.revoked_at else "active"}
            for k in open311.list_api_keys(db)
        ]
    columns = [
        ("id", "ID"),
        ("name", "NAME"),
        ("owner_name", "OWNER"),
        ("state", "STATE"),
        ("created_at", "CREATED"),
        ("last_used_at", "LAST USED"),
    ]
    return listing(
        rows, args.json, columns, f"No API keys yet; make one with `{PROG} api-keys add NAME`."
    )


def cmd_api_keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke an Open311 API key (again: says so, changes nothing)."""
    with open_database(settings) as db:
        revoked = open311.revoke_api_key(db, args.id)
    say(
        f"Revoked API key {args.id}; it no longer works."
        if revoked
        else f"API key {args.id} was already revoked; nothing changed."
    )
    return 0
