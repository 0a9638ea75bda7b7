"""The server's SQLite database (via sqlite-utils): connections, write transactions, migrating.

Concurrency: SQLite allows one writer at a time and FastAPI runs sync handlers in a thread pool.
Each thread gets its own connection (reads never wait, thanks to WAL); writes go through
`Database.write()`, which holds a process-wide lock around `BEGIN IMMEDIATE … COMMIT`, so writers
queue in Python instead of spinning on SQLITE_BUSY. `busy_timeout` covers other processes (the
`walkaudit-server` CLI while the server runs). A push is one such transaction for its whole batch.

Durability: WAL with `synchronous=FULL`. A COMMIT returns only after the WAL is fsynced, so a
receipt the server has sent survives SIGKILL of the process *and* a power cut. (`NORMAL` would
survive a killed process but could lose the last commits on power loss, and the phone acts on
receipts.) The price is one fsync per transaction — one per pushed batch, which is cheap.

The schema is in sync_server.core.migrations; it is brought up to date by the runner the phone
uses too (walkaudit.migrations), each step in one `write()` transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from sync_server.core.errors import DatabaseTooNew
from sync_server.core.migrations import MIGRATIONS
from walkaudit.migrations import apply_migrations

BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS = "FULL"


class Database:
    """The server's database file: one connection per thread, one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._generation = 0  # bumped by close(): threads then reconnect on next use

    def _connect(self) -> sqlite_utils.Database:
        # check_same_thread=False only so that close() may close every thread's connection;
        # each connection is otherwise used by the one thread that opened it.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        db.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        db.execute("PRAGMA foreign_keys = ON")
        with self._all_lock:
            self._all.append(conn)
        return db

    def conn(self) -> sqlite_utils.Database:
        """This thread's connection (opened on first use); use it for reads."""
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None or self._local.generation != self._generation:
            db = self._connect()
            self._local.db, self._local.generation = db, self._generation
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        db = self.conn()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            else:
                db.execute("COMMIT")

    def query_one(self, sql: str, params: tuple[object, ...] = ()) -> dict[str, object] | None:
        """The first row of a query as a dict, or None."""
        return next(iter(self.conn().query(sql, params)), None)

    def migrate(self) -> int:
        """Apply pending migrations (idempotent); returns the schema version now in place."""
        # One write transaction per step: another process (the CLI) may be migrating the same
        # file concurrently, and BEGIN IMMEDIATE makes it wait for the step in progress.
        return apply_migrations(self.write, MIGRATIONS, self._too_new)

    def _too_new(self, version: int) -> DatabaseTooNew:
        return DatabaseTooNew(
            f"{self.path} has schema version {version}, but this server knows only "
            f"up to {len(MIGRATIONS)}; upgrade walkaudit-server"
        )

    def close(self) -> None:
        """Close every thread's connection (at shutdown; a later use opens new ones)."""
        with self._all_lock:
            self._generation += 1
            for conn in self._all:
                conn.close()
            self._all.clear()
