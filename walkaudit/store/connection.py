"""The store's connection: one SQLite database behind one lock, shared by the store's parts.

`Store` (facade.py) is made of parts, each a class over this one (the outbox, what was refused);
they meet here so that every part reads and writes under the same lock and transaction.
`_lock` and `_one` are for those parts only (subclasses), not for the store's users.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils


class Connection:
    """The local database and photo folder. Thread-safe: the app calls it from worker threads."""

    def __init__(self, db: sqlite_utils.Database, photo_dir: Path) -> None:
        self.db = db
        self.photo_dir = photo_dir
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, serialised with every other use of this store."""
        with self._lock, self.db.atomic():
            yield self.db

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read query (for the store's companion modules: inbox, remote)."""
        with self._lock:
            return list(self.db.query(sql, params))

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    # ---- settings ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A stored setting (server URL, token, cursor…)."""
        with self._lock:
            row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else default

    def set_meta(self, **values: str | None) -> None:
        """Store settings in one transaction; None removes a key."""
        with self.transaction() as db:
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM meta WHERE key = ?", [key])
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value]
                    )
