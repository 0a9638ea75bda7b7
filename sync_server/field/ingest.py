"""Push: store a device's batch idempotently and answer with an honest receipt.

The rules are those of sync_server/PROTOCOL.md ("Push"). The whole batch is one write transaction:
cheap (one commit per batch) and atomic (a crash before COMMIT leaves nothing half-stored; the
client, having had no receipt, sends the batch again, which is idempotent).

Before that transaction the batch passes the door (`check_door`): a device may push only a
walker's event kinds (else NotForDevices, 403), every time it sends must lie between 2000-01-01
and a day after the server's now, and no photo may be larger than the server accepts (else
ImplausibleRecord, 422). These checks live here and not in walkaudit.model because the phone
builds the same models: a phone with a wrong clock must still be able to save its finding, it
only must not be stored by the server (where a year 9999 would break every later deadline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import sqlite_utils

from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.errors import ImplausibleRecord, NotForDevices, UnsupportedProtocol
from sync_server.core.history import SERVER_ACTOR, record_event
from sync_server.core.time import iso
from sync_server.core.walker_answers import after_walker_event
from sync_server.field.devices import Device
from sync_server.field.photos import photo_receipts
from sync_server.field.visibility import POLICE_ONLY
from walkaudit.model import (
    DEVICE_EVENT_KINDS,
    PROTOCOL_VERSION,
    EventKind,
    Finding,
    FindingEvent,
    FindingStatus,
    Photo,
    PushReceipt,
    PushRequest,
    RecordReceipt,
    RecordResult,
    TrackPoint,
    Walk,
    canonical_hash,
    new_id,
    utcnow,
)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no walk of this method happened before it
CLOCK_SKEW = timedelta(days=1)  # a phone's clock may run ahead; a time beyond it cannot be right
_MAX_LISTED = 3


def push_json(
    db: Database, blobs: BlobStore, device: Device, body: bytes, max_photo_bytes: int | None = None
) -> PushReceipt:
    """Parse a push body (pydantic.ValidationError if invalid) and ingest it."""
    batch = PushRequest.model_validate_json(body)
    return push(db, blobs, device, batch, max_photo_bytes=max_photo_bytes)


def push(
    db: Database,
    blobs: BlobStore,
    device: Device,
    batch: PushRequest,
    now: datetime | None = None,
    *,
    max_photo_bytes: int | None = None,
) -> PushReceipt:
    """Store a validated batch in one transaction; the receipt says what happened to each record.

    NotForDevices or ImplausibleRecord (see `check_door`) refuse the whole batch: nothing of it
    is stored.
    """
    if batch.protocol != PROTOCOL_VERSION:
        raise UnsupportedProtocol(
            f"this server speaks sync protocol {PROTOCOL_VERSION}, the client sent "
            f"{batch.protocol}; update the app or the server so that they match"
        )
    now = (now or utcnow()).astimezone(UTC)
    check_door(batch, now, max_photo_bytes)
    stamp = iso(now)
    with db.write() as tx:
        records = [_walk(tx, device, walk, stamp) for walk in batch.walks]
        records += [_finding(tx, device, finding, now) for finding in batch.findings]
        records += [_event(tx, device, event, stamp) for event in batch.events]
        held = _track(tx, device, batch.track)
        photos = _unique_photos(
            [
                *(p for finding in batch.findings for p in finding.photos),
                *(p for event in batch.events for p in event.photos),
            ]
        )
        _reference_photos(tx, device, photos, stamp)
        receipts = photo_receipts(tx, blobs, photos, stamp)
    return PushReceipt(records=records, photos=receipts, track_points=held, server_time=now)


# ---- the door: what no device may store -------------------------------------------------------


def check_door(batch: PushRequest, now: datetime, max_photo_bytes: int | None = None) -> None:
    """Refuse a batch with an event kind devices may not push (NotForDevices), a time outside
    EARLIEST … now + CLOCK_SKEW or a photo above `max_photo_bytes` (ImplausibleRecord)."""
    for event in batch.events:
        if event.kind not in DEVICE_EVENT_KINDS:
            allowed = ", ".join(sorted(k.value for k in DEVICE_EVENT_KINDS))
            raise NotForDevices(
                f"event {event.id} on finding {event.finding_id} is of kind "
                f"'{event.kind.value}', which only a coordinator or the finding's owner can set; "
                f"a device may send only {allowed} — nothing of this batch was stored"
            )
    latest = now + CLOCK_SKEW
    problems = [*_implausible_times(batch, latest), *_oversized_photos(batch, max_photo_bytes)]
    if problems:
        text = "; ".join(problems[:_MAX_LISTED])
        if len(problems) > _MAX_LISTED:
            text += f" (and {len(problems) - _MAX_LISTED} more problems)"
        raise ImplausibleRecord(f"{text}; nothing of this batch was stored")


def _implausible_times(batch: PushRequest, latest: datetime) -> Iterator[str]:
    def check(record: str, field: str, value: datetime | None) -> Iterator[str]:
        if value is not None and not EARLIEST <= value <= latest:
            shown = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            yield (
                f"{record} {field}: {shown} is not a plausible time (must be between "
                f"{EARLIEST:%Y-%m-%d} and {latest:%Y-%m-%d}; check the device's date and time)"
            )

    for walk in batch.walks:
        yield from check(f"walk {walk.id}", "started_at", walk.started_at)
        yield from check(f"walk {walk.id}", "ended_at", walk.ended_at)
    for finding in batch.findings:
        yield from check(f"finding {finding.id}", "captured_at", finding.captured_at)
    for event in batch.events:
        yield from check(f"event {event.id}", "at", event.at)
    for point in batch.track:
        yield from check(f"track point of walk {point.walk_id}", "t", point.t)


def _oversized_photos(batch: PushRequest, limit: int | None) -> Iterator[str]:
    if limit is None:
        return
    records = [("finding", f.id, f.photos) for f in batch.findings]
    records += [("event", e.id, e.photos) for e in batch.events]
    for kind, record_id, photos in records:
        for i, photo in enumerate(photos):
            if photo.size > limit:
                yield (
                    f"{kind} {record_id} photos[{i}].size: {photo.size:,} bytes is more than the "
                    f"{limit:,} bytes this server accepts per photo (shrink the photo)"
                )


def _receipt(
    kind: str, record_id: str, result: RecordResult, detail: str = "", revision: int = 1
) -> RecordReceipt:
    # Built from already validated values: skip validating them again (a batch has hundreds).
    return RecordReceipt.model_construct(
        kind=kind, id=record_id, revision=revision, result=result, detail=detail
    )


# ---- walks --------------------------------------------------------------------------------------


def _walk(tx: sqlite_utils.Database, device: Device, walk: Walk, stamp: str) -> RecordReceipt:
    row = tx.execute(
        "SELECT device_id, name, area, started_at, ended_at FROM walks WHERE id = ?", [walk.id]
    ).fetchone()
    ended = iso(walk.ended_at) if walk.ended_at else None
    if row is None:
        tx.execute(
            "INSERT INTO walks (id, device_id, name, area, started_at, ended_at, json, received_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [walk.id, device.id, walk.name, walk.area, iso(walk.started_at), ended,
             walk.model_dump_json(), stamp, stamp],
        )  # fmt: skip
        return _receipt("walk", walk.id, RecordResult.CREATED)
    owner, name, area, started, old_ended = row
    if (name, area, started, old_ended) == (walk.name, walk.area, iso(walk.started_at), ended):
        return _receipt("walk", walk.id, RecordResult.UNCHANGED)
    if owner != device.id:
        detail = "this walk was first sent by another device and can only be changed from there"
        return _receipt("walk", walk.id, RecordResult.CONFLICT, detail)
    if started != iso(walk.started_at):
        detail = f"the server has this walk starting at {started}; a walk's start cannot change"
        return _receipt("walk", walk.id, RecordResult.CONFLICT, detail)
    tx.execute(
        "UPDATE walks SET name = ?, area = ?, ended_at = ?, json = ?, updated_at = ? WHERE id = ?",
        [walk.name, walk.area, ended, walk.model_dump_json(), stamp, walk.id],
    )
    return _receipt("walk", walk.id, RecordResult.UPDATED)


# ---- findings -----------------------------------------------------------------------------------


def _finding(
    tx: sqlite_utils.Database, device: Device, finding: Finding, now: datetime
) -> RecordReceipt:
    fid, revision, stamp = finding.id, finding.revision, iso(now)
    content_hash = finding.content_hash()
    # One query: the finding's owner and current revision, and this revision's hash if stored.
    known = tx.execute(
        "SELECT f.device_id, f.revision, r.content_hash FROM findings f"
        " LEFT JOIN finding_revisions r ON r.id = f.id AND r.revision = ? WHERE f.id = ?",
        [revision, fid],
    ).fetchone()
    current = known[:2] if known is not None else None
    if current is not None and current[0] != device.id:
        detail = "this finding was first sent by another device and can only be changed from there"
        return _receipt("finding", fid, RecordResult.CONFLICT, detail, revision)
    if known is not None and known[2] is not None:
        if known[2] == content_hash:
            return _receipt("finding", fid, RecordResult.UNCHANGED, revision=revision)
        detail = (
            f"the server already has revision {revision} of this finding with different content; "
            "it keeps that one — save the change as a new revision"
        )
        return _receipt("finding", fid, RecordResult.CONFLICT, detail, revision)

    columns = _finding_columns(finding) | {"updated_at": stamp, "content_hash": content_hash}
    detail = ""
    if current is None:
        row = columns | {"id": fid, "device_id": device.id, "received_at": stamp,
                         "status": FindingStatus.RECEIVED.value}  # fmt: skip
        names = ", ".join(row)
        tx.execute(f"INSERT INTO findings ({names}) VALUES ({', '.join('?' * len(row))})",
                   list(row.values()))  # fmt: skip
        _set_photos(tx, fid, finding.photos, new=True)
    elif revision > current[1]:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        tx.execute(f"UPDATE findings SET {assignments} WHERE id = ?", [*columns.values(), fid])
        _set_photos(tx, fid, finding.photos)
    else:
        detail = f"kept as history: revision {current[1]} is the current one"
    tx.execute(
        "INSERT INTO finding_revisions (id, revision, content_hash, json, device_id, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [fid, revision, content_hash, columns["json"], device.id, stamp],
    )
    if current is None:  # a new finding: its history starts with `received`
        received = FindingEvent.model_construct(
            id=new_id(), finding_id=fid, kind=EventKind.RECEIVED, at=now, note="", photos=[],
            actor=SERVER_ACTOR,
        )  # fmt: skip
        known_finding = (device.id, FindingStatus.RECEIVED.value)
        record_event(tx, received, canonical_hash(received), None, stamp, known_finding)
    return _receipt("finding", fid, RecordResult.CREATED, detail, revision)


def _finding_columns(finding: Finding) -> dict[str, object]:
    return {
        "revision": finding.revision,
        "walk_id": finding.walk_id,
        "category": finding.category,
        "severity": finding.severity.value,
        "note": finding.note,
        "latitude": finding.latitude,
        "longitude": finding.longitude,
        "accuracy": finding.accuracy,
        "position_source": finding.position_source.value,
        "captured_at": iso(finding.captured_at),
        "duplicate_of": finding.duplicate_of,
        "json": finding.model_dump_json(),
    }


def _set_photos(
    tx: sqlite_utils.Database, finding_id: str, photos: Iterable[Photo], new: bool = False
) -> None:
    if not new:
        tx.execute("DELETE FROM finding_photos WHERE finding_id = ?", [finding_id])
    tx.conn.executemany(
        "INSERT INTO finding_photos (finding_id, position, sha256, size, width, height)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(finding_id, i, p.sha256, p.size, p.width, p.height) for i, p in enumerate(photos)],
    )


# ---- events -------------------------------------------------------------------------------------


def _event(
    tx: sqlite_utils.Database, device: Device, event: FindingEvent, stamp: str
) -> RecordReceipt:
    content_hash = canonical_hash(event)
    known = tx.execute("SELECT device_id, content_hash FROM events WHERE id = ?", [event.id])
    row = known.fetchone()
    if row is not None:
        if row[0] == device.id and row[1] == content_hash:
            return _receipt("event", event.id, RecordResult.UNCHANGED)
        detail = "the server already has an event with this id and different content or sender"
        return _receipt("event", event.id, RecordResult.CONFLICT, detail)
    stored = event.model_copy(update={"actor": device.actor})
    finding = tx.execute(
        "SELECT device_id, status FROM findings WHERE id = ?", [event.finding_id]
    ).fetchone()
    if finding is not None and not _may_see(tx, device, event.finding_id, finding[0]):
        finding = None  # another device's disorder finding: answered as if it did not exist
    if finding is None or not record_event(tx, stored, content_hash, device.id, stamp, finding):
        detail = (
            f"finding {event.finding_id} is not on the server yet; the event is kept and sent "
            "again at the next sync"
        )
        return _receipt("event", event.id, RecordResult.CONFLICT, detail)
    after_walker_event(tx, stored)  # a follow-up's "still there" may reopen a finding
    return _receipt("event", event.id, RecordResult.CREATED)


def _may_see(tx: sqlite_utils.Database, device: Device, finding_id: str, owner: str) -> bool:
    """Whether `device` may know of this finding at all (visibility.visible_findings' rule)."""
    return device.police or owner == device.id or not _police_only(tx, finding_id)


def _police_only(tx: sqlite_utils.Database, finding_id: str) -> bool:
    marks = ", ".join("?" * len(POLICE_ONLY))
    row = tx.execute(
        f"SELECT 1 FROM findings WHERE id = ? AND category IN ({marks})", [finding_id, *POLICE_ONLY]
    ).fetchone()
    return row is not None


# ---- track and photos ---------------------------------------------------------------------------


def _track(tx: sqlite_utils.Database, device: Device, points: list[TrackPoint]) -> int:
    walks = sorted({p.walk_id for p in points})
    if walks:
        marks = ", ".join("?" * len(walks))
        others = tx.execute(
            f"SELECT id FROM walks WHERE id IN ({marks}) AND device_id != ? LIMIT 1",
            [*walks, device.id],
        ).fetchone()
        if others is not None:  # another device's walk: its route is that device's alone
            raise NotForDevices(
                f"route points for walk {others[0]}, which another device walked; a device "
                "records only its own walks' routes — nothing of this batch was stored"
            )
    rows = [(p.walk_id, iso(p.t), p.latitude, p.longitude, p.accuracy, device.id) for p in points]
    tx.conn.executemany(
        "INSERT OR IGNORE INTO track_points (walk_id, t, latitude, longitude, accuracy, device_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    # Idempotent by (walk_id, t): after this, the server holds every point of the batch.
    return len({(row[0], row[1]) for row in rows})


def _unique_photos(photos: Iterable[Photo]) -> list[Photo]:
    by_hash: dict[str, Photo] = {}
    for photo in photos:
        by_hash.setdefault(photo.sha256, photo)
    return list(by_hash.values())


def _reference_photos(
    tx: sqlite_utils.Database, device: Device, photos: list[Photo], stamp: str
) -> None:
    # A reference authorises this device to upload the photo, with the size it declared (the
    # latest declaration wins, so a corrected revision can fix a wrong size).
    tx.conn.executemany(
        "INSERT INTO photo_refs (sha256, device_id, size, referenced_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (sha256, device_id) DO UPDATE SET size = excluded.size",
        [(p.sha256, device.id, p.size, stamp) for p in photos],
    )
