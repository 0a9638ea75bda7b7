"""`walkaudit-server`: serve, enrol and revoke devices, users and API keys, findings, reports, demo.

Results go to stdout (only the code for `enrol-code`, only the key for `api-keys add`; JSON with
--json); messages go to stderr. Passwords are read from the terminal or stdin, never from argv.
Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad usage or settings.

Links printed or mailed by commands run on their own (`send-reports`, the hints of `enrol-code`
and `users add`) use WALKAUDIT_PUBLIC_URL, else the address `serve` (or `demo`) was last started
with, remembered in DATA/server-url; they never guess one. Everything written to the data
directory is this user's alone (umask 077; `serve` mends older files, see `make_private`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sync_server.api.errors import describe_validation_errors
from sync_server.config import PRIVATE_FILE_MODE, Settings, make_private
from sync_server.core.db import Database
from sync_server.core.errors import ServerError
from sync_server.field import devices, queries
from sync_server.owners import registry as owners
from sync_server.workspace import accounts
from walkaudit.model import utcnow

PROG = "walkaudit-server"
SERVER_URL_FILE = "server-url"  # in the data directory: the address `serve` was started with
UNKNOWN_URL = (
    "the address people reach this server at is not known here: set WALKAUDIT_PUBLIC_URL to it "
    "(e.g. https://walkaudit.example.se), or start `serve` once on this data directory and its "
    "address is remembered"
)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr)


@contextmanager
def _database(settings: Settings, create: bool = False) -> Iterator[Database]:
    if not create and not settings.database_path.exists():
        raise ServerError(
            f"there is no server data in {settings.data_dir}; check --data (or "
            "WALKAUDIT_DATA_DIR), or run `serve` once to create it"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    try:
        db.migrate()
        yield db
    finally:
        db.close()


def _command(name: str) -> str:
    """How the person at this terminal runs a console script: bare if on PATH, else its path.

    `make demo` runs from .venv without activating it, so a bare `walkaudit` would not be found.
    """
    if shutil.which(name):
        return name
    script = Path(sys.executable).parent / name
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _enrol_hint(url: str | None, code: str, device_dir: str = "DIR") -> str:
    hint = f"{_command('walkaudit')} --data {device_dir} enrol {url or 'SERVER-ADDRESS'} {code}"
    return hint if url else f"{hint}\n  (SERVER-ADDRESS: {UNKNOWN_URL})"


def _known_url(settings: Settings) -> str | None:
    """WALKAUDIT_PUBLIC_URL, else the address `serve` remembered, else None (never a guess)."""
    if settings.public_url:
        return settings.url
    try:
        remembered = (settings.data_dir / SERVER_URL_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return remembered.rstrip("/") if remembered.startswith(("http://", "https://")) else None


def _linking(settings: Settings) -> Settings:
    """The settings with `url` the server's known address; refuses (ServerError) to guess it."""
    url = _known_url(settings)
    if url is None:
        raise ServerError(UNKNOWN_URL)
    return settings.model_copy(update={"public_url": url})


