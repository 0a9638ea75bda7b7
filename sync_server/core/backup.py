"""Backup and restore of a server's data directory, while the server runs.

A backup is a directory laid out like the data directory, plus `manifest.json`:

    walkaudit.db                  the database, copied with SQLite's online backup API
    photos/blobs/ab/cd/<sha256>   every complete photo (content-addressed, verified)
    outbox/*.eml                  delivered messages when no SMTP server is configured
    server-url, …                 the small files `serve` keeps at the top of the data directory
    manifest.json                 every file above with its size and sha256, the schema version,
                                  the walkaudit version and the time of the database snapshot

Why it is consistent although phones keep syncing:
- The database copy is ONE read transaction (`backup(pages=-1)`): a snapshot as of one commit. In
  WAL mode a reader blocks no writer, so the server's pushes go on meanwhile. (Copying in steps
  does not work against a busy server: every commit by another connection restarts the copy —
  measured: 2,459 restarts in 3,000 steps and no end, while one step took 6 s for 750 MB with
  writers committing 3,700 times a second throughout.)
- The photos are copied after the snapshot. A `photos` row is written only after its blob was
  verified and renamed into place (sync_server.field.photos), and a stored blob is never changed or
  removed (its name is its content's hash), so every photo the snapshot knows is on disk by then.
- Photos finished after the snapshot are copied too (harmless extras): their bytes are verified
  against their name like every other, and the restored server counts such a blob as stored when
  a phone names it (the blob store is the truth, see sync_server.field.photos) — so a photo whose
  finding made it into the snapshot but whose upload finished just after is not lost.
- Left out, on purpose: partial uploads (`photos/partial`; the phone still holds the photo and
  uploads it again), thumbnails (`thumbs`; a cache, made again on first view), SQLite's -wal and
  -shm files (the snapshot already holds what they held), hidden files (temporary names of
  atomic writes) and directories the server does not write (the demo's field devices live in
  the data directory). The manifest lists what was left out and why.
- A photo whose bytes no longer match its name (a damaged disk) is not copied — its wrong bytes
  under a hash name would be served as the photo — and is listed as damaged; everything else is
  still backed up, so one bad file does not cost the whole night's backup.

A backup is built in a hidden directory next to DEST and renamed into place when complete, so a
failed or interrupted backup never looks like one. `restore` does the same when the data
directory does not exist yet; into an existing empty one it builds in a hidden directory inside
it and moves the entries up, because the service's user may not write the parent (/srv of
/srv/walkaudit) and a mount point cannot be renamed onto. Everything in a backup is its owner's
alone (files 0600, directories 0700): it holds names, notes, photos and owner links.

    BackupError (a ServerError: the CLI prints its message)
     ├── BackupTargetNotEmpty   DEST (or the data directory to restore into) holds files
     ├── NotABackup             no readable manifest.json, or one this version cannot read
     ├── BackupDamaged          a file missing or not matching its size or sha256 (named)
     └── BackupTooNew           the backup's schema is newer than this server knows
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sync_server.config import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, Settings
from sync_server.core.blobs import fsync_dir
from sync_server.core.db import BUSY_TIMEOUT_MS, MIGRATIONS, Database, iso
from sync_server.core.errors import ServerError
from walkaudit.model import utcnow

MANIFEST = "manifest.json"
FORMAT = 1  # of manifest.json; a reader refuses a format it does not know
DATABASE = "walkaudit.db"
_BLOCK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COUNTED = ("findings", "events", "walks", "photos", "devices")
# Top-level directories of a data directory and what a backup takes of them.
_CACHE_DIRS = {
    "thumbs": "thumbnails: a cache, made again from the photos on first view",
    "tiles": "map packages and their tile cache: prepared again from the tile source",
}
_NOT_SERVER_DATA = "not written by the server (the demo keeps its field devices here)"


class BackupError(ServerError):
    """Base of what backup and restore refuse."""


class BackupTargetNotEmpty(BackupError):
    """The directory to write into holds files already."""


class NotABackup(BackupError):
    """The directory has no manifest this version can read."""


class BackupDamaged(BackupError):
    """A file of the backup is missing or does not match the manifest."""


class BackupTooNew(BackupError):
    """The backup was made by a server with migrations this one lacks."""


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One file of a backup: its path relative to the backup's root, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class Note:
    """Something left out of a backup (skipped) or that could not be copied (damaged), and why."""

    path: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a backup holds; written as manifest.json."""

    created_at: str  # when the database snapshot was taken
    finished_at: str
    walkaudit_version: str
    schema_version: int
    counts: dict[str, int]  # rows in the database copy: findings, events, walks, photos, devices
    files: tuple[FileEntry, ...]
    skipped: tuple[Note, ...] = ()
    damaged: tuple[Note, ...] = ()
    # The backup's directory, once it is known (not part of manifest.json).
    root: Path | None = dataclasses.field(default=None, compare=False)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def photo_files(self) -> tuple[FileEntry, ...]:
        return tuple(f for f in self.files if f.path.startswith("photos/"))

    def to_json(self) -> str:
        """The manifest.json text."""
        body = {
            "format": FORMAT,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "walkaudit_version": self.walkaudit_version,
            "schema_version": self.schema_version,
            "counts": self.counts,
            "files": [vars(f) for f in self.files],
            "skipped": [vars(n) for n in self.skipped],
            "damaged": [vars(n) for n in self.damaged],
        }
        return json.dumps(body, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, root: Path | None = None) -> Manifest:
        """Parse manifest.json; NotABackup(why) if it is not one this version reads."""
        where = root / MANIFEST if root else MANIFEST
        try:
            body = json.loads(text)
            if body.get("format") != FORMAT:
                raise NotABackup(
                    f"{where} is in format {body.get('format')!r}, but this walkaudit-server "
                    f"reads format {FORMAT}; restore it with the version that made it"
                )
            files = tuple(
                FileEntry(_safe_path(str(f["path"])), int(f["size"]), _sha(str(f["sha256"])))
                for f in body["files"]
            )
            return cls(
                created_at=str(body["created_at"]),
                finished_at=str(body["finished_at"]),
                walkaudit_version=str(body["walkaudit_version"]),
                schema_version=int(body["schema_version"]),
                counts={str(k): int(v) for k, v in body["counts"].items()},
                files=files,
                skipped=tuple(Note(str(n["path"]), str(n["reason"])) for n in body["skipped"]),
                damaged=tuple(Note(str(n["path"]), str(n["reason"])) for n in body["damaged"]),
                root=root,
            )
        except NotABackup:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NotABackup(f"{where} is not a walkaudit backup manifest ({exc})") from None

    def lines(self) -> list[str]:
        """What `walkaudit-server backup` prints: what was copied, left out, damaged; where."""
        photos = self.photo_files
        other = [f for f in self.files if f.path != DATABASE and f not in photos]
        db = next(f for f in self.files if f.path == DATABASE)
        counts = ", ".join(f"{k}: {self.counts.get(k, 0)}" for k in _COUNTED)
        out = [
            f"Backed up the database as of {self.created_at} ({_mb(db.size)}; schema "
            f"{self.schema_version}; {counts}),",
            f"  {len(photos)} photo(s) ({_mb(sum(f.size for f in photos))}) and {len(other)} "
            f"other file(s) ({_mb(sum(f.size for f in other))}): {len(self.files)} files, "
            f"{self.total_bytes:,} bytes in all.",
        ]
        out += [f"  Left out: {n.path} — {n.reason}" for n in self.skipped]
        out += [f"  DAMAGED, not in the backup: {n.path} — {n.reason}" for n in self.damaged]
        if self.root is not None:
            out.append(f"Manifest (sizes and sha256 of every file): {self.root / MANIFEST}")
        return out


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    """What `restore` brought into the data directory."""

    data_dir: Path
    manifest: Manifest
    findings: int
    photos: int
    schema_version: int  # after the migrations this server ran on the restored database

    def lines(self, command: str = "walkaudit-server") -> list[str]:
        """What `walkaudit-server restore` prints."""
        out = [
            f"Restored {self.findings} findings, {self.photos} photos into {self.data_dir} "
            f"(backup of {self.manifest.created_at}, {len(self.manifest.files)} files, "
            f"{self.manifest.total_bytes:,} bytes, all sha256 verified).",
        ]
        out += [
            f"  Not in this backup (damaged on the server it came from): {n.path}"
            for n in self.manifest.damaged
        ]
        out.append(f"Start the server with: {command} --data {self.data_dir} serve")
        return out


