"""File operations shared by backup and restore: private (0600/0700), fsynced, hashed copies, and
building in a hidden directory that is put into place only when complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sync_server.config import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE
from sync_server.core.backup.errors import BackupError, BackupTargetNotEmpty
from sync_server.core.backup.manifest import DATABASE
from sync_server.core.blobs import fsync_dir

_BLOCK = 1024 * 1024


def refuse_non_empty(path: Path, message: str) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise BackupTargetNotEmpty(message.format(path=path))
    if path.is_dir() and any(path.iterdir()):
        raise BackupTargetNotEmpty(message.format(path=path))


@contextlib.contextmanager
def staging(final: Path, what: str, inside: bool = False) -> Iterator[Path]:
    """A private directory to build in, next to `final` (or, `inside`, in the existing `final`
    itself); removed again if anything fails."""
    try:
        if inside:
            prefix = f".{what.replace(' ', '')}-"
            stage = Path(tempfile.mkdtemp(prefix=prefix, dir=final))  # 0700
        else:
            make_dirs(final.parent, private=False)
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


def put_in_place(stage: Path, final: Path, message: str) -> None:
    """Rename the complete copy to its name (replacing an empty directory), durably."""
    try:
        os.rename(stage, final)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise BackupTargetNotEmpty(message.format(path=final)) from None
        raise
    fsync_dir(final.parent)


def move_up(stage: Path, final: Path, message: str) -> None:
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


def make_dirs(path: Path, private: bool = True) -> None:
    """mkdir -p, each new directory 0700 (`Path.mkdir(parents=True)` ignores the mode for all
    but the last); `private=False` leaves existing and new parents to the umask."""
    if path.is_dir():
        return
    make_dirs(path.parent, private)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, PRIVATE_DIR_MODE if private else 0o777)
    if private:
        os.chmod(path, PRIVATE_DIR_MODE)


def open_if_there(path: Path) -> BinaryIO | None:
    """The file opened for reading, or None if it is gone (removed since it was listed)."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None


def copy_file(source: Path, target: Path) -> tuple[int, str]:
    with source.open("rb") as stream:
        return copy_stream(stream, target)


def copy_stream(stream: BinaryIO, target: Path) -> tuple[int, str]:
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


def digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        out.write(data)
        out.flush()
        os.fsync(fd)


def fsync_tree(root: Path) -> None:
    """fsync every directory under root (the files were fsynced when written): the entries of a
    backup must be on disk before it is renamed into place."""
    for directory, _, _ in os.walk(root, topdown=False):
        fsync_dir(Path(directory))