def _remember_url(settings: Settings) -> None:
    """Write the address this server answers at into the data directory (0600, atomically)."""
    target = settings.data_dir / SERVER_URL_FILE
    temporary = target.with_name(f".{SERVER_URL_FILE}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(settings.url + "\n")
    os.replace(temporary, target)


def _serving(settings: Settings, args: argparse.Namespace) -> Settings:
    """What `serve` and `demo` do first: their address, logging, a private data directory that
    remembers the address."""
    settings = _with_address(settings, args)
    _configure_logging(settings)
    if not settings.public_url and settings.host in ("0.0.0.0", "::", ""):
        # On every interface the server cannot know which address people use: a guess (the
        # loopback) would go into every owner's mail and every enrolment QR code.
        raise ServerError(
            f"listening on every interface ({settings.host or 'all'}): set WALKAUDIT_PUBLIC_URL "
            "to the address phones and owners reach this server at (e.g. https://trygg.example.se)"
        )
    changed = make_private(settings, extra=[SERVER_URL_FILE])
    if changed:
        _say(f"{PROG}: made {changed} file(s) in {settings.data_dir} readable by this user only")
    _remember_url(settings)
    return settings


def _run_uvicorn(app: Any, settings: Settings) -> None:
    import uvicorn

    # proxy_headers=False: uvicorn would believe X-Forwarded-For from 127.0.0.1; which proxies
    # are believed is WALKAUDIT_TRUSTED_PROXIES' business alone (the per-address limits).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the HTTP server until interrupted."""
    from sync_server.app import create_app

    settings = _serving(settings, args)
    app = create_app(settings)
    _say(f"{PROG}: serving {settings.data_dir} at {settings.url} (API docs: {settings.url}/docs)")
    _run_uvicorn(app, settings)
    return 0


def cmd_enrol_code(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new one-time enrolment code (and only it) on stdout."""
    hours = args.ttl_hours if args.ttl_hours is not None else settings.enrol_code_ttl_hours
    if hours <= 0:
        raise ServerError("--ttl-hours must be more than 0")
    with _database(settings, create=True) as db:
        code = devices.create_enrol_code(db, name=args.name, ttl_hours=hours, police=args.police)
    until = (utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M UTC")
    print(code)
    _say(f"One-time enrolment code{' for ' + args.name if args.name else ''}, valid until {until}.")
    if args.police:
        _say("The device will see disorder findings (ORD), which go only to the police/EST.")
    _say(f"On the field device: {_enrol_hint(_known_url(settings), code)}")
    return 0


def cmd_devices_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every enrolled device, as a table or JSON."""
    with _database(settings) as db:
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
    return _listing(
        rows,
        args.json,
        columns,
        f"No devices yet; make a code with `{PROG} enrol-code --name NAME`.",
    )


def cmd_devices_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke one device's token."""
    with _database(settings) as db:
        before = devices.get_device(db, args.id)
        device = devices.revoke(db, args.id)
    if before.revoked_at:
        _say(f"Device {device.id} ({device.name}) was already revoked at {device.revoked_at}.")
    else:
        _say(f"Revoked device {device.id} ({device.name}); its token no longer works.")
    return 0


def cmd_findings(settings: Settings, args: argparse.Namespace) -> int:
    """Every finding with its photos, as a table or JSON."""
    with _database(settings) as db:
        rows = queries.list_findings(db)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        _say("No findings yet.")
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
    _print_table(table, columns)
    return 0


def cmd_send_reports(settings: Settings, args: argparse.Namespace) -> int:
    """One report pass: route, build and enqueue reports, reminders, summary; deliver."""
    from sync_server.core.blobs import DiskBlobStore
    from sync_server.reports.run import run_pass

    _configure_logging(settings)
    with _database(settings) as db:
        settings = _linking(settings)  # its mails carry links: never to a guessed address
        result = run_pass(db, DiskBlobStore(settings.photos_dir), settings)
    where = "SMTP" if settings.smtp_url else f".eml files in {settings.outbox_dir}"
    _say(f"{PROG}: report pass done (delivery via {where})")
    for line in result.lines():
        _say(f"  {line}")
    return 1 if result.errors else 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the data directory to DEST while the server runs (database, photos, outbox)."""
    from sync_server.core import backup

    manifest = backup.backup(settings, args.dest)
    for line in manifest.lines():
        _say(line)
    if manifest.damaged:
        _say(f"{PROG}: {len(manifest.damaged)} file(s) damaged on this server are not in the "
             "backup (see above); everything else is")  # fmt: skip
        return 1
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore a backup into the data directory, which must be new or empty."""
    from sync_server.core import backup

    result = backup.restore(args.src, settings.data_dir)
    for line in result.lines(_command(PROG)):
        _say(line)
    return 0


def cmd_owners_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import owners, contacts and areas from a GeoJSON FeatureCollection (all or nothing)."""
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServerError(f"cannot read {args.file}: {exc}") from None
    with _database(settings, create=True) as db:
        try:
            result = owners.import_owners(db, text)
        except owners.InvalidOwnerFile as exc:
            raise ServerError(f"{args.file}: {exc.message}") from None
    _say(
        f"Imported {args.file}: {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged owner(s); {result.areas} area(s) in the file."
    )
    if result.ignored:
        _say(f"Ignored properties (walkaudit does not read them): {', '.join(result.ignored)}")
    return 0


def cmd_owners_list(settings: Settings, args: argparse.Namespace) -> int:
    """The owner registry (municipalities included), as a table or JSON."""
    with _database(settings) as db:
        owners.ensure_municipalities(db)
        rows = [asdict(o) for o in owners.list_owners(db, args.kind)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
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
    _print_table([r | {"email": r["email"] or None} for r in table], columns)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin (piped, or --password-stdin), else typed twice.

    Never from the command line: argv is visible to every user of the machine (ps, /proc).
    """
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
    with _database(settings, create=True) as db:
        try:  # before asking for a password that would only be thrown away
            accounts.get_user(db, args.name)
            raise ServerError(f"there is already a user called {args.name}; see `users list`")
        except accounts.UnknownUser:
            pass
        user = accounts.add_user(db, args.name, args.role, _read_password(args), args.email)
    url = _known_url(settings)
    where = f"{url}/c/login" if url else f"/c/login of this server ({UNKNOWN_URL})"
    _say(f"Added {user.role} {user.name}; they can sign in at {where}.")
    return 0


def cmd_users_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every user, as a table or JSON (never a password hash)."""
    with _database(settings) as db:
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
    return _listing(
        rows,
        args.json,
        columns,
        f"No users yet; add one with `{PROG} users add NAME --role admin`.",
        table=[r | {"email": r["email"] or None} for r in rows],
    )


def cmd_users_disable(settings: Settings, args: argparse.Namespace) -> int:
    """Disable a user (their sessions end) or, as `users enable`, let them in again."""
    disable = args.users_command == "disable"
    with _database(settings) as db:
        before = accounts.get_user(db, args.name)
        if (before.disabled_at is not None) == disable:
            _say(
                f"{before.name} was already {'disabled' if disable else 'active'}; nothing changed."
            )
            return 0
        user = accounts.set_disabled(db, args.name, disable)
    if disable:
        _say(f"Disabled {user.name}; their sessions have ended and they cannot sign in.")
    else:
        _say(f"Enabled {user.name}; they can sign in again.")
    return 0


def cmd_users_passwd(settings: Settings, args: argparse.Namespace) -> int:
    """Set a user's password; their sessions end."""
    with _database(settings) as db:
        user = accounts.get_user(db, args.name)
        accounts.set_password(db, user.name, _read_password(args))
    _say(f"New password for {user.name}; their sessions have ended.")
    return 0


def cmd_api_keys_add(settings: Settings, args: argparse.Namespace) -> int:
    """Print a new Open311 API key (and only it) on stdout."""
    from sync_server import open311

    with _database(settings, create=True) as db:
        key_id, key = open311.create_api_key(db, args.name, owner_id=args.owner or None)
    print(key)
    bound = f", answering for owner {args.owner}" if args.owner else ", for every finding"
    _say(
        f"Open311 API key {key_id} ({args.name}{bound}). It is shown only now: the server "
        "keeps only its hash."
    )
    return 0


def cmd_api_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    """Every Open311 API key (never the key itself), as a table or JSON."""
    from sync_server import open311

    with _database(settings) as db:
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
    return _listing(
        rows, args.json, columns, f"No API keys yet; make one with `{PROG} api-keys add NAME`."
    )


def cmd_api_keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke an Open311 API key (again: says so, changes nothing)."""
    from sync_server import open311

    with _database(settings) as db:
        revoked = open311.revoke_api_key(db, args.id)
    _say(
        f"Revoked API key {args.id}; it no longer works."
        if revoked
        else f"API key {args.id} was already revoked; nothing changed."
    )
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Seed the demo walk (once), make an enrolment code, print what to open, and serve."""
    from sync_server.app import create_app
    from sync_server.cli.demo import seed_demo

    settings = _serving(settings, args)
    app = create_app(settings)
    services = app.state.services
    summary = seed_demo(services.db, services.blobs)
    code = devices.create_enrol_code(services.db, "demo device", settings.enrol_code_ttl_hours)
    password = _demo_account(services.db)
    url = settings.url
    _say(
        "\n".join(
            [
                "",
                f"walkaudit demo server — data in {settings.data_dir}",
                f"  Server:           {url}",
                f"  Coordinator web:  {url}/c/  (user `demo`, password `{password}`, admin;"
                " a new password each start)",
                f"  API docs:         {url}/docs",
                f"  Demo data:        {summary.findings} findings with {summary.photos} photos "
                f"from a walk in Örebro (`{_command(PROG)} --data {settings.data_dir} findings`)",
                f"  Enrolment code:   {code}  (one device, valid "
                f"{settings.enrol_code_ttl_hours:g} h)",
                "  Enrol another field device (CLI):",
                f"    {_enrol_hint(url, code, str(settings.data_dir / 'cli-phone'))}",
                "",
            ]
        )
    )
    field_app = _start_demo_app(settings, args.app_port) if args.app_port else None
    try:
        _run_uvicorn(app, settings)
    finally:
        if field_app is not None:
            field_app.terminate()
            field_app.wait(10)
    return 0


def _demo_account(db: Database) -> str:
    """The demo's admin account `demo`, with a fresh random password (printed, never stored)."""
    password = "-".join(secrets.token_hex(3) for _ in range(3))
    try:
        accounts.set_password(db, "demo", password)
    except accounts.UnknownUser:
        accounts.add_user(db, "demo", "admin", password, "")
    return password


def _start_demo_app(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """The field app in web mode on DATA/phone, already enrolled to this server."""
    from walkaudit.store import Store

    phone = settings.data_dir / "phone"
    store = Store.open(phone)
    try:
        if not store.get_meta("token"):
            db = Database(settings.database_path)
            code = devices.create_enrol_code(db, "demo phone (web app)")
            device, token = devices.enrol(db, code, "demo phone (web app)")
            db.close()
            store.set_meta(server_url=settings.url, device_id=device.id, token=token)
    finally:
        store.close()
    command = [
        sys.executable,
        "-m",
        "walkaudit.cli",
        "--data",
        str(phone),
        "app",
        "--web",
        "--host",
        settings.host,
        "--port",
        str(port),
    ]
    _say(f"  Field app (web, enrolled): http://{settings.host}:{port}/  — data in {phone}\n")
    return subprocess.Popen(command)


def _with_address(settings: Settings, args: argparse.Namespace) -> Settings:
    update = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    return settings.model_copy(update=update)


def _listing(
    rows: list[dict[str, Any]],
    as_json: bool,
    columns: list[tuple[str, str]],
    empty: str,
    table: list[dict[str, Any]] | None = None,
) -> int:
    """What every `… list` prints: JSON, or a table (`table`: rows shaped for it), or a hint
    of how to make the first one."""
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        _say(empty)
    else:
        _print_table(table if table is not None else rows, columns)
    return 0


def _print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    cells = [
        [str(row.get(key) if row.get(key) is not None else "-") for key, _ in columns]
        for row in rows
    ]
    widths = [max(len(title), *(len(c[i]) for c in cells)) for i, (_, title) in enumerate(columns)]
    print("  ".join(title.ljust(w) for (_, title), w in zip(columns, widths, strict=True)).rstrip())
    for cell in cells:
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog=PROG, description="The walkaudit sync server.")
    parser.add_argument(
        "--data", type=Path, help="data directory (default: $WALKAUDIT_DATA_DIR or ./data)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[..., int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    for name, func, text in [
        ("serve", cmd_serve, "serve the sync API"),
        ("demo", cmd_demo, "seed a demo walk (once), print an enrolment code, and serve"),
    ]:
        sub = command(name, func, text)
        sub.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        sub.add_argument("--port", type=int, help="port to listen on (default 8470)")
        if name == "demo":
            sub.add_argument(
                "--app-port",
                type=int,
                default=0,
                help="also start the field app (web) on this port, enrolled",
            )

    sub = command("enrol-code", cmd_enrol_code, "print a new one-time enrolment code")
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

    command(
        "send-reports",
        cmd_send_reports,
        "run one report pass now: route, email owners their findings, reminders, deliver",
    )

    sub = command(
        "backup",
        cmd_backup,
        "copy the data (database, photos, outbox) to DEST while the server runs",
    )
    sub.add_argument("dest", type=Path, help="a new or empty directory for the copy")
    sub = command(
        "restore",
        cmd_restore,
        "restore a backup into the data directory, which must be new or empty",
    )
    sub.add_argument("src", type=Path, help="a directory written by `backup`")

    sub = command("findings", cmd_findings, "list every finding with its photos")
    sub.add_argument("--json", action="store_true", help="print JSON")

    owners_parser = commands.add_parser("owners", help="import or list owners and their areas")
    owner_commands = owners_parser.add_subparsers(dest="owners_command", required=True)
    sub = owner_commands.add_parser("import", help="import owners from a GeoJSON file")
    sub.add_argument("file", help="a FeatureCollection (see sync_server/owners/registry.py)")
    sub.set_defaults(func=cmd_owners_import)
    sub = owner_commands.add_parser("list", help="list the owner registry")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.add_argument("--kind", choices=owners.KINDS, help="only owners of this kind")
    sub.set_defaults(func=cmd_owners_list)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `walkaudit-server`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings(data_dir=args.data) if args.data is not None else Settings()
    except ValidationError as exc:
        problems = describe_validation_errors(exc.errors())
        _say(f"{PROG}: invalid setting (environment WALKAUDIT_*): {problems}")
        return 2
    func: Callable[[Settings, argparse.Namespace], int] = args.func
    # Whatever this command writes (database, outbox, photos, backups) is this user's alone.
    umask = os.umask(0o077)
    try:
        return func(settings, args)
    except ServerError as exc:
        _say(f"{PROG}: {exc.message}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
