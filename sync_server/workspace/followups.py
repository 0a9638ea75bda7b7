"""Follow-up walks planned by the coordinator: a named selection of open findings.

The coordinator picks an area's open findings and names the follow-up. The field app lists the
open follow-ups (`GET /v1/followups`, `open_followups` here) and the walker picks one, which asks
`GET /v1/findings/open?followup=ID`; typing the name (`?area=NAME`) still works for older apps
(see api/field.py). The walker's "fixed" (verified) or "still there" comes back as an event of
the finding; the follow-up's page shows each finding's latest answer since it was created.

    FollowupError (ServerError)
     ├── InvalidFollowup    no name, no findings, or a name an open follow-up already has
     └── NoSuchFollowup     no follow-up with this id
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync_server.core.db import Database
from sync_server.core.errors import ServerError
from sync_server.core.finding_filters import OPEN
from sync_server.core.time import iso
from sync_server.field.devices import Device
from sync_server.field.visibility import visible_findings
from walkaudit.model import new_id, utcnow

MAX_ITEMS = 2000  # what the field app fetches in one go (/v1/findings/open's limit)


class FollowupError(ServerError):
    """Base of what follow-ups refuse."""


class InvalidFollowup(FollowupError):
    """A follow-up that cannot be created as asked."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class NoSuchFollowup(FollowupError):
    """No follow-up has this id."""


@dataclass(frozen=True)
class Followup:
    id: str
    name: str
    area: str
    created_by: str
    created_at: str
    closed_at: str | None
    items: int = 0
    verified: int = 0
    still_there: int = 0
    done: int = 0  # verified or closed (filled in by open_followups only)


def areas_with_open(db: Database) -> list[tuple[str, int]]:
    """Walk areas and how many open findings each has, most first."""
    marks = ", ".join("?" * len(OPEN))
    rows = db.conn().execute(
        "SELECT w.area, count(*) FROM findings f JOIN walks w ON w.id = f.walk_id"
        " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
        f" WHERE f.status IN ({marks}) AND ft.merged_into IS NULL AND w.area != ''"
        " GROUP BY lower(w.area) ORDER BY count(*) DESC, w.area",
        OPEN,
    )
    return [(area, n) for area, n in rows]


def candidates(db: Database, area: str) -> list[dict[str, Any]]:
    """An area's findings a follow-up can check: open ones, and fixed ones to verify."""
    marks = ", ".join("?" * len(OPEN))
    return list(
        db.conn().query(
            "SELECT f.id, f.category, f.severity, f.note, f.status, f.captured_at"
            " FROM findings f JOIN walks w ON w.id = f.walk_id"
            " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
            f" WHERE lower(w.area) = lower(?) AND f.status IN ({marks}, 'fixed')"
            " AND ft.merged_into IS NULL ORDER BY f.captured_at LIMIT ?",
            [area.strip(), *OPEN, MAX_ITEMS],
        )
    )


def create(
    db: Database,
    name: str,
    area: str,
    finding_ids: list[str],
    actor: str,
    followup_id: str | None = None,
) -> str:
    """Create a follow-up of these findings; idempotent by `followup_id` (the form's id)."""
    name = " ".join(name.split())[:200]
    if not name:
        raise InvalidFollowup("give the follow-up a name", "followups.error.name")
    ids = list(dict.fromkeys(i.strip().lower() for i in finding_ids if i.strip()))
    if not ids:
        raise InvalidFollowup("choose at least one finding", "followups.error.none")
    if len(ids) > MAX_ITEMS:
        raise InvalidFollowup(f"at most {MAX_ITEMS} findings", "followups.error.too_many")
    followup_id = followup_id or new_id()
    with db.write() as tx:
        if tx.execute("SELECT 1 FROM followups WHERE id = ?", [followup_id]).fetchone():
            return followup_id  # a second click on the same form
        taken = tx.execute(
            "SELECT 1 FROM followups WHERE lower(name) = lower(?) AND closed_at IS NULL", [name]
        ).fetchone()
        if taken:
            raise InvalidFollowup(
                f"an open follow-up is already called {name}", "followups.error.taken"
            )
        marks = ", ".join("?" * len(ids))
        known = [r[0] for r in tx.execute(f"SELECT id FROM findings WHERE id IN ({marks})", ids)]
        if not known:
            raise InvalidFollowup("none of these findings exists", "followups.error.none")
        tx.execute(
            "INSERT INTO followups (id, name, area, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
            [followup_id, name, area.strip()[:200], actor, iso(utcnow())],
        )
        tx.conn.executemany(
            "INSERT INTO followup_items (followup_id, finding_id) VALUES (?, ?)",
            [(followup_id, fid) for fid in known],
        )
    return followup_id


