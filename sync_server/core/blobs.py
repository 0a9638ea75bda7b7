"""Content-addressed photo storage: partial uploads that resume, then immutable blobs by sha256.

Layout under the store's root (`DiskBlobStore`):
    partial/<sha256>          an upload in progress; its size is the resume offset
    blobs/ab/cd/<sha256>      a complete blob whose content hash was verified

`BlobStore` is the interface the server codes against, so that an object store can replace the
disk later. Nothing here holds a whole blob in memory.

    BlobError
     ├── BlobHashMismatch     the bytes received do not hash to the announced sha256
     ├── BlobOffsetMismatch   a write does not start where the partial upload ends
     ├── BlobBusy             another writer holds this partial upload
     ├── BlobNotFound         no partial upload (or blob) for this sha256
     └── BlobStorageFull      the disk (or the quota) is full; what was kept is consistent

Files are this user's alone (0600, directories 0700): photos are personal data.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NoReturn, Protocol

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock on partial uploads
    fcntl = None  # type: ignore[assignment]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_READ_BLOCK = 1024 * 1024
_FILE_MODE, _DIR_MODE = 0o600, 0o700
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})  # no space left, disk quota exceeded


class BlobError(Exception):
    """Base of the blob store's errors."""


class BlobHashMismatch(BlobError):
    """The uploaded bytes do not hash to the sha256 they were announced as."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"the uploaded bytes hash to {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class BlobOffsetMismatch(BlobError):
    """A write does not start at the end of the partial upload."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the partial upload holds {current} bytes; continue from there")
        self.current = current


class BlobBusy(BlobError):
    """Another request is writing this partial upload right now."""


class BlobNotFound(BlobError):
    """Nothing is stored (or being uploaded) under this sha256."""


class BlobStorageFull(BlobError):
    """The disk (or the quota) is full. A partial upload keeps only bytes it really holds, so
    the same upload resumes from its Upload-Offset once there is space again."""

    def __init__(self, sha256: str, kept: int, reason: OSError) -> None:
        super().__init__(
            f"no space left to store photo {sha256} ({reason.strerror}); {kept:,} bytes are "
            "kept, the upload resumes from there once space is freed"
        )
        self.sha256 = sha256
        self.kept = kept


def _is_full(exc: OSError) -> bool:
    return exc.errno in FULL_ERRNOS


def check_sha256(sha256: str) -> str:
    """The hash itself if it is 64 lowercase hex digits (safe as a file name), else ValueError."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a sha256 (64 lowercase hex digits): {sha256!r}")
    return sha256


class BlobWriter(Protocol):
    """An open partial upload; `close()` makes what was written durable and returns the offset."""

    offset: int

    def write(self, data: bytes) -> int: ...

    def close(self) -> int: ...

    def __enter__(self) -> BlobWriter: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class BlobStore(Protocol):
    """Where photos live; resumable writes, then verified, immutable blobs."""

    def exists(self, sha256: str) -> bool: ...

    def partial_size(self, sha256: str) -> int: ...

    def writer(self, sha256: str, offset: int) -> BlobWriter: ...

    def append(self, sha256: str, offset: int, chunks: Iterable[bytes]) -> int: ...

    def finalize(self, sha256: str) -> Path: ...

    def discard(self, sha256: str) -> None: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def path(self, sha256: str) -> Path: ...


class _PartialWriter:
    """Appends to partial/<sha256> under an exclusive lock; fsyncs on close.

    On a full disk the partial is cut back to bytes it really holds (see `_give_up`): a write
    that failed may have left part of a chunk, and a failed fsync leaves pages that may never
    reach the disk, while the partial's size is what a resumed upload trusts.
    """

    def __init__(self, path: Path, offset: int) -> None:
        self._path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, _FILE_MODE)
        except OSError as exc:
            if _is_full(exc):
                raise BlobStorageFull(path.name, offset, exc) from exc
            raise
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise BlobBusy(
                        "another upload of this photo is in progress; retry in a moment"
                    ) from None
            current = os.fstat(self._fd).st_size
            if current != offset:
                raise BlobOffsetMismatch(current)
            os.lseek(self._fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(self._fd)
            raise
        self.offset = offset
        self._durable = offset  # held before this writer wrote anything (fsynced earlier)
        self._closed = False

    def write(self, data: bytes) -> int:
        """Append bytes; returns the new offset (the partial's size)."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError as exc:
                if _is_full(exc):
                    self._give_up(exc, self.offset)
                raise
            self.offset += written
            view = view[written:]
        return self.offset

    def close(self) -> int:
        """fsync and release; the offset is then durable. Idempotent."""
        if not self._closed:
            self._closed = True
            try:
                os.fsync(self._fd)
            except OSError as exc:
                if _is_full(exc):
                    self._give_up(exc, self._durable)
                raise
            finally:
                os.close(self._fd)  # also releases the flock
        return self.offset

    def _give_up(self, reason: OSError, keep: int) -> NoReturn:
        """Cut the partial back to `keep` bytes (a truncate needs no space) and raise."""
        try:
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
        except OSError:
            keep = self._durable  # at worst what an earlier writer made durable
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, keep)
        self.offset = keep
        raise BlobStorageFull(self._path.name, keep, reason) from reason

    def __enter__(self) -> _PartialWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Also on errors (a cut connection): every byte that arrived is kept and made durable.
        self.close()


