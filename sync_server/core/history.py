"""A finding's history: append-only events, and the status they derive (`STATUS_AFTER`)."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from sync_server.core.time import iso
from walkaudit.model import (
    OPEN_STATUSES,
    STATUS_AFTER,
    EventKind,
    FindingEvent,
    Photo,
    canonical_hash,
    new_id,
    utcnow,
)

SERVER_ACTOR = "server"


def add_server_event(
    tx: sqlite_utils.Database,
    finding_id: str,
    kind: EventKind,
    *,
    at: datetime | None = None,
    actor: str = SERVER_ACTOR,
    note: str = "",
    event_id: str | None = None,
    photos: list[Photo] | None = None,
) -> bool:
    """Append an event made on the server's side to a finding's history.

    With an `event_id` this is idempotent: False if that event is already recorded.
    `photos` must already be stored (blob and `photos` row), e.g. the owner's photo of a fix.
    LookupError if the finding does not exist.
    """
    event = FindingEvent(
        id=event_id or new_id(), finding_id=finding_id, kind=kind, at=at or utcnow(),
        actor=actor, note=note, photos=photos or [],
    )  # fmt: skip
    if tx.execute("SELECT 1 FROM events WHERE id = ?", [event.id]).fetchone():
        return False
    if not record_event(tx, event, canonical_hash(event), None, iso(utcnow())):
        raise LookupError(f"finding {finding_id} does not exist")
    return True


def record_event(
    tx: sqlite_utils.Database,
    event: FindingEvent,
    content_hash: str,
    device_id: str | None,
    stamp: str,
    finding: tuple[str, str] | None = None,
) -> bool:
    """Insert an event and apply its status change; False if its finding is unknown.

    `finding` is (device_id, status) of the event's finding when the caller already knows it.
    """
    if finding is None:
        finding = tx.execute(
            "SELECT device_id, status FROM findings WHERE id = ?", [event.finding_id]
        ).fetchone()
        if finding is None:
            return False
    new_status = STATUS_AFTER[event.kind]
    status_after = new_status.value if new_status is not None else finding[1]
    tx.execute(
        "INSERT INTO events (id, finding_id, finding_device_id, kind, at, actor, note,"
        " status_after, device_id, received_at, content_hash, json)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [event.id, event.finding_id, finding[0], event.kind.value, iso(event.at), event.actor,
         event.note, status_after, device_id, stamp, content_hash, event.model_dump_json()],
    )  # fmt: skip
    if status_after != finding[1]:
        tx.execute("UPDATE findings SET status = ? WHERE id = ?", [status_after, event.finding_id])
    _track(tx, event.finding_id, event.kind, iso(event.at))
    return True


# The tracking column each kind sets: first time for sent/acknowledged, latest for fixed/closed.
_FIRST = {EventKind.SENT: "sent_at", EventKind.ACKNOWLEDGED: "acknowledged_at"}
_LATEST = {EventKind.FIXED: "fixed_at", EventKind.VERIFIED: "closed_at",
           EventKind.CLOSED: "closed_at"}  # fmt: skip


_OPEN_AGAIN = frozenset(OPEN_STATUSES)


def _track(tx: sqlite_utils.Database, finding_id: str, kind: EventKind, at: str) -> None:
    # finding_tracking keeps the times the CSV export and the statistics read (see db.py).
    tx.execute("INSERT OR IGNORE INTO finding_tracking (finding_id) VALUES (?)", [finding_id])
    if kind in _FIRST:
        column = _FIRST[kind]
        tx.execute(
            f"UPDATE finding_tracking SET {column} = ? WHERE finding_id = ?"
            f" AND ({column} IS NULL OR {column} > ?)",
            [at, finding_id, at],
        )
    elif kind in _LATEST:
        column = _LATEST[kind]
        tx.execute(
            f"UPDATE finding_tracking SET {column} = ? WHERE finding_id = ?"
            f" AND ({column} IS NULL OR {column} < ?)",
            [at, finding_id, at],
        )
    # Back to an open status (reopened, or the coordinator moving a fixed finding back to
    # planned): it is neither fixed nor closed any more, in the export and the statistics alike.
    new_status = STATUS_AFTER[kind]
    if new_status is not None and new_status.value in _OPEN_AGAIN:
        tx.execute(
            "UPDATE finding_tracking SET fixed_at = NULL, closed_at = NULL WHERE finding_id = ?"
            " AND (fixed_at IS NOT NULL OR closed_at IS NOT NULL)",
            [finding_id],
        )