_SUMMARY = (
    "SELECT fu.*, (SELECT count(*) FROM followup_items i WHERE i.followup_id = fu.id) AS items,"
    " (SELECT count(DISTINCT e.finding_id) FROM followup_items i JOIN events e"
    "  ON e.finding_id = i.finding_id AND e.kind = 'verified' AND e.received_at >= fu.created_at"
    "  WHERE i.followup_id = fu.id) AS verified,"
    " (SELECT count(DISTINCT e.finding_id) FROM followup_items i JOIN events e"
    "  ON e.finding_id = i.finding_id AND e.kind = 'still_there' AND e.received_at >= fu.created_at"
    "  WHERE i.followup_id = fu.id) AS still_there"
    " FROM followups fu"
)


def list_followups(db: Database) -> list[Followup]:
    """Every follow-up, open ones first, newest first."""
    rows = db.conn().query(_SUMMARY + " ORDER BY fu.closed_at IS NOT NULL, fu.created_at DESC")
    return [Followup(**row) for row in rows]


def get(db: Database, followup_id: str) -> Followup:
    """One follow-up with its counts."""
    rows = list(db.conn().query(_SUMMARY + " WHERE fu.id = ?", [followup_id]))
    if not rows:
        raise NoSuchFollowup(f"there is no follow-up {followup_id}")
    return Followup(**rows[0])


def items(db: Database, followup_id: str) -> list[dict[str, Any]]:
    """The follow-up's findings with their status and the walk's latest answer since it began."""
    return list(
        db.conn().query(
            "SELECT f.id, f.category, f.severity, f.note, f.status, f.latitude, f.longitude,"
            " ft.flagged_at, (SELECT e.kind FROM events e WHERE e.finding_id = f.id"
            "  AND e.kind IN ('verified', 'still_there') AND e.received_at >= fu.created_at"
            "  ORDER BY e.seq DESC LIMIT 1) AS answer"
            " FROM followup_items i JOIN followups fu ON fu.id = i.followup_id"
            " JOIN findings f ON f.id = i.finding_id"
            " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
            " WHERE i.followup_id = ? ORDER BY f.captured_at",
            [followup_id],
        )
    )


def close(db: Database, followup_id: str) -> None:
    """Close a follow-up: walkers no longer get its findings by its name."""
    with db.write() as tx:
        found = tx.execute(
            "UPDATE followups SET closed_at = coalesce(closed_at, ?) WHERE id = ?",
            [iso(utcnow()), followup_id],
        ).rowcount
        if not found:
            raise NoSuchFollowup(f"there is no follow-up {followup_id}")


MAX_LISTED = 200  # open follow-ups a device may ask for in one go


def open_followups(db: Database, viewer: Device, limit: int = 100) -> tuple[list[Followup], bool]:
    """Open follow-ups for the field app to choose from, newest first, and whether more exist.

    `done` counts the findings nobody needs to check any more (verified or closed), so a walker
    sees how many of the follow-up's findings are still open. Counts are of the findings
    `viewer` may read; a follow-up of only disorder findings is not listed to other devices.
    """
    visible, params = visible_findings(viewer)
    rows = list(
        db.conn().query(
            "SELECT fu.id, fu.name, fu.area, fu.created_by, fu.created_at, fu.closed_at,"
            " count(f.id) AS items,"
            " coalesce(sum(f.status IN ('verified', 'closed')), 0) AS done"
            " FROM followups fu JOIN followup_items i ON i.followup_id = fu.id"
            f" JOIN findings f ON f.id = i.finding_id AND {visible}"
            " WHERE fu.closed_at IS NULL GROUP BY fu.id"
            " ORDER BY fu.created_at DESC, fu.rowid DESC LIMIT ?",
            [*params, limit + 1],
        )
    )
    return [Followup(**row) for row in rows[:limit]], len(rows) > limit


def open_by_id(db: Database, followup_id: str) -> Followup:
    """An open follow-up by id; NoSuchFollowup if unknown or closed (walkers no longer get it)."""
    followup = get(db, followup_id)
    if followup.closed_at is not None:
        raise NoSuchFollowup(f"the follow-up {followup.name} has been closed by the coordinator")
    return followup


def open_by_name(db: Database, name: str) -> str | None:
    """The id of the open follow-up called `name` (case-insensitive), if any."""
    row = (
        db.conn()
        .execute(
            "SELECT id FROM followups WHERE lower(name) = lower(?) AND closed_at IS NULL",
            [" ".join(name.split())],
        )
        .fetchone()
    )
    return row[0] if row else None
