"""Taking a backup: one consistent snapshot of the database, then the photos, the outbox and the
small files, each verified on the way (why this is consistent: see the package's docstring).
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from sync_server.config import PRIVATE_FILE_MODE, Settings
from sync_server.core.backup.disk import (
    copy_stream,
    digest,
    fsync_tree,
    make_dirs,
    open_if_there,
    put_in_place,
    refuse_non_empty,
    staging,
    write_private,
)
from sync_server.core.backup.errors import BackupError
from sync_server.core.backup.manifest import (
    COUNTED,
    DATABASE,
    MANIFEST,
    SHA256,
    FileEntry,
    Manifest,
    Note,
)
from sync_server.core.db import BUSY_TIMEOUT_MS
from sync_server.core.time import iso
from walkaudit.model import utcnow

# Top-level directories of a data directory and what a backup takes of them.
_CACHE_DIRS = {
    "thumbs": "thumbnails: a cache, made again from the photos on first view",
    "tiles": "map packages and their tile cache: prepared again from the tile source",
}
_NOT_SERVER_DATA = "not written by the server (the demo keeps its field devices here)"


_BACKUP_TARGET = (
    "{path} is not empty; give a new or empty directory for the backup (e.g. one named by the "
    "date) — nothing was written"
)


def backup(settings_or_data_dir: Settings | Path, dest: Path) -> Manifest:
    """Copy a data directory (the server may be running) into `dest`, a new or empty directory.

    Returns the manifest written to dest/manifest.json. A photo damaged in the source is left out
    and listed in `Manifest.damaged`; everything else is copied (see the package's docstring).
    """
    data = _layout(settings_or_data_dir)
    if not data.database_path.is_file():
        raise BackupError(
            f"there is no server data in {data.data_dir} (no {DATABASE}); check --data "
            "(or WALKAUDIT_DATA_DIR)"
        )
    dest = dest.absolute()
    refuse_non_empty(dest, _BACKUP_TARGET)
    with staging(dest, "back up") as stage:
        manifest = _copy_data(data, stage)
        write_private(stage / MANIFEST, manifest.to_json().encode())
        fsync_tree(stage)
        put_in_place(stage, dest, _BACKUP_TARGET)
    return dataclasses.replace(manifest, root=dest)


def _layout(settings_or_data_dir: Settings | Path) -> Settings:
    if isinstance(settings_or_data_dir, Settings):
        return settings_or_data_dir
    # Only the paths are used: no environment to read, nothing to validate.
    return Settings.model_construct(data_dir=Path(settings_or_data_dir))


def _copy_data(data: Settings, stage: Path) -> Manifest:
    created_at = iso(utcnow())
    counts, schema = _snapshot_database(data.database_path, stage / DATABASE)
    files = [FileEntry(DATABASE, *digest(stage / DATABASE))]
    skipped: list[Note] = []
    damaged: list[Note] = []
    copied_photos = _copy_photos(data.photos_dir, stage, files, skipped, damaged)
    damaged += _missing_photos(stage / DATABASE, copied_photos, damaged)
    _copy_other_files(data, stage, files, skipped)
    return Manifest(
        created_at=created_at,
        finished_at=iso(utcnow()),
        walkaudit_version=_walkaudit_version(),
        schema_version=schema,
        counts=counts,
        files=tuple(files),
        skipped=tuple(skipped),
        damaged=tuple(sorted(damaged, key=lambda n: n.path)),
    )


def _snapshot_database(source: Path, target: Path) -> tuple[dict[str, int], int]:
    """One consistent copy of the live database; (row counts, schema version) of the copy."""
    try:
        # Read-only: a backup must never change the server's data.
        src = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
        try:
            src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
            os.close(fd)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst, pages=-1)  # one step: one read transaction (see __init__)
                # A self-contained file (no -wal beside it), so its sha256 stays what it is.
                dst.execute("PRAGMA journal_mode = DELETE")
                problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise BackupError(
                        f"the database {source} is damaged ({'; '.join(problems[:3])}); no "
                        "backup was made — restore the last good backup, or ask for help"
                    )
                schema = int(dst.execute("PRAGMA user_version").fetchone()[0])
                counts = {table: _count(dst, table) for table in COUNTED}
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source}: {exc}") from None
    os.chmod(target, PRIVATE_FILE_MODE)
    return counts, schema


def _count(conn: sqlite3.Connection, table: str) -> int:
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # a database from before the table existed
        return 0


def _copy_photos(
    photos_dir: Path, stage: Path, files: list[FileEntry], skipped: list[Note], damaged: list[Note]
) -> set[str]:
    """Copy every complete blob whose bytes match its name; returns the sha256s copied."""
    copied: set[str] = set()
    if (photos_dir / "partial").is_dir() and any((photos_dir / "partial").iterdir()):
        skipped.append(
            Note("photos/partial", "uploads in progress; the phones still hold those photos")
        )
    for sha256, source in _blobs(photos_dir / "blobs"):
        relative = _blob_path(sha256)
        stream = open_if_there(source)
        if stream is None:
            continue  # a photo refused as undecodable was discarded meanwhile: never stored
        make_dirs((stage / relative).parent)
        with stream:
            size, actual = copy_stream(stream, stage / relative)
        if actual != sha256:
            (stage / relative).unlink()
            damaged.append(
                Note(relative, f"its {size:,} bytes hash to {actual[:12]}…, not to its name")
            )
            continue
        files.append(FileEntry(relative, size, actual))
        copied.add(sha256)
    return copied


def _blobs(blob_dir: Path) -> Iterator[tuple[str, Path]]:
    """(sha256, path) of the blob files in the store's ab/cd/<sha256> layout, sorted."""
    if not blob_dir.is_dir():
        return
    for first in sorted(blob_dir.iterdir()):
        if not first.is_dir() or first.is_symlink():
            continue
        for second in sorted(first.iterdir()):
            if not second.is_dir() or second.is_symlink():
                continue
            for blob in sorted(second.iterdir()):
                name = blob.name
                well_placed = name[:2] == first.name and name[2:4] == second.name
                if SHA256.match(name) and well_placed and not blob.is_symlink():
                    yield name, blob


def _missing_photos(database: Path, copied: set[str], damaged: list[Note]) -> list[Note]:
    """Photos the database copy counts as stored that are neither copied nor listed damaged."""
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        stored = {row[0] for row in conn.execute("SELECT sha256 FROM photos")}
    finally:
        conn.close()
    listed = {n.path for n in damaged}  # already named, with what is wrong with them
    missing = [_blob_path(s) for s in sorted(stored - copied)]
    reason = "the database counts it as stored, but the server has no such file"
    return [Note(path, reason) for path in missing if path not in listed]


def _blob_path(sha256: str) -> str:
    return f"photos/blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _copy_other_files(
    data: Settings, stage: Path, files: list[FileEntry], skipped: list[Note]
) -> None:
    """The data directory's top-level files and the outbox's messages; notes what is left out."""
    for entry in sorted(data.data_dir.iterdir()):
        name = entry.name
        if name.startswith(".") or name == DATABASE or name.startswith(f"{DATABASE}-"):
            continue  # temporary names of atomic writes; SQLite's -wal/-shm (in the snapshot)
        if entry.is_symlink():
            skipped.append(Note(name, "a symbolic link; not followed"))
        elif entry.is_file():
            _copy_into(entry, name, stage, files)
        elif name == "outbox":
            _copy_outbox(entry, stage, files, skipped)
        elif name in _CACHE_DIRS:
            skipped.append(Note(name, _CACHE_DIRS[name]))
        elif name != "photos":
            skipped.append(Note(name, _NOT_SERVER_DATA))


def _copy_outbox(outbox: Path, stage: Path, files: list[FileEntry], skipped: list[Note]) -> None:
    # Without SMTP these .eml files are the delivered messages themselves (the database keeps
    # its own copy, but a sent one may have had its owner link blanked there).
    for entry in sorted(outbox.iterdir()):
        relative = f"outbox/{entry.name}"
        if entry.name.startswith("."):
            continue  # a message being written
        if entry.is_file() and not entry.is_symlink():
            _copy_into(entry, relative, stage, files)
        else:
            skipped.append(Note(relative, "not a message file"))


def _copy_into(source: Path, relative: str, stage: Path, files: list[FileEntry]) -> None:
    stream = open_if_there(source)
    if stream is None:
        return  # removed meanwhile
    make_dirs((stage / relative).parent)
    with stream:
        size, sha256 = copy_stream(stream, stage / relative)
    files.append(FileEntry(relative, size, sha256))


def _walkaudit_version() -> str:
    try:
        return metadata.version("walkaudit")
    except metadata.PackageNotFoundError:
        return "unknown"