class DiskBlobStore:
    """A `BlobStore` in a directory of the local file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._partial_dir = root / "partial"
        self._blob_dir = root / "blobs"
        self._partial_dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        self._blob_dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        self._partial_root, self._blob_root = str(self._partial_dir), str(self._blob_dir)

    def path(self, sha256: str) -> Path:
        """Where the complete blob lives (whether or not it exists yet)."""
        check_sha256(sha256)
        return self._blob_dir / sha256[:2] / sha256[2:4] / sha256

    def _partial(self, sha256: str) -> Path:
        return self._partial_dir / check_sha256(sha256)

    def exists(self, sha256: str) -> bool:
        """True when the verified blob is in the store."""
        # os.path on strings: a push asks this for every photo it names, so keep it cheap.
        check_sha256(sha256)
        return os.path.isfile(os.path.join(self._blob_root, sha256[:2], sha256[2:4], sha256))

    def partial_size(self, sha256: str) -> int:
        """Bytes of an unfinished upload held so far (0 if none)."""
        try:
            return os.stat(os.path.join(self._partial_root, check_sha256(sha256))).st_size
        except FileNotFoundError:
            return 0

    def writer(self, sha256: str, offset: int) -> _PartialWriter:
        """Open the partial upload for appending at `offset` (which must be its current size)."""
        return _PartialWriter(self._partial(sha256), offset)

    def append(self, sha256: str, offset: int, chunks: Iterable[bytes]) -> int:
        """Write chunks at `offset`, fsync, and return the new offset (kept even if it raises)."""
        with self.writer(sha256, offset) as writer:
            for chunk in chunks:
                writer.write(chunk)
        return writer.offset

    def finalize(self, sha256: str) -> Path:
        """Verify the partial upload's hash and move it into the store; mismatch discards it."""
        partial = self._partial(sha256)
        final = self.path(sha256)
        try:
            fd = os.open(partial, os.O_RDONLY)
        except FileNotFoundError:
            if final.is_file():  # finalized concurrently
                return final
            raise BlobNotFound(f"no upload of photo {sha256} is in progress") from None
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise BlobBusy(
                        "another upload of this photo is in progress; retry in a moment"
                    ) from None
            digest = hashlib.sha256()
            with os.fdopen(os.dup(fd), "rb") as stream:
                while block := stream.read(_READ_BLOCK):
                    digest.update(block)
            actual = digest.hexdigest()
            if actual != sha256:
                partial.unlink(missing_ok=True)
                raise BlobHashMismatch(sha256, actual)
            try:
                final.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
                os.replace(partial, final)  # the partial stays whole until this rename
            except OSError as exc:
                if _is_full(exc):
                    raise BlobStorageFull(sha256, os.fstat(fd).st_size, exc) from exc
                raise
            fsync_dir(final.parent)
            fsync_dir(self._partial_dir)
        finally:
            os.close(fd)
        return final

    def discard(self, sha256: str) -> None:
        """Delete the blob and any partial upload of it."""
        self._partial(sha256).unlink(missing_ok=True)
        self.path(sha256).unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        """The complete blob, opened for reading."""
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"photo {sha256} is not in the store") from None


def fsync_dir(path: Path) -> None:
    # A rename is durable only once the directory entry is: fsync the directory itself.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
