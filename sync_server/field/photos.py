"""Photos on the server side: who may upload what, what is stored, and recording a finished blob.

A photo becomes uploadable by a device when one of its findings or events names it (a row in
`photo_refs`, with the size it declared). The blob store is the truth about what is stored: a
verified blob counts as stored even if the server died before writing its `photos` row (the row
is then re-created from the blob).

A photo counts as stored only once it decodes to its last byte (`check_jpeg`), not when its
header reads: a truncated JPEG has a valid header, and announcing the sha256 of the truncated
bytes makes the hash check pass too. Such a photo would fail every report it is in, so it is
refused (415) and discarded, and the device may upload the right bytes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from PIL import Image, UnidentifiedImageError

from sync_server.core.blobs import BlobBusy, BlobHashMismatch, BlobStore
from sync_server.core.db import Database
from sync_server.core.errors import NotAJpeg, PhotoNotReferenced
from sync_server.core.time import iso
from sync_server.field.devices import Device
from walkaudit.model import MAX_PHOTO_EDGE, Photo, PhotoReceipt, PhotoState, utcnow

JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"  # EOI


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
            recovered = _recover(tx, blobs, sha256, iso(utcnow()))
        if recovered is not None:
            return UploadState(sha256, size, True, recovered)
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
            recovered = _recover(tx, blobs, photo.sha256, stamp)
            if recovered is not None:
                held[photo.sha256] = recovered
        if photo.sha256 in held:
            receipts.append(UploadState(photo.sha256, photo.size, True, held[photo.sha256]))
        else:
            offset = blobs.partial_size(photo.sha256)
            receipts.append(UploadState(photo.sha256, photo.size, False, offset))
    return [state.receipt() for state in receipts]


def check_jpeg(path: Path) -> tuple[int, int]:
    """(width, height) of a JPEG that decodes completely; NotAJpeg(the reason) otherwise."""
    try:
        with Image.open(path) as image:
            if image.format != "JPEG":
                raise NotAJpeg(f"it is a {image.format} image, not a JPEG")
            width, height = image.size
            if max(width, height) > MAX_PHOTO_EDGE:
                raise NotAJpeg(_too_large(width, height))
            # Decoding at 1/8 scale still reads every byte of the entropy-coded data, so a
            # truncated or corrupt file fails here, at a fraction of a full decode's time and
            # memory (27 ms instead of 76 ms for a 9-megapixel photo).
            image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()  # ImageFile.LOAD_TRUNCATED_IMAGES stays False: a short file raises
        _check_end_marker(path)
        return width, height
    except NotAJpeg:
        raise
    except Image.DecompressionBombError:
        raise NotAJpeg("it has more pixels than this server decodes; shrink it") from None
    except UnidentifiedImageError:
        raise NotAJpeg("it is not an image") from None
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError…) for broken files
        raise NotAJpeg(f"it does not decode to its end: {exc}") from exc


def _check_end_marker(path: Path) -> None:
    # libjpeg lets some cut-off files through (it fills the missing part in grey, with only a
    # warning), but a cut file lacks the end marker every encoder writes, the app's included.
    with path.open("rb") as stream:
        size = stream.seek(0, 2)
        stream.seek(max(0, size - len(JPEG_END)))
        if stream.read() != JPEG_END:
            raise NotAJpeg(
                "it is cut off: it does not end with the JPEG end marker "
                f"({JPEG_END.hex(' ').upper()})"
            )


def _too_large(width: int, height: int) -> str:
    return (
        f"it is {width:,}×{height:,} pixels, more than the {MAX_PHOTO_EDGE:,} a side this "
        "server accepts; shrink it"
    )


def refusal(label: str, reason: str) -> str:
    """The 415's sentence: which photo, why, and that the device may send it again."""
    return (
        f"{label} was refused ({reason}); the server kept nothing of it — upload the complete "
        "JPEG again from offset 0"
    )


def photo_label(db: Database, device_id: str, sha256: str) -> str:
    """`photo 3fa2b9c1e0d4… of finding ID`: how a refusal names a photo for the walker."""
    short = f"photo {sha256[:12]}…"
    row = (
        db.conn()
        .execute(
            "SELECT fp.finding_id FROM finding_photos fp JOIN findings f ON f.id = fp.finding_id"
            " WHERE fp.sha256 = ? AND f.device_id = ? ORDER BY f.received_at LIMIT 1",
            [sha256, device_id],
        )
        .fetchone()
    )
    if row is not None:
        return f"{short} of finding {row[0]}"
    # An event's photos live only in its JSON: an error path, so a scan of this device's
    # events is fine.
    row = (
        db.conn()
        .execute(
            "SELECT e.id, e.finding_id FROM events e, json_each(e.json, '$.photos') p"
            " WHERE e.device_id = ? AND json_extract(p.value, '$.sha256') = ? LIMIT 1",
            [device_id, sha256],
        )
        .fetchone()
    )
    if row is not None:
        return f"{short} of event {row[0]} on finding {row[1]}"
    return short


def record_stored(
    db: Database, blobs: BlobStore, sha256: str, label: str | None = None
) -> tuple[int, int]:
    """After `blobs.finalize`: decode the photo completely and record it; a photo that does not
    decode is discarded (NotAJpeg naming it by `label`)."""
    path = blobs.path(sha256)
    try:
        width, height = check_jpeg(path)
    except NotAJpeg as exc:
        blobs.discard(sha256)
        raise NotAJpeg(refusal(label or f"photo {sha256[:12]}…", exc.message)) from None
    with db.write() as tx:
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, size, width, height, stored_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [sha256, path.stat().st_size, width, height, iso(utcnow())],
        )
    return width, height


def _recover(tx: sqlite_utils.Database, blobs: BlobStore, sha256: str, stamp: str) -> int | None:
    # The blob was verified and moved, but its row was never written (a crash in between, or
    # the decode check of record_stored has not finished yet). A blob that does not decode is
    # discarded: None, and the photo is needed again from offset 0.
    path = blobs.path(sha256)
    try:
        width, height = check_jpeg(path)
    except NotAJpeg:
        blobs.discard(sha256)
        return None
    size = path.stat().st_size
    tx.execute(
        "INSERT OR IGNORE INTO photos (sha256, size, width, height, stored_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [sha256, size, width, height, stamp],
    )
    return size
