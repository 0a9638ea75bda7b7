"""The coordinator's actions on a finding, each an event in its append-only history.

Priority and deadline, a status change, reopening, merging a duplicate into another finding, and
the "look at this" flag. (What a follow-up walk's answer does is a rule of the finding's history:
sync_server.core.walker_answers; the default priority is policy: sync_server.owners.policy.)
Every action carries an event id made when the form was drawn, so a second click records nothing
more. Merging never deletes: the duplicate is closed with a note and points at the finding it was
merged into (finding_tracking.merged_into); lists leave it out, its page says where it went.

    TrackingError (ServerError)
     ├── NoSuchFinding     no finding with this id
     ├── InvalidAction     not possible from the finding's status, or a value that cannot be used
     │                     (a merge can be undone: `unmerge`)
     └── AlreadyRecorded   (not an error for the user) this form was already submitted
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlite_utils

from sync_server.core.db import Database
from sync_server.core.errors import ServerError
from sync_server.core.finding_filters import DONE
from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from sync_server.core.walker_answers import ensure_tracking
from sync_server.owners.policy import default_priority, noted_day
from sync_server.owners.routing import PENDING
from walkaudit.model import EventKind, utcnow

PRIORITIES = ("1", "2", "3")
# The coordinator's status choices and the event each records.
STATUS_EVENTS = {
    "acknowledged": EventKind.ACKNOWLEDGED,
    "planned": EventKind.PLANNED,
    "fixed": EventKind.FIXED,
    "verified": EventKind.VERIFIED,
    "closed": EventKind.CLOSED,
}
REOPENABLE = frozenset({*DONE, "not_ours"})


class TrackingError(ServerError):
    """Base of what the coordinator's actions refuse."""


class NoSuchFinding(TrackingError):
    """No finding has this id."""


class InvalidAction(TrackingError):
    """The action does not fit the finding's state, or a value is unusable."""

    def __init__(self, message: str, key: str = "", **values: object) -> None:
        super().__init__(message)
        self.key = key  # a message key in texts_findings, for the page
        self.values = values


class AlreadyRecorded(TrackingError):
    """This form (its event id) was already submitted: nothing more was done."""


def _finding(tx: sqlite_utils.Database, finding_id: str) -> tuple[str, str, str | None]:
    row = tx.execute(
        "SELECT f.status, f.severity || ':' || f.category, ft.merged_into FROM findings f"
        " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id WHERE f.id = ?",
        [finding_id],
    ).fetchone()
    if row is None:
        raise NoSuchFinding(f"there is no finding {finding_id}")
    return row[0], row[1], row[2]


def _once(tx: sqlite_utils.Database, event_id: str) -> None:
    if tx.execute("SELECT 1 FROM events WHERE id = ?", [event_id]).fetchone():
        raise AlreadyRecorded(f"event {event_id} is already recorded")


def set_plan(
    db: Database, finding_id: str, *, priority: str, deadline: str, actor: str, event_id: str
) -> bool:
    """Set priority (1-3) and deadline (YYYY-MM-DD); False if nothing changed."""
    if priority not in PRIORITIES:
        raise InvalidAction("priority must be 1, 2 or 3", "findings.error.priority")
    try:
        day = date.fromisoformat(deadline)
    except ValueError:
        raise InvalidAction(
            "deadline must be a date like 2026-12-31", "findings.error.deadline"
        ) from None
    with db.write() as tx:
        _once(tx, event_id)
        _, severity_category, _ = _finding(tx, finding_id)
        severity, _, category = severity_category.partition(":")
        captured = tx.execute("SELECT captured_at FROM findings WHERE id = ?", [finding_id])
        found = noted_day(captured.fetchone()[0])
        if not found <= day <= found + timedelta(days=5 * 366):
            raise InvalidAction(
                f"deadline {day} is before the finding or years after it",
                "findings.error.deadline_range",
            )
        ensure_tracking(tx, finding_id)
        row = tx.execute(
            "SELECT coalesce(ft.priority, ''), a.deadline FROM finding_tracking ft"
            " LEFT JOIN assignments a ON a.finding_id = ft.finding_id WHERE ft.finding_id = ?",
            [finding_id],
        ).fetchone()
        old_priority = row[0] or default_priority(severity, category)
        old_deadline = row[1]
        if old_priority == priority and old_deadline == day.isoformat():
            return False
        tx.execute(
            "UPDATE finding_tracking SET priority = ? WHERE finding_id = ?", [priority, finding_id]
        )
        updated = tx.execute(
            "UPDATE assignments SET deadline = ? WHERE finding_id = ?",
            [day.isoformat(), finding_id],
        ).rowcount
        if not updated:  # not routed yet: the routing pass routes it and keeps this deadline
            tx.execute(
                "INSERT INTO assignments (finding_id, owner_id, email, reason, detail, deadline,"
                " routed_at) VALUES (?, NULL, NULL, ?, 'deadline set by the coordinator', ?, ?)",
                [finding_id, PENDING, day.isoformat(), iso(utcnow())],
            )
        # Notes are stored text the walker's app shows too: Swedish, the product's first language.
        note = f"prioritet {old_priority} → {priority}; deadline {old_deadline or '–'} → {day}"
        add_server_event(
            tx, finding_id, EventKind.COMMENT, actor=actor, note=note, event_id=event_id
        )
    return True


