"""Restoring a backup into a new or empty data directory: verified first, built aside, opened
(migrated) by this server's code, and only then put into place.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sync_server.config import PRIVATE_DIR_MODE
from sync_server.core.backup.disk import (
    copy_file,
    fsync_tree,
    make_dirs,
    move_up,
    put_in_place,
    refuse_non_empty,
    staging,
)
from sync_server.core.backup.errors import BackupDamaged, BackupError, BackupTooNew
from sync_server.core.backup.manifest import DATABASE, Manifest, RestoreResult
from sync_server.core.backup.verification import verify
from sync_server.core.db import Database
from sync_server.core.migrations import MIGRATIONS

_RESTORE_TARGET = (
    "{path} is not empty; a backup is restored only into a new or empty data directory, so "
    "that nothing in it is overwritten — move it aside (or give another --data) and restore "
    "again; nothing was written"
)


def restore(src: Path, data_dir: Path) -> RestoreResult:
    """Bring the backup in `src` into `data_dir`, which must be new or empty.

    Every file is verified before anything is written; the copy is built in a hidden directory
    (inside `data_dir` if it exists, else next to it) and put into place only once complete and
    opened (migrated) by this server's code, so a failed restore leaves `data_dir` as it was.
    """
    src, data_dir = src.absolute(), data_dir.absolute()
    refuse_non_empty(data_dir, _RESTORE_TARGET)
    manifest = verify(src)
    if manifest.schema_version > len(MIGRATIONS):
        raise BackupTooNew(
            f"the backup in {src} has database schema {manifest.schema_version} (made by "
            f"walkaudit {manifest.walkaudit_version}), but this server knows only up to "
            f"{len(MIGRATIONS)}; upgrade walkaudit-server, then restore"
        )
    # Exists (and is empty, see above): its parent need not be ours to write, and it may be a
    # mount point, so the copy is built inside it. Else the parent is where it must be made.
    in_place = data_dir.is_dir()
    with staging(data_dir, "restore", inside=in_place) as stage:
        if in_place:
            os.chmod(data_dir, PRIVATE_DIR_MODE)  # as the renamed copy would be
        _copy_backup(src, manifest, stage)
        findings, photos, schema = _open_restored(stage / DATABASE)
        fsync_tree(stage)
        if in_place:
            move_up(stage, data_dir, _RESTORE_TARGET)
        else:
            put_in_place(stage, data_dir, _RESTORE_TARGET)
    return RestoreResult(data_dir, manifest, findings, photos, schema)


def _copy_backup(src: Path, manifest: Manifest, stage: Path) -> None:
    """Copy every file of the (verified) backup into `stage`, checking each again on the way."""
    for entry in manifest.files:
        target = stage / entry.path
        make_dirs(target.parent)
        if copy_file(src / entry.path, target) != (entry.size, entry.sha256):
            raise BackupDamaged(
                f"{src / entry.path} changed while it was being restored; nothing was "
                "restored — run restore again"
            )


def _open_restored(path: Path) -> tuple[int, int, int]:
    """Open the restored database as the server will (migrations run); its counts."""
    db = Database(path)
    try:
        schema = db.migrate()
        conn = db.conn()
        findings = int(conn.execute("SELECT count(*) FROM findings").fetchone()[0])
        photos = int(conn.execute("SELECT count(*) FROM photos").fetchone()[0])
    except sqlite3.Error as exc:
        raise BackupError(
            f"the restored database does not open: {exc}; nothing was restored"
        ) from None
    finally:
        db.close()
    return findings, photos, schema
