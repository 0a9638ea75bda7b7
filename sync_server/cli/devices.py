"""`enrol-code` and `devices list|revoke`: the field devices that may push to this server."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import timedelta

from sync_server.cli.common import PROG, Commands, add_command, command_path, listing, say
from sync_server.cli.datadir import UNKNOWN_URL, known_url, open_database
from sync_server.config import Settings
from sync_server.core.errors import ServerError
from sync_server.field import devices
from walkaudit.model import utcnow


def add_commands(commands: Commands) -> None:
    sub = add_command(commands, "enrol-code", cmd_enrol_code, "print a new one-time enrolment code")
    sub.add_argument("--name", default="", help="who or what the code is for")
    sub.add_argument("--ttl-hours", type=float, help="hours the code stays valid (default 24)")
    sub.add_argument(
        "--police",
        action="store_true",
        help="for a police/EST device: it also sees disorder findings (ORD) of others",
    )

    devices_parser = commands.add_parser("devices", help="list or revoke enrolled devices")
    device_commands = devices_parser.add_subparsers(dest="devices_command", required=True)
    sub = device_commands.add_parser("list", help="list enrolled devices")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(func=cmd_devices_list)
    sub = device_commands.add_parser("revoke", help="revoke a device's token")
    sub.add_argument("id", help="the device id (see `devices list`)")
    sub.set_defaults(func=cmd_devices_revoke)


def enrol_hint(url: str | None, code: str, device_dir: str = "DIR") -> str:
    """The command that enrols a field device (the phone's CLI) with this code."""
    hint = f"{command_path('walkaudit')} --data {device_dir} enrol {url or 'SERVER-ADDRESS'} {code}"
    return hint if url else f"{hint}\n  (SERVER-ADDRESS: {UNKNOWN_URL})"


def cmd_enrol_code(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new one-time enrolment code (and only it) on stdout."""
    hours = args.ttl_hours if args.ttl_hours is not None else settings.enrol_code_ttl_hours
    if hours <= 0:
        raise ServerError("--ttl-hours must be more than 0")
    with open_database(settings, create=True) as db:
        code = devices.create_enrol_code(db, name=args.name, ttl_hours=hours, police=args.police)
    until = (utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M UTC")
    print(code)
    say(f"One-time enrolment code{' for ' + args.name if args.name else ''}, valid until {until}.")
    if args.police:
        say("The device will see disorder findings (ORD), which go only to the police/EST.")
    say(f"On the field device: {enrol_hint(known_url(settings), code)}")
    return 0


def cmd_devices_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every enrolled device, as a table or JSON."""
    with open_database(settings) as db:
        rows = [
            asdict(d)
            | {
                "state": "revoked" if d.revoked_at else "active",
                "sees_ord": "yes" if d.police else "",
            }
            for d in devices.list_devices(db)
        ]
    columns = [
        ("id", "ID"),
        ("name", "NAME"),
        ("state", "STATE"),
        ("sees_ord", "SEES ORD"),
        ("created_at", "ENROLLED"),
        ("last_seen_at", "LAST SEEN"),
    ]
    return listing(
        rows,
        args.json,
        columns,
        f"No devices yet; make a code with `{PROG} enrol-code --name NAME`.",
    )


def cmd_devices_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke one device's token."""
    with open_database(settings) as db:
        before = devices.get_device(db, args.id)
        device = devices.revoke(db, args.id)
    if before.revoked_at:
        say(f"Device {device.id} ({device.name}) was already revoked at {device.revoked_at}.")
    else:
        say(f"Revoked device {device.id} ({device.name}); its token no longer works.")
    return 0