# ---- backup ----


def backup(settings_or_data_dir: Settings | Path, dest: Path) -> Manifest:
    """Copy a data directory (the server may be running) into `dest`, a new or empty directory.

    Returns the manifest written to dest/manifest.json. A photo damaged in the source is left out
    and listed in `Manifest.damaged`; everything else is copied (see the module's docstring).
    """
    data = _layout(settings_or_data_dir)
    if not data.database_path.is_file():
        raise BackupError(
            f"there is no server data in {data.data_dir} (no {DATABASE}); check --data "
            "(or WALKAUDIT_DATA_DIR)"
        )
    dest = dest.absolute()
    _refuse_non_empty(dest, _BACKUP_TARGET)
    with _staging(dest, "back up") as stage:
        manifest = _copy_data(data, stage)
        _write_private(stage / MANIFEST, manifest.to_json().encode())
        _fsync_tree(stage)
        _put_in_place(stage, dest, _BACKUP_TARGET)
    return dataclasses.replace(manifest, root=dest)


def _layout(settings_or_data_dir: Settings | Path) -> Settings:
    if isinstance(settings_or_data_dir, Settings):
        return settings_or_data_dir
    # Only the paths are used: no environment to read, nothing to validate.
    return Settings.model_construct(data_dir=Path(settings_or_data_dir))


