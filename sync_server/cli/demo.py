"""`demo`: seed the demo walk (once), make an enrolment code, print what to open, and serve.

With --app-port the field app runs too, in web mode, on DATA/phone and already enrolled, so a
visitor sees both ends without a phone. The demo data itself is in `demo_data`.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys

import argon2

from sync_server.cli.common import PROG, Commands, add_command, command_path, say
from sync_server.cli.devices import enrol_hint
from sync_server.cli.serve import add_address_arguments, run_uvicorn, serving
from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.field import devices
from sync_server.workspace import accounts


def add_commands(commands: Commands) -> None:
    sub = add_command(
        commands, "demo", cmd_demo, "seed a demo walk (once), print an enrolment code, and serve"
    )
    add_address_arguments(sub)
    sub.add_argument(
        "--app-port",
        type=int,
        default=0,
        help="also start the field app (web) on this port, enrolled",
    )


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Seed the demo walk (once), make an enrolment code, print what to open, and serve."""
    # Imported here: every other command starts without loading the web application.
    from sync_server.app import create_app
    from sync_server.cli.demo_data import seed_demo

    settings = serving(settings, args)
    app = create_app(settings)
    services = app.state.services
    summary = seed_demo(services.db, services.blobs)
    code = devices.create_enrol_code(services.db, "demo device", settings.enrol_code_ttl_hours)
    password = _demo_account(services.db, services.hasher)
    url = settings.url
    say(
        "\n".join(
            [
                "",
                f"walkaudit demo server — data in {settings.data_dir}",
                f"  Server:           {url}",
                f"  Coordinator web:  {url}/c/  (user `demo`, password `{password}`, admin;"
                " a new password each start)",
                f"  API docs:         {url}/docs",
                f"  Demo data:        {summary.findings} findings with {summary.photos} photos "
                f"from a walk in Örebro (`{command_path(PROG)} --data {settings.data_dir} "
                "findings`)",
                f"  Enrolment code:   {code}  (one device, valid "
                f"{settings.enrol_code_ttl_hours:g} h)",
                "  Enrol another field device (CLI):",
                f"    {enrol_hint(url, code, str(settings.data_dir / 'cli-phone'))}",
                "",
            ]
        )
    )
    field_app = _start_demo_app(settings, args.app_port) if args.app_port else None
    try:
        run_uvicorn(app, settings)
    finally:
        if field_app is not None:
            field_app.terminate()
            field_app.wait(10)
    return 0


def _demo_account(db: Database, hasher: argon2.PasswordHasher) -> str:
    """The demo's admin account `demo`, with a fresh random password (printed, never stored)."""
    password = "-".join(secrets.token_hex(3) for _ in range(3))
    try:
        accounts.set_password(db, "demo", password, hasher=hasher)
    except accounts.UnknownUser:
        accounts.add_user(db, "demo", "admin", password, "", hasher=hasher)
    return password


def _start_demo_app(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """The field app in web mode on DATA/phone, already enrolled to this server."""
    # Imported here: only the demo with --app-port touches the phone's store.
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
    say(f"  Field app (web, enrolled): http://{settings.host}:{port}/  — data in {phone}\n")
    return subprocess.Popen(command)
