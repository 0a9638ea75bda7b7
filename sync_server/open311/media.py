"""Photos over Open311: signed links, who may fetch them, and their metadata stripped.

Only the full view has photos (see `visibility`). media_url is a link signed for the key that
read it (HMAC with the key's stored hash), so a client that fetches photos without sending its
key (FixMyStreet does) can; revoking the key ends it. Served photos are stripped of any metadata
segment on the way out (see `strip_jpeg_metadata`).

Raises NotFound (see `errors`) for a link that is not valid, a photo the view does not see, and a
stored photo that is not a JPEG.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import IO

from sync_server.db import Database
from sync_server.finding_filters import FROM_FINDINGS
from sync_server.open311.errors import NotFound
from sync_server.open311.keys import KEY_COLUMNS, ApiKey, View
from sync_server.open311.visibility import scope


def _signature(signing_key: bytes, finding_id: str, sha256: str) -> str:
    return hmac.new(signing_key, f"{finding_id}/{sha256}".encode(), "sha256").hexdigest()[:32]


def media_url(view: View, base_url: str, finding_id: str, sha256: str) -> str:
    """The photo's link, signed for the view's key (only the full view has photos)."""
    assert view.key is not None
    sig = _signature(view.signing_key, finding_id, sha256)
    return (f"{base_url.rstrip('/')}/open311/v2/media/{finding_id}/{sha256}.jpg"
            f"?key={view.key.id}&sig={sig}")  # fmt: skip


def view_from_link(db: Database, key_id: str, sig: str, finding_id: str, sha256: str) -> View:
    """The view a signed media link was made for; NotFound if it is not valid (any more)."""
    row = db.conn().execute(KEY_COLUMNS + " WHERE k.id = ?", [key_id]).fetchone()
    if row is None or row[6] is not None:
        raise NotFound("this photo link is not valid (any more); read the request again")
    view = View(ApiKey(*row[:7]), bytes.fromhex(row[7]))
    if not hmac.compare_digest(_signature(view.signing_key, finding_id, sha256), sig):
        raise NotFound("this photo link is not valid (any more); read the request again")
    return view


def check_photo(db: Database, view: View, finding_id: str, sha256: str) -> None:
    """NotFound unless the photo is stored and belongs to a finding (or event) this view sees."""
    if not view.full:
        raise NotFound("photos are not part of the public view")
    conn = db.conn()
    clauses, params = scope(conn, view, 1)
    where = " AND ".join([*clauses, "f.id = ?"])
    if conn.execute("SELECT 1" + FROM_FINDINGS + " WHERE " + where,
                    [*params, finding_id]).fetchone() is None:  # fmt: skip
        raise NotFound(f"there is no photo {sha256} of request {finding_id}")
    belongs = conn.execute(
        "SELECT 1 FROM photos p WHERE p.sha256 = ? AND (EXISTS (SELECT 1 FROM finding_photos fp"
        " WHERE fp.finding_id = ? AND fp.sha256 = p.sha256) OR EXISTS (SELECT 1 FROM events e,"
        " json_each(e.json, '$.photos') j WHERE e.finding_id = ?"
        " AND json_extract(j.value, '$.sha256') = p.sha256))",
        [sha256, finding_id, finding_id],
    ).fetchone()
    if belongs is None:
        raise NotFound(f"there is no photo {sha256} of request {finding_id}")


_KEEP_MARKERS = {0xE0}  # APP0 (JFIF): no metadata; APP1-15 (EXIF, XMP, IPTC, ICC…) and COM go


def strip_jpeg_metadata(source: IO[bytes], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A JPEG without metadata segments, losslessly: the segments before the scan are filtered,
    the compressed data is copied as it is. (Walkers' photos arrive stripped already; this makes
    sure of it for whatever a client uploaded.)"""
    head = source.read(2)
    if head != b"\xff\xd8":
        raise NotFound("the stored photo is not a JPEG")
    yield head
    while True:
        marker = source.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            yield marker
            break
        code = marker[1]
        while code == 0xFF:  # fill bytes before a marker
            code = (source.read(1) or b"\xd9")[0]
        marker = bytes((0xFF, code))
        if code in (0xD9, 0x01) or 0xD0 <= code <= 0xD7:  # standalone markers
            yield marker
            continue
        length_bytes = source.read(2)
        length = int.from_bytes(length_bytes, "big")
        body = source.read(max(length - 2, 0))
        if code == 0xDA:  # start of scan: everything from here is image data
            yield marker + length_bytes + body
            break
        if code == 0xFE or (0xE0 <= code <= 0xEF and code not in _KEEP_MARKERS):
            continue
        yield marker + length_bytes + body
    while data := source.read(chunk):
        yield data
