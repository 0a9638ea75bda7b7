"""Photos on the server side: who may upload what, what is stored, and recording a finished blob.

A photo becomes uploadable by a device when one of its findings or events names it (a row in
`photo_refs`, with the size it declared). The blob store is the truth about what is stored: a
verified blob counts as stored even if the server died before writing its `photos` row (the row
is then re-created from the blob).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from PIL import Image

from sync_server.blobs import BlobBusy, BlobHashMismatch, BlobStore
from sync_server.db import Database, iso
from sync_server.devices import Device
from sync_server.errors import NotAJpeg, PhotoNotReferenced
from walkaudit.model import Photo, PhotoReceipt, PhotoState, utcnow

JPEG_SIGNATURE = b"\xff\xd8\xff"


@dataclass(frozen=True)
class UploadState:
    """Where the upload of one photo by one device stands."""

    sha256: str
    size: int  # as declared by the device's finding or event
    stored: bool
    offset: int  # bytes held: the resume point (size when stored)

    def receipt(self) -> PhotoReceipt:
        """The wire form of this state."""
        state = PhotoState.STORED if self.stored else PhotoState.NEEDED
        return PhotoReceipt(sha256=self.sha256, state=state, offset=self.offset)


def upload_state(db: Database, blobs: BlobStore, device: Device, sha256: str) -> UploadState:
    """The state of a photo this device referenced; PhotoNotReferenced otherwise."""
    row = db.query_one(
        "SELECT size FROM photo_refs WHERE sha256 = ? AND device_id = ?", (sha256, device.id)
    )
    if row is None:
        raise PhotoNotReferenced(
            f"photo {sha256} is not named by any finding or event of this device; push the "
            "finding first, then upload its photos"
        )
    size = int(str(row["size"]))
    stored = db.query_one("SELECT size FROM photos WHERE sha256 = ?", (sha256,))
    if stored is not None:
        return UploadState(sha256, size, True, int(str(stored["size"])))
    if blobs.exists(sha256):
        with db.write() as tx:
            held = _recover(tx, blobs, sha256, iso(utcnow()))
        return UploadState(sha256, size, True, held)
    held = blobs.partial_size(sha256)
    if held >= size:
        return _finish_complete_partial(db, blobs, sha256, size)
    return UploadState(sha256, size, False, held)


def _finish_complete_partial(db: Database, blobs: BlobStore, sha256: str, size: int) -> UploadState:
    # Every byte arrived but the server stopped before verifying them (killed between the last
    # write and finalize). Verify now: otherwise the client, told "needed at offset SIZE", would
    # have nothing left to send and the photo would never count as stored.
    try:
        blobs.finalize(sha256)
        record_stored(db, blobs, sha256)
    except (BlobHashMismatch, NotAJpeg):
        return UploadState(sha256, size, False, 0)  # discarded: upload again from 0
    except BlobBusy:
        return UploadState(sha256, size, False, blobs.partial_size(sha256))
    return UploadState(sha256, size, True, size)


def photo_receipts(
    tx: sqlite_utils.Database, blobs: BlobStore, photos: list[Photo], stamp: str
) -> list[PhotoReceipt]:
    """stored|needed (with the resume offset) for each photo, in the order given."""
    if not photos:
        return []
    marks = ", ".join("?" * len(photos))
    rows = tx.execute(
        f"SELECT sha256, size FROM photos WHERE sha256 IN ({marks})", [p.sha256 for p in photos]
    ).fetchall()
    held: dict[str, int] = {sha: size for sha, size in rows}
    receipts = []
    for photo in photos:
        if photo.sha256 not in held and blobs.exists(photo.sha256):
            held[photo.sha256] = _recover(tx, blobs, photo.sha256, stamp)
        if photo.sha256 in held:
            receipts.append(UploadState(photo.sha256, photo.size, True, held[photo.sha256]))
        else:
            offset = blobs.partial_size(photo.sha256)
            receipts.append(UploadState(photo.sha256, photo.size, False, offset))
    return [state.receipt() for state in receipts]


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of a JPEG, from its header only; NotAJpeg if Pillow cannot read one."""
    try:
        with Image.open(path) as image:
            if image.format != "JPEG":
                raise NotAJpeg(f"the uploaded photo is a {image.format} image; send a JPEG")
            return image.size
    except NotAJpeg:
        raise
    except Exception as exc:  # Pillow raises many types for broken files
        raise NotAJpeg(
            f"the uploaded photo cannot be read as a JPEG ({exc.__class__.__name__}); "
            "export it again as JPEG and upload it from offset 0"
        ) from exc


def record_stored(db: Database, blobs: BlobStore, sha256: str) -> tuple[int, int]:
    """After `blobs.finalize`: read the size, record the photo; a non-JPEG is discarded."""
    path = blobs.path(sha256)
    try:
        width, height = image_size(path)
    except NotAJpeg:
        blobs.discard(sha256)
        raise
    with db.write() as tx:
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, size, width, height, stored_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [sha256, path.stat().st_size, width, height, iso(utcnow())],
        )
    return width, height


def _recover(tx: sqlite_utils.Database, blobs: BlobStore, sha256: str, stamp: str) -> int:
    # The blob was verified and moved, but its row was never written (a crash in between).
    path = blobs.path(sha256)
    width, height = image_size(path)
    size = path.stat().st_size
    tx.execute(
        "INSERT OR IGNORE INTO photos (sha256, size, width, height, stored_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [sha256, size, width, height, stamp],
    )
    return size
