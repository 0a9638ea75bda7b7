"""Schema migrations tracked with PRAGMA user_version: the runner, and the device database's steps.

Append a function to MIGRATIONS to change the schema; never edit one that has shipped, because a
phone in a drawer may still be on any earlier version and its unsent findings must survive.

The runner (`apply_migrations`, `run_script`) is shared with the server (sync_server.core.db), so
both sides migrate the same way: each step and its version number in one transaction, and a
script cut into statements where SQLite says a statement ends — never at every `;`, which would
cut a trigger's body or a string holding `;` in two. This module is stdlib and sqlite-utils only
(it runs on phones) and knows nothing of the server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import sqlite_utils

Step = Callable[[sqlite_utils.Database], None]


class MigrationError(Exception):
    """The database is newer than this app (downgrade) or a migration failed."""


def split_statements(script: str) -> list[str]:
    """The statements of an SQL script, each cut after the `;` that completes it.

    sqlite3.complete_statement knows SQLite's grammar for where a statement ends: not at a `;`
    in a string, an identifier, a comment or between a trigger's BEGIN and END.
    """
    statements: list[str] = []
    start = 0
    for end, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : end + 1]):
            statements.append(script[start : end + 1])
            start = end + 1
    statements.append(script[start:])  # the last statement may go without its `;`
    return [s.strip() for s in statements if s.strip().strip(";").strip()]


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Execute an SQL script inside the transaction that is open.

    Statement by statement: executescript() would first commit the migration's transaction, so
    a step and its version number would no longer land together.
    """
    for statement in split_statements(script):
        db.execute(statement)


def user_version(db: sqlite_utils.Database) -> int:
    """The schema version stored in the database file (PRAGMA user_version)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(
    transaction: Callable[[], AbstractContextManager[sqlite_utils.Database]],
    steps: Sequence[Step],
    too_new: Callable[[int], Exception],
) -> int:
    """Run the pending steps; returns the schema version now in place.

    Each step runs in a transaction of its own (`transaction()`: committed when its block ends,
    rolled back if it raises) together with the version number it brings, and the version is
    read again in each one, so another process migrating the same file meanwhile is no harm. A
    database newer than `steps` raises `too_new(version)`.

    A PRAGMA that SQLite ignores or refuses inside a transaction (`foreign_keys`, `journal_mode`)
    cannot be part of a step: set it on the connection before migrating.
    """
    while True:
        with transaction() as tx:
            version = user_version(tx)
            if version > len(steps):
                raise too_new(version)
            if version == len(steps):
                return version
            steps[version](tx)
            tx.execute(f"PRAGMA user_version = {version + 1}")


def _v1(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE walks (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, area TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL, ended_at TEXT,
            state TEXT NOT NULL DEFAULT 'pending', conflict_detail TEXT
        );
        CREATE TABLE findings (
            id TEXT NOT NULL, revision INTEGER NOT NULL, walk_id TEXT REFERENCES walks(id),
            category TEXT NOT NULL, severity TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
            latitude REAL NOT NULL, longitude REAL NOT NULL, accuracy REAL,
            position_source TEXT NOT NULL, captured_at TEXT NOT NULL, duplicate_of TEXT,
            created_at TEXT NOT NULL, content_hash TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            conflict_detail TEXT, pushed_at TEXT,
            PRIMARY KEY (id, revision)
        );
        CREATE INDEX findings_state ON findings(state);
        CREATE INDEX findings_walk ON findings(walk_id);
        CREATE TABLE photos (
            sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, width INTEGER NOT NULL,
            height INTEGER NOT NULL, source_name TEXT, source_sha256 TEXT,
            created_at TEXT NOT NULL, uploaded_at TEXT
        );
        CREATE INDEX photos_source ON photos(source_sha256);
        CREATE TABLE finding_photos (
            finding_id TEXT NOT NULL, revision INTEGER NOT NULL, position INTEGER NOT NULL,
            sha256 TEXT NOT NULL REFERENCES photos(sha256),
            PRIMARY KEY (finding_id, revision, position),
            FOREIGN KEY (finding_id, revision) REFERENCES findings(id, revision)
        );
        CREATE INDEX finding_photos_sha ON finding_photos(sha256);
        CREATE TABLE events (
            id TEXT PRIMARY KEY, finding_id TEXT NOT NULL, json TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending', conflict_detail TEXT
        );
        CREATE TABLE track_points (
            walk_id TEXT NOT NULL, t TEXT NOT NULL, latitude REAL NOT NULL,
            longitude REAL NOT NULL, accuracy REAL, state TEXT NOT NULL DEFAULT 'pending',
            PRIMARY KEY (walk_id, t)
        );
        CREATE TABLE finding_status (
            finding_id TEXT PRIMARY KEY, status TEXT NOT NULL, updated_at TEXT NOT NULL,
            seq INTEGER NOT NULL
        );
        CREATE TABLE status_events (
            seq INTEGER PRIMARY KEY, finding_id TEXT NOT NULL, kind TEXT NOT NULL,
            at TEXT NOT NULL, json TEXT NOT NULL
        );
        CREATE INDEX status_events_finding ON status_events(finding_id);
        """,
    )


def _v2(db: sqlite_utils.Database) -> None:
    # captures: a finding saved by the app before its photos are processed (raw bytes in inbox/),
    # so "save" returns at once and a crash mid-processing loses nothing.
    # remote_findings: open findings pulled from the server (follow-up walks, nearby duplicates).
    run_script(
        db,
        """
        CREATE TABLE captures (
            id TEXT PRIMARY KEY, json TEXT NOT NULL, raw TEXT NOT NULL, created_at TEXT NOT NULL,
            error TEXT
        );
        CREATE TABLE remote_findings (
            id TEXT PRIMARY KEY, json TEXT NOT NULL, status TEXT NOT NULL, area TEXT,
            latitude REAL NOT NULL, longitude REAL NOT NULL, category TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        );
        CREATE INDEX remote_findings_pos ON remote_findings(latitude, longitude)
        """,
    )


def _v3(db: sqlite_utils.Database) -> None:
    # events.pushed_at: an answer that has once gone out may be on the server even if no receipt
    # came back, so a changed answer must follow it rather than replace it (like findings).
    db.execute("ALTER TABLE events ADD COLUMN pushed_at TEXT")


def _v4(db: sqlite_utils.Database) -> None:
    # What the server refused for good is set aside with its reason, so that one bad item never
    # blocks the rest and is not sent again in every sync. Walks, findings and events use their
    # state ('refused') and conflict_detail (the server's reason for a record it did not take);
    # photos and route points had no such columns.
    db.execute("ALTER TABLE photos ADD COLUMN refused_detail TEXT")
    db.execute("ALTER TABLE track_points ADD COLUMN refused_detail TEXT")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema up to date; returns the version now in the file."""

    @contextmanager
    def immediate() -> Iterator[sqlite_utils.Database]:
        # BEGIN IMMEDIATE takes the write lock before the version is read: a second process
        # opening the same folder (the CLI while the app runs) waits its turn and then finds the
        # work done, instead of failing on "database is locked" when it upgrades to a writer.
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    return apply_migrations(immediate, MIGRATIONS, _too_new)


def _too_new(version: int) -> MigrationError:
    return MigrationError(
        f"this data was written by a newer walkaudit (schema {version}); update the app"
    )
