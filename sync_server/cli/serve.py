"""`serve`: run the HTTP server on a data directory (and what `demo` shares with it).

Everything written to the data directory is this user's alone (umask 077, set by `main`; `serve`
mends older files, see `make_private`). The address the server was started with is remembered
in DATA/server-url, for the links of commands run on their own (see `datadir`).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from sync_server.cli.common import PROG, Commands, add_command, say
from sync_server.cli.datadir import SERVER_URL_FILE, configure_logging
from sync_server.config import PRIVATE_FILE_MODE, Settings, make_private
from sync_server.core.errors import ServerError


def add_commands(commands: Commands) -> None:
    sub = add_command(commands, "serve", cmd_serve, "serve the sync API")
    add_address_arguments(sub)


def add_address_arguments(sub: argparse.ArgumentParser) -> None:
    """--host and --port, for every command that starts the server."""
    sub.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    sub.add_argument("--port", type=int, help="port to listen on (default 8470)")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the HTTP server until interrupted."""
    # Imported here: every other command starts without loading the web application.
    from sync_server.app import create_app

    settings = serving(settings, args)
    app = create_app(settings)
    say(f"{PROG}: serving {settings.data_dir} at {settings.url} (API docs: {settings.url}/docs)")
    run_uvicorn(app, settings)
    return 0


def serving(settings: Settings, args: argparse.Namespace) -> Settings:
    """What `serve` and `demo` do first: their address, logging, a private data directory that
    remembers the address."""
    settings = _with_address(settings, args)
    configure_logging(settings)
    if not settings.public_url and settings.host in ("0.0.0.0", "::", ""):
        # On every interface the server cannot know which address people use: a guess (the
        # loopback) would go into every owner's mail and every enrolment QR code.
        raise ServerError(
            f"listening on every interface ({settings.host or 'all'}): set WALKAUDIT_PUBLIC_URL "
            "to the address phones and owners reach this server at (e.g. https://trygg.example.se)"
        )
    changed = make_private(settings, extra=[SERVER_URL_FILE])
    if changed:
        say(f"{PROG}: made {changed} file(s) in {settings.data_dir} readable by this user only")
    _remember_url(settings)
    return settings


def run_uvicorn(app: Any, settings: Settings) -> None:
    """Serve `app` at the settings' address until interrupted."""
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


def _with_address(settings: Settings, args: argparse.Namespace) -> Settings:
    update = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    return settings.model_copy(update=update)


def _remember_url(settings: Settings) -> None:
    """Write the address this server answers at into the data directory (0600, atomically)."""
    target = settings.data_dir / SERVER_URL_FILE
    temporary = target.with_name(f".{SERVER_URL_FILE}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(settings.url + "\n")
    os.replace(temporary, target)
