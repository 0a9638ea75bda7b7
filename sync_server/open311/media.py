"""Photos over Open311: signed links, who may fetch them, and their metadata stripped.

Only the full view has photos (see `visibility`). media_url is a link signed for the key that
read it (HMAC with the key's stored hash), so a client that fetches photos without sending its
key (FixMyStreet does) can; revoking the key ends it, and so does time: the link carries its
expiry (open311_media_link_days, default 7) in its `sig`, as `<unix time>.<hmac>`, signed with
the rest. Served photos are stripped of any metadata segment on the way out (see
`strip_jpeg_metadata`).

Raises NotFound (see `errors`) for a link that is not valid, a photo the view does not see, and a
stored photo that is not a JPEG; LinkExpired (410) for a link whose time is up, or one made
before links expired.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from sync_server.core.db import Database
from sync_server.core.finding_filters import FROM_FINDINGS
from sync_server.open311.errors import NotFound, Open311Error
from sync_server.open311.keys import KEY_COLUMNS, ApiKey, View
from sync_server.open311.visibility import scope

_ROUND_S = 3600  # expiries are whole hours: a request read twice within one gives the same link
_INVALID = "this photo link is not valid (any more); read the request again"


class LinkExpired(Open311Error):
    """A signed photo link whose time is up (or that was made before links had one)."""

    status = 410


def _signature(signing_key: bytes, finding_id: str, sha256: str, expires: int | None) -> str:
    message = f"{finding_id}/{sha256}" + ("" if expires is None else f"/{expires}")
    return hmac.new(signing_key, message.encode(), "sha256").hexdigest()[:32]


def media_url(
    view: View,
    base_url: str,
    finding_id: str,
    sha256: str,
    days: float | None = None,
    now: float | None = None,
) -> str:
    """The photo's link, signed for the view's key and valid for `days` (default: the view's
    link_days; only the full view has photos)."""
    assert view.key is not None
    days = view.link_days if days is None else days
    moment = time.time() if now is None else now
    expires = (int(moment + days * 86400) // _ROUND_S + 1) * _ROUND_S
    sig = f"{expires}.{_signature(view.signing_key, finding_id, sha256, expires)}"
    return (f"{base_url.rstrip('/')}/open311/v2/media/{finding_id}/{sha256}.jpg"
            f"?key={view.key.id}&sig={sig}")  # fmt: skip


def view_from_link(
    db: Database, key_id: str, sig: str, finding_id: str, sha256: str, now: float | None = None
) -> View:
    """The view a signed media link was made for; NotFound if it is not valid (any more),
    LinkExpired if it was, but its time is up."""
    row = db.conn().execute(KEY_COLUMNS + " WHERE k.id = ?", [key_id]).fetchone()
    if row is None or row[6] is not None:
        raise NotFound(_INVALID)
    view = View(ApiKey(*row[:7]), bytes.fromhex(row[7]))
    expires_text, dot, mac = sig.rpartition(".")
    if not dot:  # a link of an older server: genuine ones are refused as expired
        if hmac.compare_digest(_signature(view.signing_key, finding_id, sha256, None), sig):
            raise LinkExpired(
                "this photo link was made before photo links expired and is no longer valid; "
                "read the request again for a new link"
            )
        raise NotFound(_INVALID)
    if not (expires_text.isdigit() and len(expires_text) <= 12):
        raise NotFound(_INVALID)
    expires = int(expires_text)
    if not hmac.compare_digest(_signature(view.signing_key, finding_id, sha256, expires), mac):
        raise NotFound(_INVALID)
    if expires <= (time.time() if now is None else now):
        ended = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise LinkExpired(
            f"this photo link expired at {ended}; read the request again for a new link"
        )
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