def change_status(
    db: Database, finding_id: str, status: str, *, actor: str, note: str, event_id: str
) -> None:
    """Record the coordinator's status change (acknowledged, planned, fixed, verified, closed)."""
    kind = STATUS_EVENTS.get(status)
    if kind is None:
        raise InvalidAction(f"unknown status {status!r}", "findings.error.status")
    with db.write() as tx:
        _once(tx, event_id)
        current, _, merged = _finding(tx, finding_id)
        if merged:
            raise InvalidAction("this finding was merged into another one", "findings.error.merged")
        if current == status:
            raise InvalidAction(
                f"the finding is already {status}", "findings.error.same", status=status
            )
        add_server_event(tx, finding_id, kind, actor=actor, note=note, event_id=event_id)


def reopen(db: Database, finding_id: str, *, actor: str, note: str, event_id: str) -> None:
    """Reopen a finding that was fixed, verified, closed or called not ours."""
    with db.write() as tx:
        _once(tx, event_id)
        current, _, merged = _finding(tx, finding_id)
        if merged:
            raise InvalidAction("this finding was merged into another one", "findings.error.merged")
        if current not in REOPENABLE:
            raise InvalidAction(
                f"a {current} finding is open already", "findings.error.not_done", status=current
            )
        add_server_event(
            tx, finding_id, EventKind.REOPENED, actor=actor, note=note, event_id=event_id
        )


def merge(db: Database, duplicate_id: str, into_id: str, *, actor: str, event_id: str) -> str:
    """Merge a duplicate into another finding; returns the id it ended up in.

    Merging into a finding that was itself merged follows it to the one that remains.
    """
    duplicate_id, into_id = duplicate_id.strip().lower(), into_id.strip().lower()
    with db.write() as tx:
        _once(tx, event_id)
        _, _, merged = _finding(tx, duplicate_id)
        if merged:
            raise InvalidAction("this finding was already merged", "findings.error.merged")
        target = into_id
        for _ in range(100):  # follow merges to the finding that remains (never a cycle)
            try:
                _, _, next_target = _finding(tx, target)
            except NoSuchFinding:
                message = f"there is no finding {into_id}"
                raise InvalidAction(message, "findings.error.no_target", target=into_id) from None
            if next_target is None:
                break
            target = next_target
        if target == duplicate_id:
            raise InvalidAction("a finding cannot be merged into itself", "findings.error.self")
        ensure_tracking(tx, duplicate_id)
        tx.execute(
            "UPDATE finding_tracking SET merged_into = ? WHERE finding_id = ?",
            [target, duplicate_id],
        )
        tx.execute(
            "UPDATE finding_tracking SET merged_into = ? WHERE merged_into = ?",
            [target, duplicate_id],
        )
        add_server_event(
            tx,
            duplicate_id,
            EventKind.CLOSED,
            actor=actor,
            note=f"dubblett av {target}",
            event_id=event_id,
        )
        add_server_event(
            tx,
            target,
            EventKind.COMMENT,
            actor=actor,
            note=f"dubbletten {duplicate_id} är sammanslagen med detta fynd",
        )
    return target


def unmerge(db: Database, finding_id: str, *, actor: str, event_id: str) -> str:
    """Undo a merge: the duplicate is its own finding again (reopened); returns where it was."""
    with db.write() as tx:
        _once(tx, event_id)
        _, _, merged = _finding(tx, finding_id)
        if merged is None:
            raise InvalidAction("this finding is not merged", "findings.error.not_merged")
        tx.execute(
            "UPDATE finding_tracking SET merged_into = NULL WHERE finding_id = ?", [finding_id]
        )
        add_server_event(
            tx,
            finding_id,
            EventKind.REOPENED,
            actor=actor,
            note=f"inte längre dubblett av {merged}",
            event_id=event_id,
        )
        add_server_event(
            tx,
            merged,
            EventKind.COMMENT,
            actor=actor,
            note=f"{finding_id} är inte längre sammanslaget med detta fynd",
        )
    return merged


def set_flag(db: Database, finding_id: str, flagged: bool, note: str = "") -> None:
    """Flag a finding for the coordinator's attention, or clear the flag."""
    with db.write() as tx:
        _finding(tx, finding_id)
        ensure_tracking(tx, finding_id)
        tx.execute(
            "UPDATE finding_tracking SET flagged_at = ?, flag_note = ? WHERE finding_id = ?",
            [iso(utcnow()) if flagged else None, note if flagged else "", finding_id],
        )
