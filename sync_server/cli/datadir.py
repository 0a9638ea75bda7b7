"""The data directory a command works on: its database, and the address the server is known by.

Links printed or mailed by commands run on their own (`send-reports`, the hints of `enrol-code`
and `users add`) use WALKAUDIT_PUBLIC_URL, else the address `serve` (or `demo`) was last started
with, remembered in DATA/server-url; they never guess one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.errors import ServerError

SERVER_URL_FILE = "server-url"  # in the data directory: the address `serve` was started with
UNKNOWN_URL = (
    "the address people reach this server at is not known here: set WALKAUDIT_PUBLIC_URL to it "
    "(e.g. https://walkaudit.example.se), or start `serve` once on this data directory and its "
    "address is remembered"
)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@contextmanager
def open_database(settings: Settings, create: bool = False) -> Iterator[Database]:
    """The data directory's database, migrated; ServerError if there is none and not `create`
    (a mistyped --data must not quietly start an empty server)."""
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


def known_url(settings: Settings) -> str | None:
    """WALKAUDIT_PUBLIC_URL, else the address `serve` remembered, else None (never a guess)."""
    if settings.public_url:
        return settings.url
    try:
        remembered = (settings.data_dir / SERVER_URL_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return remembered.rstrip("/") if remembered.startswith(("http://", "https://")) else None


def linking(settings: Settings) -> Settings:
    """The settings with `url` the server's known address; refuses (ServerError) to guess it."""
    url = known_url(settings)
    if url is None:
        raise ServerError(UNKNOWN_URL)
    return settings.model_copy(update={"public_url": url})