def _copy_data(data: Settings, stage: Path) -> Manifest:
    created_at = iso(utcnow())
    counts, schema = _snapshot_database(data.database_path, stage / DATABASE)
    files = [FileEntry(DATABASE, *_digest(stage / DATABASE))]
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
                src.backup(dst, pages=-1)  # one step = one read transaction (see the docstring)
                # A self-contained file (no -wal beside it), so its sha256 stays what it is.
                dst.execute("PRAGMA journal_mode = DELETE")
                problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise BackupError(
                        f"the database {source} is damaged ({'; '.join(problems[:3])}); no "
                        "backup was made — restore the last good backup, or ask for help"
                    )
                schema = int(dst.execute("PRAGMA user_version").fetchone()[0])
                counts = {table: _count(dst, table) for table in _COUNTED}
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
        stream = _open_if_there(source)
        if stream is None:
            continue  # a photo refused as undecodable was discarded meanwhile: never stored
        _make_dirs((stage / relative).parent)
        with stream:
            size, actual = _copy_stream(stream, stage / relative)
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
                if _SHA256.match(name) and well_placed and not blob.is_symlink():
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
    stream = _open_if_there(source)
    if stream is None:
        return  # removed meanwhile
    _make_dirs((stage / relative).parent)
    with stream:
        size, sha256 = _copy_stream(stream, stage / relative)
    files.append(FileEntry(relative, size, sha256))


# ---- verify and restore ----


def verify(src: Path) -> Manifest:
    """Check every file of a backup against its manifest (size and sha256); the manifest.

    BackupDamaged names the files that are missing or differ; NotABackup if there is no
    manifest this version reads.
    """
    src = src.absolute()
    manifest = read_manifest(src)
    problems = [p for p in (_check(src, entry) for entry in manifest.files) if p]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BackupDamaged(
            f"the backup in {src} is damaged: {'; '.join(problems[:3])}{more} — of "
            f"{len(manifest.files)} files; restore from another backup"
        )
    return manifest


def read_manifest(src: Path) -> Manifest:
    """The manifest of the backup in `src` (not checked against the files)."""
    path = src / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotABackup(
            f"{src} holds no {MANIFEST}, so it is not a backup made by `walkaudit-server "
            "backup`; give the directory that command wrote"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotABackup(f"cannot read {path}: {exc}") from None
    manifest = Manifest.from_json(text, src)
    if not any(f.path == DATABASE for f in manifest.files):
        raise NotABackup(f"{path} lists no {DATABASE}; it is not a complete backup")
    return manifest


def _check(src: Path, entry: FileEntry) -> str | None:
    """What is wrong with one file of a backup, as a phrase naming it, or None."""
    path = src / entry.path
    if path.is_symlink() or not path.is_file():
        return f"{entry.path} is missing"
    size = path.stat().st_size
    if size != entry.size:
        return f"{entry.path} is {size:,} bytes, but the manifest says {entry.size:,}"
    _, actual = _digest(path)
    if actual != entry.sha256:
        return f"{entry.path} has sha256 {actual[:12]}…, but the manifest says {entry.sha256[:12]}…"
    return None


def restore(src: Path, data_dir: Path) -> RestoreResult:
    """Bring the backup in `src` into `data_dir`, which must be new or empty.

    Every file is verified before anything is written; the copy is built in a hidden directory
    (inside `data_dir` if it exists, else next to it) and put into place only once complete and
    opened (migrated) by this server's code, so a failed restore leaves `data_dir` as it was.
    """
    src, data_dir = src.absolute(), data_dir.absolute()
    _refuse_non_empty(data_dir, _RESTORE_TARGET)
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
    with _staging(data_dir, "restore", inside=in_place) as stage:
        if in_place:
            os.chmod(data_dir, PRIVATE_DIR_MODE)  # as the renamed copy would be
        _copy_backup(src, manifest, stage)
        findings, photos, schema = _open_restored(stage / DATABASE)
        _fsync_tree(stage)
        if in_place:
            _move_up(stage, data_dir, _RESTORE_TARGET)
        else:
            _put_in_place(stage, data_dir, _RESTORE_TARGET)
    return RestoreResult(data_dir, manifest, findings, photos, schema)


def _copy_backup(src: Path, manifest: Manifest, stage: Path) -> None:
    """Copy every file of the (verified) backup into `stage`, checking each again on the way."""
    for entry in manifest.files:
        target = stage / entry.path
        _make_dirs(target.parent)
        if _copy_file(src / entry.path, target) != (entry.size, entry.sha256):
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


# ---- files, directories, modes ----

_BACKUP_TARGET = (
    "{path} is not empty; give a new or empty directory for the backup (e.g. one named by the "
    "date) — nothing was written"
)
_RESTORE_TARGET = (
    "{path} is not empty; a backup is restored only into a new or empty data directory, so "
    "that nothing in it is overwritten — move it aside (or give another --data) and restore "
    "again; nothing was written"
)


def _refuse_non_empty(path: Path, message: str) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise BackupTargetNotEmpty(message.format(path=path))
    if path.is_dir() and any(path.iterdir()):
        raise BackupTargetNotEmpty(message.format(path=path))


@contextlib.contextmanager
def _staging(final: Path, what: str, inside: bool = False) -> Iterator[Path]:
    """A private directory to build in, next to `final` (or, `inside`, in the existing `final`
    itself); removed again if anything fails."""
    try:
        if inside:
            prefix = f".{what.replace(' ', '')}-"
            stage = Path(tempfile.mkdtemp(prefix=prefix, dir=final))  # 0700
        else:
            _make_dirs(final.parent, private=False)
            prefix = f".{final.name}.{what.replace(' ', '')}-"
            stage = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))  # 0700
    except OSError as exc:
        raise BackupError(f"cannot {what} into {final}: {exc}") from None
    try:
        yield stage
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise BackupError(f"cannot {what} into {final}: {exc}; nothing was left behind") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _put_in_place(stage: Path, final: Path, message: str) -> None:
    """Rename the complete copy to its name (replacing an empty directory), durably."""
    try:
        os.rename(stage, final)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise BackupTargetNotEmpty(message.format(path=final)) from None
        raise
    fsync_dir(final.parent)


