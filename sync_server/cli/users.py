"""`users add|list|disable|enable|passwd`: the accounts of the coordinator web.

Passwords are read from the terminal (typed twice) or as one line of stdin, never from argv:
the command line is visible to every user of the machine (ps, /proc).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import asdict

from sync_server.cli.common import PROG, Commands, listing, say
from sync_server.cli.datadir import UNKNOWN_URL, known_url, open_database
from sync_server.config import Settings
from sync_server.core.errors import ServerError
from sync_server.workspace import accounts


def add_commands(commands: Commands) -> None:
    users_parser = commands.add_parser("users", help="users of the coordinator web")
    user_commands = users_parser.add_subparsers(dest="users_command", required=True)
    sub = user_commands.add_parser("add", help="add a user (the password is asked for)")
    sub.add_argument("name", help="the user name (no spaces)")
    sub.add_argument("--role", required=True, choices=accounts.ROLES, help="what they may do")
    sub.add_argument("--email", default="", help="their email address")
    sub.set_defaults(func=cmd_users_add)
    sub = user_commands.add_parser("list", help="list users")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(func=cmd_users_list)
    for name, text in (
        ("disable", "disable a user; their sessions end"),
        ("enable", "let a disabled user sign in again"),
    ):
        sub = user_commands.add_parser(name, help=text)
        sub.add_argument("name", help="the user name")
        sub.set_defaults(func=cmd_users_disable)
    sub = user_commands.add_parser("passwd", help="set a user's password; their sessions end")
    sub.add_argument("name", help="the user name")
    sub.set_defaults(func=cmd_users_passwd)
    for name in ("add", "passwd"):
        user_commands.choices[name].add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password as one line from stdin (the default when stdin is not a tty)",
        )


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin (piped, or --password-stdin), else typed twice."""
    if args.password_stdin or sys.stdin is None or not sys.stdin.isatty():
        line = sys.stdin.readline() if sys.stdin is not None else ""
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise ServerError(
                "no password on standard input; give it as one line, e.g. "
                f"`printf '%s\\n' \"$PW\" | {PROG} users add NAME --role viewer`"
            )
        return accounts.check_password(password)
    first = getpass.getpass("New password: ")
    accounts.check_password(first)
    if getpass.getpass("The same password again: ") != first:
        raise ServerError("the two passwords differ; nothing was changed")
    return first


def cmd_users_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a user of the coordinator web."""
    with open_database(settings, create=True) as db:
        try:  # before asking for a password that would only be thrown away
            accounts.get_user(db, args.name)
            raise ServerError(f"there is already a user called {args.name}; see `users list`")
        except accounts.UnknownUser:
            pass
        user = accounts.add_user(db, args.name, args.role, _read_password(args), args.email,
                                 hasher=accounts.full_cost_hasher())  # fmt: skip
    url = known_url(settings)
    where = f"{url}/c/login" if url else f"/c/login of this server ({UNKNOWN_URL})"
    say(f"Added {user.role} {user.name}; they can sign in at {where}.")
    return 0


def cmd_users_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every user, as a table or JSON (never a password hash)."""
    with open_database(settings) as db:
        rows = [
            asdict(u) | {"state": "disabled" if u.disabled_at else "active"}
            for u in accounts.list_users(db)
        ]
    columns = [
        ("name", "NAME"),
        ("role", "ROLE"),
        ("email", "EMAIL"),
        ("state", "STATE"),
        ("created_at", "CREATED"),
        ("disabled_at", "DISABLED"),
    ]
    return listing(
        rows,
        args.json,
        columns,
        f"No users yet; add one with `{PROG} users add NAME --role admin`.",
        table=[r | {"email": r["email"] or None} for r in rows],
    )


def cmd_users_disable(settings: Settings, args: argparse.Namespace) -> int:
    """Disable a user (their sessions end) or, as `users enable`, let them in again."""
    disable = args.users_command == "disable"
    with open_database(settings) as db:
        before = accounts.get_user(db, args.name)
        if (before.disabled_at is not None) == disable:
            say(
                f"{before.name} was already {'disabled' if disable else 'active'}; nothing changed."
            )
            return 0
        user = accounts.set_disabled(db, args.name, disable)
    if disable:
        say(f"Disabled {user.name}; their sessions have ended and they cannot sign in.")
    else:
        say(f"Enabled {user.name}; they can sign in again.")
    return 0


def cmd_users_passwd(settings: Settings, args: argparse.Namespace) -> int:
    """Set a user's password; their sessions end."""
    with open_database(settings) as db:
        user = accounts.get_user(db, args.name)
        accounts.set_password(db, user.name, _read_password(args),
                              hasher=accounts.full_cost_hasher())  # fmt: skip
    say(f"New password for {user.name}; their sessions have ended.")
    return 0
