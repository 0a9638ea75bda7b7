"""The store's files on disk: the data directory's layout, its privacy, and the photo files.

Kept apart from the database code because it changes for other reasons (a phone's storage rules,
file modes, crash safety of a write) and because drafts, inbox and remote write their files the
same way (`private_dir`, `atomic_write`, `fsync_dir`).

Privacy: the data directory and its folders are 0700, its files 0600 (photos, notes and the
device token are the walker's): folders through `private_dir`, files through `atomic_write`, the
database created 0600 (SQLite gives its -wal and -shm the same mode). `make_private` mends what an
older version left readable by others.

Crash safety: a photo file is written to a temporary name, flushed, fsynced and renamed *before*
the finding's row is committed; a file no row refers to (a crash in between) is removed at the
next start by `remove_orphans`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

DB_NAME = "walkaudit.db"
PHOTO_DIR = "photos"
PRIVATE_DIR_MODE, PRIVATE_FILE_MODE = 0o700, 0o600
# The folders the field side keeps in the data directory (photos here; drafts, inbox and
# remote_photos of drafts.py, inbox.py and remote.py): mended at open, nothing else is walked.
OWN_DIRS = (PHOTO_DIR, "drafts", "inbox", "remote_photos")
TMP_PREFIX = ".tmp-"
# Another process (the app and the CLI on one data directory) may be between its rename and its
# commit; files younger than this are left alone by the start-up clean-up.
DEFAULT_ORPHAN_GRACE_S = 600.0


class PhotoLike(Protocol):
    """What the store needs of a processed photo (walkaudit.media.ProcessedPhoto fits)."""

    @property
    def jpeg(self) -> bytes: ...
    @property
    def thumbnail(self) -> bytes: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def source_name(self) -> str: ...


@dataclass(frozen=True)
class StoredPhoto:
    """A photo read back from the store's folder (a PhotoLike, for a finding's new revision)."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    source_name: str


def photo_path(photo_dir: Path, sha256: str) -> Path:
    """Where the upload copy of a photo lives."""
    return photo_dir / f"{sha256}.jpg"


def thumbnail_path(photo_dir: Path, sha256: str) -> Path:
    """Where a photo's thumbnail lives."""
    return photo_dir / f"{sha256}.t.jpg"


def write_photo_files(photo_dir: Path, photos: Sequence[PhotoLike]) -> None:
    """Each photo and its thumbnail on disk for good (before the rows that name them commit)."""
    for photo in photos:
        target = photo_path(photo_dir, photo.sha256)
        if not (target.exists() and target.stat().st_size == len(photo.jpeg)):
            atomic_write(target, photo.jpeg)
        thumb = thumbnail_path(photo_dir, photo.sha256)
        if photo.thumbnail and not thumb.exists():
            atomic_write(thumb, photo.thumbnail)
    if photos:
        fsync_dir(photo_dir)


def remove_orphans(photo_dir: Path, known: Iterable[str], grace_s: float) -> list[Path]:
    """Remove temp files and photo files whose hash is not `known` (a crash before the commit),
    unless younger than `grace_s` seconds (another process may be about to commit them)."""
    known = set(known)
    cutoff = time.time() - grace_s
    removed = []
    for path in photo_dir.iterdir():
        name = path.name
        sha = name.split(".", 1)[0]
        orphan = name.startswith(TMP_PREFIX) or sha not in known
        if orphan and path.is_file() and path.stat().st_mtime <= cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def private_dir(path: Path) -> Path:
    """`path` as a folder only this user can enter (0700), made with its parents if need be."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)  # (parents: not ours)
    _restrict(path, PRIVATE_DIR_MODE)
    return path


def _restrict(path: Path | str, mode: int) -> None:
    """chmod to `mode` unless it is that already (symbolic links are left alone)."""
    status = os.lstat(path)
    if not stat.S_ISLNK(status.st_mode) and stat.S_IMODE(status.st_mode) != mode:
        os.chmod(path, mode)


def make_private(data_dir: Path) -> None:
    """The data directory 0700, the database 0600 (created so, before SQLite opens it), and what
    an older version left readable in the store's own folders 0700/0600."""
    private_dir(data_dir)
    database = data_dir / DB_NAME
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        with contextlib.suppress(FileNotFoundError):
            _restrict(data_dir / name, PRIVATE_FILE_MODE)
    for name in OWN_DIRS:
        for root, _, files in os.walk(data_dir / name):
            _restrict(root, PRIVATE_DIR_MODE)
            for file in files:
                with contextlib.suppress(FileNotFoundError):  # a temporary file, just renamed
                    _restrict(os.path.join(root, file), PRIVATE_FILE_MODE)


def atomic_write(target: Path, data: bytes) -> None:
    """Write a file so that it is either complete or absent: temp name, fsync, rename. The file
    is this user's alone (0600)."""
    tmp = target.with_name(f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{target.name}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with open(os.open(tmp, flags, PRIVATE_FILE_MODE), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (the folder's entry, not only the file's bytes)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