def _move_up(stage: Path, final: Path, message: str) -> None:
    """Move the complete copy's entries from `stage` (inside `final`) up into `final`, durably,
    and remove `stage`. If any step fails, what was moved is removed again: `final` is left
    empty, so a retry works and `serve` finds no half data directory to start on."""
    # The database last: cut off midway (a power cut), the directory holds no database rather
    # than one whose photos are not all there.
    names = sorted(os.listdir(stage), key=lambda name: (name.startswith(DATABASE), name))
    moved: list[Path] = []
    try:
        for name in names:
            if os.path.lexists(final / name):  # someone writes into it meanwhile: not ours
                raise BackupTargetNotEmpty(message.format(path=final))
            os.replace(stage / name, final / name)  # same filesystem: a rename, no copy
            moved.append(final / name)
        os.rmdir(stage)
        fsync_dir(final)
    except BaseException:
        for path in moved:
            _remove(path)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):  # best effort: the first error is the one to report
            path.unlink()


def _make_dirs(path: Path, private: bool = True) -> None:
    """mkdir -p, each new directory 0700 (`Path.mkdir(parents=True)` ignores the mode for all
    but the last); `private=False` leaves existing and new parents to the umask."""
    if path.is_dir():
        return
    _make_dirs(path.parent, private)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, PRIVATE_DIR_MODE if private else 0o777)
    if private:
        os.chmod(path, PRIVATE_DIR_MODE)


def _open_if_there(path: Path) -> BinaryIO | None:
    """The file opened for reading, or None if it is gone (removed since it was listed)."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None


def _copy_file(source: Path, target: Path) -> tuple[int, str]:
    with source.open("rb") as stream:
        return _copy_stream(stream, target)


def _copy_stream(stream: BinaryIO, target: Path) -> tuple[int, str]:
    """Copy in blocks, hashing on the way; the copy is 0600 and fsynced. (size, sha256)."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask
        while block := stream.read(_BLOCK):
            digest.update(block)
            out.write(block)
            size += len(block)
        out.flush()
        os.fsync(fd)
    return size, digest.hexdigest()


def _digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        out.write(data)
        out.flush()
        os.fsync(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every directory under root (the files were fsynced when written): the entries of a
    backup must be on disk before it is renamed into place."""
    for directory, _, _ in os.walk(root, topdown=False):
        fsync_dir(Path(directory))


def _safe_path(path: str) -> str:
    """A manifest's path, if it stays inside the backup; ValueError otherwise."""
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or path == MANIFEST:
        raise ValueError(f"the path {path!r} is not a file inside the backup")
    if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise ValueError(f"the path {path!r} is not a file inside the backup")
    return path


def _sha(value: str) -> str:
    if not _SHA256.match(value):
        raise ValueError(f"{value!r} is not a sha256")
    return value


def _walkaudit_version() -> str:
    try:
        return metadata.version("walkaudit")
    except metadata.PackageNotFoundError:
        return "unknown"


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
